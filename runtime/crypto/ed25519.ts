/**
 * Ed25519 signatures (RFC 8032 §5.1) on the hot path: `node:crypto`'s synchronous native
 * implementation (about 34k signs/s and 16k verifies/s here). `@noble/ed25519` is kept for a
 * pure-JS path; both produce byte-identical signatures (RFC 8032 signatures are deterministic,
 * §5.1.6), which `ed25519_test.ts` checks against the RFC's own vectors.
 *
 * `node:crypto` is loaded on the first call that needs it (`process.getBuiltinModule`, which is
 * synchronous), not when this module loads: initialising it costs about 15 ms, which every CLI
 * command paid at start-up even when it signed and verified nothing. {@link loadSigner} builds a
 * signer without it: WebCrypto derives the public key (about 1 ms), and `node:crypto` is loaded
 * at the first synchronous signature. A caller that can wait signs with `signAsync`: WebCrypto
 * (about 0.3 ms for the first signature, 40–60 µs each after) until `node:crypto` is loaded
 * anyway, then the native path; a one-shot command that only signs its audit head never loads it.
 *
 * Keys are raw: a 32-byte seed (the RFC's private key) and a 32-byte public key.
 *
 * @module
 */
import type { KeyObject } from "node:crypto";
import { fromBase64Url, fromHex, toHex } from "./encoding.ts";

type NodeCrypto = typeof import("node:crypto");
let nodeCrypto: NodeCrypto | undefined;

/** `node:crypto`, loaded on first use. */
function native(): NodeCrypto {
  const host = globalThis as unknown as { process: { getBuiltinModule(id: string): unknown } };
  return nodeCrypto ??= host.process.getBuiltinModule("node:crypto") as NodeCrypto;
}

// DER prefixes that wrap a raw key (RFC 8410 §7 and §4).
const PKCS8_PREFIX = fromHex("302e020100300506032b657004220420");
const SPKI_PREFIX = fromHex("302a300506032b6570032100");

/** A signing key held as a native key object; the raw seed is not kept. */
export interface Signer {
  /** The raw 32-byte public key. */
  readonly publicKey: Uint8Array;
  /** Signs `message` (RFC 8032 §5.1.6) and returns the 64-byte signature. */
  sign(message: Uint8Array): Uint8Array;
  /** The same signature (byte-identical), without loading `node:crypto` for it (see above). */
  signAsync(message: Uint8Array): Promise<Uint8Array>;
}

/**
 * Returns 32 bytes of fresh randomness for a new private key.
 *
 * @example Generate a seed
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { generateSeed } from "./ed25519.ts";
 * deepEqual(generateSeed().length, 32);
 * ```
 */
export function generateSeed(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

/**
 * Builds a {@link Signer} from a 32-byte seed. The caller should wipe its copy of the seed
 * afterwards (JavaScript cannot guarantee that no other copy remains).
 *
 * @example Sign and verify
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { generateSeed, signerFromSeed, verify } from "./ed25519.ts";
 * const signer = signerFromSeed(generateSeed());
 * const msg = new TextEncoder().encode("hello");
 * ok(verify(signer.publicKey, msg, signer.sign(msg)));
 * ```
 */
export function signerFromSeed(seed: Uint8Array): Signer {
  const der = pkcs8(seed);
  const { createPrivateKey, createPublicKey, sign } = native();
  const key = createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" });
  der.fill(0);
  const spki = createPublicKey(key).export({ format: "der", type: "spki" });
  const publicKey = new Uint8Array(spki.subarray(spki.length - 32));
  const signNow = (message: Uint8Array) => new Uint8Array(sign(null, message, key));
  return {
    publicKey,
    sign: signNow,
    signAsync: (message) => Promise.resolve().then(() => signNow(message)),
  };
}

/** The PKCS #8 DER of a raw seed (RFC 8410 §7); the caller wipes it. */
function pkcs8(seed: Uint8Array): Uint8Array<ArrayBuffer> {
  if (seed.length !== 32) {
    throw new RangeError(`Cannot create an Ed25519 key: seed has ${seed.length} bytes, not 32`);
  }
  const der = new Uint8Array(PKCS8_PREFIX.length + 32);
  der.set(PKCS8_PREFIX);
  der.set(seed, PKCS8_PREFIX.length);
  return der;
}

/**
 * Builds the same {@link Signer} as {@link signerFromSeed} without loading `node:crypto` until
 * its first signature: the key is imported into WebCrypto, which also yields the public key.
 * Signatures are byte-identical (RFC 8032 §5.1.6). The caller should wipe its seed afterwards.
 *
 * @example Same key, same signature
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { generateSeed, loadSigner, signerFromSeed } from "./ed25519.ts";
 * const seed = generateSeed();
 * const lazy = await loadSigner(seed);
 * const eager = signerFromSeed(seed);
 * deepEqual(lazy.publicKey, eager.publicKey);
 * deepEqual(await lazy.signAsync(new Uint8Array([2])), eager.sign(new Uint8Array([2])));
 * deepEqual(lazy.sign(new Uint8Array([1])), eager.sign(new Uint8Array([1])));
 * ```
 */
export async function loadSigner(seed: Uint8Array): Promise<Signer> {
  const der = pkcs8(seed);
  let webKey: CryptoKey;
  let publicKey: Uint8Array;
  try {
    // An extractable copy yields the public key (`x` of its JWK) and is then dropped; the key
    // kept for signing cannot be exported.
    const algorithm = { name: "Ed25519" };
    const [exportable, kept] = await Promise.all([
      crypto.subtle.importKey("pkcs8", der, algorithm, true, ["sign"]),
      crypto.subtle.importKey("pkcs8", der, algorithm, false, ["sign"]),
    ]);
    publicKey = fromBase64Url((await crypto.subtle.exportKey("jwk", exportable)).x ?? "");
    webKey = kept;
  } finally {
    der.fill(0);
  }
  if (publicKey.length !== 32) throw new TypeError("Cannot derive the Ed25519 public key");
  let key: KeyObject | undefined;
  const signNow = (message: Uint8Array) => {
    const { KeyObject, sign } = native();
    key ??= KeyObject.from(webKey);
    return new Uint8Array(sign(null, message, key));
  };
  return {
    publicKey,
    sign: signNow,
    signAsync: async (message) => {
      if (nodeCrypto !== undefined) return signNow(message);
      const signature = new Uint8Array(
        await crypto.subtle.sign("Ed25519", webKey, message.slice()),
      );
      // A signature just made with this key verifies: verify() answers it without node:crypto
      // (a command that signs its audit head reads it back to checkpoint it).
      rememberVerified(publicKey, message, signature);
      return signature;
    },
  };
}

const publicKeys = new Map<string, KeyObject>();

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = toHex(publicKey);
  let key = publicKeys.get(id);
  if (!key) {
    const der = new Uint8Array(SPKI_PREFIX.length + 32);
    der.set(SPKI_PREFIX);
    der.set(publicKey, SPKI_PREFIX.length);
    key = native().createPublicKey({ key: Buffer.from(der), format: "der", type: "spki" });
    if (publicKeys.size > 1024) publicKeys.clear();
    publicKeys.set(id, key);
  }
  return key;
}

