/**
 * The witness in ordinary life: the previous store format, a first run, a deleted witness, a
 * witness that cannot be written, two stores sharing one witness, and several processes
 * appending to one store and one witness at once.
 */
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import { generateSeed, signerFromSeed, toHex } from "../crypto/mod.ts";
import { openStore } from "../storage/mod.ts";
import { encodeStored } from "./_chain.ts";
import { checkHead, type SignedHead } from "./_head.ts";
import { appendEntries, entryAt, refusesOpen, tempState } from "./_witness_testing.ts";
import { AuditLog, parseWitness, verifyStore } from "./mod.ts";

const seed = generateSeed();
const signer = signerFromSeed(seed.slice());
const key = signer.publicKey;
const WRITER = fromFileUrl(
  new URL("../../tests/fixtures/audit_witness_writer.ts", import.meta.url),
);
const CONFIG = fromFileUrl(new URL("../../deno.json", import.meta.url));

async function witnessSizes(path: string): Promise<number[]> {
  const parsed = parseWitness(await Deno.readTextFile(path));
  return parsed.lines.map((l) => (l.value as { size: number }).size);
}

/** Rewrites the head in the previous format: `{seq, hash}`, unsigned. */
async function toPreviousFormat(store: Deno.Kv | Awaited<ReturnType<typeof openStore>>) {
  const head = (await store.get<SignedHead>(["audit", "head"])).value!;
  await store.set(["audit", "head"], { seq: head.seq, hash: head.hash });
}

Deno.test("a store of the previous format (unsigned head) opens, is signed, and is witnessed from then on", async () => {
  await using t = await tempState();
  using store = await openStore(t.kv);
  await appendEntries(store, signer, 12); // written without a witness
  await toPreviousFormat(store);
  const before = await verifyStore(store, key, { witnessPath: t.witness });
  deepEqual([before.ok, before.witness?.status], [true, "missing"]);
  ok(before.notes?.some((n) => /unsigned/.test(n)), String(before.notes));
  const log = await AuditLog.open(store, signer, { checkpointSeconds: 0, witnessPath: t.witness });
  await log.close();
  equal(checkHead((await store.get(["audit", "head"])).value, key).kind, "signed");
  deepEqual(await witnessSizes(t.witness), [12], "the latest checkpoint was witnessed at open");
  const after = await verifyStore(store, key, { witnessPath: t.witness });
  deepEqual([after.ok, after.witness?.status, after.witness?.size, after.notes], [
    true,
    "ok",
    12,
    undefined,
  ]);
  // From now on an unsigned head can only be a rewritten one.
  await toPreviousFormat(store);
  await refusesOpen(store, signer, t.witness, "BAD_HEAD", /unsigned/);
});

Deno.test("an unsigned head is signed only after the whole chain verifies", async () => {
  await using t = await tempState();
  using store = await openStore(t.kv);
  await appendEntries(store, signer, 25);
  await toPreviousFormat(store);
  // Entry 3 rewritten with a recomputed-looking hash: open's tail walk (from checkpoint 25)
  // would not see it, the full verification before signing does.
  const e3 = await entryAt(store, 3);
  await store.set(["audit", "e", 3], encodeStored({ ...e3, proof: "forged" }));
  await refusesOpen(store, signer, t.witness, "EDITED", /cannot be signed/);
  equal(checkHead((await store.get(["audit", "head"])).value, key).kind, "legacy");
});

Deno.test("first run: no witness file yet; the first checkpoint creates it", async () => {
  await using t = await tempState();
  using store = await openStore(t.kv);
  const empty = await verifyStore(store, key, { witnessPath: t.witness });
  deepEqual([empty.ok, empty.witness?.status, empty.notes], [true, "missing", undefined]);
  await appendEntries(store, signer, 12, t.witness);
  deepEqual(await witnessSizes(t.witness), [10, 12]);
  equal((await Deno.stat(t.witness)).mode! & 0o777, 0o600);
  const report = await verifyStore(store, key, { witnessPath: t.witness });
  deepEqual([report.ok, report.witness?.size, report.witness?.line], [true, 12, 2]);
});

Deno.test("a deleted witness does not block: verify warns, the next open witnesses the store again", async () => {
  await using t = await tempState();
  using store = await openStore(t.kv);
  await appendEntries(store, signer, 12, t.witness);
  await Deno.remove(t.witness);
  const report = await verifyStore(store, key, { witnessPath: t.witness });
  deepEqual([report.ok, report.witness?.status], [true, "missing"]);
  ok(report.notes?.some((n) => /cannot be\s+detected/.test(n)), String(report.notes));
  await (await AuditLog.open(store, signer, { checkpointSeconds: 0, witnessPath: t.witness }))
    .close();
  deepEqual(await witnessSizes(t.witness), [12]);
  // An emptied (or replaced) witness is the same: the store's latest checkpoint seeds it.
  await Deno.writeTextFile(t.witness, "");
  equal((await verifyStore(store, key, { witnessPath: t.witness })).witness?.status, "unwitnessed");
  await (await AuditLog.open(store, signer, { checkpointSeconds: 0, witnessPath: t.witness }))
    .close();
  deepEqual(await witnessSizes(t.witness), [12]);
});

