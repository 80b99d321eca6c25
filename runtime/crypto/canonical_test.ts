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

Deno.test("canonicalJson() names the path of what it rejects", () => {
  throws(() => canonicalJson({ a: [0, { b: NaN }] }), /Cannot encode \$\.a\[1\]\.b: number NaN/);
  throws(
    () => canonicalJson({ z: { y: [1, undefined] } }),
    /Cannot encode \$\.z\.y\[1\]: undefined/,
  );
  throws(() => canonicalJson([{ k: new Map() }]), /Cannot encode \$\[0\]\.k: Map/);
});

/** A slow reference: sort members recursively, then JSON.stringify. */
function reference(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sort) : v !== null && typeof v === "object"
      ? Object.fromEntries(
        Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined)
          .sort((a, b) => a < b ? -1 : a > b ? 1 : 0)
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      )
      : v;
  // Object.fromEntries puts integer-like keys first; build the text by hand instead.
  const text = (v: unknown): string =>
    Array.isArray(v)
      ? `[${v.map(text).join(",")}]`
      : v !== null && typeof v === "object"
      ? `{${
        Object.keys(v).sort((a, b) => a < b ? -1 : a > b ? 1 : 0)
          .map((k) => `${JSON.stringify(k)}:${text((v as Record<string, unknown>)[k])}`)
          .join(",")
      }}`
      : JSON.stringify(v);
  return text(sort(value));
}

Deno.test("canonicalJson() agrees with a slow reference on random values", () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const keys = ["a", "b", "B", "10", "9", "é", "\u{1F600}", "\uFFFF", "a b", 'q"', "_"];
  const gen = (depth: number): unknown => {
    const r = rand();
    if (depth > 3 || r < 0.3) {
      return [null, true, false, 0, -1.5, 1e21, 2 ** 53, "x\n\u2028y", "", "\u{1F600}"][
        Math.floor(rand() * 10)
      ];
    }
    if (r < 0.6) return Array.from({ length: Math.floor(rand() * 4) }, () => gen(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = Math.floor(rand() * 5); i > 0; i--) {
      o[keys[Math.floor(rand() * keys.length)]!] = rand() < 0.1 ? undefined : gen(depth + 1);
    }
    return o;
  };
  for (let i = 0; i < 2000; i++) {
    const v = gen(0);
    equal(canonicalJson(v), reference(v));
  }
});
