/**
 * BLAKE3 hashing, by whichever maintained implementation is fastest for the job (measured side
 * by side in bench/capsule_bench.ts, group "blake3", and on start-up; issue 15):
 *
 * - One buffer or a few parts, of any size: blake3-jit's one-shot `hash()`. From 4 KiB on, its
 *   runtime-generated wasm SIMD hashes about 1.2–1.3 GB/s on 1 MiB and 64 MiB buffers, against
 *   hash-wasm's 0.8 GB/s; below that its JS path is as fast as hash-wasm's reusable hasher (32 B:
 *   0.53 against 0.59 µs, 300 B: 0.81 against 0.89 µs, 4 KB: 4.7 µs both). Several parts are
 *   joined first (one copy is cheaper than blake3-jit's incremental hasher).
 * - Files, streamed in 1 MiB chunks: hash-wasm's incremental hasher, loaded on the first call.
 *   Loading it and compiling its wasm cost about 30 ms, which every command paid at start-up
 *   while it was the small-input hasher.
 *
 * @module
 */
import { hash as oneShot } from "blake3-jit";
import { toHex } from "./encoding.ts";

const encoder = new TextEncoder();
// A computed specifier keeps hash-wasm out of the start-up module graph (a literal one would be
// resolved, and its package prepared, when the graph is built).
const HASH_WASM: string = "hash-wasm";

/** The parts as one buffer (the only part itself when there is one). */
function joined(parts: (Uint8Array | string)[]): Uint8Array {
  const bytes = parts.map((p) => typeof p === "string" ? encoder.encode(p) : p);
  if (bytes.length === 1) return bytes[0]!;
  let total = 0;
  for (const b of bytes) total += b.length;
  const all = new Uint8Array(total);
  let at = 0;
  for (const b of bytes) {
    all.set(b, at);
    at += b.length;
  }
  return all;
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
  return oneShot(joined(parts));
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
  return toHex(oneShot(joined(parts)));
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
  const { createBLAKE3 } = await import(HASH_WASM) as typeof import("hash-wasm");
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
