// Astrid's `node:crypto`: createHash (sha1, sha224, sha256, sha384, sha512, md5) and createHmac
// over @noble/hashes, randomUUID, randomBytes, randomInt, getRandomValues and timingSafeEqual over
// the host's CSPRNG. Not provided: ciphers, signatures, key objects, KDFs, webcrypto.subtle.
import { sha224, sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { md5, sha1 } from "@noble/hashes/legacy.js";
import { hmac } from "@noble/hashes/hmac.js";
import { Buffer } from "./buffer.js";

const ALGORITHMS = { sha1, sha224, sha256, sha384, sha512, md5 };

const algorithm = (name) => {
  const key = String(name).toLowerCase().replace(/-/g, "");
  const fn = ALGORITHMS[key === "rsasha256" ? "sha256" : key];
  if (!fn) {
    const e = new Error(`Cannot create the hash: digest ${name} is not supported`);
    e.code = "ERR_OSSL_EVP_UNSUPPORTED";
    throw e;
  }
  return fn;
};

const bytes = (data, encoding) => {
  if (typeof data === "string") return Buffer.from(data, encoding ?? "utf8");
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError(`Cannot hash the data: current value is ${typeof data}`);
};

const output = (digest, encoding) => {
  const buf = Buffer.from(digest);
  if (encoding === undefined || encoding === "buffer") return buf;
  if (encoding === "base64url") {
    return buf.toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  return buf.toString(encoding);
};

class Hash {
  #state;
  #done = false;
  constructor(state) {
    this.#state = state;
  }
  update(data, encoding) {
    if (this.#done) throw new Error("Cannot update the hash: digest() was already called");
    this.#state.update(bytes(data, encoding));
    return this;
  }
  digest(encoding) {
    if (this.#done) throw new Error("Cannot digest the hash: digest() was already called");
    this.#done = true;
    return output(this.#state.digest(), encoding);
  }
  copy() {
    if (this.#done) throw new Error("Cannot copy the hash: digest() was already called");
    return new Hash(this.#state.clone());
  }
}

/** A hash object: `update(data, encoding?)` chains, `digest(encoding?)` ends. */
export function createHash(name) {
  return new Hash(algorithm(name).create());
}

/** An HMAC object over `name` with `key` (a string is UTF-8). */
export function createHmac(name, key) {
  return new Hash(hmac.create(algorithm(name), bytes(key)));
}

/** A random v4 UUID. */
export function randomUUID() {
  return globalThis.crypto.randomUUID();
}

/** Fills `array` with random bytes (at most 65536 per call, as WebCrypto does). */
export function getRandomValues(array) {
  return globalThis.crypto.getRandomValues(array);
}

/** `size` random bytes as a Buffer; with a callback, delivers them asynchronously. */
export function randomBytes(size, callback) {
  if (!Number.isInteger(size) || size < 0 || size > 1 << 30) {
    throw new RangeError(`Cannot make random bytes: current size is ${size}`);
  }
  const out = Buffer.alloc(size);
  for (let at = 0; at < size; at += 65536) {
    globalThis.crypto.getRandomValues(out.subarray(at, Math.min(size, at + 65536)));
  }
  if (typeof callback === "function") {
    queueMicrotask(() => callback(null, out));
    return undefined;
  }
  return out;
}

/** A uniform random integer in [min, max) (`randomInt(max)` means [0, max)). */
export function randomInt(min, max) {
  if (max === undefined) [min, max] = [0, min];
  const range = max - min;
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || range <= 0 || range > 2 ** 48) {
    throw new RangeError(`Cannot pick a random integer: current range is [${min}, ${max})`);
  }
  const limit = 2 ** 48 - (2 ** 48 % range);
  for (;;) {
    const b = randomBytes(6);
    const n = b.readUIntBE(0, 6);
    if (n < limit) return min + (n % range);
  }
}

/** Compares two equal-length byte sequences without an early exit. */
export function timingSafeEqual(a, b) {
  const x = bytes(a), y = bytes(b);
  if (x.length !== y.length) {
    const e = new RangeError("Cannot compare: the inputs have different lengths");
    e.code = "ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH";
    throw e;
  }
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

/** The digest names createHash accepts. */
export function getHashes() {
  return Object.keys(ALGORITHMS);
}

export const webcrypto = globalThis.crypto;

export default {
  createHash,
  createHmac,
  randomUUID,
  getRandomValues,
  randomBytes,
  randomInt,
  timingSafeEqual,
  getHashes,
  webcrypto,
};