Deno.test("a witness that cannot be written fails closed: the append rejects, later appends too", async () => {
  await using t = await tempState();
  using store = await openStore(t.kv);
  const log = await AuditLog.open(store, signer, {
    checkpointEvery: 3,
    checkpointSeconds: 0,
    witnessPath: t.witness,
  });
  const input = {
    sessionId: "s",
    action: { kind: "event", resource: "test://x", summary: "x" },
    decision: "event" as const,
    proof: "runtime",
  };
  for (let i = 0; i < 3; i++) await log.append(input);
  await Deno.remove(t.witness);
  await Deno.mkdir(t.witness); // a directory where the file was: every write fails
  await log.append(input);
  await log.append(input);
  await rejects(log.append(input), /witness .* could not be written/);
  await rejects(log.append(input), /witness .* could not be written/);
  await rejects(log.close(), /witness .* could not be written/);
  await rejects(
    AuditLog.open(store, signer, { witnessPath: t.witness }),
    /witness .* cannot be read/,
  );
});

Deno.test("two stores sharing one witness stay apart; verify notes the other log", async () => {
  await using t = await tempState();
  using a = await openStore(t.kv);
  using b = await openStore(`${t.dir}/other.kv`);
  const [at, bt] = [t.kv, `${t.dir}/other.kv`];
  await appendEntries(a, signer, 12, t.witness, "a", at);
  await appendEntries(b, signer, 7, t.witness, "b", bt);
  await appendEntries(a, signer, 3, t.witness, "a", at);
  deepEqual(await witnessSizes(t.witness), [10, 12, 7, 15]);
  for (const [store, size, storeLocation] of [[a, 15, at], [b, 7, bt]] as const) {
    const report = await verifyStore(store, key, { witnessPath: t.witness, storeLocation });
    deepEqual([report.ok, report.witness?.size], [true, size]);
    ok(report.notes?.some((n) => /1 other log/.test(n)), String(report.notes));
    const options = { checkpointSeconds: 0, witnessPath: t.witness, storeLocation };
    await (await AuditLog.open(store, signer, options)).close();
  }
});

Deno.test("witness lines out of order (a slow writer appends an older checkpoint last) are no alarm", async () => {
  await using t = await tempState();
  using store = await openStore(t.kv);
  await appendEntries(store, signer, 25, t.witness);
  const lines = (await Deno.readTextFile(t.witness)).trimEnd().split("\n");
  await Deno.writeTextFile(t.witness, [lines[2], lines[0], lines[1]].join("\n") + "\n");
  const report = await verifyStore(store, key, { witnessPath: t.witness });
  deepEqual([report.ok, report.witness?.size, report.witness?.line], [true, 25, 1]);
  await (await AuditLog.open(store, signer, { checkpointSeconds: 0, witnessPath: t.witness }))
    .close();
});

Deno.test("two processes append to one on-disk store and one witness while a third keeps opening it", async () => {
  await using t = await tempState();
  const spawn = (tag: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `--config=${CONFIG}`, WRITER, t.kv, t.witness, toHex(seed), tag, "100"],
      stdout: "piped",
      stderr: "piped",
    }).output();
  const children = Promise.all([spawn("p1"), spawn("p2")]);
  let running = true;
  void children.finally(() => (running = false));
  using store = await openStore(t.kv);
  let opens = 0;
  while (running) {
    const log = await AuditLog.open(store, signer, {
      checkpointSeconds: 0,
      witnessPath: t.witness,
      storeLocation: t.kv,
    });
    await log.close();
    opens++;
    await new Promise((resolve) => setTimeout(resolve, 2)); // contention, not a lock storm
  }
  for (const out of await children) {
    equal(out.code, 0, new TextDecoder().decode(out.stderr));
  }
  ok(opens > 0);
  const report = await verifyStore(store, key, { witnessPath: t.witness, storeLocation: t.kv });
  ok(report.ok, JSON.stringify(report.firstBad));
  equal(report.entries, 1000);
  equal(report.witness?.size, 1000);
  const sizes = await witnessSizes(t.witness);
  ok(sizes.length > 20, `expected many witness lines, got ${sizes.length}`);
  match(await Deno.readTextFile(t.witness), /\n$/);
});
