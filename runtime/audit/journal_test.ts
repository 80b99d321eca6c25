import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import { generateSeed, signerFromSeed, toHex } from "../crypto/mod.ts";
import { openStore } from "../storage/mod.ts";
import { AuditBatch } from "../security/audit_batch.ts";
import { type AuditInput, AuditLog, INTERRUPTED_OUTCOME, verifyStore } from "./mod.ts";
import { AuditJournal, recoverJournals } from "./journal.ts";

const CONFIG = fromFileUrl(new URL("../../deno.json", import.meta.url));
const CRASH = fromFileUrl(new URL("../../tests/fixtures/audit_crash.ts", import.meta.url));
const opts = { checkpointSeconds: 0 };

function write(name: string, ts = 1_700_000_000_000): AuditInput {
  return {
    sessionId: "s1",
    action: { kind: "capsule_file_access", resource: "capsule://n/fs_write", summary: name },
    decision: "allowed",
    proof: "rule:capsule://n/*",
    ts,
  };
}

/** A journal file as a dead process would have left it (pid 0 never names a user process). */
function orphan(dir: string, lines: unknown[], name = "0-1-dead.jsonl"): string {
  Deno.mkdirSync(dir, { recursive: true });
  const text = lines.map((l) => typeof l === "string" ? l : JSON.stringify(l)).join("\n");
  Deno.writeTextFileSync(`${dir}/${name}`, text + "\n");
  return `${dir}/${name}`;
}

const header = (baseSeq: number) => ({ "astrid-audit-journal": 1, pid: 0, start: "1", baseSeq });

async function tempState() {
  const dir = await Deno.makeTempDir({ prefix: "astrid-journal-" });
  return { dir, kv: `${dir}/astrid.kv`, journal: `${dir}/journal` };
}

Deno.test("AuditJournal empties its file once every record is released, and close() deletes it", async () => {
  const { journal: dir } = await tempState();
  const journal = AuditJournal.open(dir, () => 7)!;
  const a = journal.record(write("a"));
  journal.record(write("b"));
  journal.outcome(a, { ok: true });
  equal(Deno.readTextFileSync(journal.path).trim().split("\n").length, 4);
  journal.release(1);
  equal(journal.outstanding, 1);
  journal.release(1);
  deepEqual(
    Deno.readTextFileSync(journal.path).trim().split("\n").map((l) => JSON.parse(l).baseSeq),
    [7],
  );
  equal(Deno.statSync(journal.path).mode! & 0o777, 0o600);
  equal(Deno.statSync(dir).mode! & 0o777, 0o700);
  journal.close();
  throws(() => Deno.statSync(journal.path), Deno.errors.NotFound);
  throws(() => journal.record(write("c")), /closed/);
});

