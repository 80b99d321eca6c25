/**
 * Turns what an OpenClaw plugin registered (its compile-time `describe`) into `Capsule.toml`
 * sections: `[[tool]]` for each tool (so listing never starts the capsule), `[[interceptor]]`
 * for each lifecycle hook, `[[command]]` for each command its wasm runs. Sections the overlay
 * already declares keep the overlay's settings (e.g. an interceptor's `priority`).
 *
 * @module
 */
import type { Description } from "./describe.ts";
import { envFromConfig, type UiHint } from "./detect.ts";

/** What Capsule.toml accepts as a tool or command name (runtime/capsule/manifest.ts). */
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

/** Drops `null`s (TOML has none) from a JSON value, recursively. */
function tomlSafe(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => v !== null).map(tomlSafe);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = tomlSafe(v);
    return out;
  }
  return value;
}

const objects = (v: unknown): Record<string, unknown>[] =>
  Array.isArray(v) ? v.filter((x) => x && typeof x === "object") as Record<string, unknown>[] : [];

/** The sections written for a plugin, and what the compile reports. */
export interface RegisteredSections {
  readonly sections: Record<string, unknown>;
  readonly notes: readonly string[];
  readonly summary: string;
}

/**
 * Builds the sections from the plugin's description, keeping overlay entries.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { registeredSections } from "./registered.ts";
 * const { sections } = registeredSections({
 *   tools: [{ name: "echo", description: "Echo", input_schema: { type: "object", default: null } }],
 *   hooks: ["before_tool_call"], cron: [], commands: [], providers: [], notes: [], logs: [],
 * }, {});
 * deepEqual(sections.tool, [{ name: "echo", description: "Echo", input_schema: { type: "object" } }]);
 * deepEqual(sections.interceptor, [{ event: "before_tool_call" }]);
 * ```
 */
export function registeredSections(
  d: Description,
  overlay: Record<string, unknown>,
): RegisteredSections {
  const notes = [...d.notes];
  const usable = (kind: string) => (t: { name: string }) => {
    if (TOOL_NAME.test(t.name) && !t.name.includes("..")) return true;
    notes.push(
      `${kind} ${JSON.stringify(t.name)} skipped: Astrid names must be 1-128 of A-Z a-z 0-9 _ . -`,
    );
    return false;
  };
  const tool = d.tools.filter(usable("tool")).map((t) => ({
    name: t.name,
    description: t.description,
    input_schema: tomlSafe(t.input_schema ?? { type: "object" }),
  }));
  const declared = objects(overlay.interceptor);
  const hooks = d.hooks.filter((h) => !h.includes(":"));
  const interceptor = [
    ...declared,
    ...hooks.filter((h) => !declared.some((i) => i.event === h)).map((event) => ({ event })),
  ];
  const prompts = objects(overlay.command);
  const command = [
    ...prompts,
    ...d.commands.filter((c) => !prompts.some((p) => p.name === c.name)).filter(
      usable("command"),
    ).map((c) => ({
      name: c.name,
      description: c.description ?? "",
    })),
  ];
  const sections: Record<string, unknown> = {};
  // A config schema declared only in code becomes [env], as openclaw.plugin.json's would (an
  // [env] the manifest or the overlay has already is kept as it is).
  if (d.config && overlay.env === undefined) {
    const { "x-uiHints": hints, ...schema } = d.config;
    const env = envFromConfig(schema, hintsOf(hints));
    if (Object.keys(env).length > 0) sections.env = env;
  }
  if (tool.length > 0) sections.tool = tool;
  if (interceptor.length > 0) sections.interceptor = interceptor;
  if (command.length > 0) sections.command = command;
  if (tool.length + hooks.length + d.commands.length === 0) {
    notes.push("the plugin registers no tool, hook or command Astrid can run");
  }
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
  const summary = `${count(tool.length, "tool")}, ${count(hooks.length, "hook")}, ${
    count(d.commands.length, "command")
  }${notes.length ? `, ${count(notes.length, "note")}` : ""}`;
  return { sections, notes, summary };
}

/** UI hints as `envFromConfig` takes them (anything else is dropped). */
function hintsOf(value: unknown): Record<string, UiHint> {
  const out: Record<string, UiHint> = {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) return out;
  for (const [key, hint] of Object.entries(value)) {
    if (typeof hint === "object" && hint !== null && !Array.isArray(hint)) {
      out[key] = hint as UiHint;
    }
  }
  return out;
}
