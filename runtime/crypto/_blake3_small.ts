/**
 * BLAKE3 (the 32-byte hash, unkeyed) written out in TypeScript, for the small inputs the runtime
 * hashes on every command: an audit entry, a public key, a manifest. Loading the npm package
 * (blake3-jit) costs about 5 ms of a command's start-up (Deno's npm resolver and the package's
 * own set-up), more than hashing a few kilobytes here; large inputs (a capsule's wasm) still go
 * to blake3-jit (blake3.ts `blake3Large`), which reaches well over 1 GB/s.
 *
 * Written from the BLAKE3 specification (Aumasson, Neves, O'Connor, Wilcox-O'Hearn, 2020):
 * 1024-byte chunks of 64-byte blocks compressed with the 7-round function below, chunk chaining
 * values merged pairwise into a binary tree (the left subtree takes the largest power of two of
 * chunks that leaves one for the right), the root compressed with the ROOT flag. Checked against
 * blake3-jit on every length around the block and chunk boundaries (blake3_test.ts).
 *
 * @module
 */

const IV = new Uint32Array([
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
]);
const CHUNK_START = 1;
const CHUNK_END = 2;
const PARENT = 4;
const ROOT = 8;
const BLOCK_LEN = 64;
const CHUNK_LEN = 1024;

/** One block's message words (little-endian), reused: hashing is synchronous. */
const words = new Uint32Array(16);

/**
 * Compresses the 16 message words `m[mAt..mAt+16]` into the chaining value `cv[0..8]` (updated
 * in place) with the block counter, the block's length and the flags: the 7 rounds of G mixes
 * over the columns and diagonals of the state, the message words permuted between rounds.
 */