Deno.test("AuditJournal.deferred() creates and locks its file at the first record only", async () => {
  const { dir, journal: folder } = await tempState();
  try {
    Deno.mkdirSync(folder, { mode: 0o700 });
    const unused = AuditJournal.deferred(folder, () => 1);
    unused.release(0);
    unused.close();
    deepEqual([...Deno.readDirSync(folder)], []); // nothing recorded: no file, ever
    let head = 3;
    const journal = AuditJournal.deferred(folder, () => head);
    throws(() => Deno.statSync(journal.path), Deno.errors.NotFound);
    head = 5;
    journal.record(write("a"));
    const lines = Deno.readTextFileSync(journal.path).trim().split("\n").map((l) => JSON.parse(l));
    deepEqual([lines[0].baseSeq, lines[1].i.action.summary], [5, "a"]); // the head at creation
    equal(Deno.statSync(journal.path).mode! & 0o777, 0o600);
    // Its lock is held: recovery leaves a live journal alone.
    const log = {
      append: () => Promise.reject(new Error("unused")),
      list: () => Promise.resolve([]),
    };
    deepEqual(await recoverJournals(folder, log, null), []);
    journal.release(1);
    journal.close();
    throws(() => Deno.statSync(journal.path), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AuditJournal.deferred() fails its first record when the file cannot be created", async () => {
  const { dir } = await tempState();
  try {
    Deno.writeTextFileSync(`${dir}/file`, "x");
    const journal = AuditJournal.deferred(`${dir}/file`, () => 0);
    throws(() => journal.record(write("a"))); // the caller must not run the effect
    equal(journal.outstanding, 0);
    journal.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AuditLog.open() with a journal folder leaves no file behind when nothing is journaled", async () => {
  const { dir, kv, journal } = await tempState();
  try {
    const signer = signerFromSeed(generateSeed());
    using store = await openStore(kv);
    const first = await AuditLog.open(store, signer, { ...opts, journalDir: journal });
    await first.append(write("x"));
    await first.close();
    const log = await AuditLog.open(store, signer, { ...opts, journalDir: journal });
    deepEqual([...Deno.readDirSync(journal)].map((e) => e.name), ["tail.wal"]);
    equal((await log.list()).length, 1);
    await log.close();
    deepEqual([...Deno.readDirSync(journal)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AuditJournal.record() refuses an entry without ts (it could not be matched later)", async () => {
  const { journal: dir } = await tempState();
  const journal = AuditJournal.open(dir, () => 0)!;
  const { ts: _ts, ...noTs } = write("a");
  throws(() => journal.record(noTs), TypeError);
  journal.close();
});

Deno.test("a journal with records still outstanding survives close() and is recovered by the next open", async () => {
  const { kv, journal } = await tempState();
  const signer = signerFromSeed(generateSeed());
  using store = await openStore(kv);
  const first = await AuditLog.open(store, signer, { ...opts, journalDir: journal });
  first.journal!.record(write("kept"));
  await first.close();
  // The same process still runs, so a second log must not touch the file: it is recovered
  // only once its owner is gone. Rename it as if written by a dead process.
  const [file] = [...Deno.readDirSync(journal)].map((e) => e.name).filter((n) =>
    n.endsWith(".jsonl")
  );
  Deno.renameSync(`${journal}/${file}`, `${journal}/0-1-dead.jsonl`);
  const second = await AuditLog.open(store, signer, { ...opts, journalDir: journal });
  deepEqual(second.recovered.map((r) => [r.recovered, r.alreadyCommitted]), [[1, 0]]);
  const entries = await second.list();
  deepEqual(entries.map((e) => [e.action.summary, e.outcome]), [
    ["kept", INTERRUPTED_OUTCOME],
    [entries[1]!.action.summary, null],
  ]);
  equal(entries[1]!.action.kind, "audit_journal_recovered");
  await second.close();
});

Deno.test("a journal of a running process is left alone", async () => {
  const { kv, journal } = await tempState();
  const signer = signerFromSeed(generateSeed());
  using store = await openStore(kv);
  const owner = await AuditLog.open(store, signer, { ...opts, journalDir: journal });
  owner.journal!.record(write("in flight"));
  const other = await AuditLog.open(store, signer, { ...opts, journalDir: journal });
  deepEqual(other.recovered, []);
  equal((await other.list()).length, 0);
  ok(Deno.statSync(owner.journal!.path).isFile);
  await other.close();
  owner.journal!.release(1);
  await owner.close();
});

Deno.test("SIGKILL after an effect: the next open appends the journaled entries once, in order", async () => {
  const { kv, journal } = await tempState();
  const seed = generateSeed();
  const child = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", `--config=${CONFIG}`, CRASH, kv, journal, toHex(seed)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  equal(child.signal, "SIGKILL", new TextDecoder().decode(child.stderr));
  const signer = signerFromSeed(seed);
  using store = await openStore(kv);
  const log = await AuditLog.open(store, signer, { ...opts, journalDir: journal });
  deepEqual(
    log.recovered.map(({ recovered, alreadyCommitted, unreadable }) => ({
      recovered,
      alreadyCommitted,
      unreadable,
    })),
    [{ recovered: 3, alreadyCommitted: 1, unreadable: 0 }],
  );
  const entries = await log.list();
  deepEqual(entries.map((e) => [e.action.summary, e.outcome]), [
    ["fs_write a.txt", { ok: true, detail: null }],
    ["fs_write b.txt", { ok: true, detail: null }],
    ["read_file r.txt", INTERRUPTED_OUTCOME],
    ["fs_write c.txt", INTERRUPTED_OUTCOME],
    [entries[4]!.action.summary, null],
  ]);
  equal(entries[4]!.action.kind, "audit_journal_recovered");
  // Only this process's journal and the shared tail (see _tail_wal.ts) are left.
  deepEqual(
    [...Deno.readDirSync(journal)].filter((e) =>
      !e.name.startsWith(`${Deno.pid}-`) && e.name !== "tail.wal"
    ),
    [],
  );
  await log.checkpoint();
  ok((await verifyStore(store, signer.publicKey)).ok);
  // Opening again recovers nothing more.
  const again = await AuditLog.open(store, signer, { ...opts, journalDir: journal });
  deepEqual(again.recovered, []);
  equal((await again.list()).length, 5);
  await again.close();
  await log.close();
});

Deno.test("recovery keeps unreadable lines aside and still appends the readable records", async () => {
  const { kv, journal } = await tempState();
  const path = orphan(journal, [
    header(0),
    { r: 1, i: write("ok") },
    "{torn", // a line cut short
    { r: 2, i: null },
    { o: 1, v: { ok: true } },
    { o: 99, v: "no such record" },
  ]);
  using store = await openStore(kv);
  const log = await AuditLog.open(store, signerFromSeed(generateSeed()), {
    ...opts,
    journalDir: journal,
  });
  deepEqual(log.recovered.map((r) => [r.recovered, r.unreadable]), [[1, 3]]);
  const [entry, event] = await log.list();
  deepEqual([entry?.action.summary, entry?.outcome], ["ok", { ok: true }]);
  ok(event?.action.summary.includes("3 unreadable lines kept"));
  const [aside] = [...Deno.readDirSync(journal)].filter((e) => e.name.endsWith(".unreadable"));
  ok(aside?.name.startsWith(path.split("/").pop()!));
  const kept = Deno.readTextFileSync(`${journal}/${aside!.name}`);
  equal(kept.split("\n").filter(Boolean).length, 3);
  await log.close();
});

Deno.test("recovery ignores symlinks and files that are not journals", async () => {
  const { kv, journal, dir } = await tempState();
  Deno.mkdirSync(journal, { recursive: true });
  Deno.writeTextFileSync(`${dir}/secret`, JSON.stringify({ r: 1, i: write("planted") }) + "\n");
  Deno.symlinkSync(`${dir}/secret`, `${journal}/0-1-link.jsonl`);
  Deno.writeTextFileSync(`${journal}/notes.txt`, "not a journal");
  using store = await openStore(kv);
  const log = await AuditLog.open(store, signerFromSeed(generateSeed()), {
    ...opts,
    journalDir: journal,
  });
  deepEqual(log.recovered, []);
  equal((await log.list()).length, 0);
  ok(Deno.lstatSync(`${journal}/0-1-link.jsonl`).isSymlink);
  await log.close();
});

Deno.test("two logs opening at once recover an orphan exactly once", async () => {
  const { kv, journal } = await tempState();
  orphan(journal, [header(0), ...[1, 2, 3].map((r) => ({ r, i: write(`w${r}`, 1000 + r) }))]);
  const signer = signerFromSeed(generateSeed());
  using a = await openStore(kv);
  using b = await openStore(kv);
  const [la, lb] = await Promise.all([
    AuditLog.open(a, signer, { ...opts, journalDir: journal }),
    AuditLog.open(b, signer, { ...opts, journalDir: journal }),
  ]);
  equal(la.recovered.length + lb.recovered.length, 1);
  deepEqual((await la.list()).map((e) => e.action.summary).slice(0, 3), ["w1", "w2", "w3"]);
  equal((await la.list()).length, 4);
  await la.close();
  await lb.close();
});

Deno.test("identical records are told apart by count when only some were committed", async () => {
  const { kv, journal } = await tempState();
  const signer = signerFromSeed(generateSeed());
  using store = await openStore(kv);
  const seed = await AuditLog.open(store, signer, opts);
  await seed.append(write("same")); // the owner committed one of the two before it died
  await seed.close();
  orphan(journal, [header(0), { r: 1, i: write("same") }, { r: 2, i: write("same") }]);
  const log = await AuditLog.open(store, signer, { ...opts, journalDir: journal });
  deepEqual(log.recovered.map((r) => [r.recovered, r.alreadyCommitted]), [[1, 1]]);
  equal((await log.list()).filter((e) => e.action.summary === "same").length, 2);
  await log.close();
});

Deno.test("AuditBatch.queue() with writeAhead journals the entries queued before it, in order", async () => {
  const { kv, journal } = await tempState();
  using store = await openStore(kv);
  const log = await AuditLog.open(store, signerFromSeed(generateSeed()), {
    ...opts,
    journalDir: journal,
  });
  const batch = new AuditBatch(log, log.journal);
  batch.queue(write("read first"));
  equal(log.journal!.outstanding, 0);
  const w = batch.queue(write("then write"), true);
  batch.setOutcome(w, { ok: true });
  equal(log.journal!.outstanding, 2);
  const lines = Deno.readTextFileSync(log.journal!.path).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  deepEqual(lines.slice(1).map((l) => l.i?.action.summary ?? `outcome ${l.o}`), [
    "read first",
    "then write",
    "outcome 2",
  ]);
  await batch.flush();
  equal(log.journal!.outstanding, 0);
  equal(Deno.readTextFileSync(log.journal!.path).trim().split("\n").length, 1);
  await log.close();
});

Deno.test("AuditBatch.queue() with writeAhead but no journal throws and queues nothing", async () => {
  using store = await openStore(":memory:");
  const log = await AuditLog.open(store, signerFromSeed(generateSeed()), opts);
  const batch = new AuditBatch(log, log.journal);
  equal(batch.canWriteAhead, false);
  throws(() => batch.queue(write("w"), true), /no journal/);
  equal(batch.pending, 0);
  await log.close();
});

Deno.test("AuditLog.open() fails closed when the journal folder cannot be used", async () => {
  const { kv, dir } = await tempState();
  Deno.writeTextFileSync(`${dir}/file`, "x");
  using store = await openStore(kv);
  await rejects(
    AuditLog.open(store, signerFromSeed(generateSeed()), { ...opts, journalDir: `${dir}/file` }),
    /Cannot open the audit log: the journal/,
  );
});
