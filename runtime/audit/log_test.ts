import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
import { openStore } from "../storage/mod.ts";
import { encodeStored, GENESIS_HASH, hashEntry } from "./_chain.ts";
import { type AuditInput, AuditIntegrityError, AuditLog, verifyStore } from "./mod.ts";

const signer = signerFromSeed(generateSeed());
const opts = { checkpointSeconds: 0 };

function input(i: number, sessionId = "s1"): AuditInput {
  return {
    sessionId,
    action: { kind: "file_read", resource: `file:///w/${i}.txt`, summary: `read ${i}` },
    decision: i % 3 === 0 ? "denied" : "allowed",
    proof: `rule:file:///w/*`,
  };
}

Deno.test("append() chains entries from the genesis hash", async () => {
  using store = await openStore(":memory:");
  const log = await AuditLog.open(store, signer, opts);
  const a = await log.append(input(1));
  const b = await log.append(input(2));
  deepEqual([a.seq, b.seq], [1, 2]);
  equal(a.prevHash, GENESIS_HASH);
  equal(b.prevHash, a.hash);
  const { hash, ...body } = b;
  equal(hashEntry(a.hash, body), hash);
  deepEqual(await log.get(2), b);
  await log.close();
});

Deno.test("append() normalises outcome and drops undefined members", async () => {
  using store = await openStore(":memory:");
  const log = await AuditLog.open(store, signer, opts);
  const detail = { path: "/w/a", extra: undefined, list: [1, "x"] };
  const entry = await log.append({ ...input(1), action: { ...input(1).action, detail } });
  equal(entry.outcome, null);
  deepEqual(entry.action.detail, { path: "/w/a", list: [1, "x"] });
  detail.list.push(2); // mutating the caller's object afterwards changes nothing stored
  deepEqual((await log.get(1))?.action.detail, { path: "/w/a", list: [1, "x"] });
  deepEqual(await verifyStore(store, signer.publicKey), { ok: true, entries: 1, checkpoints: 0 });
  await log.close();
});

Deno.test("append() rejects unencodable or malformed input with TypeError", async () => {
  using store = await openStore(":memory:");
  const log = await AuditLog.open(store, signer, opts);
  const base = input(1);
  const bad: unknown[] = [
    { ...base, outcome: [1, undefined] },
    { ...base, outcome: 10n },
    { ...base, outcome: new Date() },
    { ...base, outcome: () => 1 },
    { ...base, outcome: NaN },
    { ...base, proof: "\ud800" },
    { ...base, decision: "maybe" },
    { ...base, sessionId: "" },
    { ...base, proof: 7 },
    { ...base, ts: Infinity },
    { ...base, action: { kind: "x", resource: "y" } },
    { ...base, action: { ...base.action, risk: 3 } },
    null,
  ];
  for (const b of bad) await rejects(log.append(b as AuditInput), TypeError);
  await rejects(log.append({ ...base, outcome: "x".repeat(40_000) }), RangeError);
  deepEqual((await log.stats()).entries, 0);
  await log.close();
});

Deno.test("append() batches 1,000 concurrent appends into a gap-free chain", async () => {
  using store = await openStore(":memory:");
  const log = await AuditLog.open(store, signer, opts);
  const entries = await Promise.all(
    Array.from({ length: 1000 }, (_, i) => log.append(input(i, `s${i % 7}`))),
  );
  deepEqual(entries.map((e) => e.seq), Array.from({ length: 1000 }, (_, i) => i + 1));
  const stamps = new Set<string>();
  for await (const e of store.list({ prefix: ["audit", "e"] })) stamps.add(e.versionstamp);
  ok(stamps.size < 20, `expected group commits, got ${stamps.size} commits`);
  deepEqual((await log.checkpoints()).map((c) => c.size), [256, 512, 768]);
  const report = await verifyStore(store, signer.publicKey);
  deepEqual(report, { ok: true, entries: 1000, checkpoints: 3 });
  await log.close();
  deepEqual((await log.checkpoints()).map((c) => c.size), [256, 512, 768, 1000]);
});

