/**
 * Opening the audit log fails closed against the witness (witness.ts). In this order:
 * 1. the witness's tail, read first (each of its lines was appended after the KV commit that
 *    stored its checkpoint, so the store read afterwards is at least as new as anything in it;
 *    concurrent writers therefore never cause a false alarm);
 * 2. the log the witness last saw at this store's location must be this store's (else an empty
 *    store is `TRUNCATED`: deleted, and another log `EDITED`: replaced), and the store must
 *    reach the newest valid witnessed size of its log, else it is refused as `ROLLED_BACK` (its
 *    signed head vouches for an older, consistent state) or `TRUNCATED`;
 * 3. the head's signature and the chain from the latest checkpoint to the head (_tail.ts);
 * 4. the entry at the witnessed size must have the witnessed hash, else `EDITED` (a fork);
 * 5. an unsigned head of the previous format is signed, but only when the witness holds no
 *    checkpoint of this log and the whole chain verifies against its checkpoints;
 * 6. when the witness lacks the store's latest checkpoint (first run, a deleted witness, or a
 *    writer that died between its KV commit and its witness write), that checkpoint is
 *    witnessed now (trust on first use, like a c2sp.org/tlog-witness witness meeting a new
 *    origin).
 * Only the newest witnessed line is checked here (one signature, one KV read); `verifyStore`
 * reconciles every line. Not re-exported.
 *
 * @module
 */
import type { Signer } from "../crypto/mod.ts";
import type { Store } from "../storage/mod.ts";
import { decodeStored, ENTRY_PREFIX, HEAD_KEY } from "./_chain.ts";
import { checkHead, signHead } from "./_head.ts";
import { type Head, loadVerifiedHead } from "./_tail.ts";
import { lineNumberAt, readWitnessTail, type TailLine } from "./_witness_file.ts";
import {
  placeProblem,
  reconcile,
  type Witnessed,
  type WitnessedCheckpoint,
  witnessedLog,
} from "./_witnessed.ts";
import { AuditIntegrityError, problemLabel, type VerifyReport } from "./verify.ts";
import { verifyStore } from "./verify_store.ts";
import { appendWitness, signWitnessLine } from "./witness.ts";
import { verifyStoredAhead, verifyWitnessAhead } from "./_verify_ahead.ts";

type Bad = NonNullable<VerifyReport["firstBad"]>;

/** Loads and verifies the head for `AuditLog.open`, checked against the witness when given. */
export async function openHead(
  store: Store,
  signer: Signer,
  witnessPath: string | null,
  location: string | null,
): Promise<Head> {
  const key = signer.publicKey;
  // The head's and the newest checkpoint's signatures are verified ahead meanwhile (_verify_ahead).
  const ahead = verifyStoredAhead(store, key);
  let log = await storedLogName(store);
  let newest: WitnessedCheckpoint | null = null;
  if (witnessPath !== null && (log !== null || location !== null)) {
    let w = await witnessTail(witnessPath, log, location, key);
    // The store must be read after the witness: if its first entries were committed meanwhile
    // (and maybe witnessed), read the witness again for the log it now holds.
    for (let again = 0; again < 3; again++) {
      const now = await storedLogName(store);
      if (now === log) break;
      log = now;
      w = await witnessTail(witnessPath, log, location, key);
    }
    if (w.bad) {
      const line = w.bad.line ?? await lineNumberAt(witnessPath, w.bad.offset ?? 0);
      throw refuse(witnessPath, {
        seq: w.bad.size,
        position: line,
        code: w.bad.code,
        reason: `witness line ${line}: ${w.bad.reason}`,
        witnessLine: line,
      });
    }
    const place = placeProblem(w, log);
    if (place) {
      const here = await withLine(witnessPath, w.here!);
      throw refuse(witnessPath, placeProblem({ ...w, here: { ...here, log: w.here!.log } }, log)!);
    }
    newest = w.newest;
  }
  await ahead;
  // The reads of steps 2 to 4 (all after the witness's) are issued at once, checked in order.
  const last = newest && log !== null ? lastEntry(store) : null;
  const atNewest = newest ? store.get([...ENTRY_PREFIX, newest.size]) : null;
  const verified = loadVerifiedHead(store, key, { legacy: newest === null });
  for (const read of [last, atNewest, verified]) read?.catch(() => {}); // awaited below
  if (newest && log !== null && witnessPath !== null) {
    await checkNotBehind(store, key, log, newest, witnessPath, await last!);
  }
  let head = await verified;
  if (newest && witnessPath !== null) {
    await checkSameAt(head, newest, witnessPath, (await atNewest!).value);
  }
  if (head.legacy) head = await signLegacyHead(store, signer, head);
  const cp = head.checkpoint;
  if (witnessPath !== null && cp && head.log !== null && cp.size > (newest?.size ?? 0)) {
    await appendWitness(witnessPath, [await signWitnessLine(signer, head.log, cp, location ?? "")]);
  }
  return head;
}

/** The stored hash of entry 1 as it is (verified later, against the signed head). */
async function storedLogName(store: Store): Promise<string | null> {
  const { entry, body } = decodeStored((await store.get([...ENTRY_PREFIX, 1])).value);
  return body !== null && typeof entry?.hash === "string" ? entry.hash : null;
}

/**
 * The witness's tail, read back until it holds a line of this log and one of this place (or the
 * file's start), sorted in file order.
 */
