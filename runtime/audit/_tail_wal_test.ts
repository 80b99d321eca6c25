import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import { canonicalJson, generateSeed, signerFromSeed, toHex } from "../crypto/mod.ts";
import { openStore } from "../storage/mod.ts";
import { type AuditEntry, type AuditInput, AuditLog, verifyStore } from "./mod.ts";
import { parseTail, uncommitted } from "./_tail_wal.ts";
import { chainEntry, hashBody, prepareInput } from "./_chain.ts";

const CONFIG = fromFileUrl(new URL("../../deno.json", import.meta.url));
const MOD = new URL("./mod.ts", import.meta.url).href;
const CRYPTO = new URL("../crypto/mod.ts", import.meta.url).href;
const STORAGE = new URL("../storage/mod.ts", import.meta.url).href;
const opts = { checkpointSeconds: 0 };

function input(i: number): AuditInput {
  return {
    sessionId: "s-tail",
    action: { kind: "file_write", resource: `file:///ws/${i}`, summary: `write ${i}` },
    decision: "allowed",
    proof: "rule:file:///ws/**",
    outcome: { ok: true, i },
  };
}

const made: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const dir of made) Deno.removeSync(dir, { recursive: true });
});

async function tempState() {
  const dir = await Deno.makeTempDir({ prefix: "astrid-tail-" });
  made.push(dir);
  return { dir, kv: `${dir}/state.kv`, journal: `${dir}/journal` };
}

/** Runs a child that appends `count` entries with the journal, prints them, and then `end`s. */
async function child(
  kv: string,
  journal: string,
  seed: Uint8Array,
  count: number,
  end: "kill" | "close",
) {
  const dir = await Deno.makeTempDir({ prefix: "astrid-tail-child-" });
  const script = `${dir}/child.ts`;
  Deno.writeTextFileSync(
    script,
    `import { AuditLog } from ${JSON.stringify(MOD)};
import { fromHex, signerFromSeed } from ${JSON.stringify(CRYPTO)};
import { openStore } from ${JSON.stringify(STORAGE)};
const store = await openStore(${JSON.stringify(kv)});
const log = await AuditLog.open(store, signerFromSeed(fromHex(${JSON.stringify(toHex(seed))})), {
  checkpointSeconds: 0, journalDir: ${JSON.stringify(journal)},
});
const out = [];
for (let i = 0; i < ${count}; i++) {
  const e = await log.append({
    sessionId: "s-child", decision: "allowed", proof: "rule:x", outcome: { i },
    action: { kind: "file_write", resource: "file:///ws/c" + i, summary: "child " + i },
  });
  out.push([e.seq, e.hash]);
}
console.log(JSON.stringify(out));
${end === "kill" ? 'Deno.kill(Deno.pid, "SIGKILL");' : "await log.close(); store.close();"}
`,
  );
  const res = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", `--config=${CONFIG}`, script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  Deno.removeSync(dir, { recursive: true });
  const text = new TextDecoder().decode(res.stdout).trim();
  return {
    signal: res.signal,
    stderr: new TextDecoder().decode(res.stderr),
    acked: (text ? JSON.parse(text) : []) as [number, string][],
  };
}

Deno.test("append() with a journal resolves before the KV commit, and reads still see it", async () => {
  const { kv, journal } = await tempState();
  using store = await openStore(kv);
  const log = await AuditLog.open(store, signerFromSeed(generateSeed()), {
    ...opts,
    journalDir: journal,
  });
  const a = await log.append(input(1));
  const b = await log.append(input(2));
  deepEqual([a.seq, b.seq, b.prevHash], [1, 2, a.hash]);
  deepEqual((await log.list()).map((e) => e.hash), [a.hash, b.hash]);
  // Emptied down to a header naming the committed head once the commit landed.
  await log.flush();
  deepEqual(parseTail(Deno.readTextFileSync(`${journal}/tail.wal`)), {
    head: { seq: 2, hash: b.hash },
    records: [],
    bad: [],
  });
  await log.close();
  // The last process to close an idle tail deletes it.
  equal([...Deno.readDirSync(journal)].some((e) => e.name === "tail.wal"), false);
});

