/**
 * `kv-get`, `kv-set`, `get-config` and `log`. KV needs `capabilities.kv` and lives under
 * `["capsule_kv", <capsule>, key]`, so two capsules never see each other's keys. get-config
 * sees only the capsule's own config and `[env]` values. Log lines have every secret value
 * replaced by `[redacted]` before they leave the host.
 *
 * @module
 */
import { type CallState, type HostEnv, HostError, writeAheadAudit } from "./context.ts";

/** Longest KV key a capsule may use, in characters. */
export const MAX_KV_KEY = 512;
/** Largest KV value (JSON), in bytes (Deno KV allows 64 KiB). */
export const MAX_KV_VALUE_BYTES = 60_000;
/** Longest log message kept, in characters. */
export const MAX_LOG_CHARS = 4096;

const LEVELS = new Set(["debug", "info", "warn", "error"]);

/**
 * The KV key of a capsule's `key`: always prefixed by the capsule's own name.
 *
 * @example Two capsules, two prefixes
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { capsuleKvKey } from "./kv.ts";
 * deepEqual(capsuleKvKey("a", "k"), ["capsule_kv", "a", "k"]);
 * ```
 */
export function capsuleKvKey(capsule: string, key: unknown): Deno.KvKey {
  if (typeof key !== "string" || key.length === 0 || key.length > MAX_KV_KEY) {
    throw new HostError(
      "BAD_ARGS",
      `Cannot use kv key: current value is ${JSON.stringify(key)?.slice(0, 80)}`,
    );
  }
  return ["capsule_kv", capsule, key];
}

function needKv(env: HostEnv): void {
  if (!env.manifest.capabilities.kv) {
    throw new HostError(
      "CAPABILITY",
      `Cannot use kv: capsule ${env.capsule} does not request capabilities.kv`,
    );
  }
}

/** Replaces every secret value in `text` with `[redacted]`. */
function redact(env: HostEnv, text: string): string {
  let out = text;
  for (const k of env.secretKeys) {
    const v = env.config[k];
    if (v && v.length >= 4) out = out.split(v).join("[redacted]");
  }
  return out;
}

type Fn = (env: HostEnv, state: CallState, args: Record<string, unknown>) => Promise<unknown>;

/** kv-get, kv-set, get-config and log, by import name. */
export const KV_FUNCTIONS: Readonly<Record<string, Fn>> = {
  "kv-get": async (env, _state, args) => {
    needKv(env);
    const entry = await env.store.get(capsuleKvKey(env.capsule, args.key));
    return entry.value ?? null;
  },
  "kv-set": async (env, state, args) => {
    needKv(env);
    const key = capsuleKvKey(env.capsule, args.key);
    const json = JSON.stringify(args.value ?? null);
    if (new TextEncoder().encode(json).length > MAX_KV_VALUE_BYTES) {
      throw new HostError(
        "TOO_LARGE",
        `Cannot set kv ${String(args.key)}: value exceeds ${MAX_KV_VALUE_BYTES} bytes`,
      );
    }
    await writeAheadAudit(env, state, "kv-set");
    await env.store.set(key, JSON.parse(json));
    return null;
  },
  "get-config": (env, _state, args) => {
    if (typeof args.key !== "string") {
      throw new HostError("BAD_ARGS", "Cannot get config: key is not a string");
    }
    return Promise.resolve(Object.hasOwn(env.config, args.key) ? env.config[args.key] : null);
  },
  log: async (env, state, args) => {
    // The line reaches the person at the terminal: the entries queued before it go on record first.
    await writeAheadAudit(env, state, "log");
    const level = LEVELS.has(String(args.level)) ? String(args.level) : "info";
    const message = redact(env, String(args.message ?? "")).slice(0, MAX_LOG_CHARS);
    env.log?.({
      capsule: env.capsule,
      level: level as "debug" | "info" | "warn" | "error",
      message,
    });
    return null;
  },
};