async function witnessTail(
  path: string,
  log: string | null,
  location: string | null,
  key: Uint8Array,
): Promise<Witnessed> {
  const field = (value: unknown, name: "log" | "store") =>
    (value as Record<string, unknown> | null)?.[name];
  const enough = (lines: readonly TailLine[]) =>
    (log === null || lines.some((l) => field(l.value, "log") === log)) &&
    (location === null || lines.some((l) => field(l.value, "store") === location));
  try {
    const tail = readWitnessTail(path, enough) ?? [];
    await verifyWitnessAhead(tail, log, location, key);
    return witnessedLog(tail.reverse(), log, key, {
      every: false,
      ...(location === null ? {} : { store: location }),
    });
  } catch (err) {
    throw new Error(
      `Cannot open the audit log: the witness ${path} cannot be read (${(err as Error).message})`,
      { cause: err },
    );
  }
}

async function withLine(path: string, c: WitnessedCheckpoint): Promise<WitnessedCheckpoint> {
  return c.line !== undefined ? c : { ...c, line: await lineNumberAt(path, c.offset ?? 0) };
}

/** The store's last entry, as stored (undefined when it has none). */
async function lastEntry(store: Store): Promise<Deno.KvEntry<unknown> | undefined> {
  const selector = { prefix: [...ENTRY_PREFIX] };
  return (await Array.fromAsync(store.list(selector, { reverse: true, limit: 1 })))[0];
}

/** Step 2: a store whose `last` entry is before the newest witnessed size is refused. */
async function checkNotBehind(
  store: Store,
  key: Uint8Array,
  log: string,
  newest: WitnessedCheckpoint,
  path: string,
  last: Deno.KvEntry<unknown> | undefined,
): Promise<void> {
  const end = typeof last?.key[2] === "number" ? last.key[2] : 0;
  if (newest.size <= end) return;
  const raw = (await store.get(HEAD_KEY)).value;
  const state = raw === null ? null : checkHead(raw, key);
  const lastHash = last ? decodeStored(last.value).entry?.hash : undefined;
  const endSigned = state?.kind === "signed" && state.head.log === log &&
    state.head.seq === end && state.head.hash === lastHash;
  const at = await withLine(path, newest);
  const w: Witnessed = { checkpoints: [], newest: at, bad: null, otherLogs: new Map(), here: null };
  const bad = reconcile(w, { entries: end, hashAt: () => undefined, endSigned, name: "the store" });
  if (bad) throw refuse(path, bad);
}

/** Step 4: the entry at the newest witnessed size (`stored`) must have the witnessed hash. */
async function checkSameAt(
  head: Head,
  newest: WitnessedCheckpoint,
  path: string,
  stored: unknown,
): Promise<void> {
  const hash = decodeStored(stored).entry?.hash;
  if (hash === newest.head && newest.size <= head.seq) return;
  const at = await withLine(path, newest);
  const w: Witnessed = {
    checkpoints: [at],
    newest: at,
    bad: null,
    otherLogs: new Map(),
    here: null,
  };
  const bad = reconcile(w, {
    entries: head.seq,
    hashAt: () => hash,
    endSigned: !head.legacy,
    name: "the store",
  });
  if (bad) throw refuse(path, bad);
}

/**
 * Step 5: signs an unsigned head of the previous format once the whole chain verifies against
 * its checkpoints (a check on the head's versionstamp: if another process moved or signed it
 * meanwhile, its head is loaded instead).
 */
async function signLegacyHead(store: Store, signer: Signer, head: Head): Promise<Head> {
  if (head.log === null) return { ...head, legacy: false }; // nothing to sign yet
  const report = await verifyStore(store, signer.publicKey);
  if (!report.ok) {
    const bad = report.firstBad!;
    throw new AuditIntegrityError(
      `Cannot open the audit log: its unsigned head (previous format) cannot be signed because ` +
        `the chain fails verification: ${bad.code} at seq ${bad.seq}: ${bad.reason}`,
      report,
    );
  }
  const last = decodeStored((await store.get([...ENTRY_PREFIX, head.seq])).value).entry;
  const record = await signHead(signer, head.log, head.seq, head.hash, last.ts);
  const res = await store.atomic().check({ key: HEAD_KEY, versionstamp: head.versionstamp })
    .set(HEAD_KEY, record).commit();
  if (res.ok) return { ...head, legacy: false, versionstamp: res.versionstamp };
  return await loadVerifiedHead(store, signer.publicKey);
}

function refuse(path: string, bad: Bad): AuditIntegrityError {
  const advice = bad.code === "BAD_CHECKPOINT" || bad.code === "WRONG_KEY" ||
      bad.code === "MALFORMED"
    ? `Someone changed the witness ${path}: keep it as evidence, then move it aside to continue ` +
      "(the next run starts a new witness from this store)."
    : "Nothing was written. Run `astrid audit verify` for details and keep `astrid audit export` " +
      "as evidence; restore the newest copy of state.kv to continue, or, if this store replaced " +
      `the witnessed one on purpose, move the witness ${path} aside (the next run starts a new one).`;
  return new AuditIntegrityError(
    `Cannot open the audit log: ${
      problemLabel(bad.code)
    } at seq ${bad.seq}: ${bad.reason}. ${advice}`,
    { ok: false, entries: 0, checkpoints: 0, firstBad: bad },
  );
}
