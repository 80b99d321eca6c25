/**
 * The Extism host functions of one capsule instance, under `extism:host/user`: the twelve of the
 * design, the model functions (`llm-complete`, `llm-emit`: host/llm.ts), `set-config` (an
 * approved change of the capsule's own `[env]` value: host/config.ts) and the engine's helpers
 * (`astrid-deadline`, `astrid-random-seed`, `astrid-now`).
 * Every host function takes a JSON argument and replies `{"ok": value}` or
 * `{"error": {"code", "message"}}`; the twelve are `async`, so the capsule's wasm stack is
 * suspended (JSPI) while they await an approval, a fetch or a KV read.
 *
 * @module
 */
// deno-lint-ignore no-import-prefix -- pinned inline until deno.json maps @extism/extism
import type { CallContext } from "npm:@extism/extism@2.0.0-rc13";
import { setImmediate } from "node:timers";
import { type CallState, type HostEnv, HostError } from "./context.ts";
import { FS_FUNCTIONS } from "./fs.ts";
import { fileBases } from "./confine.ts";
import { httpRequest } from "./net.ts";
import { KV_FUNCTIONS } from "./kv.ts";
import { LLM_FUNCTIONS } from "./llm.ts";
import { CONFIG_FUNCTIONS } from "./config.ts";
import {
  ALL_HOST_FUNCTION_NAMES,
  CONFIG_HOST_FUNCTION_NAMES,
  HOST_FUNCTION_NAMES,
  LLM_HOST_FUNCTION_NAMES,
} from "../../../toolchain/engine/abi.ts";

/** The host function names of the engine's ABI (toolchain/engine/abi.ts). */
export {
  ALL_HOST_FUNCTION_NAMES,
  CONFIG_HOST_FUNCTION_NAMES,
  HOST_FUNCTION_NAMES,
  LLM_HOST_FUNCTION_NAMES,
};

/** The largest JSON argument a host function accepts, in bytes. */
export const MAX_HOST_ARG_BYTES = 24 << 20;

/**
 * The most host calls one entry call may make. Extism's JS kernel (rc13) never reuses a block
 * index within a call and addresses blocks as `index << 48` in an i64, so past about 16 000
 * host calls (two blocks each) the call traps. Past this limit the call's deadline is spent
 * (the capsule is interrupted at its next check, even if it swallows errors): the first refused
 * host call gets a `TOO_MANY_CALLS` error, later ones fail without allocating.
 *
 * @example Well below Extism's block-index limit
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { MAX_HOST_CALLS } from "./functions.ts";
 * ok(MAX_HOST_CALLS * 2 < 2 ** 15);
 * ```
 */
export const MAX_HOST_CALLS = 10_000;

/** How long a capsule may keep host timers and I/O waiting while it floods cheap host calls. */
const YIELD_AFTER_MS = 5;

type Impl = (
  env: HostEnv,
  state: CallState,
  args: Record<string, unknown>,
) => Promise<unknown>;

const IMPLS: Readonly<Record<string, Impl>> = {
  ...FS_FUNCTIONS,
  "http-request": httpRequest,
  ...KV_FUNCTIONS,
  ...LLM_FUNCTIONS,
  ...CONFIG_FUNCTIONS,
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
 * import { ALL_HOST_FUNCTION_NAMES, hostFunctions } from "./functions.ts";
 * import { newCallState } from "./context.ts";
 * const table = hostFunctions({ env: null, state: () => newCallState(), budgetMs: 1000 });
 * for (const n of [...ALL_HOST_FUNCTION_NAMES, "astrid-deadline", "astrid-now"]) ok(n in table);
 * ```
 */
export function hostFunctions(
  binding: HostBinding,
): Record<string, HostFunction> {
  const table: Record<string, HostFunction> = {};
  // The manifest's file folders are canonicalised once per instance, not on every call.
  const bound = binding.env;
  const env: HostEnv | null = bound && {
    ...bound,
    fileBases: bound.fileBases ?? fileBases(bound.manifest, bound.workspaceRoot),
  };
  let counted: CallState | null = null;
  let calls = 0;
  let yielded = performance.now();
  const count = (): number => {
    const s = binding.state();
    if (s !== counted) [counted, calls] = [s, 0];
    return ++calls;
  };
  for (const name of ALL_HOST_FUNCTION_NAMES) {
    const impl = IMPLS[name]!;
    table[name] = async (cp: CallContext, offset?: bigint): Promise<bigint> => {
      const n = count();
      if (n > MAX_HOST_CALLS + 1) return 0n;
      if (n > MAX_HOST_CALLS) {
        return fail(
          cp,
          "TOO_MANY_CALLS",
          `Cannot call ${name}: over ${MAX_HOST_CALLS} host calls`,
        );
      }
      if (performance.now() - yielded > YIELD_AFTER_MS) {
        // Cheap host calls (log, get-config) settle in microtasks only: let timers and I/O run.
        const s = binding.state();
        const before = performance.now();
        await new Promise((resolve) => setImmediate(resolve));
        yielded = performance.now();
        s.paused += yielded - before;
      }
      if (!env) {
        return fail(
          cp,
          "UNAVAILABLE",
          `Cannot call ${name}: the capsule is only described`,
        );
      }
      let args: Record<string, unknown>;
      try {
        const block = offset === undefined ? null : cp.read(offset);
        if (!block) throw new HostError("BAD_ARGS", "no argument");
        if ((block as unknown as DataView).byteLength > MAX_HOST_ARG_BYTES) {
          throw new HostError(
            "TOO_LARGE",
            `argument exceeds ${MAX_HOST_ARG_BYTES} bytes`,
          );
        }
        const parsed: unknown = JSON.parse(block.text());
        if (
          parsed === null || typeof parsed !== "object" || Array.isArray(parsed)
        ) {
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
    if (s === counted && calls > MAX_HOST_CALLS) return 0n;
    return BigInt(
      Math.floor(binding.budgetMs - (performance.now() - s.started - s.paused)),
    );
  };
  table["astrid-random-seed"] = () => crypto.getRandomValues(new BigUint64Array(1))[0]!;
  table["astrid-now"] = () => BigInt(Date.now()) * 1000n;
  return table;
}
