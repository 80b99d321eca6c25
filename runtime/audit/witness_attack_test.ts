/**
 * Hostile tests: someone with write access to `state.kv` (but not to the witness) truncates,
 * rolls back, forks or re-heads the log, or edits the witness itself.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
import { openStore } from "../storage/mod.ts";
import { checkHead, type SignedHead, signHead } from "./_head.ts";
import { appendEntries, copyKv, cut, entryAt, refusesOpen, tempState } from "./_witness_testing.ts";
import { AuditLog, signCheckpoint, signWitnessLine, verifyStore } from "./mod.ts";

const signer = signerFromSeed(generateSeed());
const other = signerFromSeed(generateSeed());
const key = signer.publicKey;

Deno.test("tail and latest checkpoint deleted, head rewritten: verify says TRUNCATED with the witness line, open refuses", async () => {
  await using t = await tempState();
  using store = await openStore(t.kv);
  await appendEntries(store, signer, 25, t.witness); // witnessed: 10, 20, 25 (at close)
  const e20 = await entryAt(store, 20);
  const signed = (await store.get<SignedHead>(["audit", "head"])).value!;
  await cut(store, 21, 25, [25]);
  for (const head of [{ seq: 20, hash: e20.hash }, { ...signed, seq: 20, hash: e20.hash }]) {
    await store.set(["audit", "head"], head);
    const report = await verifyStore(store, key, { witnessPath: t.witness });
    deepEqual(
      [report.ok, report.firstBad?.code, report.firstBad?.seq, report.firstBad?.witnessLine],
      [false, "TRUNCATED", 21, 3],
    );
    match(
      report.firstBad!.reason,
      /the witness holds a checkpoint at size 25 \(witness line 3\); the store ends at seq 20/,
    );
    await refusesOpen(store, signer, t.witness, "TRUNCATED", /witness line 3.*move the witness/);
  }
  // Without the witness, a forged signature is still caught; only a stripped (previous-format)
  // head would pass, which is why the CLI always gives the log its witness.
  equal((await verifyStore(store, key)).firstBad?.code, "BAD_HEAD");
  await refusesOpen(store, signer, undefined, "BAD_HEAD");
});

Deno.test("tail deleted but the signed head kept: TRUNCATED by the store's own head", async () => {
  await using t = await tempState();
  using store = await openStore(t.kv);
  await appendEntries(store, signer, 14, t.witness);
  await cut(store, 13, 14, []); // the head (and checkpoint 14) still name entry 14
  const report = await verifyStore(store, key, { witnessPath: t.witness });
  equal(report.firstBad?.code, "TRUNCATED");
  await refusesOpen(store, signer, t.witness, "TRUNCATED");
  // Every entry and checkpoint gone: the signed head still names the log the witness holds.
  await cut(store, 1, 12, [10, 14]);
  const all = await verifyStore(store, key, { witnessPath: t.witness });
  deepEqual([all.firstBad?.code, all.firstBad?.seq, all.firstBad?.witnessLine], [
    "TRUNCATED",
    1,
    2,
  ]);
  await refusesOpen(store, signer, t.witness, "DELETED");
});

Deno.test("an older copy of state.kv put back (real on-disk KV) is ROLLED_BACK, and open refuses it", async () => {
  await using t = await tempState();
  {
    using store = await openStore(t.kv);
    await appendEntries(store, signer, 15, t.witness); // witnessed 10, 15
  }
  await Deno.mkdir(`${t.dir}/backup`);
  await copyKv(t.kv, `${t.dir}/backup/state.kv`);
  {
    using store = await openStore(t.kv);
    await appendEntries(store, signer, 20, t.witness); // witnessed 20, 30, 35
  }
  await copyKv(`${t.dir}/backup/state.kv`, t.kv);
  using store = await openStore(t.kv);
  equal((await verifyStore(store, key)).ok, true, "alone, the old copy looks fine");
  const report = await verifyStore(store, key, { witnessPath: t.witness });
  deepEqual(
    [report.firstBad?.code, report.firstBad?.seq, report.firstBad?.witnessLine],
    ["ROLLED_BACK", 16, 5],
  );
  match(report.firstBad!.reason, /size 35 \(witness line 5\); the store ends at seq 15/);
  await refusesOpen(store, signer, t.witness, "ROLLED_BACK", /astrid audit verify/);
});

Deno.test("a copy that went on separately (a fork) disagrees with the witness: EDITED", async () => {
  await using t = await tempState();
  const fork = `${t.dir}/fork/state.kv`;
  await Deno.mkdir(`${t.dir}/fork`);
  {
    using store = await openStore(t.kv);
    await appendEntries(store, signer, 12, t.witness); // witnessed 10, 12
  }
  await copyKv(t.kv, fork);
  {
    using store = await openStore(t.kv);
    await appendEntries(store, signer, 10, t.witness, "main"); // witnessed 20, 22
  }
  using store = await openStore(fork);
  await appendEntries(store, signer, 15, undefined, "fork"); // not witnessed: seq 27
  const report = await verifyStore(store, key, { witnessPath: t.witness });
  deepEqual([report.firstBad?.code, report.firstBad?.seq, report.firstBad?.witnessLine], [
    "EDITED",
    20,
    3,
  ]);
  await refusesOpen(store, signer, t.witness, "EDITED", /forked/);
});

Deno.test("a stripped, forged or foreign-key head is an integrity failure", async () => {
  await using t = await tempState();
  using store = await openStore(t.kv);
  await appendEntries(store, signer, 12, t.witness);
  const head = (await store.get<SignedHead>(["audit", "head"])).value!;
  equal(checkHead(head, key).kind, "signed");
  const cases: [unknown, string][] = [
    [{ seq: head.seq, hash: head.hash }, "BAD_HEAD"], // the same head, signature stripped
    [{ ...head, ts: head.ts + 1 }, "BAD_HEAD"],
    [{ ...head, sig: head.sig.slice(0, -4) + "AAAA" }, "BAD_HEAD"],
    [await signHead(other, head.log, head.seq, head.hash, head.ts), "WRONG_KEY"],
    [{ ...head, sig: undefined }, "MALFORMED"],
  ];
  for (const [value, code] of cases) {
    await store.set(["audit", "head"], value);
    equal((await verifyStore(store, key, { witnessPath: t.witness })).firstBad?.code, code);
    await refusesOpen(store, signer, t.witness, code);
  }
  await store.set(["audit", "head"], head);
  ok((await verifyStore(store, key, { witnessPath: t.witness })).ok);
  await (await AuditLog.open(store, signer, { witnessPath: t.witness })).close();
});

Deno.test("a head moved to another log's valid signed head is refused", async () => {
  await using t = await tempState();
  using a = await openStore(t.kv);
  using b = await openStore(":memory:");
  await appendEntries(a, signer, 12, t.witness, "a");
  await appendEntries(b, signer, 12, undefined, "b");
  await a.set(["audit", "head"], (await b.get(["audit", "head"])).value);
  equal((await verifyStore(a, key, { witnessPath: t.witness })).firstBad?.code, "BAD_HEAD");
  await refusesOpen(a, signer, undefined, "BAD_HEAD");
});

Deno.test("a tampered witness line is reported with its line number and never trusted", async () => {
  await using t = await tempState();
  using store = await openStore(t.kv);
  await appendEntries(store, signer, 25, t.witness); // lines: 10, 20, 25
  const original = await Deno.readTextFile(t.witness);
  const lines = original.trimEnd().split("\n");
  const tamper = async (i: number, edit: (l: Record<string, unknown>) => object) => {
    const copy = [...lines];
    copy[i] = JSON.stringify(edit(JSON.parse(copy[i]!)));
    await Deno.writeTextFile(t.witness, copy.join("\n") + "\n");
  };
  await tamper(1, (l) => ({ ...l, head: "00".repeat(32) }));
  let report = await verifyStore(store, key, { witnessPath: t.witness });
  deepEqual([report.firstBad?.code, report.firstBad?.witnessLine], ["BAD_CHECKPOINT", 2]);
  match(report.firstBad!.reason, /^witness line 2: /);
  // The newest line made larger: open refuses it rather than trusting or skipping it.
  await tamper(2, (l) => ({ ...l, size: 1000 }));
  report = await verifyStore(store, key, { witnessPath: t.witness });
  deepEqual([report.firstBad?.code, report.firstBad?.witnessLine], ["BAD_CHECKPOINT", 3]);
  await refusesOpen(store, signer, t.witness, "BAD_CHECKPOINT", /witness line 3.*evidence/);
  // A line for this log signed by another key.
  const log = (await entryAt(store, 1)).hash;
  const foreign = await signWitnessLine(
    other,
    log,
    await signCheckpoint(other, 30, "ab".repeat(32), 0),
  );
  await Deno.writeTextFile(t.witness, original + JSON.stringify(foreign) + "\n");
  report = await verifyStore(store, key, { witnessPath: t.witness });
  deepEqual([report.firstBad?.code, report.firstBad?.witnessLine], ["WRONG_KEY", 4]);
  await refusesOpen(store, signer, t.witness, "WRONG_KEY", /witness line 4/);
});

Deno.test("a deleted store where a log was witnessed is TRUNCATED; another log in its place is EDITED", async () => {
  await using t = await tempState();
  {
    using store = await openStore(t.kv);
    await appendEntries(store, signer, 12, t.witness, "s", t.kv); // witnessed 10, 12 here
  }
  for (const name of [...Deno.readDirSync(t.dir)].map((e) => e.name)) {
    if (name.startsWith("state.kv")) await Deno.remove(`${t.dir}/${name}`); // rm state.kv*
  }
  using store = await openStore(t.kv);
  const options = { witnessPath: t.witness, storeLocation: t.kv };
  let report = await verifyStore(store, key, options);
  deepEqual([report.firstBad?.code, report.firstBad?.witnessLine], ["TRUNCATED", 2]);
  match(report.firstBad!.reason, /the store is empty, but the witness last saw log .* at size 12/);
  await refusesOpen(store, signer, t.witness, "TRUNCATED", /store is empty/, t.kv);
  equal((await verifyStore(store, key, { witnessPath: t.witness })).ok, true, "another place");
  // Another log of the same key put in its place (say, a store from before a reset).
  await appendEntries(store, signer, 12, undefined, "other");
  report = await verifyStore(store, key, options);
  deepEqual([report.firstBad?.code, report.firstBad?.seq], ["EDITED", 1]);
  await refusesOpen(store, signer, t.witness, "EDITED", /the store was replaced/, t.kv);
  // A human who reset the store on purpose moves the witness aside: a new witness starts.
  await Deno.rename(t.witness, `${t.witness}.old`);
  await (await AuditLog.open(store, signer, { checkpointSeconds: 0, ...options })).close();
  ok((await verifyStore(store, key, options)).ok);
});