Deno.test("SIGKILL right after append() resolved: the next open commits every entry at its acknowledged seq", async () => {
  const { kv, journal } = await tempState();
  const seed = generateSeed();
  const signer = signerFromSeed(seed);
  {
    using store = await openStore(kv);
    const log = await AuditLog.open(store, signer, { ...opts, journalDir: journal });
    await log.append(input(0));
    await log.close();
  }
  const run = await child(kv, journal, seed, 40, "kill");
  equal(run.signal, "SIGKILL", run.stderr);
  equal(run.acked.length, 40);
  using store = await openStore(kv);
  const log = await AuditLog.open(store, signer, { ...opts, journalDir: journal });
  const entries = await log.list();
  equal(entries.length, 41);
  // Every acknowledged (seq, hash) is in the chain exactly as acknowledged.
  const bySeq = new Map(entries.map((e) => [e.seq, e.hash]));
  for (const [seq, hash] of run.acked) equal(bySeq.get(seq), hash);
  equal(log.resequenced, 0);
  await log.checkpoint();
  ok((await verifyStore(store, signer.publicKey)).ok);
  await log.close();
  const again = await AuditLog.open(store, signer, { ...opts, journalDir: journal });
  equal(again.tailRecovery.recovered, 0);
  equal((await again.list()).length, 41);
  await again.close();
});

Deno.test("a process appending while another holds the tail waits its turn: one chain, no fork", async () => {
  const { kv, journal } = await tempState();
  const seed = generateSeed();
  const signer = signerFromSeed(seed);
  using store = await openStore(kv);
  const log = await AuditLog.open(store, signer, { ...opts, journalDir: journal });
  const mine: AuditEntry[] = [];
  const other = child(kv, journal, seed, 60, "close");
  for (let i = 0; i < 60; i++) mine.push(await log.append(input(i)));
  const run = await other;
  equal(run.acked.length, 60, run.stderr);
  await log.close();
  const all = await log.list();
  equal(all.length, 120);
  const bySeq = new Map(all.map((e) => [e.seq, e.hash]));
  for (const e of mine) equal(bySeq.get(e.seq), e.hash);
  for (const [seq, hash] of run.acked) equal(bySeq.get(seq), hash);
  equal(log.resequenced, 0);
  ok((await verifyStore(store, signer.publicKey)).ok);
});

Deno.test("open() while another process holds the tail waits, then commits what it left", async () => {
  const { kv, journal } = await tempState();
  const signer = signerFromSeed(generateSeed());
  using store = await openStore(kv);
  const log = await AuditLog.open(store, signer, { ...opts, journalDir: journal });
  const first = await log.append(input(1));
  await log.close();
  // Another process holds the tail's lock, with entry 2 acknowledged and not yet committed.
  const { entry, stored } = chainEntry(prepareInput(input(2), 1), 2, first.hash);
  const holder = Deno.openSync(`${journal}/tail.wal`, { read: true, write: true, create: true });
  holder.lockSync(true);
  holder.writeSync(new TextEncoder().encode(`{"s":2,"h":"${entry.hash}","e":${stored.body}}\n`));
  const opening = AuditLog.open(store, signer, { ...opts, journalDir: journal });
  await new Promise((r) => setTimeout(r, 30)); // open() finds the tail taken, and waits
  holder.close(); // the holder dies: the kernel drops its lock
  const late = await opening;
  deepEqual([late.tailRecovery.recovered, late.tailRecovery.unreadable], [1, 0]);
  deepEqual((await late.list()).map((e) => [e.seq, e.hash]), [[1, first.hash], [2, entry.hash]]);
  equal((await late.append(input(3))).seq, 3);
  await late.close();
  const report = await verifyStore(store, signer.publicKey);
  deepEqual([report.ok, report.entries], [true, 3]);
});

Deno.test("a tampered tail: torn and malformed lines are counted, never trusted, and the chain verifies", async () => {
  const { kv, journal } = await tempState();
  const signer = signerFromSeed(generateSeed());
  using store = await openStore(kv);
  const log = await AuditLog.open(store, signer, { ...opts, journalDir: journal });
  await log.append(input(1));
  await log.close();
  const good = (await log.list())[0]!;
  Deno.writeTextFileSync(
    `${journal}/tail.wal`,
    [
      JSON.stringify({ s: 1, h: good.hash, e: { v: 2 } }), // not an entry
      JSON.stringify({ s: 2, h: "x", e: "not an object" }),
      '{"s":3,"h":"torn',
    ].join("\n"),
    { append: true },
  );
  const again = await AuditLog.open(store, signer, { ...opts, journalDir: journal });
  deepEqual(again.tailRecovery.recovered, 0);
  equal(again.tailRecovery.unreadable, 3);
  equal((await again.list()).length, 1);
  // Kept aside as evidence, and the tail is clean again.
  equal(Deno.readTextFileSync(`${journal}/tail.wal.unreadable`).trim().split("\n").length, 3);
  await again.close();
  ok((await verifyStore(store, signer.publicKey)).ok);
});

