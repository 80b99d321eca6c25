/**
 * The engine's host ABI: the functions `engine.c` imports from module `extism:host/user`.
 * The runtime registers exactly these (runtime/capsule/host/functions.ts).
 *
 * @module
 */

/**
 * The twelve gated or scoped host functions of the design, in the engine's order.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { HOST_FUNCTION_NAMES } from "./abi.ts";
 * equal(HOST_FUNCTION_NAMES.length, 12);
 * ```
 */
export const HOST_FUNCTION_NAMES: readonly string[] = Object.freeze([
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
]);

/**
 * The host functions the engine imports beyond the design's twelve: `llm-complete` (a gated,
 * budgeted call to the runtime's model) and `llm-emit` (one streamed chunk of an
 * `[[llm_provider]]` answer).
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { LLM_HOST_FUNCTION_NAMES } from "./abi.ts";
 * deepEqual(LLM_HOST_FUNCTION_NAMES, ["llm-complete", "llm-emit"]);
 * ```
 */
export const LLM_HOST_FUNCTION_NAMES: readonly string[] = Object.freeze([
  "llm-complete",
  "llm-emit",
]);

/**
 * The host functions the engine imports beyond the design's twelve that change the capsule's
 * own config: `set-config` (one declared `[env]` value, through an approved action).
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { CONFIG_HOST_FUNCTION_NAMES } from "./abi.ts";
 * deepEqual(CONFIG_HOST_FUNCTION_NAMES, ["set-config"]);
 * ```
 */
export const CONFIG_HOST_FUNCTION_NAMES: readonly string[] = Object.freeze([
  "set-config",
]);

/**
 * Every `extism:host/user` JSON host function the engine imports, in the engine's order (its
 * `HOST_NAMES`): the twelve, then the model functions, then `set-config`. A host must register
 * all of them, or the capsule does not instantiate.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { ALL_HOST_FUNCTION_NAMES } from "./abi.ts";
 * equal(ALL_HOST_FUNCTION_NAMES.length, 15);
 * equal(ALL_HOST_FUNCTION_NAMES[12], "llm-complete");
 * equal(ALL_HOST_FUNCTION_NAMES[14], "set-config");
 * ```
 */
export const ALL_HOST_FUNCTION_NAMES: readonly string[] = Object.freeze([
  ...HOST_FUNCTION_NAMES,
  ...LLM_HOST_FUNCTION_NAMES,
  ...CONFIG_HOST_FUNCTION_NAMES,
]);
