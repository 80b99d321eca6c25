/**
 * How one layer is laid over the config built so far.
 *
 * - Deny-type lists are unioned on every layer: nothing removes a wall set below.
 * - Other keys: a later layer replaces, except in a workspace file, which may only tighten:
 *   limits are clamped to the lower value, ordered settings only move to a stricter value
 *   (a loosening attempt is ignored and reported), and credentials, storage and standing
 *   `allow` rules are an error there.
 * - Fail closed: every key must be classified for workspaces below. A key added later and left
 *   unclassified is an error in a workspace file until someone decides how it may be tightened.
 *
 * @module
 */
import { ConfigError } from "./errors.ts";
import type { AstridConfig, ConfigLayerData } from "./schema.ts";

/** The layers, lowest first. */
export type LayerName = "defaults" | "system" | "user" | "env" | "workspace";

/** Lists that only ever grow: union across all layers. */
export const UNION_KEYS: ReadonlySet<string> = new Set([
  "policy.blocked_commands",
  "policy.denied_paths",
  "policy.denied_hosts",
  "policy.blocked_tools",
  "policy.blocked_capsules",
  "permissions.deny",
  "permissions.ask",
  // Hiding more inside the sandbox only tightens it.
  "sandbox.hide",
]);

/** Keys a workspace file may not set at all. */
export const WORKSPACE_FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  "permissions.allow",
  "model.api_key",
  "model.api_url",
  "model.provider",
  // `pricing = "free"` would switch the budget off, like a zero [pricing] entry.
  "model.pricing",
  "storage.kv_url",
  // The witness must stay out of the agent's reach; only the user or the admin places it.
  "audit.witness_path",
  "runtime.allow_net",
]);

/**
 * Sections a workspace file may not touch at all: `[servers.NAME]` starts processes,
 * `[pricing."MODEL"]` could price a model at zero and so switch the budget off, and
 * `[daemon] notify_command` runs a command.
 */
export const WORKSPACE_FORBIDDEN_SECTIONS: ReadonlySet<string> = new Set([
  "servers",
  "pricing",
  "daemon",
]);

/** Numeric limits a workspace may only lower. */
export const WORKSPACE_CLAMPED_KEYS: ReadonlySet<string> = new Set([
  "budget.session_usd",
  "budget.per_action_usd",
  "budget.warn_at",
  "policy.max_argument_bytes",
  "approval.always_ttl_seconds",
  "tools.bash_timeout_seconds",
  "tools.output_limit_chars",
  "capsules.memory_mb",
  "capsules.timeout_seconds",
  "model.max_tokens",
  // Less frequent checkpoints would weaken truncation detection, so these only go down too.
  "audit.checkpoint_every",
  "audit.checkpoint_seconds",
  "agent.max_rounds",
  "agent.task_budget_usd",
  "agent.max_concurrency",
  "agent.max_depth",
  "agent.task_timeout_seconds",
]);

/** Ordered settings: strictness rank per value, higher is stricter. */
export const WORKSPACE_ORDERED_KEYS: ReadonlyMap<string, Readonly<Record<string, number>>> =
  new Map([
    ["workspace.mode", { autonomous: 0, guided: 1, safe: 2 }],
    ["workspace.escape_policy", { ask: 0, deny: 1 }],
    ["capsules.require_hash", { false: 0, true: 1 }],
    ["tools.sandbox", { off: 0, bwrap: 1 }],
  ]);

/** Keys a workspace may set freely: they neither widen access nor raise a limit. */
export const WORKSPACE_FREE_KEYS: ReadonlySet<string> = new Set([
  "approval.timeout_seconds",
  "model.model",
  "model.temperature",
]);

