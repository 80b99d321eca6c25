/**
 * The coded error every registry failure raises. Callers match on `code`, never on the text.
 *
 * @module
 */

/**
 * Why a registry operation failed:
 * - `REF`: the reference does not parse (`oci://HOST[:PORT]/REPO:TAG`);
 * - `INSECURE`: plain HTTP to a host that is not loopback (refused);
 * - `INTEGRITY`: a blob or manifest digest, the signature, or the BLAKE3 pin does not match;
 * - `PUBLISHER`: the artifact is signed by another key than the one pinned for the capsule;
 * - `NOT_FOUND`: the registry has no such repository, tag, manifest or blob;
 * - `REGISTRY`: the registry answered with an error, or not at all.
 *
 * @example Codes are plain strings
 * ```ts
 * import { equal } from "node:assert/strict";
 * import type { RegistryErrorCode } from "./errors.ts";
 * const code: RegistryErrorCode = "INTEGRITY";
 * equal(code, "INTEGRITY");
 * ```
 */
export type RegistryErrorCode =
  | "REF"
  | "INSECURE"
  | "INTEGRITY"
  | "PUBLISHER"
  | "NOT_FOUND"
  | "REGISTRY";

/**
 * A registry failure with a {@link RegistryErrorCode}.
 *
 * @example Match on the code
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { RegistryError } from "./errors.ts";
 * const e = new RegistryError("INTEGRITY", "Cannot verify: digest differs");
 * equal(e.code, "INTEGRITY");
 * ```
 */
export class RegistryError extends Error {
  /** What kind of failure this is. */
  readonly code: RegistryErrorCode;
  /** Creates the error. */
  constructor(code: RegistryErrorCode, message: string) {
    super(message);
    this.name = "RegistryError";
    this.code = code;
  }
}
