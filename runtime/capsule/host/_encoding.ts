/**
 * How bytes cross the JSON boundary of the host functions (private). Text goes as a JSON string
 * (`"utf8"`, the default); exact bytes go as standard base64 (RFC 4648 §4, padded, no line
 * breaks: `"base64"`). Base64 is decoded strictly: a capsule that sends anything else gets
 * `BAD_ARGS`, never a silently different file or body.
 *
 * @module
 */
import { HostError } from "./context.ts";

/** The forms a host function argument or result may take. */
export type Encoding = "utf8" | "base64";

const ALPHABET = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Reads an optional `encoding`-like argument: absent means `"utf8"`.
 *
 * @example
 * ```ts
 * import { equal, throws } from "node:assert/strict";
 * import { encodingArg } from "./_encoding.ts";
 * equal(encodingArg(undefined, "encoding", "read a file"), "utf8");
 * equal(encodingArg("base64", "encoding", "read a file"), "base64");
 * throws(() => encodingArg("hex", "encoding", "read a file"), /current encoding is hex/);
 * ```
 */
export function encodingArg(value: unknown, name: string, what: string): Encoding {
  if (value === undefined || value === null || value === "utf8" || value === "utf-8") {
    return "utf8";
  }
  if (value === "base64") return "base64";
  throw new HostError(
    "BAD_ARGS",
    `Cannot ${what}: current ${name} is ${String(value)} (use "utf8" or "base64")`,
  );
}

/** The longest base64 text that can decode to at most `maxBytes` bytes. */
export function base64Length(maxBytes: number): number {
  return Math.ceil(maxBytes / 3) * 4;
}

/**
 * The exact bytes of `text` in `encoding`; `TOO_LARGE` past `maxBytes` decoded bytes and
 * `BAD_ARGS` for base64 that is not canonical padded standard base64.
 *
 * @example
 * ```ts
 * import { deepEqual, throws } from "node:assert/strict";
 * import { decodeContent } from "./_encoding.ts";
 * deepEqual(decodeContent("AP8=", "base64", 16, "write a file"), new Uint8Array([0, 255]));
 * throws(() => decodeContent("AP8=!", "base64", 16, "write a file"), /not valid base64/);
 * throws(() => decodeContent("AAAAAAAA", "base64", 4, "write a file"), /over 4 bytes/);
 * ```
 */
export function decodeContent(
  text: string,
  encoding: Encoding,
  maxBytes: number,
  what: string,
): Uint8Array<ArrayBuffer> {
  if (encoding === "utf8") {
    // Every UTF-16 unit takes at least one UTF-8 byte: text this long cannot fit.
    const bytes = text.length > maxBytes ? null : new TextEncoder().encode(text);
    if (!bytes || bytes.length > maxBytes) {
      throw new HostError("TOO_LARGE", `Cannot ${what}: the content is over ${maxBytes} bytes`);
    }
    return bytes;
  }
  if (text.length > base64Length(maxBytes)) {
    throw new HostError("TOO_LARGE", `Cannot ${what}: the content is over ${maxBytes} bytes`);
  }
  let bytes: Uint8Array<ArrayBuffer> | null = null;
  if (text.length % 4 === 0 && ALPHABET.test(text)) {
    try {
      bytes = Uint8Array.fromBase64(text, { lastChunkHandling: "strict" });
    } catch {
      bytes = null;
    }
  }
  if (!bytes) {
    throw new HostError(
      "BAD_ARGS",
      `Cannot ${what}: the content is not valid base64 (RFC 4648 standard alphabet, padded, ` +
        `no whitespace; ${text.length} characters)`,
    );
  }
  if (bytes.length > maxBytes) {
    throw new HostError("TOO_LARGE", `Cannot ${what}: the content is over ${maxBytes} bytes`);
  }
  return bytes;
}

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * `bytes` as a result in `want`: `"utf8"` text (invalid sequences become U+FFFD, a leading BOM
 * is dropped, as before binary support), `"base64"`, or `"auto"`: the exact text when the bytes
 * are valid UTF-8 (BOM kept, so it re-encodes byte for byte), else base64.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { encodeResult } from "./_encoding.ts";
 * deepEqual(encodeResult(new Uint8Array([104, 105]), "auto"), { text: "hi", encoding: "utf8" });
 * deepEqual(encodeResult(new Uint8Array([255]), "auto"), { text: "/w==", encoding: "base64" });
 * ```
 */
export function encodeResult(
  bytes: Uint8Array,
  want: Encoding | "auto",
): { text: string; encoding: Encoding } {
  if (want === "base64") return { text: bytes.toBase64(), encoding: "base64" };
  if (want === "utf8") return { text: new TextDecoder().decode(bytes), encoding: "utf8" };
  try {
    return { text: STRICT_UTF8.decode(bytes), encoding: "utf8" };
  } catch {
    return { text: bytes.toBase64(), encoding: "base64" };
  }
}
