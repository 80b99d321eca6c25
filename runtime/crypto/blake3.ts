/**
 * BLAKE3 hashing, by whichever maintained implementation is fastest for the size (measured side
 * by side in bench/capsule_bench.ts, group "blake3"; issue 15):
 *
 * - 4 KiB and more, in one buffer (a capsule's wasm, blobs): blake3-jit's one-shot `hash()`,
 *   whose runtime-generated wasm SIMD hashes about 1.2–1.3 GB/s on 1 MiB and 64 MiB buffers,
 *   against hash-wasm's 0.8 GB/s. Several parts of that size are joined first (one copy is
 *   cheaper than blake3-jit's incremental hasher, which is slower than hash-wasm's).
 * - Smaller inputs (audit entries of about 300 bytes, tokens, keys): hash-wasm's reusable
 *   synchronous hasher, about 1.3× faster there than blake3-jit's JS path.
 * - Files, streamed in 1 MiB chunks: hash-wasm's incremental hasher.
 *
 * @module
 */
import { createBLAKE3 } from "hash-wasm";
import { hash as oneShot } from "blake3-jit";
import { toHex } from "./encoding.ts";

// One synchronous hasher per isolate. It is only ever used between init() and digest()
// with no await in between, so it is never shared across suspended calls.
const hasher = await createBLAKE3(256);
const encoder = new TextEncoder();
/** From this many bytes on, blake3-jit's SIMD one-shot hash is the faster one. */
const LARGE = 4096;

/** The large one-shot digest of `bytes` (joined), or null when they are small. */
function large(bytes: Uint8Array[]): Uint8Array | null {
  let total = 0;
  for (const b of bytes) total += b.length;
  if (total < LARGE) return null;
  if (bytes.length === 1) return oneShot(bytes[0]!);
  const joined = new Uint8Array(total);
  let at = 0;
  for (const b of bytes) {
    joined.set(b, at);
    at += b.length;
  }
  return oneShot(joined);
}

function encode(parts: (Uint8Array | string)[]): Uint8Array[] {
  return parts.map((p) => typeof p === "string" ? encoder.encode(p) : p);
}

function small(bytes: Uint8Array[]): void {
  hasher.init();
  for (const b of bytes) hasher.update(b);
}

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
  const bytes = encode(parts);
  const big = large(bytes);
  if (big) return big;
  small(bytes);
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
  const bytes = encode(parts);
  const big = large(bytes);
  if (big) return toHex(big);
  small(bytes);
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
