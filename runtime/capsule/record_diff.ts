/**
 * What a manifest asks for compared with what the human approved at install time: the lines a
 * re-install shows before it asks again, and the summary a load refusal gives.
 *
 * @module
 */
import type { InstallRecord } from "./install_record.ts";
import type { CapsuleManifest } from "./manifest.ts";

/** The approved parts of a capsule that a diff compares. */
export type PinnedSpec =
  & Pick<
    InstallRecord,
    "capabilities" | "env" | "mcpServers" | "wasmHash"
  >
  & { readonly tools?: readonly { readonly name: string }[] | undefined };

/** One difference: `+` added, `-` removed, `~` changed. */
export interface SpecChange {
  readonly sign: "+" | "-" | "~";
  readonly what: string;
}

/**
 * The spec a manifest (and its wasm hash) asks for, in the record's shape.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { parseManifest } from "./manifest.ts";
 * import { pinnedSpec } from "./record_diff.ts";
 * const { manifest } = parseManifest('[package]\nname = "n"\nversion = "1"\n[env.K]\n');
 * deepEqual(pinnedSpec(manifest, null).env, { K: { type: "string", required: false } });
 * ```
 */
export function pinnedSpec(manifest: CapsuleManifest, wasmHash: string | null): PinnedSpec {
  const c = manifest.capabilities;
  return {
    capabilities: {
      net: [...c.net],
      fs_read: [...c.fs_read],
      fs_write: [...c.fs_write],
      kv: c.kv,
      host_process: [...c.host_process],
      ...(c.llm ? { llm: true } : {}),
    },
    env: Object.fromEntries(
      Object.entries(manifest.env).map(([k, v]) => [k, {
        type: v.type,
        required: v.required,
        ...(v.request === undefined ? {} : { request: v.request }),
        ...(v.default === undefined ? {} : { default: v.default }),
      }]),
    ),
    mcpServers: manifest.mcp_server.map((s) => ({
      id: s.id,
      command: s.command,
      args: [...s.args],
    })),
    wasmHash,
  };
}

function sets(
  out: SpecChange[],
  label: string,
  before: readonly string[],
  after: readonly string[],
): void {
  for (const x of after) if (!before.includes(x)) out.push({ sign: "+", what: `${label}: ${x}` });
  for (const x of before) if (!after.includes(x)) out.push({ sign: "-", what: `${label}: ${x}` });
}

/**
 * The differences from `before` (the record; null for a first install) to `after`: network
 * hosts, file paths, kv, processes, env keys, MCP servers, the wasm and (when both sides list
 * them) the tools.
 *
 * @example Widening fs_read and adding a host
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { parseManifest } from "./manifest.ts";
 * import { pinnedSpec, specDiff } from "./record_diff.ts";
 * const spec = (caps: string) =>
 *   pinnedSpec(parseManifest(`[package]\nname = "n"\nversion = "1"\n[capabilities]\n${caps}`).manifest, null);
 * deepEqual(
 *   specDiff(spec('fs_read = ["src"]\n'), spec('fs_read = ["."]\nnet = ["evil.example"]\n'))
 *     .map((c) => `${c.sign} ${c.what}`),
 *   ["+ network: evil.example", "+ read files under: .", "- read files under: src"],
 * );
 * ```
 */
export function specDiff(before: PinnedSpec | null, after: PinnedSpec): SpecChange[] {
  const none: PinnedSpec = {
    capabilities: { net: [], fs_read: [], fs_write: [], kv: false, host_process: [] },
    env: {},
    mcpServers: [],
    wasmHash: null,
  };
  const b = before ?? none;
  const out: SpecChange[] = [];
  sets(out, "network", b.capabilities.net, after.capabilities.net);
  sets(out, "read files under", b.capabilities.fs_read, after.capabilities.fs_read);
  sets(out, "write files under", b.capabilities.fs_write, after.capabilities.fs_write);
  if (b.capabilities.kv !== after.capabilities.kv) {
    out.push({ sign: after.capabilities.kv ? "+" : "-", what: "its own key-value store" });
  }
  sets(out, "run", b.capabilities.host_process, after.capabilities.host_process);
  if ((b.capabilities.llm ?? false) !== (after.capabilities.llm ?? false)) {
    out.push({ sign: after.capabilities.llm ? "+" : "-", what: "calls to the model (budgeted)" });
  }
  const envLine = ([k, v]: [string, PinnedSpec["env"][string]]) =>
    `env ${k} (${v.type}${v.required ? ", required" : ""})`;
  sets(
    out,
    "asks for",
    Object.entries(b.env).map(envLine),
    Object.entries(after.env).map(envLine),
  );
  const serverLine = (s: PinnedSpec["mcpServers"][number]) =>
    `${s.id} runs ${[s.command, ...s.args].map((a) => JSON.stringify(a)).join(" ")}`;
  sets(out, "MCP server", b.mcpServers.map(serverLine), after.mcpServers.map(serverLine));
  if (before && b.wasmHash !== after.wasmHash) {
    out.push({ sign: "~", what: `wasm: ${b.wasmHash ?? "none"} → ${after.wasmHash ?? "none"}` });
  }
  if (before && b.tools && after.tools) {
    sets(out, "tool", b.tools.map((t) => t.name), after.tools.map((t) => t.name));
  }
  return out;
}

/**
 * The `[env]` differences a reinstall shows, key by key, with what happens to a stored value:
 * `+` a new key (asked, or taken from `--env`), `-` a key no longer declared (its stored value is
 * deleted), `~` a key whose type changed (its stored value is dropped and asked again) or that
 * became required. `stored` names the keys that have a value today; values are never shown.
 *
 * @example A key added, one removed, one turned secret
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { envDiff } from "./record_diff.ts";
 * const s = (type: "secret" | "string", required = false) => ({ type, required });
 * deepEqual(
 *   envDiff({ OLD: s("string"), KEY: s("string") }, { KEY: s("secret"), NEW: s("string", true) }, ["OLD", "KEY"])
 *     .map((c) => `${c.sign} ${c.what}`),
 *   [
 *     "+ env NEW (string, required)",
 *     "- env OLD (string): its stored value is deleted",
 *     "~ env KEY: string → secret: its stored value is dropped and asked again",
 *   ],
 * );
 * ```
 */
export function envDiff(
  before: Readonly<PinnedSpec["env"]>,
  after: Readonly<PinnedSpec["env"]>,
  stored: readonly string[],
): SpecChange[] {
  const out: SpecChange[] = [];
  const has = (o: Readonly<PinnedSpec["env"]>, k: string) => Object.hasOwn(o, k);
  const label = (v: PinnedSpec["env"][string]) => `${v.type}${v.required ? ", required" : ""}`;
  for (const [k, v] of Object.entries(after)) {
    if (!has(before, k)) out.push({ sign: "+", what: `env ${k} (${label(v)})` });
  }
  for (const [k, v] of Object.entries(before)) {
    if (has(after, k)) continue;
    const fate = stored.includes(k) ? ": its stored value is deleted" : "";
    out.push({ sign: "-", what: `env ${k} (${label(v)})${fate}` });
  }
  for (const [k, v] of Object.entries(after)) {
    const was = has(before, k) ? before[k] : undefined;
    if (was === undefined) continue;
    if (was.type !== v.type) {
      const fate = stored.includes(k) ? ": its stored value is dropped and asked again" : "";
      out.push({ sign: "~", what: `env ${k}: ${was.type} → ${v.type}${fate}` });
    } else if (v.required && !was.required) {
      out.push({ sign: "~", what: `env ${k}: now required` });
    }
  }
  return out;
}
