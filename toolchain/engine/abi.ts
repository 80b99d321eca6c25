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
 * Every `extism:host/user` JSON host function the engine imports, in the engine's order (its
 * `HOST_NAMES`): the twelve, then the model functions. A host must register all of them, or the
 * capsule does not instantiate.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { ALL_HOST_FUNCTION_NAMES } from "./abi.ts";
 * equal(ALL_HOST_FUNCTION_NAMES.length, 14);
 * equal(ALL_HOST_FUNCTION_NAMES[12], "llm-complete");
 * ```
 */
export const ALL_HOST_FUNCTION_NAMES: readonly string[] = Object.freeze([
  ...HOST_FUNCTION_NAMES,
  ...LLM_HOST_FUNCTION_NAMES,
]);
