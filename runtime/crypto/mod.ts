/**
 * Cryptography for Astrid: Ed25519 keys and signatures, BLAKE3, and the canonical byte
 * encoding (ACE-1) used for everything that is signed or hashed.
 *
 * @example Sign canonical bytes
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { canonicalBytes, generateSeed, signerFromSeed, verify } from "./mod.ts";
 * const signer = signerFromSeed(generateSeed());
 * const msg = canonicalBytes("demo", { hello: "world" });
 * ok(verify(signer.publicKey, msg, signer.sign(msg)));
 * ```
 *
 * @module
 */
export { blake3, blake3File, blake3Hex, loadFastBlake3 } from "./blake3.ts";
export { CANONICAL_VERSION, canonicalBytes, canonicalJson } from "./canonical.ts";
export {
  generateSeed,
  loadSigner,
  type SignedBytes,
  type Signer,
  signerFromSeed,
  verify,
  verifyAhead,
} from "./ed25519.ts";
export { fromBase64Url, fromHex, timingSafeEqual, toBase64Url, toHex } from "./encoding.ts";
export { sha256Tagged } from "./sha256.ts";
export {
  ensureRuntimeKey,
  fingerprint,
  generateRuntimeKey,
  KeyError,
  loadRuntimeKey,
  RUNTIME_KEY_FILE,
  type RuntimeKey,
} from "./keys.ts";
