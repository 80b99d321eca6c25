import { deepEqual, equal, notDeepEqual, throws } from "node:assert/strict";
import { blake3 as nobleBlake3 } from "@noble/hashes/blake3.js";
import { canonicalBytes, canonicalJson } from "./canonical.ts";
import { blake3Hex } from "./blake3.ts";
import { toHex } from "./encoding.ts";

interface Vector {
  name: string;
  domain: string;
  value: unknown;
  text: string;
  blake3: string;
}

const vectors: Vector[] = JSON.parse(
  await Deno.readTextFile(new URL("../../testdata/canonical_v1.json", import.meta.url)),
);

Deno.test("canonicalBytes() matches every published ACE-1 vector", () => {
  equal(vectors.length >= 7, true);
  for (const v of vectors) {
    const value = v.name === "undefined members are omitted"
      ? { ...(v.value as object), drop: undefined }
      : v.value;
    const bytes = canonicalBytes(v.domain, value);
    equal(new TextDecoder().decode(bytes), v.text, v.name);
    equal(blake3Hex(bytes), v.blake3, `${v.name}: hash-wasm BLAKE3`);
    equal(toHex(nobleBlake3(bytes)), v.blake3, `${v.name}: @noble/hashes BLAKE3`);
  }
});

Deno.test("canonicalJson() is independent of member insertion order", () => {
  equal(canonicalJson({ a: 1, b: { d: 2, c: 3 } }), canonicalJson({ b: { c: 3, d: 2 }, a: 1 }));
});

Deno.test("canonicalBytes() separates domains, so a signature cannot move between kinds", () => {
  notDeepEqual(canonicalBytes("token", { a: 1 }), canonicalBytes("audit-entry", { a: 1 }));
});

Deno.test("canonicalJson() rejects values with no single encoding", () => {
  throws(() => canonicalJson(NaN), TypeError);
  throws(() => canonicalJson({ x: Infinity }), /not finite/);
  throws(() => canonicalJson([1, undefined]), /undefined inside an array/);
  throws(() => canonicalJson({ d: new Date(0) }), /Date is not a plain object/);
  throws(() => canonicalJson({ b: new Uint8Array(1) }), /Uint8Array is not a plain object/);
  throws(() => canonicalJson(10n), /bigint/);
  throws(() => canonicalJson("\ud800"), /lone surrogate/);
  throws(() => canonicalJson({ ["\udc00"]: 1 }), /lone surrogate/);
  throws(() => canonicalJson(() => 1), /function/);
});

Deno.test("canonicalJson() rejects nesting deeper than 64 levels", () => {
  let deep: unknown = 1;
  for (let i = 0; i < 65; i++) deep = [deep];
  throws(() => canonicalJson(deep), /deeper than 64/);
  let ok: unknown = 1;
  for (let i = 0; i < 63; i++) ok = [ok];
  equal(typeof canonicalJson(ok), "string");
});

Deno.test("canonicalBytes() refuses a domain outside its grammar", () => {
  throws(() => canonicalBytes("Token", {}), TypeError);
  throws(() => canonicalBytes("a\nb", {}), TypeError);
  throws(() => canonicalBytes("", {}), TypeError);
});

Deno.test("canonicalJson() accepts null-prototype objects like plain ones", () => {
  const o = Object.create(null) as Record<string, unknown>;
  o.b = 1;
  o.a = 2;
  deepEqual(canonicalJson(o), '{"a":2,"b":1}');
});