function compress(
  cv: Uint32Array,
  m: Uint32Array,
  mAt: number,
  counter: number,
  len: number,
  flags: number,
): void {
  let v0 = cv[0]! | 0, v1 = cv[1]! | 0, v2 = cv[2]! | 0, v3 = cv[3]! | 0;
  let v4 = cv[4]! | 0, v5 = cv[5]! | 0, v6 = cv[6]! | 0, v7 = cv[7]! | 0;
  let v8 = 0x6a09e667 | 0, v9 = 0xbb67ae85 | 0, v10 = 0x3c6ef372 | 0, v11 = 0xa54ff53a | 0;
  // Counters stay below 2^32 chunks (4 TiB): the high word is 0.
  let v12 = counter | 0, v13 = 0, v14 = len | 0, v15 = flags | 0;
  let m0 = m[mAt]! | 0, m1 = m[mAt + 1]! | 0, m2 = m[mAt + 2]! | 0, m3 = m[mAt + 3]! | 0;
  let m4 = m[mAt + 4]! | 0, m5 = m[mAt + 5]! | 0, m6 = m[mAt + 6]! | 0, m7 = m[mAt + 7]! | 0;
  let m8 = m[mAt + 8]! | 0, m9 = m[mAt + 9]! | 0, m10 = m[mAt + 10]! | 0, m11 = m[mAt + 11]! | 0;
  let m12 = m[mAt + 12]! | 0, m13 = m[mAt + 13]! | 0, m14 = m[mAt + 14]! | 0;
  let m15 = m[mAt + 15]! | 0;
  for (let round = 0; round < 7; round++) {
    v0 = (v0 + v4 + m0) | 0;
    v12 ^= v0;
    v12 = (v12 >>> 16) | (v12 << 16);
    v8 = (v8 + v12) | 0;
    v4 ^= v8;
    v4 = (v4 >>> 12) | (v4 << 20);
    v0 = (v0 + v4 + m1) | 0;
    v12 ^= v0;
    v12 = (v12 >>> 8) | (v12 << 24);
    v8 = (v8 + v12) | 0;
    v4 ^= v8;
    v4 = (v4 >>> 7) | (v4 << 25);
    v1 = (v1 + v5 + m2) | 0;
    v13 ^= v1;
    v13 = (v13 >>> 16) | (v13 << 16);
    v9 = (v9 + v13) | 0;
    v5 ^= v9;
    v5 = (v5 >>> 12) | (v5 << 20);
    v1 = (v1 + v5 + m3) | 0;
    v13 ^= v1;
    v13 = (v13 >>> 8) | (v13 << 24);
    v9 = (v9 + v13) | 0;
    v5 ^= v9;
    v5 = (v5 >>> 7) | (v5 << 25);
    v2 = (v2 + v6 + m4) | 0;
    v14 ^= v2;
    v14 = (v14 >>> 16) | (v14 << 16);
    v10 = (v10 + v14) | 0;
    v6 ^= v10;
    v6 = (v6 >>> 12) | (v6 << 20);
    v2 = (v2 + v6 + m5) | 0;
    v14 ^= v2;
    v14 = (v14 >>> 8) | (v14 << 24);
    v10 = (v10 + v14) | 0;
    v6 ^= v10;
    v6 = (v6 >>> 7) | (v6 << 25);
    v3 = (v3 + v7 + m6) | 0;
    v15 ^= v3;
    v15 = (v15 >>> 16) | (v15 << 16);
    v11 = (v11 + v15) | 0;
    v7 ^= v11;
    v7 = (v7 >>> 12) | (v7 << 20);
    v3 = (v3 + v7 + m7) | 0;
    v15 ^= v3;
    v15 = (v15 >>> 8) | (v15 << 24);
    v11 = (v11 + v15) | 0;
    v7 ^= v11;
    v7 = (v7 >>> 7) | (v7 << 25);
    v0 = (v0 + v5 + m8) | 0;
    v15 ^= v0;
    v15 = (v15 >>> 16) | (v15 << 16);
    v10 = (v10 + v15) | 0;
    v5 ^= v10;
    v5 = (v5 >>> 12) | (v5 << 20);
    v0 = (v0 + v5 + m9) | 0;
    v15 ^= v0;
    v15 = (v15 >>> 8) | (v15 << 24);
    v10 = (v10 + v15) | 0;
    v5 ^= v10;
    v5 = (v5 >>> 7) | (v5 << 25);
    v1 = (v1 + v6 + m10) | 0;
    v12 ^= v1;
    v12 = (v12 >>> 16) | (v12 << 16);
    v11 = (v11 + v12) | 0;
    v6 ^= v11;
    v6 = (v6 >>> 12) | (v6 << 20);
    v1 = (v1 + v6 + m11) | 0;
    v12 ^= v1;
    v12 = (v12 >>> 8) | (v12 << 24);
    v11 = (v11 + v12) | 0;
    v6 ^= v11;
    v6 = (v6 >>> 7) | (v6 << 25);
    v2 = (v2 + v7 + m12) | 0;
    v13 ^= v2;
    v13 = (v13 >>> 16) | (v13 << 16);
    v8 = (v8 + v13) | 0;
    v7 ^= v8;
    v7 = (v7 >>> 12) | (v7 << 20);
    v2 = (v2 + v7 + m13) | 0;
    v13 ^= v2;
    v13 = (v13 >>> 8) | (v13 << 24);
    v8 = (v8 + v13) | 0;
    v7 ^= v8;
    v7 = (v7 >>> 7) | (v7 << 25);
    v3 = (v3 + v4 + m14) | 0;
    v14 ^= v3;
    v14 = (v14 >>> 16) | (v14 << 16);
    v9 = (v9 + v14) | 0;
    v4 ^= v9;
    v4 = (v4 >>> 12) | (v4 << 20);
    v3 = (v3 + v4 + m15) | 0;
    v14 ^= v3;
    v14 = (v14 >>> 8) | (v14 << 24);
    v9 = (v9 + v14) | 0;
    v4 ^= v9;
    v4 = (v4 >>> 7) | (v4 << 25);
    if (round === 6) break;
    const t0 = m0,
      t1 = m1,
      t2 = m2,
      t3 = m3,
      t4 = m4,
      t5 = m5,
      t6 = m6,
      t7 = m7,
      t8 = m8,
      t9 = m9,
      t10 = m10,
      t11 = m11,
      t12 = m12,
      t13 = m13,
      t14 = m14,
      t15 = m15;
    m0 = t2;
    m1 = t6;
    m2 = t3;
    m3 = t10;
    m4 = t7;
    m5 = t0;
    m6 = t4;
    m7 = t13;
    m8 = t1;
    m9 = t11;
    m10 = t12;
    m11 = t5;
    m12 = t9;
    m13 = t14;
    m14 = t15;
    m15 = t8;
  }
  cv[0] = v0 ^ v8;
  cv[1] = v1 ^ v9;
  cv[2] = v2 ^ v10;
  cv[3] = v3 ^ v11;
  cv[4] = v4 ^ v12;
  cv[5] = v5 ^ v13;
  cv[6] = v6 ^ v14;
  cv[7] = v7 ^ v15;
}