/**
 * Verifies an Ed25519 signature (RFC 8032 §5.1.7). Returns false, never throws, for a key or
 * signature of the wrong length or one that does not parse: callers fail closed on `false`.
 *
 * @example Reject a tampered message
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { generateSeed, signerFromSeed, verify } from "./ed25519.ts";
 * const signer = signerFromSeed(generateSeed());
 * const sig = signer.sign(new Uint8Array([1]));
 * deepEqual(verify(signer.publicKey, new Uint8Array([2]), sig), false);
 * ```
 */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  if (verifiedAhead.size > 0 && verifiedAhead.has(tripleId(publicKey, message, signature))) {
    return true;
  }
  try {
    return native().verify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}

/** One signature to check: the signer's raw public key, the signed bytes and the signature. */
export interface SignedBytes {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

// Exact (key, message, signature) triples WebCrypto accepted in verifyAhead(), or made by a
// signer's signAsync(). Only valid signatures are kept: a triple not here goes to node:crypto, so
// a rejection is always node:crypto's.
const verifiedAhead = new Set<string>();
const MAX_AHEAD = 1024;

function tripleId(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): string {
  return `${toHex(publicKey)}.${toHex(signature)}.${toHex(message)}`;
}

/**
 * Verifies `items` with WebCrypto (asynchronously, in parallel) so that {@link verify} answers
 * them without loading `node:crypto`: a read-only command that checks a few signatures (the
 * audit log's head, its newest checkpoint, the witness's tail) then never pays that module's
 * start-up (about 15 ms; WebCrypto's first verification costs about 1 ms, later ones 40 µs).
 * Only exact triples that verified are remembered; anything else is checked by `verify` as
 * always. Both implementations accept and reject alike, RFC 8032 §5.1.7 as implemented, on the
 * edge cases `ed25519_test.ts` checks (non-canonical S and points, small-order keys).
 *
 * @example Verify ahead, then synchronously
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { generateSeed, signerFromSeed, verify, verifyAhead } from "./ed25519.ts";
 * const signer = signerFromSeed(generateSeed());
 * const message = new Uint8Array([1, 2, 3]);
 * const signature = signer.sign(message);
 * await verifyAhead([{ publicKey: signer.publicKey, message, signature }]);
 * ok(verify(signer.publicKey, message, signature));
 * ```
 */
export async function verifyAhead(items: readonly SignedBytes[]): Promise<void> {
  await Promise.all(items.map(async ({ publicKey, message, signature }) => {
    if (publicKey.length !== 32 || signature.length !== 64) return;
    const key = await verifyKey(publicKey);
    if (!key) return;
    const ok = await crypto.subtle.verify("Ed25519", key, signature.slice(), message.slice())
      .catch(() => false);
    if (ok) rememberVerified(publicKey, message, signature);
  }));
}

// Public keys imported into WebCrypto for verifyAhead(), by hex: a later call with the same key
// (the runtime's own, checked again by each part of a command) skips the import, one trip to
// Deno's crypto thread and back. A key WebCrypto refuses is kept as null.
const importedKeys = new Map<string, Promise<CryptoKey | null>>();
const MAX_IMPORTED = 64;

/** `raw` (32 bytes) as a WebCrypto Ed25519 verification key, imported once; null if refused. */
function verifyKey(raw: Uint8Array): Promise<CryptoKey | null> {
  const id = toHex(raw);
  let key = importedKeys.get(id);
  if (key === undefined) {
    if (importedKeys.size >= MAX_IMPORTED) importedKeys.clear();
    key = crypto.subtle.importKey("raw", raw.slice(), { name: "Ed25519" }, false, ["verify"])
      .catch(() => null);
    importedKeys.set(id, key);
  }
  return key;
}

function rememberVerified(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) {
  if (verifiedAhead.size >= MAX_AHEAD) verifiedAhead.clear();
  verifiedAhead.add(tripleId(publicKey, message, signature));
}
