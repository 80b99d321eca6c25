/**
 * The coded error every capsule failure raises. Callers match on `code`, never on the text.
 *
 * @module
 */

/**
 * Why a capsule operation failed:
 * - `MANIFEST`: `Capsule.toml` does not parse or does not validate (`key` and `line` say where);
 * - `INTEGRITY`: the wasm does not match the manifest's BLAKE3 hash, or a required hash is missing;
 * - `NOT_FOUND`: no such capsule, tool or file;
 * - `INSTALL`: the capsule cannot be installed (symlink, existing capsule, refused confirmation);
 * - `ENGINE`: the wasm engine failed (trap, deadline, memory, a thrown error);
 * - `DEFERRED`: a host call needed a human who did not answer in time; the action is queued.
 *
 * @example Codes are plain strings
 * ```ts
 * import { equal } from "node:assert/strict";
 * import type { CapsuleErrorCode } from "./errors.ts";
 * const code: CapsuleErrorCode = "INTEGRITY";
 * equal(code, "INTEGRITY");
 * ```
 */
export type CapsuleErrorCode =
  | "MANIFEST"
  | "INTEGRITY"
  | "NOT_FOUND"
  | "INSTALL"
  | "ENGINE"
  | "DEFERRED";

/** Where in `Capsule.toml` a manifest error was found, and other details. */
export interface CapsuleErrorDetails {
  /** The dotted key at fault, e.g. `capabilities.net[0]`. */
  readonly key?: string | undefined;
  /** The 1-based line of that key in the file. */
  readonly line?: number | undefined;
  /** The engine's own code (`DEADLINE`, `MEMORY`, `STACK`, `THROWN`, `TRAPPED`, …). */
  readonly engineCode?: string | undefined;
  /** The deferred approval's id (`DEFERRED`). */
  readonly deferredId?: string | undefined;
}

/**
 * A capsule could not be parsed, verified, installed or run.
 *
 * @example A hash mismatch is an integrity failure (the CLI exits 5)
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { CapsuleError } from "./errors.ts";
 * const err = new CapsuleError("INTEGRITY", "Cannot load capsule hello: current hash is blake3:00");
 * equal(err.code, "INTEGRITY");
 * equal(err.name, "CapsuleError");
 * ```
 */
export class CapsuleError extends Error {
  /** Stable code for callers. */
  readonly code: CapsuleErrorCode;
  /** The dotted manifest key at fault, if any. */
  readonly key: string | undefined;
  /** The manifest line at fault, if any. */
  readonly line: number | undefined;
  /** The engine's own error code, if any. */
  readonly engineCode: string | undefined;
  /** The deferred approval id, if any. */
  readonly deferredId: string | undefined;

  /** Creates the error. */
  constructor(code: CapsuleErrorCode, message: string, details: CapsuleErrorDetails = {}) {
    super(message);
    this.name = "CapsuleError";
    this.code = code;
    this.key = details.key;
    this.line = details.line;
    this.engineCode = details.engineCode;
    this.deferredId = details.deferredId;
  }
}
