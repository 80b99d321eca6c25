import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { blake3, canonicalBytes, canonicalJson, fromHex, toHex } from "../crypto/mod.ts";
import {
  chainEntry,
  decodeStored,
  encodeStored,
  entryBody,
  entryShapeProblem,
  GENESIS_HASH,
  hashBody,
  hashEntry,
  prepareInput,
} from "./_chain.ts";
import type { AuditDecision, AuditInput } from "./types.ts";

function randomString(): string {
  const alphabet = ['"', "\\", "\n", "\u2028", "é", "😀", "a", "Z", "/", "\u0000", " "];
  return Array.from(
    { length: Math.floor(Math.random() * 8) },
    () => alphabet[Math.floor(Math.random() * alphabet.length)],
  ).join("");
}

function randomInput(): AuditInput {
  const decisions: AuditDecision[] = ["allowed", "denied", "deferred", "outcome", "event"];
  const numbers = [0, -0, 1.5, 1e21, -1e-7, 2 ** 53, 123456789];
  return {
    sessionId: "s" + randomString(),
    action: {
      kind: randomString(),
      resource: randomString(),
      summary: randomString(),
      ...(Math.random() < 0.5 ? { risk: "high" } : {}),
      detail: { [randomString()]: numbers[Math.floor(Math.random() * numbers.length)] },
    },
    decision: decisions[Math.floor(Math.random() * decisions.length)]!,
    proof: randomString(),
    ...(Math.random() < 0.5 ? { outcome: [randomString(), { b: null, a: true }] } : {}),
    ts: numbers[Math.floor(Math.random() * numbers.length)]!,
  };
}

Deno.test("chainEntry() splices exactly the ACE-1 body that canonicalBytes() would hash", () => {
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= 500; seq++) {
    const { entry, stored } = chainEntry(prepareInput(randomInput(), 0), seq, prev);
    const { hash, ...body } = entry;
    equal(stored.body, canonicalJson(body));
    equal(hash, toHex(blake3(fromHex(prev), canonicalBytes("audit-entry", body))));
    equal(hashEntry(prev, body), hash);
    equal(entryBody(entry), stored.body);
    deepEqual(decodeStored(stored).entry, entry);
    equal(entryShapeProblem(entry), null);
    prev = hash;
  }
});

Deno.test("prepareInput() detaches and normalises the caller's values", () => {
  const detail = { list: [1], gone: undefined };
  const p = prepareInput({
    sessionId: "s",
    action: { kind: "k", resource: "r", summary: "x", detail },
    decision: "allowed",
    proof: "p",
  }, 42);
  detail.list.push(2);
  deepEqual([p.action, p.outcome, p.ts], [
    '{"detail":{"list":[1]},"kind":"k","resource":"r","summary":"x"}',
    "null",
    42,
  ]);
  throws(() => prepareInput({ ...({} as AuditInput), sessionId: "\udc00" }, 0), TypeError);
});

Deno.test("decodeStored() turns hostile stored values into malformed entries, never throws", () => {
  const hostile: unknown[] = [
    null,
    "text",
    42,
    [],
    { hash: "x" },
    { hash: "ab".repeat(32), body: "{nope" },
    { hash: "ab".repeat(32), body: "[]" },
    { hash: "ab".repeat(32), body: "null" },
    { hash: "ab".repeat(32), body: '{"v":1}' },
  ];
  for (const h of hostile) ok(entryShapeProblem(decodeStored(h).entry) !== null, JSON.stringify(h));
  // An extra member smuggled into the body is kept, so the shape check sees it.
  const { stored } = chainEntry(
    prepareInput({
      sessionId: "s",
      action: { kind: "k", resource: "r", summary: "x" },
      decision: "event",
      proof: "",
    }, 1),
    1,
    GENESIS_HASH,
  );
  const smuggled = { ...stored, body: stored.body.replace('"v":1}', '"v":1,"zz":1}') };
  equal(entryShapeProblem(decodeStored(smuggled).entry), "entry has unknown field zz");
  deepEqual(encodeStored(decodeStored(stored).entry), stored);
});

Deno.test("hashBody() hashes bodies longer than its first buffer, and multi-byte text, like blake3()", () => {
  for (const body of ["", "é😀", "x".repeat(5000), "😀".repeat(20_000), "a"]) {
    const expected = toHex(
      blake3(
        fromHex("ab".repeat(32)),
        new TextEncoder().encode(`astrid-ace/1/audit-entry\n${body}`),
      ),
    );
    equal(hashBody("ab".repeat(32), body), expected);
  }
});

Deno.test("entryBody() refuses a lone surrogate, as canonicalJson() does", () => {
  const { entry } = chainEntry(prepareInput(randomInput(), 0), 1, GENESIS_HASH);
  throws(() => entryBody({ ...entry, proof: "\ud800" }), TypeError);
});
