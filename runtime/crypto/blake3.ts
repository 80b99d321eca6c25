/**
 * BLAKE3 hashing. Uses hash-wasm's reusable synchronous hasher (about 400–500 MB/s here),
 * which is also cheap per call for the small inputs of audit entries and tokens.
 *
 * @module
 */
import { createBLAKE3 } from "hash-wasm";

// One synchronous hasher per isolate. It is only ever used between init() and digest()
// with no await in between, so it is never shared across suspended calls.
const hasher = await createBLAKE3(256);
const encoder = new TextEncoder();

/**
 * Returns the 32-byte BLAKE3 digest of the concatenation of `parts`.
 *
 * @example Hash a string
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { blake3 } from "./blake3.ts";
 * import { toHex } from "./encoding.ts";
 * deepEqual(
 *   toHex(blake3("")),
 *   "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
 * );
 * ```
 */
export function blake3(...parts: (Uint8Array | string)[]): Uint8Array {
  hasher.init();
  for (const part of parts) hasher.update(typeof part === "string" ? encoder.encode(part) : part);
  return hasher.digest("binary");
}

/**
 * Returns the BLAKE3 digest as lowercase hex.
 *
 * @example Hash bytes
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { blake3Hex } from "./blake3.ts";
 * deepEqual(blake3Hex("abc").length, 64);
 * ```
 */
export function blake3Hex(...parts: (Uint8Array | string)[]): string {
  hasher.init();
  for (const part of parts) hasher.update(typeof part === "string" ? encoder.encode(part) : part);
  return hasher.digest("hex");
}

/**
 * Hashes a file in 1 MiB chunks without holding it whole in memory.
 *
 * @example Hash a file
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { blake3File, blake3Hex } from "./blake3.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "abc");
 * deepEqual(await blake3File(path), blake3Hex("abc"));
 * await Deno.remove(path);
 * ```
 */
export async function blake3File(path: string): Promise<string> {
  const own = await createBLAKE3(256);
  own.init();
  using file = await Deno.open(path, { read: true });
  const buf = new Uint8Array(1 << 20);
  for (;;) {
    const n = await file.read(buf);
    if (n === null) break;
    own.update(buf.subarray(0, n));
  }
  return own.digest("hex");
}
