/**
 * Byte helpers: hex, base64url and a constant-time comparison.
 *
 * @module
 */

/** `Uint8Array.prototype.toHex` (TC39 "Uint8Array to/from base64 and hex", in V8 and Deno). */
type WithToHex = Uint8Array & { toHex(): string };

/**
 * Encodes bytes as lowercase hex.
 *
 * @example Encode two bytes
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { toHex } from "./encoding.ts";
 * deepEqual(toHex(new Uint8Array([1, 255])), "01ff");
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  // Native: a flat string, about 10× faster than joining a table's pairs (measured on 32-byte
  // digests, which the audit chain encodes once per entry).
  return (bytes as WithToHex).toHex();
}

/**
 * Decodes lowercase or uppercase hex. Throws `SyntaxError` on odd length or a non-hex digit.
 *
 * @example Decode
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { fromHex } from "./encoding.ts";
 * deepEqual(fromHex("01ff"), new Uint8Array([1, 255]));
 * ```
 */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new SyntaxError(`Cannot decode hex: input of length ${hex.length} is not valid hex`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * Encodes bytes as unpadded base64url (RFC 4648 §5).
 *
 * @example Encode
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { toBase64Url } from "./encoding.ts";
 * deepEqual(toBase64Url(new Uint8Array([251, 255])), "-_8");
 * ```
 */
export function toBase64Url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Decodes unpadded base64url. Throws `SyntaxError` on characters outside the alphabet.
 *
 * @example Round trip
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { fromBase64Url, toBase64Url } from "./encoding.ts";
 * deepEqual(fromBase64Url(toBase64Url(new Uint8Array([1, 2, 3]))), new Uint8Array([1, 2, 3]));
 * ```
 */
export function fromBase64Url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) {
    throw new SyntaxError("Cannot decode base64url: input has characters outside the alphabet");
  }
  const padded = text.replaceAll("-", "+").replaceAll("_", "/") +
    "=".repeat((4 - (text.length % 4)) % 4);
  const bin = atob(padded);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Compares two byte arrays in time that depends only on their lengths.
 * JavaScript engines give no hard constant-time guarantee; this avoids early exit.
 *
 * @example Compare
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { timingSafeEqual } from "./encoding.ts";
 * ok(timingSafeEqual(new Uint8Array([1]), new Uint8Array([1])));
 * ```
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
