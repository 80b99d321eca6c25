/**
 * BLAKE3 hashing, by whichever implementation is fastest for the job (measured side by side in
 * bench/capsule_bench.ts, group "blake3", and on start-up; issue 15):
 *
 * - Small inputs on a command's path (an audit entry, a key, a manifest): `_blake3_small.ts`,
 *   BLAKE3 written out in TypeScript (a 200-byte entry in about 1 µs). Loading blake3-jit, the
 *   only npm package a command's start-up would otherwise load, costs about 5 ms (Deno's npm
 *   resolver and the package's set-up) on every command.
 * - Large buffers (a capsule's wasm, an engine build): blake3-jit's one-shot `hash()`, whose
 *   runtime-generated wasm SIMD hashes about 1.2–1.3 GB/s on 1 MiB and 64 MiB buffers (against
 *   about 0.4 GB/s written out here, and hash-wasm's 0.8 GB/s). It is loaded by
 *   {@link loadFastBlake3}, which the code that hashes large buffers awaits first (the capsule
 *   loader, a registry pull, the compiler); once loaded, every hash of this process uses it.
 *   Several parts are joined first (one copy is cheaper than an incremental hasher).
 * - Files, streamed in 1 MiB chunks: hash-wasm's incremental hasher, loaded on the first call.
 *
 * Both one-shot implementations give the same bytes (blake3_test.ts compares them on every length
 * around the block and chunk boundaries).
 *
 * @module
 */
import { blake3Small } from "./_blake3_small.ts";
import { toHex } from "./encoding.ts";

const encoder = new TextEncoder();
// Computed specifiers keep the packages out of the start-up module graph (a literal one would
// be resolved, and its package prepared, when the graph is built).
const HASH_WASM: string = "hash-wasm";
const BLAKE3_JIT: string = "blake3-jit";

/** blake3-jit's one-shot hash, once {@link loadFastBlake3} has loaded it. */
let fast: ((input: Uint8Array) => Uint8Array) | null = null;
let loading: Promise<void> | null = null;

/**
 * Loads blake3-jit, after which {@link blake3} and {@link blake3Hex} use it for every input.
 * Await it before hashing large buffers; it settles at once when loaded.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { blake3Hex, loadFastBlake3 } from "./blake3.ts";
 * await loadFastBlake3();
 * equal(blake3Hex("").length, 64);
 * ```
 */
export function loadFastBlake3(): Promise<void> {
  return loading ??= (import(BLAKE3_JIT) as Promise<typeof import("blake3-jit")>).then((m) => {
    fast = m.hash;
  });
}

/** The one-shot hash of one buffer. */
function oneShot(input: Uint8Array): Uint8Array {
  return fast === null ? blake3Small(input) : fast(input);
}

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
