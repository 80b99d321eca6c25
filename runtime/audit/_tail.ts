/**
 * Loads the chain head and checks it before the runtime builds on it: the head record's
 * signature (see _head.ts), then every entry between an earlier trusted point (the last signed
 * checkpoint, or a head this process itself verified or wrote) and the head, so the runtime
 * never signs a checkpoint or a head over a tail it has not linked to that point. Without this,
 * anyone able to write the KV could rewrite the tail and have the next checkpoint launder it.
 * Not re-exported.
 *
 * @module
 */
import type { Store } from "../storage/mod.ts";
import {
  CHECKPOINT_PREFIX,
  decodeStored,
  ENTRY_PREFIX,
  entryShapeProblem,
  GENESIS_HASH,
  hashBody,
  HEAD_KEY,
  type HeadRecord,
} from "./_chain.ts";
import { type Checkpoint, verifyCheckpoint } from "./checkpoint.ts";
import { checkHead } from "./_head.ts";
import { AuditIntegrityError, type VerifyReport } from "./verify.ts";

/** The verified head plus the versionstamp its next commit must check. */
export interface Head extends HeadRecord {
  /** The log's name (the hash of entry 1); null while the log is empty. */
  log: string | null;
  versionstamp: string | null;
  /** True for an unsigned head of the previous format (accepted only when asked to). */
  legacy: boolean;
  /** The latest checkpoint, when it was the anchor (verified under the trusted key). */
  checkpoint: Checkpoint | null;
}

/** How {@link loadVerifiedHead} anchors and what it accepts. */
export interface LoadOptions {
  /** A head this process trusts (it verified or wrote it): the walk starts there. */
  known?: { seq: number; hash: string; log: string | null };
  /** Accept an unsigned head of the previous format (only `AuditLog.open` may, see log.ts). */
  legacy?: boolean;
}

type Code = NonNullable<VerifyReport["firstBad"]>["code"];

function fail(seq: number, code: Code, reason: string): never {
  throw new AuditIntegrityError(`Cannot use the audit log: ${reason}`, {
    ok: false,
    entries: 0,
    checkpoints: 0,
    firstBad: { seq, position: seq, code, reason },
  });
}

/**
 * Returns the stored head after checking its signature under `trustedKey` and every entry
 * between the anchor and the head: `known` when given, else the latest checkpoint (whose
 * signature must verify under `trustedKey`), else genesis.
 */
export async function loadVerifiedHead(
  store: Store,
  trustedKey: Uint8Array,
  options: LoadOptions = {},
): Promise<Head> {
  // The head, the checkpoints and the entries are separate reads. Another process appending in
  // between (it moves the head in the same commit as its entries) can make them disagree; a
  // failure counts only when the head did not move meanwhile.
  for (let attempt = 1;; attempt++) {
    // One read for the head and entry 1 (the log's name); the latest checkpoint, the anchor
    // unless a known head is, is read meanwhile. Reads that raced a writer fail and are retried.
    const latest = options.known ? null : latestStored(store);
    latest?.catch(() => {}); // awaited in verifyHead, unless it failed first
    const [got, first] = await store.getMany<[unknown, unknown]>([HEAD_KEY, [...ENTRY_PREFIX, 1]]);
    try {
      return await verifyHead(store, got, first.value, latest, trustedKey, options);
    } catch (err) {
      if (!(err instanceof AuditIntegrityError) || attempt >= MAX_READS) throw err;
      if ((await store.get(HEAD_KEY)).versionstamp === got.versionstamp) throw err;
    }
  }
}

/**
 * How often a head that keeps moving is read again before its check counts. Each retry means
 * another writer committed meanwhile (progress, not a fault); several processes appending at
 * once on a loaded machine can move it a dozen times in a row.
 */
const MAX_READS = 64;

/** The stored head checked under the trusted key (signature before payload). */
function storedHead(
  value: unknown,
  trustedKey: Uint8Array,
  legacyOk: boolean,
): { seq: number; hash: string; log: string | null; legacy: boolean } {
  if (value === null) return { seq: 0, hash: GENESIS_HASH, log: null, legacy: false };
  const state = checkHead(value, trustedKey);
  if (state.kind === "bad") fail(0, state.code, state.reason);
  if (state.kind === "signed") {
    const { seq, hash, log } = state.head;
    return { seq, hash, log, legacy: false };
  }
  if (!legacyOk) {
    fail(
      state.seq,
      "BAD_HEAD",
      `the head record (seq ${state.seq}) is unsigned: it was rewritten after this log signed its heads`,
    );
  }
  return { seq: state.seq, hash: state.hash, log: null, legacy: true };
}

