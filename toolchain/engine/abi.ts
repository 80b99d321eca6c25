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
