/**
 * SHA-256 through WebCrypto, for identity checks of small texts many at a time (a capsule
 * listing's record and manifest digests): native and asynchronous, where the start-up's pure
 * TypeScript BLAKE3 (`_blake3_small.ts`) costs about 70 µs for a 1.5 KB text before it is
 * compiled. Pins (wasm hashes, the audit chain) stay BLAKE3.
 *
 * @module
 */

/**
 * `sha256:` and the hex SHA-256 of `data` (a string is hashed as its UTF-8 bytes).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { sha256Tagged } from "./sha256.ts";
 * equal(
 *   await sha256Tagged("abc"),
 *   "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
 * );
 * ```
 */
export async function sha256Tagged(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data.slice();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return `sha256:${digest.toHex()}`;
}
