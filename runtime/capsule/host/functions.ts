/**
 * The Extism host functions of one capsule instance, under `extism:host/user`: the twelve of the
 * design plus the engine's helpers (`astrid-deadline`, `astrid-random-seed`, `astrid-now`).
 * Every host function takes a JSON argument and replies `{"ok": value}` or
 * `{"error": {"code", "message"}}`; the twelve are `async`, so the capsule's wasm stack is
 * suspended (JSPI) while they await an approval, a fetch or a KV read.
 *
 * @module
 */
// deno-lint-ignore no-import-prefix -- pinned inline until deno.json maps @extism/extism
import type { CallContext } from "npm:@extism/extism@2.0.0-rc13";
import { type CallState, type HostEnv, HostError } from "./context.ts";
import { FS_FUNCTIONS } from "./fs.ts";
import { httpRequest } from "./net.ts";
import { KV_FUNCTIONS } from "./kv.ts";

/** The twelve host function names, in the engine's order. */
export const HOST_FUNCTION_NAMES: readonly string[] = [
  "read-file",
  "write-file",
  "http-request",
  "fs-exists",
  "fs-mkdir",
  "fs-readdir",
  "fs-stat",
  "fs-unlink",
  "kv-get",
  "kv-set",
  "get-config",
  "log",
];

/** The largest JSON argument a host function accepts, in bytes. */
export const MAX_HOST_ARG_BYTES = 24 << 20;

type Impl = (env: HostEnv, state: CallState, args: Record<string, unknown>) => Promise<unknown>;

const IMPLS: Readonly<Record<string, Impl>> = {
  ...FS_FUNCTIONS,
  "http-request": httpRequest,
  ...KV_FUNCTIONS,
};

/** An Extism host function as the foreground plugin calls it. */
export type HostFunction = (cp: CallContext, ...args: bigint[]) => unknown;

/** How the host functions see the instance: its env, the current call and the CPU budget. */
export interface HostBinding {
  /** Null while describing a capsule for a listing: every host call is refused. */
  readonly env: HostEnv | null;
  /** The state of the call in progress. */
  state(): CallState;
  /** The CPU budget of one call, in ms. */
  readonly budgetMs: number;
}

function reply(cp: CallContext, value: unknown): bigint {
  return cp.store(JSON.stringify(value));
}

function fail(cp: CallContext, code: string, message: string): bigint {
  return reply(cp, { error: { code, message } });
}

/**
 * Builds the `extism:host/user` function table over `binding`.
 *
 * @example Every name the engine imports is present
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { hostFunctions, HOST_FUNCTION_NAMES } from "./functions.ts";
 * import { newCallState } from "./context.ts";
 * const table = hostFunctions({ env: null, state: () => newCallState(), budgetMs: 1000 });
 * for (const n of [...HOST_FUNCTION_NAMES, "astrid-deadline", "astrid-now"]) ok(n in table);
 * ```
 */
export function hostFunctions(binding: HostBinding): Record<string, HostFunction> {
  const table: Record<string, HostFunction> = {};
  for (const name of HOST_FUNCTION_NAMES) {
    const impl = IMPLS[name]!;
    table[name] = async (cp: CallContext, offset?: bigint): Promise<bigint> => {
      const env = binding.env;
      if (!env) {
        return fail(cp, "UNAVAILABLE", `Cannot call ${name}: the capsule is only described`);
      }
      let args: Record<string, unknown>;
      try {
        const block = offset === undefined ? null : cp.read(offset);
        if (!block) throw new HostError("BAD_ARGS", "no argument");
        if ((block as unknown as DataView).byteLength > MAX_HOST_ARG_BYTES) {
          throw new HostError("TOO_LARGE", `argument exceeds ${MAX_HOST_ARG_BYTES} bytes`);
        }
        const parsed: unknown = JSON.parse(block.text());
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
          throw new HostError("BAD_ARGS", "argument is not a JSON object");
        }
        args = parsed as Record<string, unknown>;
      } catch (e) {
        const code = e instanceof HostError ? e.code : "BAD_ARGS";
        return fail(cp, code, `Cannot call ${name}: ${(e as Error).message}`);
      }
      try {
        const value = await impl(env, binding.state(), args);
        return reply(cp, { ok: value ?? null });
      } catch (e) {
        if (e instanceof HostError) return fail(cp, e.code, e.message);
        return fail(cp, "HOST", `Cannot call ${name}: ${(e as Error).message}`);
      }
    };
  }
  table["astrid-deadline"] = () => {
    const s = binding.state();
    return BigInt(Math.floor(binding.budgetMs - (performance.now() - s.started - s.paused)));
  };
  table["astrid-random-seed"] = () => crypto.getRandomValues(new BigUint64Array(1))[0]!;
  table["astrid-now"] = () => BigInt(Date.now()) * 1000n;
  return table;
}