/** The latest stored checkpoint (unverified), or undefined when there is none. */
async function latestStored(store: Store): Promise<Deno.KvEntry<Checkpoint> | undefined> {
  const selector = { prefix: [...CHECKPOINT_PREFIX] };
  return (await Array.fromAsync(store.list<Checkpoint>(selector, { reverse: true, limit: 1 })))[0];
}

async function verifyHead(
  store: Store,
  got: Deno.KvEntryMaybe<unknown>,
  first: unknown,
  latest: Promise<Deno.KvEntry<Checkpoint> | undefined> | null,
  trustedKey: Uint8Array,
  options: LoadOptions,
): Promise<Head> {
  const head = storedHead(got.value, trustedKey, options.legacy === true);
  const log = logName(first, head.seq);
  if (head.log !== null && head.log !== log) {
    fail(head.seq, "BAD_HEAD", `the head names log ${head.log} but entry 1 hashes to ${log}`);
  }
  const known = options.known;
  if (known && known.log !== null && head.log !== null && known.log !== head.log) {
    fail(head.seq, "BAD_HEAD", `the head names log ${head.log}, not this log (${known.log})`);
  }
  let anchor: HeadRecord = { seq: 0, hash: GENESIS_HASH };
  let checkpoint: Checkpoint | null = null;
  if (known && known.seq <= head.seq) {
    anchor = known;
  } else {
    const last = await (latest ?? latestStored(store));
    if (last) {
      const cp = last.value;
      const problem = verifyCheckpoint(cp, trustedKey);
      if (problem) fail(Number(cp?.size) || 0, problem.code, `the latest ${problem.reason}`);
      anchor = { seq: cp.size, hash: cp.head };
      checkpoint = cp;
    }
  }
  if (anchor.seq > head.seq) {
    fail(
      head.seq + 1,
      "TRUNCATED",
      `checkpoint ${anchor.seq} is beyond the stored head ${head.seq}`,
    );
  }
  // Entries anchor.seq (to match the anchor's hash) through the head, and nothing after it.
  let prev = anchor.hash;
  let seq = anchor.seq;
  let sawAnchor = anchor.seq === 0;
  const selector = { prefix: [...ENTRY_PREFIX], start: [...ENTRY_PREFIX, Math.max(anchor.seq, 1)] };
  for await (const { key, value } of store.list(selector, { batchSize: 500 })) {
    const { entry: e, body } = decodeStored(value);
    if (body === null || entryShapeProblem(e) !== null || key[2] !== e.seq) {
      fail(e?.seq ?? 0, "MALFORMED", "a stored entry is malformed");
    }
    if (!sawAnchor) {
      if (e.seq !== anchor.seq || e.hash !== anchor.hash || hashBody(e.prevHash, body) !== e.hash) {
        fail(
          anchor.seq,
          "EDITED",
          `entry ${anchor.seq} is missing or differs from the trusted head`,
        );
      }
      sawAnchor = true;
      continue;
    }
    if (e.seq !== seq + 1) {
      fail(seq + 1, e.seq > head.seq ? "MALFORMED" : "DELETED", `entry ${seq + 1} is missing`);
    }
    const hash = e.hash;
    if (e.prevHash !== prev || hashBody(prev, body) !== hash) {
      fail(e.seq, "EDITED", `entry ${e.seq} does not chain from entry ${e.seq - 1}`);
    }
    prev = hash;
    seq = e.seq;
  }
  if (!sawAnchor) fail(anchor.seq, "DELETED", `entry ${anchor.seq} is missing`);
  if (seq !== head.seq || prev !== head.hash) {
    fail(
      seq + 1,
      seq < head.seq ? "TRUNCATED" : "EDITED",
      `the stored head (seq ${head.seq}) does not match the last entry (seq ${seq})`,
    );
  }
  return { ...head, log, versionstamp: got.versionstamp, checkpoint };
}

/**
 * The log's name: the stored hash of entry 1 (`first`, as stored), or null for an empty log
 * (`seq` 0). Fails when entry 1 is missing from a log that has entries.
 */
function logName(first: unknown, seq: number): string | null {
  if (seq === 0) return null;
  const { entry, body } = decodeStored(first);
  if (body === null || entryShapeProblem(entry) !== null) {
    fail(1, "DELETED", "entry 1 is missing or malformed");
  }
  return entry.hash;
}