/** The result of laying one layer over the config. */
export interface MergeResult {
  /** The new config (the input is not modified). */
  readonly config: AstridConfig;
  /** Loosening attempts that were ignored or clamped, worded for people. */
  readonly warnings: string[];
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

/**
 * Lays `data` from `layer` (read from `file`) over `base`.
 *
 * @example A workspace cannot loosen the mode or drop a wall
 * ```ts
 * import { deepEqual, equal, ok } from "node:assert/strict";
 * import { DEFAULT_CONFIG } from "./schema.ts";
 * import { mergeLayer } from "./merge.ts";
 * const { config, warnings } = mergeLayer(
 *   DEFAULT_CONFIG,
 *   { workspace: { mode: "autonomous" }, policy: { blocked_commands: ["curl"] } },
 *   "workspace",
 *   "/ws/.astrid/config.toml",
 * );
 * equal(config.workspace.mode, "safe");
 * ok(config.policy.blocked_commands.includes("sudo") && config.policy.blocked_commands.includes("curl"));
 * equal(warnings.length, 1);
 * ```
 */
export function mergeLayer(
  base: AstridConfig,
  data: ConfigLayerData,
  layer: LayerName,
  file: string,
): MergeResult {
  const config = structuredClone(base) as AstridConfig;
  const target = config as unknown as Record<string, Record<string, unknown>>;
  const warnings: string[] = [];
  for (const [section, values] of Object.entries(data as Record<string, Record<string, unknown>>)) {
    for (const [key, value] of Object.entries(values ?? {})) {
      if (value === undefined) continue;
      const dotted = `${section}.${key}`;
      const sectionValues = target[section];
      if (!sectionValues) continue; // unreachable: data was validated against the schema
      const current = sectionValues[key];
      if (UNION_KEYS.has(dotted)) {
        sectionValues[key] = union(current as string[], value as string[]);
      } else if (layer !== "workspace") {
        sectionValues[key] = structuredClone(value);
      } else {
        const warning = tighten(sectionValues, key, dotted, current, value, file);
        if (warning) warnings.push(warning);
      }
    }
  }
  return { config, warnings };
}

function tighten(
  values: Record<string, unknown>,
  key: string,
  dotted: string,
  current: unknown,
  value: unknown,
  file: string,
): string | null {
  const section = dotted.slice(0, dotted.indexOf("."));
  if (
    WORKSPACE_FORBIDDEN_KEYS.has(dotted) || WORKSPACE_FORBIDDEN_SECTIONS.has(section) ||
    !isClassified(dotted)
  ) {
    throw new ConfigError(
      `Cannot load ${file}: key "${dotted}" may not be set by a workspace config ` +
        `(set it in the user or system config instead)`,
      { file, key: dotted, expected: "not set in a workspace config" },
    );
  }
  if (WORKSPACE_CLAMPED_KEYS.has(dotted)) {
    const [cur, next] = [current as number, value as number];
    if (next <= cur) {
      values[key] = next;
      return null;
    }
    return `${file}: "${dotted}" = ${next} is above the current ${cur}; a workspace may only lower it (kept ${cur})`;
  }
  const ranks = WORKSPACE_ORDERED_KEYS.get(dotted);
  if (ranks) {
    const cur = ranks[String(current)] ?? Number.POSITIVE_INFINITY;
    const next = ranks[String(value)] ?? Number.NEGATIVE_INFINITY;
    if (next >= cur) {
      values[key] = value;
      return null;
    }
    return `${file}: "${dotted}" = ${JSON.stringify(value)} is looser than the current ` +
      `${JSON.stringify(current)}; a workspace may only make it stricter (ignored)`;
  }
  values[key] = structuredClone(value); // WORKSPACE_FREE_KEYS
  return null;
}

/**
 * True when the workspace rules say how `dotted` may be set by a workspace.
 *
 * @example Every known key is classified
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { isClassified } from "./merge.ts";
 * ok(isClassified("budget.session_usd"));
 * ok(!isClassified("budget.no_such_key"));
 * ```
 */
export function isClassified(dotted: string): boolean {
  return WORKSPACE_FORBIDDEN_SECTIONS.has(dotted.slice(0, dotted.indexOf("."))) ||
    UNION_KEYS.has(dotted) || WORKSPACE_FORBIDDEN_KEYS.has(dotted) ||
    WORKSPACE_CLAMPED_KEYS.has(dotted) || WORKSPACE_ORDERED_KEYS.has(dotted) ||
    WORKSPACE_FREE_KEYS.has(dotted);
}
