/**
 * Ed25519 signatures (RFC 8032 §5.1) on the hot path: `node:crypto`'s synchronous native
 * implementation (about 34k signs/s and 16k verifies/s here). `@noble/ed25519` is kept for a
 * pure-JS path; both produce byte-identical signatures (RFC 8032 signatures are deterministic,
 * §5.1.6), which `ed25519_test.ts` checks against the RFC's own vectors.
 *
 * Keys are raw: a 32-byte seed (the RFC's private key) and a 32-byte public key.
 *
 * @module
 */
import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { fromHex } from "./encoding.ts";

// DER prefixes that wrap a raw key (RFC 8410 §7 and §4).
const PKCS8_PREFIX = fromHex("302e020100300506032b657004220420");
const SPKI_PREFIX = fromHex("302a300506032b6570032100");

/** A signing key held as a native key object; the raw seed is not kept. */
export interface Signer {
  /** The raw 32-byte public key. */
  readonly publicKey: Uint8Array;
  /** Signs `message` (RFC 8032 §5.1.6) and returns the 64-byte signature. */
  sign(message: Uint8Array): Uint8Array;
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
  return new Uint8Array(randomBytes(32));
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
  if (seed.length !== 32) {
    throw new RangeError(`Cannot create an Ed25519 key: seed has ${seed.length} bytes, not 32`);
  }
  const der = new Uint8Array(PKCS8_PREFIX.length + 32);
  der.set(PKCS8_PREFIX);
  der.set(seed, PKCS8_PREFIX.length);
  const key = createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" });
  der.fill(0);
  const spki = createPublicKey(key).export({ format: "der", type: "spki" });
  const publicKey = new Uint8Array(spki.subarray(spki.length - 32));
  return {
    publicKey,
    sign: (message) => new Uint8Array(nodeSign(null, message, key)),
  };
}

const publicKeys = new Map<string, KeyObject>();

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey).toString("hex");
  let key = publicKeys.get(id);
  if (!key) {
    const der = new Uint8Array(SPKI_PREFIX.length + 32);
    der.set(SPKI_PREFIX);
    der.set(publicKey, SPKI_PREFIX.length);
    key = createPublicKey({ key: Buffer.from(der), format: "der", type: "spki" });
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
  try {
    return nodeVerify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}
