/**
 * The read side of the audit log: listing, stats and decoding stored entries. Reads fail
 * closed: a malformed stored entry raises `AuditIntegrityError` rather than being skipped.
 * Not re-exported (the public surface is {@link AuditLog}).
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
  HEAD_KEY,
  type HeadRecord,
} from "./_chain.ts";
import type { Checkpoint } from "./checkpoint.ts";
import type { AuditEntry, AuditListOptions, AuditStats } from "./types.ts";
import { AuditIntegrityError } from "./verify.ts";

/** Decodes a stored entry, failing closed on one that is malformed or stored under another seq. */
export function readEntry(stored: unknown, seq: Deno.KvKeyPart | undefined): AuditEntry {
  const { entry } = decodeStored(stored);
  const problem = entryShapeProblem(entry);
  if (problem === null && entry.seq === seq) return entry;
  const at = typeof seq === "number" ? seq : 0;
  const reason = `the entry stored at seq ${String(seq)} is malformed: ${problem ?? "wrong seq"}`;
  throw new AuditIntegrityError(`Cannot read the audit log: ${reason}`, {
    ok: false,
    entries: 0,
    checkpoints: 0,
    firstBad: { seq: at, position: at, code: "MALFORMED", reason },
  });
}

/** Lists entries (see `AuditLog.list()`). */
export async function listEntries(store: Store, opts: AuditListOptions): Promise<AuditEntry[]> {
  const limit = opts.limit ?? Infinity;
  if (!(limit >= 0)) {
    throw new RangeError(`Cannot list: limit must be >= 0, current value is ${limit}`);
  }
  const from = opts.fromSeq;
  if (from !== undefined && (!Number.isSafeInteger(from) || from < 1)) {
    throw new RangeError(
      `Cannot list: fromSeq must be a positive integer, current value is ${from}`,
    );
  }
  const out: AuditEntry[] = [];
  if (limit === 0) return out;
  const prefix = [...ENTRY_PREFIX];
  const selector: Deno.KvListSelector = from === undefined
    ? { prefix }
    : opts.reverse
    ? { prefix, end: [...ENTRY_PREFIX, from + 1] }
    : { prefix, start: [...ENTRY_PREFIX, from] };
  const iter = store.list(selector, { reverse: opts.reverse ?? false, batchSize: 500 });
  for await (const { key, value: stored } of iter) {
    const value = readEntry(stored, key[2]);
    if (opts.sessionId !== undefined && value.sessionId !== opts.sessionId) continue;
    out.push(value);
    if (out.length >= limit) break;
  }
  return out;
}

/** Every stored checkpoint in size order. */
export async function listCheckpoints(store: Store): Promise<Checkpoint[]> {
  const out: Checkpoint[] = [];
  const iter = store.list<Checkpoint>({ prefix: [...CHECKPOINT_PREFIX] }, { batchSize: 500 });
  for await (const { value } of iter) out.push(value);
  return out;
}

/** The checkpoint with the largest size, or null. */
export async function latestCheckpoint(store: Store): Promise<Checkpoint | null> {
  const [last] = await Array.fromAsync(
    store.list<Checkpoint>({ prefix: [...CHECKPOINT_PREFIX] }, { reverse: true, limit: 1 }),
  );
  return last?.value ?? null;
}

/** Counts entries, sessions, decisions and checkpoints in one scan. */
export async function scanStats(store: Store): Promise<AuditStats> {
  const head = (await store.get<HeadRecord>(HEAD_KEY)).value;
  const sessions = new Set<string>();
  const byDecision: Record<string, number> = {};
  let entries = 0;
  const iter = store.list({ prefix: [...ENTRY_PREFIX] }, { batchSize: 500 });
  for await (const { key, value: stored } of iter) {
    const value = readEntry(stored, key[2]);
    entries++;
    sessions.add(value.sessionId);
    byDecision[value.decision] = (byDecision[value.decision] ?? 0) + 1;
  }
  const cps = await listCheckpoints(store);
  return {
    entries,
    checkpoints: cps.length,
    sessions: sessions.size,
    byDecision,
    head: head?.hash ?? GENESIS_HASH,
    lastCheckpointSize: cps.at(-1)?.size ?? 0,
  };
}

/**
 * Reads every checkpoint, then the head, then the entries up to the head. Checkpoints come
 * first and unbounded: each covers only entries committed before it, so none can be newer than
 * the head read after it, and a rewound head record cannot hide a checkpoint. `head` is the
 * stored value as it is (signed, unsigned or malformed: the verifier judges it); entries are
 * read up to its `seq` when it has one, else all of them.
 */
export async function readChain(store: Store): Promise<{
  head: unknown;
  entries: AuditEntry[];
  bodies: (string | null)[];
  checkpoints: Checkpoint[];
}> {
  const opts = { batchSize: 1000 };
  const checkpoints: Checkpoint[] = [];
  for await (const c of store.list<Checkpoint>({ prefix: [...CHECKPOINT_PREFIX] }, opts)) {
    checkpoints.push(c.value);
  }
  const head = (await store.get<unknown>(HEAD_KEY)).value;
  const entries: AuditEntry[] = [];
  const bodies: (string | null)[] = [];
  if (head !== null) {
    const seq = (head as Partial<HeadRecord>).seq;
    const selector: Deno.KvListSelector = Number.isSafeInteger(seq)
      ? { prefix: [...ENTRY_PREFIX], end: [...ENTRY_PREFIX, (seq as number) + 1] }
      : { prefix: [...ENTRY_PREFIX] };
    for await (const { value } of store.list(selector, opts)) {
      const { entry, body } = decodeStored(value);
      entries.push(entry);
      bodies.push(body);
    }
  }
  return { head, entries, bodies, checkpoints };
}