Deno.test("open() while another process appends and checkpoints never reports a false integrity failure", async () => {
  const dir = await Deno.makeTempDir();
  try {
    using kvA = await openStore(`${dir}/state.kv`);
    using kvB = await openStore(`${dir}/state.kv`);
    const writer = await AuditLog.open(kvA, signer, { ...opts, checkpointEvery: 7 });
    let writing = true;
    const appends = (async () => {
      for (let r = 0; writing; r++) {
        await Promise.all(Array.from({ length: 5 }, (_, i) => writer.append(input(r * 5 + i))));
        await writer.checkpoint();
      }
    })();
    for (let i = 0; i < 40; i++) {
      const reader = await AuditLog.open(kvB, signer, opts);
      await reader.close();
    }
    writing = false;
    await appends;
    await writer.close();
    ok((await verifyStore(kvA, signer.publicKey)).ok);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two AuditLog instances on one KV file never fork the chain", async () => {
  const dir = await Deno.makeTempDir();
  try {
    using kvA = await openStore(`${dir}/state.kv`);
    using kvB = await openStore(`${dir}/state.kv`);
    const a = await AuditLog.open(kvA, signer, { ...opts, checkpointEvery: 50 });
    const b = await AuditLog.open(kvB, signer, { ...opts, checkpointEvery: 50 });
    const rounds = Array.from({ length: 10 }, (_, r) =>
      Promise.all([
        ...Array.from({ length: 30 }, (_, i) => a.append(input(r * 100 + i, "a"))),
        ...Array.from({ length: 30 }, (_, i) => b.append(input(r * 100 + i, "b"))),
      ]));
    const all = (await Promise.all(rounds)).flat();
    deepEqual(
      all.map((e) => e.seq).sort((x, y) => x - y),
      Array.from({ length: 600 }, (_, i) => i + 1),
    );
    await a.close();
    await b.close();
    const report = await verifyStore(kvA, signer.publicKey);
    ok(report.ok, JSON.stringify(report.firstBad));
    equal(report.entries, 600);
    equal((await a.list({ sessionId: "b" })).length, 300);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkpoint() covers the head once and returns null when nothing is new", async () => {
  using store = await openStore(":memory:");
  const log = await AuditLog.open(store, signer, { ...opts, checkpointEvery: 10 });
  for (let i = 1; i <= 25; i++) await log.append(input(i));
  deepEqual((await log.checkpoints()).map((c) => c.size), [10, 20]);
  const cp = await log.checkpoint();
  deepEqual([cp?.size, cp?.head], [25, (await log.get(25))?.hash]);
  equal(await log.checkpoint(), null);
  await log.close();
  deepEqual((await log.checkpoints()).map((c) => c.size), [10, 20, 25]);
});

Deno.test("checkpointEvery: 1 keeps each commit within the KV mutation limit", async () => {
  using store = await openStore(":memory:");
  const log = await AuditLog.open(store, signer, { ...opts, checkpointEvery: 1 });
  await Promise.all(Array.from({ length: 700 }, (_, i) => log.append(input(i))));
  equal((await log.checkpoints()).length, 700);
  const end = await log.endSession("s1"); // its own checkpoint was written in the commit
  deepEqual([end.size, await log.checkpoint()], [701, null]);
  await log.close();
  ok((await verifyStore(store, signer.publicKey)).ok);
});

Deno.test("the checkpoint timer covers idle entries and is cleared on close", async () => {
  using store = await openStore(":memory:");
  const log = await AuditLog.open(store, signer, { checkpointSeconds: 0.02 });
  await log.append(input(1));
  await log.append(input(2));
  for (let i = 0; i < 100 && (await log.checkpoints()).length === 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  deepEqual((await log.checkpoints()).map((c) => c.size), [2]);
  await log.close();
});

Deno.test("endSession() appends a session_end event and returns its checkpoint", async () => {
  using store = await openStore(":memory:");
  const log = await AuditLog.open(store, signer, opts);
  await log.append(input(1, "x"));
  const cp = await log.endSession("x");
  const last = await log.get(2);
  deepEqual([last?.action.kind, last?.decision, last?.sessionId], ["session_end", "event", "x"]);
  deepEqual([cp.size, cp.head], [2, last?.hash]);
  await log.close();
});

Deno.test("list() filters by session, pages from a seq and reverses", async () => {
  using store = await openStore(":memory:");
  const log = await AuditLog.open(store, signer, opts);
  for (let i = 1; i <= 10; i++) await log.append(input(i, i % 2 ? "odd" : "even"));
  deepEqual((await log.list({ sessionId: "odd", limit: 3 })).map((e) => e.seq), [1, 3, 5]);
  deepEqual((await log.list({ fromSeq: 8 })).map((e) => e.seq), [8, 9, 10]);
  deepEqual((await log.list({ fromSeq: 4, reverse: true, limit: 2 })).map((e) => e.seq), [4, 3]);
  deepEqual((await log.list({ reverse: true, sessionId: "even", limit: 1 }))[0]?.seq, 10);
  deepEqual(await log.list({ limit: 0 }), []);
  await rejects(log.list({ fromSeq: 0 }), RangeError);
  await rejects(log.get(0), RangeError);
  // Reads fail closed on a malformed stored entry instead of skipping it.
  await store.set(["audit", "e", 4], { hash: "00", body: "{" });
  await rejects(log.get(4), AuditIntegrityError);
  await rejects(log.list(), AuditIntegrityError);
  await rejects(log.stats(), AuditIntegrityError);
  await log.close();
});

Deno.test("stats() counts entries, sessions, decisions and checkpoints", async () => {
  using store = await openStore(":memory:");
  const log = await AuditLog.open(store, signer, { ...opts, checkpointEvery: 4 });
  for (let i = 1; i <= 6; i++) await log.append(input(i, `s${i % 2}`));
  const stats = await log.stats();
  deepEqual(stats, {
    entries: 6,
    checkpoints: 1,
    sessions: 2,
    byDecision: { allowed: 4, denied: 2 },
    head: (await log.get(6))?.hash,
    lastCheckpointSize: 4,
  });
  await log.close();
});

Deno.test("open() fails closed when the head record and the entries disagree", async () => {
  using store = await openStore(":memory:");
  const log = await AuditLog.open(store, signer, opts);
  for (let i = 1; i <= 3; i++) await log.append(input(i));
  await log.close();
  await store.delete(["audit", "e", 3]); // tail cut off behind the head record's back
  await rejects(AuditLog.open(store, signer, opts), AuditIntegrityError);
  await store.delete(["audit", "head"]);
  await rejects(AuditLog.open(store, signer, opts), (e: unknown) => {
    return e instanceof AuditIntegrityError && e.code === "INTEGRITY" && !e.report.ok;
  });
});

Deno.test("append() fails closed when the store cannot commit", async () => {
  const store = await openStore(":memory:");
  const log = await AuditLog.open(store, signer, opts);
  await log.append(input(1));
  store.close();
  await rejects(log.append(input(2)));
  await rejects(log.close());
});

Deno.test("append() after close() is refused", async () => {
  using store = await openStore(":memory:");
  const log = await AuditLog.open(store, signer, opts);
  await log.close();
  await log.close(); // idempotent
  await rejects(log.append(input(1)), /closed/);
});

Deno.test("open() refuses bad options", async () => {
  using store = await openStore(":memory:");
  await rejects(AuditLog.open(store, signer, { checkpointEvery: 0 }), RangeError);
  await rejects(AuditLog.open(store, signer, { checkpointSeconds: -1 }), RangeError);
});

Deno.test("checkpoint() refuses to sign over a tampered unsigned tail", async () => {
  using store = await openStore(":memory:");
  const log = await AuditLog.open(store, signer, { ...opts, checkpointEvery: 4 });
  for (let i = 1; i <= 6; i++) await log.append(input(i));
  const e6 = (await log.get(6))!;
  await store.set(["audit", "e", 6], encodeStored({ ...e6, proof: "forged" }));
  await rejects(log.checkpoint(), AuditIntegrityError);
  deepEqual((await log.checkpoints()).map((c) => c.size), [4]);
  await rejects(AuditLog.open(store, signer, opts), AuditIntegrityError);
  await rejects(log.close(), AuditIntegrityError);
});

Deno.test("open() refuses a history rewritten behind the last checkpoint", async () => {
  using store = await openStore(":memory:");
  const log = await AuditLog.open(store, signer, { ...opts, checkpointEvery: 4 });
  for (let i = 1; i <= 5; i++) await log.append(input(i));
  await log.close();
  // Re-chain entries 3..5 consistently and move the head: only checkpoint 4 contradicts it.
  let prev = (await log.get(2))!.hash;
  for (let seq = 3; seq <= 5; seq++) {
    const { hash: _, ...body } = (await log.get(seq))!;
    const forged = { ...body, prevHash: prev, proof: "forged" };
    prev = hashEntry(prev, forged);
    await store.set(["audit", "e", seq], encodeStored({ ...forged, hash: prev }));
  }
  await store.set(["audit", "head"], { seq: 5, hash: prev });
  await rejects(AuditLog.open(store, signer, opts), AuditIntegrityError);
});