Deno.test("a forged tail record that is well-formed is appended as a new entry, never spliced in", async () => {
  const { kv, journal } = await tempState();
  const signer = signerFromSeed(generateSeed());
  using store = await openStore(kv);
  const log = await AuditLog.open(store, signer, { ...opts, journalDir: journal });
  const first = await log.append(input(1));
  await log.close();
  // Someone who can write the journal folder claims entry 1 said something else.
  const forged = { ...first, action: { ...first.action, summary: "nothing happened" } };
  const { hash: _, ...body } = forged;
  Deno.writeTextFileSync(
    `${journal}/tail.wal`,
    `{"s":1,"h":"${first.hash}","e":${canonicalJson(body)}}\n`,
    { append: true },
  );
  const again = await AuditLog.open(store, signer, { ...opts, journalDir: journal });
  const entries = await again.list();
  deepEqual(entries.map((e) => e.action.summary), ["write 1", "nothing happened"]);
  equal(entries[0]!.hash, first.hash); // the committed entry is untouched
  await again.close();
  ok((await verifyStore(store, signer.publicKey)).ok);
});

Deno.test("open() fails closed when tail.wal is a symlink", async () => {
  const { dir, kv, journal } = await tempState();
  Deno.mkdirSync(journal, { recursive: true });
  Deno.writeTextFileSync(`${dir}/elsewhere`, "");
  Deno.symlinkSync(`${dir}/elsewhere`, `${journal}/tail.wal`);
  using store = await openStore(kv);
  await rejects(
    AuditLog.open(store, signerFromSeed(generateSeed()), { ...opts, journalDir: journal }),
    /symlink/,
  );
  equal(Deno.readTextFileSync(`${dir}/elsewhere`), "");
});

Deno.test("uncommitted() tells identical records apart by count", () => {
  const body = (i: number) =>
    `{"action":{"kind":"k","resource":"r","summary":"s"},"decision":"event","outcome":null,` +
    `"prevHash":"${"0".repeat(64)}","proof":"p","seq":${i},"sessionId":"s","ts":1,"v":1}`;
  const rec = (i: number) => ({ s: i, h: "a".repeat(64), b: body(i) });
  const committed = [{
    v: 1 as const,
    seq: 9,
    ts: 1,
    sessionId: "s",
    action: { kind: "k", resource: "r", summary: "s" },
    decision: "event" as const,
    proof: "p",
    outcome: null,
    prevHash: "0".repeat(64),
    hash: "b".repeat(64),
  }];
  const { missing, unreadable } = uncommitted([rec(1), rec(2)], committed);
  deepEqual([missing.length, unreadable.length], [1, 0]);
});

Deno.test("parseTail() gives back exactly the body that was hashed, for awkward strings and numbers", () => {
  const awkward = ['"', "\\", "\n", "\u2028", "é", "😀", "\u0000", "</script>"];
  const numbers = [0, -0, 1.5, 1e21, -1e-7, 2 ** 53, 5e-324, 123456789.125];
  let prev = "0".repeat(64);
  for (let i = 0; i < 200; i++) {
    const text = awkward.slice(i % 8).join("") + i;
    const { entry, stored } = chainEntry(
      prepareInput({
        sessionId: `s${text}`,
        action: {
          kind: text,
          resource: "r",
          summary: text,
          detail: { n: numbers[i % 8], [text]: [text] },
        },
        decision: "event",
        proof: text,
        outcome: { n: numbers[(i + 3) % 8] },
        ts: numbers[i % 8]! * 1000,
      }, 0),
      i + 1,
      prev,
    );
    const line = `{"s":${entry.seq},"h":"${entry.hash}","e":${stored.body}}\n`;
    deepEqual(parseTail(line).records, [{ s: entry.seq, h: entry.hash, b: stored.body }]);
    equal(hashBody(prev, parseTail(line).records[0]!.b), entry.hash);
    prev = entry.hash;
  }
});
