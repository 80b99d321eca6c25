import { deepEqual, equal, ok } from "node:assert/strict";
import { generateSeed, type Signer, signerFromSeed } from "../crypto/mod.ts";
import { openStore, type Store } from "../storage/mod.ts";
import { decodeStored, encodeStored, hashEntry } from "./_chain.ts";
import {
  type AuditEntry,
  AuditLog,
  type Checkpoint,
  signCheckpoint,
  verifyChain,
  verifyExport,
  type VerifyReport,
  verifyStore,
  writeExport,
} from "./mod.ts";

const signer = signerFromSeed(generateSeed());
const other = signerFromSeed(generateSeed());

/** A store holding 20 entries with checkpoints at 5, 10, 15 and 20. */
async function fixture(by: Signer = signer): Promise<Store> {
  const store = await openStore(":memory:");
  const log = await AuditLog.open(store, by, { checkpointEvery: 5, checkpointSeconds: 0 });
  for (let i = 1; i <= 20; i++) {
    await log.append({
      sessionId: `s${i % 3}`,
      action: { kind: "execute_command", resource: `exec://echo ${i}`, summary: `echo ${i}` },
      decision: "allowed",
      proof: "rule:exec://echo *",
      outcome: { exit: 0, n: i },
    });
  }
  await log.close();
  return store;
}

async function exportLines(store: Store, key = signer.publicKey): Promise<string[]> {
  const lines: string[] = [];
  await writeExport(store, key, (l) => void lines.push(l));
  return lines;
}

const text = (lines: string[]) => lines.join("\n") + "\n";
const entryKey = (seq: number) => ["audit", "e", seq];
async function entryAt(store: Store, seq: number): Promise<AuditEntry> {
  return decodeStored((await store.get(entryKey(seq))).value).entry;
}
async function putEntry(store: Store, entry: AuditEntry): Promise<void> {
  await store.set(entryKey(entry.seq), encodeStored(entry));
}

function expectBad(report: VerifyReport, code: string, seq: number, position = seq) {
  equal(report.ok, false, "expected a failed report");
  deepEqual(
    [report.firstBad?.code, report.firstBad?.seq, report.firstBad?.position],
    [code, seq, position],
    report.firstBad?.reason,
  );
}

Deno.test("verifyStore() and verifyExport() accept an untouched log", async () => {
  using store = await fixture();
  deepEqual(await verifyStore(store, signer.publicKey), { ok: true, entries: 20, checkpoints: 4 });
  const report = verifyExport(text(await exportLines(store)), signer.publicKey);
  deepEqual(report, { ok: true, entries: 20, checkpoints: 4 });
});

Deno.test("verify names an edited field (store and export)", async () => {
  using store = await fixture();
  const lines = await exportLines(store);
  const e7 = await entryAt(store, 7);
  await putEntry(store, { ...e7, outcome: { exit: 1, n: 7 } });
  expectBad(await verifyStore(store, signer.publicKey), "EDITED", 7);
  lines[7] = lines[7]!.replace('"decision":"allowed"', '"decision":"denied"');
  expectBad(verifyExport(text(lines), signer.publicKey), "EDITED", 7);
});

Deno.test("verify names an edit whose own hash was recomputed at the broken link", async () => {
  using store = await fixture();
  const { hash: _, ...body } = await entryAt(store, 12);
  const forged = { ...body, proof: "forged" };
  await putEntry(store, { ...forged, hash: hashEntry(forged.prevHash, forged) });
  expectBad(await verifyStore(store, signer.publicKey), "EDITED", 13);
});

Deno.test("verify names a rewritten and re-chained history at the signed checkpoint", async () => {
  using store = await fixture();
  let prev = (await entryAt(store, 11)).prevHash;
  for (let seq = 11; seq <= 20; seq++) {
    const { hash: _, ...body } = await entryAt(store, seq);
    const forged = { ...body, prevHash: prev, proof: seq === 11 ? "forged" : body.proof };
    prev = hashEntry(prev, forged);
    await putEntry(store, { ...forged, hash: prev });
  }
  await store.set(["audit", "head"], { seq: 20, hash: prev });
  expectBad(await verifyStore(store, signer.publicKey), "EDITED", 15);
});

Deno.test("verify names a deleted entry (store and export)", async () => {
  using store = await fixture();
  const lines = await exportLines(store);
  await store.delete(entryKey(9));
  expectBad(await verifyStore(store, signer.publicKey), "DELETED", 9);
  lines.splice(9, 1); // line 1 is the header, so entry 9 is index 9
  expectBad(verifyExport(text(lines), signer.publicKey), "DELETED", 9);
});

Deno.test("verify names two swapped entries (store and export)", async () => {
  using store = await fixture();
  const lines = await exportLines(store);
  const [e3, e4] = [(await store.get(entryKey(3))).value, (await store.get(entryKey(4))).value];
  await store.set(entryKey(3), e4);
  await store.set(entryKey(4), e3);
  expectBad(await verifyStore(store, signer.publicKey), "REORDERED", 3);
  [lines[3], lines[4]] = [lines[4]!, lines[3]!];
  expectBad(verifyExport(text(lines), signer.publicKey), "REORDERED", 3);
});

