import { deepEqual, equal, throws } from "node:assert/strict";
import { LineDecoder, TailBuffer } from "./_framing.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("LineDecoder.push() joins lines split across chunks and strips CR", () => {
  const d = new LineDecoder(100);
  deepEqual(d.push(enc('{"a":')), []);
  deepEqual(d.push(enc('1}\r\n{"b":2}\n{"c"')), ['{"a":1}', '{"b":2}']);
  deepEqual(d.push(enc(":3}\n")), ['{"c":3}']);
});

Deno.test("LineDecoder.push() refuses a line longer than the cap, with or without newline", () => {
  throws(() => new LineDecoder(8).push(enc("123456789")), RangeError);
  throws(() => new LineDecoder(8).push(enc("123456789\n")), RangeError);
  const d = new LineDecoder(8);
  d.push(enc("12345"));
  throws(() => d.push(enc("6789")), /exceeds 8 bytes/);
});

Deno.test("LineDecoder.push() keeps multibyte characters split across chunks intact", () => {
  const d = new LineDecoder(100);
  const bytes = enc("é\n");
  deepEqual(d.push(bytes.subarray(0, 1)), []);
  deepEqual(d.push(bytes.subarray(1)), ["é"]);
});

Deno.test("TailBuffer keeps only the last bytes and counts all", () => {
  const t = new TailBuffer(4);
  t.push(enc("ab"));
  t.push(enc("cdef"));
  equal(t.text(), "cdef");
  t.push(enc("g"));
  equal(t.text(), "defg");
  t.push(enc("0123456789"));
  equal(t.text(), "6789");
  equal(t.total, 17);
});