/** Loads up to 64 bytes of `input` at `at` into {@link words}, little-endian, zero-padded. */
function load(input: Uint8Array, at: number, len: number): void {
  if (len === BLOCK_LEN) {
    for (let i = 0, j = at; i < 16; i++, j += 4) {
      words[i] = input[j]! | (input[j + 1]! << 8) | (input[j + 2]! << 16) | (input[j + 3]! << 24);
    }
    return;
  }
  words.fill(0);
  for (let i = 0; i < len; i++) {
    words[i >> 2] = words[i >> 2]! | (input[at + i]! << ((i & 3) * 8));
  }
}

/**
 * The chaining value of chunk number `index` (`input[at..at+len]`, 1–1024 bytes, or 0 for the
 * empty input), with ROOT on its last block when `root`.
 */
function chunk(input: Uint8Array, at: number, len: number, index: number, root: boolean) {
  const cv = IV.slice();
  const blocks = Math.max(1, Math.ceil(len / BLOCK_LEN));
  for (let b = 0; b < blocks; b++) {
    const start = b * BLOCK_LEN;
    const blockLen = Math.min(BLOCK_LEN, len - start);
    let flags = b === 0 ? CHUNK_START : 0;
    if (b === blocks - 1) flags |= CHUNK_END | (root ? ROOT : 0);
    load(input, at + start, blockLen);
    compress(cv, words, 0, index, blockLen, flags);
  }
  return cv;
}

/** The parent of two chaining values, with ROOT when it is the root. */
function parent(left: Uint32Array, right: Uint32Array, root: boolean): Uint32Array {
  words.set(left, 0);
  words.set(right, 8);
  const cv = IV.slice();
  compress(cv, words, 0, 0, BLOCK_LEN, PARENT | (root ? ROOT : 0));
  return cv;
}

/** The chaining value of `count` chunks from chunk `first` (the root's when `root`). */
function subtree(input: Uint8Array, first: number, count: number, root: boolean): Uint32Array {
  if (count === 1) {
    const at = first * CHUNK_LEN;
    return chunk(input, at, Math.min(CHUNK_LEN, input.length - at), first, root);
  }
  let left = 1;
  while (left * 2 < count) left *= 2;
  const l = subtree(input, first, left, false);
  const r = subtree(input, first + left, count - left, false);
  return parent(l, r, root);
}

/**
 * The BLAKE3 hash (32 bytes) of `input`.
 *
 * @example The hash of the empty input
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { blake3Small } from "./_blake3_small.ts";
 * equal(
 *   blake3Small(new Uint8Array()).toHex(),
 *   "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
 * );
 * ```
 */
export function blake3Small(input: Uint8Array): Uint8Array {
  const chunks = Math.max(1, Math.ceil(input.length / CHUNK_LEN));
  const cv = subtree(input, 0, chunks, true);
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const w = cv[i]!;
    out[i * 4] = w;
    out[i * 4 + 1] = w >>> 8;
    out[i * 4 + 2] = w >>> 16;
    out[i * 4 + 3] = w >>> 24;
  }
  return out;
}
