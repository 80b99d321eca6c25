/**
 * `set-config`: a capsule changes one of its own `[env]` values, through an approved action.
 *
 * The key must be one the capsule's manifest declares in `[env]`; the value is a string of at
 * most {@link MAX_CONFIG_VALUE_CHARS} characters without NUL. The change is a
 * `capsule_config_write` action (`capsule://<capsule>/config/<key>`, permission `write`): no
 * standing mode approves it, so a human (or a rule, token or session allowance) must. The
 * action, its audit entry and the approval prompt never hold the value of a secret key. On
 * allow, the entry is written ahead, the capsule's env file is rewritten atomically (mode 0600)
 * and the instance's config view is updated, so a later `get-config` sees the new value.
 * Denied or deferred, nothing changes.
 *
 * @module
 */
import { readEnvFile, writeEnvFile } from "../env_store.ts";
import { type CallState, gate, type HostEnv, HostError, refuse } from "./context.ts";

/** The longest value `set-config` accepts, in characters. */
export const MAX_CONFIG_VALUE_CHARS = 4096;

/**
 * Checks the arguments of `set-config` on entry: a string key and a string value of at most
 * {@link MAX_CONFIG_VALUE_CHARS} characters without NUL.
 *
 * @example A NUL in the value is refused
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { configArgs } from "./config.ts";
 * throws(() => configArgs({ key: "units", value: "a\0b" }), /NUL/);
 * ```
 */
export function configArgs(args: Record<string, unknown>): { key: string; value: string } {
  const { key, value } = args;
  if (typeof key !== "string" || key.length === 0) {
    throw new HostError(
      "BAD_ARGS",
      `Cannot set config: key must be a non-empty string, current value is ${
        JSON.stringify(key ?? null).slice(0, 80)
      }`,
    );
  }
  if (typeof value !== "string") {
    throw new HostError(
      "BAD_ARGS",
      `Cannot set config ${key.slice(0, 80)}: value must be a string, current type is ${
        value === null ? "null" : Array.isArray(value) ? "array" : typeof value
      }`,
    );
  }
  if (value.length > MAX_CONFIG_VALUE_CHARS) {
    throw new HostError(
      "TOO_LARGE",
      `Cannot set config ${key.slice(0, 80)}: value has ${value.length} characters, over ` +
        `${MAX_CONFIG_VALUE_CHARS}`,
    );
  }
  if (value.includes("\0")) {
    throw new HostError("BAD_ARGS", `Cannot set config ${key.slice(0, 80)}: value holds NUL`);
  }
  return { key, value };
}

/** `set-config`, by import name. */
export const CONFIG_FUNCTIONS: Readonly<
  Record<
    string,
    (env: HostEnv, state: CallState, args: Record<string, unknown>) => Promise<unknown>
  >
> = {
  "set-config": async (env, state, args) => {
    const { key, value } = configArgs(args);
    const spec = Object.hasOwn(env.manifest.env, key) ? env.manifest.env[key] : undefined;
    if (spec === undefined) {
      throw await refuse(
        env,
        state,
        "set-config",
        "CAPABILITY",
        `Cannot set config ${
          key.slice(0, 80)
        }: capsule ${env.capsule} does not declare it in [env]`,
      );
    }
    if (env.envPath === undefined || !env.envPath.startsWith("/")) {
      throw new HostError(
        "UNAVAILABLE",
        `Cannot set config ${key}: capsule ${env.capsule} has no env file (it is not installed)`,
      );
    }
    const secret = spec.type === "secret" || env.secretKeys.has(key);
    // The value of a secret key never enters the action: not the prompt, the audit or the queue.
    const allowed = await gate(env, state, {
      kind: "capsule_config_write",
      capsule: env.capsule,
      key,
      secret,
      ...(secret ? {} : { value }),
    }, { batched: true, writeAhead: true });
    try {
      const stored = await readEnvFile(env.envPath);
      stored[key] = value;
      await writeEnvFile(env.envPath, stored);
      env.config[key] = value;
      env.configWritten?.(key, value);
      await allowed.complete({ ok: true });
      return null;
    } catch (e) {
      await allowed.complete({ ok: false, detail: (e as Error).message });
      throw new HostError("IO", `Cannot set config ${key}: ${(e as Error).message}`);
    }
  },
};