Deno.test("verify names a log truncated after its last checkpoint (store and export)", async () => {
  using store = await fixture();
  const lines = await exportLines(store);
  for (let seq = 18; seq <= 20; seq++) await store.delete(entryKey(seq));
  expectBad(await verifyStore(store, signer.publicKey), "TRUNCATED", 18);
  // The attacker also rewinds the unsigned head record; the signed checkpoint 20 still says 20.
  await store.set(["audit", "head"], { seq: 17, hash: (await entryAt(store, 17)).hash });
  expectBad(await verifyStore(store, signer.publicKey), "TRUNCATED", 18);
  const cut = [...lines.slice(0, 18), ...lines.slice(21)];
  expectBad(verifyExport(text(cut), signer.publicKey), "TRUNCATED", 18);
});

Deno.test("verifyStore() notices an unsigned tail cut behind the head record", async () => {
  using store = await fixture();
  const log = await AuditLog.open(store, signer, { checkpointSeconds: 0 });
  await log.endSession("s1"); // seq 21 plus checkpoint 21
  await store.delete(["audit", "c", 21]);
  await store.delete(entryKey(21));
  expectBad(await verifyStore(store, signer.publicKey), "TRUNCATED", 21);
  await log.close().catch(() => {});
});

Deno.test("verify names a forged checkpoint (store and export)", async () => {
  using store = await fixture();
  const lines = await exportLines(store);
  const cp = (await store.get<Checkpoint>(["audit", "c", 10])).value!;
  const forged = { ...cp, head: (await entryAt(store, 9)).hash }; // reused signature
  await store.set(["audit", "c", 10], forged);
  expectBad(await verifyStore(store, signer.publicKey), "BAD_CHECKPOINT", 10, 2);
  const i = lines.findIndex((l) => l.includes('"type":"checkpoint"') && l.includes('"size":10'));
  lines[i] = JSON.stringify({
    type: "checkpoint",
    ...cp,
    sig: cp.sig.replace(/^./, (c) => c === "A" ? "B" : "A"),
  });
  expectBad(verifyExport(text(lines), signer.publicKey), "BAD_CHECKPOINT", 10, 2);
});

Deno.test("verify names checkpoints re-signed with another key (store and export)", async () => {
  using store = await fixture();
  for await (const { key, value } of store.list<Checkpoint>({ prefix: ["audit", "c"] })) {
    await store.set(key, await signCheckpoint(other, value.size, value.head, value.ts));
  }
  expectBad(await verifyStore(store, signer.publicKey), "WRONG_KEY", 5, 1);
  // The same tampered set exported under the runtime's key header: still WRONG_KEY.
  expectBad(verifyExport(text(await exportLines(store)), signer.publicKey), "WRONG_KEY", 5, 1);
  // A whole log made with another key: its header claims that key, which is not trusted.
  using foreign = await fixture(other);
  const report = verifyExport(text(await exportLines(foreign, other.publicKey)), signer.publicKey);
  expectBad(report, "WRONG_KEY", 0, 1);
  ok(verifyExport(text(await exportLines(foreign, other.publicKey))).ok); // self-consistent only
});

Deno.test("verify names malformed records (store and export)", async () => {
  using store = await fixture();
  const lines = await exportLines(store);
  await store.set(entryKey(4), "not an entry");
  expectBad(await verifyStore(store, signer.publicKey), "MALFORMED", 4);
  const bad = verifyExport(
    text([...lines.slice(0, 6), "{oops", ...lines.slice(7)]),
    signer.publicKey,
  );
  expectBad(bad, "MALFORMED", 0, 7);
  const missing = JSON.parse(lines[2]!);
  delete missing.outcome;
  const report = verifyExport(text([lines[0]!, lines[1]!, JSON.stringify(missing)]));
  expectBad(report, "MALFORMED", 0, 3);
  expectBad(verifyExport(""), "MALFORMED", 0, 0);
});

Deno.test("verifyChain() refuses checkpoints out of order and empty input is ok", async () => {
  deepEqual(verifyChain([], [], signer.publicKey), { ok: true, entries: 0, checkpoints: 0 });
  const head = "ab".repeat(32);
  const cps = [await signCheckpoint(signer, 2, head, 0), await signCheckpoint(signer, 1, head, 0)];
  expectBad(verifyChain([], cps, signer.publicKey), "BAD_CHECKPOINT", 1, 2);
  const truncated = verifyChain([], [await signCheckpoint(signer, 3, head, 0)], signer.publicKey);
  expectBad(truncated, "TRUNCATED", 1);
});

Deno.test("verifyStore() fails closed when the head record is missing", async () => {
  using store = await fixture();
  await store.delete(["audit", "head"]);
  expectBad(await verifyStore(store, signer.publicKey), "MALFORMED", 1);
  using empty = await openStore(":memory:");
  deepEqual(await verifyStore(empty, signer.publicKey), { ok: true, entries: 0, checkpoints: 0 });
});
