import { deepEqual, equal, throws } from "node:assert/strict";
import { fromBase64Url, fromHex, timingSafeEqual, toBase64Url, toHex } from "./encoding.ts";

Deno.test("hex and base64url round-trip every byte value", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  deepEqual(fromHex(toHex(all)), all);
  deepEqual(fromBase64Url(toBase64Url(all)), all);
  equal(toBase64Url(all).includes("="), false);
});

Deno.test("fromHex() and fromBase64Url() reject malformed input", () => {
  throws(() => fromHex("abc"), SyntaxError);
  throws(() => fromHex("zz"), SyntaxError);
  throws(() => fromBase64Url("ab+/"), SyntaxError);
  throws(() => fromBase64Url("a=="), SyntaxError);
});

Deno.test("timingSafeEqual() compares content and length", () => {
  equal(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
  equal(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])), false);
  equal(timingSafeEqual(new Uint8Array([1]), new Uint8Array([1, 0])), false);
});
