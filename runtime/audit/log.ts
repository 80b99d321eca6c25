/**
 * The append-only, hash-chained audit log over a {@link Store}.
 *
 * Each entry's `hash` is `hex(BLAKE3(bytes(prevHash) ‖ ACE-1("audit-entry", entry without hash)))`;
 * the `prevHash` of seq 1 is 64 zeros. Keys: `["audit","e",seq]` entries,
 * `["audit","c",size]` checkpoints, `["audit","head"]` the chain head, signed by the runtime key
 * in every commit (`{v, log, seq, hash, ts, key, sig}`, see _head.ts).
 *
 * Group commit: appends that arrive while a commit is in flight are batched into the next
 * atomic commit (up to 500 entries). Every commit checks the head's versionstamp, so two
 * processes appending to the same KV can never fork the chain: on a failed check the head is
 * reloaded and the batch re-chained. A signed checkpoint is written in the same commit whenever
 * a seq that is a multiple of `checkpointEvery` is appended, plus every `checkpointSeconds`, on
 * {@link AuditLog.endSession} and on {@link AuditLog.close}.
 *
 * With `journalDir`, an append is acknowledged once its chained form is written to the tail file
 * shared by every process appending to the store, and committed to KV by the group commit that
 * follows; a process that dies in between leaves it there for the next one (_tail_wal.ts). The
 * reads of this log wait for its pending commits, so a process always reads its own appends.
 *
 * With `witnessPath`, every checkpoint is also appended to the witness file right after the
 * commit that stores it, and opening refuses a store that is behind or forked from the witness
 * (witness.ts, _open.ts). A store whose head is unsigned (the previous format) is opened and
 * its head signed, but only when the whole chain verifies against its checkpoints and the
 * witness holds no checkpoint of the log; once witnessed, an unsigned head is refused.
 *
 * @module
 */
import type { Signer } from "../crypto/mod.ts";
import type { Store } from "../storage/mod.ts";
import { every } from "../storage/deadline.ts";
import {
  chainEntry,
  CHECKPOINT_PREFIX,
  ENTRY_PREFIX,
  HEAD_KEY,
  MAX_ENTRY_CHARS,
  type PreparedInput,
  prepareInput,
  type StoredEntry,
} from "./_chain.ts";
import { type Checkpoint, signCheckpoint } from "./checkpoint.ts";
import { signHead } from "./_head.ts";
import { openHead } from "./_open.ts";
import { latestCheckpoint, listCheckpoints, listEntries, readEntry, scanStats } from "./_read.ts";
import { type Head, loadVerifiedHead } from "./_tail.ts";
import { appendWitness, signWitnessLine } from "./witness.ts";
import type {
  AuditEntry,
  AuditInput,
  AuditListOptions,
  AuditLogOptions,
  AuditStats,
} from "./types.ts";
import { AuditJournal, type JournalRecovery, recoverJournals } from "./journal.ts";
import { AuditTail, type TailState, uncommitted } from "./_tail_wal.ts";

function journalFailed(dir: string, err: unknown): Error {
  return new Error(
    `Cannot open the audit log: the journal in ${dir} failed (${(err as Error).message})`,
    { cause: err },
  );
}

interface Pending {
  input: PreparedInput;
  resolve(entry: AuditEntry): void;
  reject(err: unknown): void;
}

/** A chained entry not yet committed; `resolve` is null once it is acknowledged from the tail. */
interface Chained {
  input: PreparedInput;
  entry: AuditEntry;
  stored: StoredEntry;
  resolve: Pending | null;
}

/** What taking over the shared tail recovered (see {@link AuditLog.tailRecovery}). */
export interface TailRecovery {
  /** The tail file ("" when the log has none). */
  file: string;
  /** Entries a process acknowledged and died before committing, committed now. */
  recovered: number;
  /** Lines that could not be read (a torn last line was never acknowledged). */
  unreadable: number;
}

const MAX_BATCH = 500;
const MAX_BATCH_CHARS = 300_000;
const MAX_ATTEMPTS = 64;
/** Acknowledged, uncommitted entries beyond which appends wait for the group commit. */
const MAX_PENDING = 4 * MAX_BATCH;

/**
 * The audit log. Create with {@link AuditLog.open}; it does not own (or close) the store.
 *
 * @example Append, checkpoint and read back
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { openStore } from "../storage/mod.ts";
 * import { AuditLog } from "./log.ts";
 * using store = await openStore(":memory:");
 * const log = await AuditLog.open(store, signerFromSeed(generateSeed()));
 * const entry = await log.append({
 *   sessionId: "s1",
 *   action: { kind: "file_read", resource: "file:///w/a.txt", summary: "read a.txt" },
 *   decision: "allowed",
 *   proof: "rule:file:///w/**",
 * });
 * deepEqual(entry.seq, 1);
 * deepEqual((await log.endSession("s1")).size, 2);
 * await log.close();
 * ```
 */
export class AuditLog {
  readonly #store: Store;
  readonly #signer: Signer;
  readonly #every: number;
  readonly #now: () => number;
  #head: Head;
  #headStale = false;
  #tip: { seq: number; hash: string };
  #queue: Pending[] = [];
  #pending: Chained[] = [];
  #unwritten: { c: Chained; resolve(e: AuditEntry): void; reject(err: unknown): void }[] = [];
  #tail: AuditTail | null = null;
  #reconcileDue = false;
  #failure: Error | null = null;
  #resequenced = 0;
  #tailRecovery: TailRecovery = { file: "", recovered: 0, unreadable: 0 };
  #draining: Promise<void> | null = null;
  #closed = false;
  /** Stops the checkpoint timer, while it runs. */
  #timer: (() => void) | undefined;
  /** Seconds between timed checkpoints (0: none); the timer starts with the first commit. */
  readonly #seconds: number;
  #timerError: unknown = null;
  #cpChain: Promise<unknown> = Promise.resolve();
  #journal: AuditJournal | null = null;
  #recovered: JournalRecovery[] = [];
  readonly #witnessPath: string | null;
  readonly #location: string;
  #witnessError: Error | null = null;
  #closeReported = false;
  /** The head as opened, and whether a checkpoint covered it then (see {@link AuditLog.close}). */
  readonly #opened: { readonly seq: number; readonly covered: boolean };

  private constructor(store: Store, signer: Signer, head: Head, options: AuditLogOptions) {
    this.#store = store;
    this.#signer = signer;
    this.#head = head;
    this.#opened = { seq: head.seq, covered: head.seq === (head.checkpoint?.size ?? 0) };
    this.#tip = { seq: head.seq, hash: head.hash };
    this.#witnessPath = options.witnessPath ?? null;
    this.#location = options.storeLocation ?? "";
    this.#every = options.checkpointEvery ?? 256;
    this.#now = options.now ?? Date.now;
    this.#seconds = options.checkpointSeconds ?? 5;
  }

  /**
   * Starts the checkpoint timer, once, when this log first commits entries (while that commit is
   * in flight): a log that only reads (`astrid audit list`) never needs one. It does not keep
   * the process alive, and is not a `setInterval` (see storage/deadline.ts). Entries of other
   * processes are covered by their own timers and by {@link AuditLog.close}, which checkpoints
   * whatever a checkpoint does not cover yet.
   */
  #startTimer(): void {
    if (this.#timer !== undefined || this.#seconds <= 0 || this.#closed) return;
    this.#timer = every(this.#seconds * 1000, () => {
      this.checkpoint().catch((err) => this.#timerError ??= err);
    });
  }

  /**
   * Opens the log, checking the head's signature, that it matches the last entry, and (with
   * `witnessPath`) that the store is neither behind nor forked from the witness; fails closed
   * with {@link AuditIntegrityError} (code `INTEGRITY`) when any check fails.
   *
   * @example Open on an empty store
   * ```ts
   * import { deepEqual } from "node:assert/strict";
   * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
   * import { openStore } from "../storage/mod.ts";
   * import { AuditLog } from "./log.ts";
   * using store = await openStore(":memory:");
   * const log = await AuditLog.open(store, signerFromSeed(generateSeed()), { checkpointEvery: 10 });
   * deepEqual((await log.stats()).entries, 0);
   * await log.close();
   * ```
   */
  static async open(
    store: Store,
    signer: Signer,
    options: AuditLogOptions = {},
  ): Promise<AuditLog> {
    const every = options.checkpointEvery ?? 256;
    if (!Number.isSafeInteger(every) || every < 1) {
      throw new RangeError(
        `Cannot open the audit log: checkpointEvery must be a positive integer, current value is ${every}`,
      );
    }
    const seconds = options.checkpointSeconds ?? 5;
    if (!Number.isFinite(seconds) || seconds < 0) {
      throw new RangeError(
        `Cannot open the audit log: checkpointSeconds must be >= 0, current value is ${seconds}`,
      );
    }
    const location = options.storeLocation ?? null;
    const dir = options.journalDir;
    // The shared tail's lock is taken, when free, before the head is loaded: no cooperating
    // writer can then commit until it is released, so the head verified below is still the
    // committed one and need not be loaded again (see _tail_wal.ts).
    let tail: AuditTail | null = null;
    let early: TailState | null = null;
    try {
      tail = dir === undefined ? null : AuditTail.open(dir);
      early = tail?.tryTake() ?? null;
    } catch (err) {
      tail?.close();
      throw journalFailed(dir!, err);
    }
    let head: Head;
    try {
      head = await openHead(store, signer, options.witnessPath ?? null, location);
    } catch (err) {
      tail?.close();
      throw err;
    }
    const log = new AuditLog(store, signer, head, options);
    if (dir !== undefined) {
      try {
        log.#tail = tail;
        if (tail && early && early.records.length === 0 && early.bad.length === 0) {
          tail.release(head.seq, head.hash); // nothing acknowledged is left uncommitted
          log.#tailRecovery = { file: tail.path, recovered: 0, unreadable: 0 };
        } else if (tail) {
          // Commit what a dead process acknowledged before anything else reads the chain. The
          // drain runs now, not a timer tick later as for an append: open() waits for it.
          log.#reconcileDue = true;
          log.#draining = log.#drain();
          await log.#settled();
          if (log.#failure) throw log.#failure;
        }
        // With a tail, file locks work in `dir`: the journal file waits for a first record.
        log.#journal = tail
          ? AuditJournal.deferred(dir, () => log.#head.seq)
          : AuditJournal.open(dir, () => log.#head.seq);
        log.#recovered = await recoverJournals(dir, log, log.#journal?.path ?? null);
        await log.flush(); // what was recovered is committed before open() returns
      } catch (err) {
        await log.close();
        throw journalFailed(dir, err);
      }
    }
    return log;
  }

  /** This process's write-ahead journal, or null when the log has none (see `journalDir`). */
  get journal(): AuditJournal | null {
    return this.#journal;
  }

  /** What opening (or later taking over) the shared audit tail committed for dead processes. */
  get tailRecovery(): TailRecovery {
    return this.#tailRecovery;
  }

  /**
   * Acknowledged entries that had to be committed at another seq than the one returned, because
   * a writer that does not use the tail (no `journalDir`) moved the head meanwhile. Always 0 when
   * every writer of the store shares the journal folder, as the CLI's do.
   */
  get resequenced(): number {
    return this.#resequenced;
  }

  /** What opening the log recovered from orphaned journals (empty when nothing was found). */
  get recovered(): readonly JournalRecovery[] {
    return this.#recovered;
  }

  /**
   * Appends one entry; the returned promise resolves once it is durable. With `journalDir` that
   * is once its chained form is written to the shared tail file (a kill -9 right after cannot
   * lose it: the next process to take the tail commits it at the same seq; a power loss before
   * the group commit can, see README "Audit log"); without, once its KV commit succeeded.
   * Rejects with `TypeError` for input that is not ACE-1 encodable and `RangeError` for an
   * oversized entry.
   *
   * @example Concurrent appends form one gap-free chain
   * ```ts
   * import { deepEqual } from "node:assert/strict";
   * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
   * import { openStore } from "../storage/mod.ts";
   * import { AuditLog } from "./log.ts";
   * using store = await openStore(":memory:");
   * const log = await AuditLog.open(store, signerFromSeed(generateSeed()));
   * const action = { kind: "event", resource: "session://s", summary: "tick" };
   * const entries = await Promise.all(
   *   [1, 2, 3].map(() => log.append({ sessionId: "s", action, decision: "event", proof: "runtime" })),
   * );
   * deepEqual(entries.map((e) => e.seq), [1, 2, 3]);
   * await log.close();
   * ```
   */
  append(input: AuditInput): Promise<AuditEntry> {
    if (this.#closed) {
      return Promise.reject(new Error("Cannot append: the audit log is closed"));
    }
    if (this.#witnessError) return Promise.reject(this.#witnessError);
    if (this.#failure) return Promise.reject(this.#failure);
    let prepared: PreparedInput;
    try {
      prepared = prepareInput(input, this.#now());
      const tail = this.#tail;
      if (tail && this.#fastReady(tail)) {
        const c = this.#chain(prepared, null);
        return new Promise((resolve, reject) => {
          // Written with the others of this tick in one write(), acknowledged after it.
          if (this.#unwritten.push({ c, resolve, reject }) === 1) {
            queueMicrotask(() => this.#writeAhead());
          }
          this.#kick();
        });
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ input: prepared, resolve, reject });
      this.#kick();
    });
  }

  /**
   * Resolves once every entry acknowledged so far is committed to KV (which fsyncs), so that a
   * power loss can no longer lose it; rejects when that commit failed. Use it before storing an
   * entry's seq anywhere else that must not outlive the entry. Appends without a journal are
   * committed when they resolve already.
   *
   * @example Flush after an append
   * ```ts
   * import { deepEqual } from "node:assert/strict";
   * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
   * import { openStore } from "../storage/mod.ts";
   * import { AuditLog } from "./log.ts";
   * const dir = await Deno.makeTempDir();
   * using store = await openStore(`${dir}/state.kv`);
   * const log = await AuditLog.open(store, signerFromSeed(generateSeed()), {
   *   journalDir: `${dir}/journal`,
   * });
   * const action = { kind: "event", resource: "session://s", summary: "tick" };
   * const entry = await log.append({ sessionId: "s", action, decision: "event", proof: "runtime" });
   * await log.flush();
   * deepEqual((await store.get(["audit", "e", entry.seq])).versionstamp !== null, true);
   * await log.close();
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  async flush(): Promise<void> {
    await this.#settled();
    if (this.#failure) throw this.#failure;
  }

  /**
   * Appends a `session_end` event for `sessionId` and returns a checkpoint covering it.
   *
   * @example End a session
   * ```ts
   * import { deepEqual } from "node:assert/strict";
   * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
   * import { openStore } from "../storage/mod.ts";
   * import { AuditLog } from "./log.ts";
   * using store = await openStore(":memory:");
   * const log = await AuditLog.open(store, signerFromSeed(generateSeed()));
   * const cp = await log.endSession("s1");
   * deepEqual([cp.size, (await log.get(1))?.action.kind], [1, "session_end"]);
   * await log.close();
   * ```
   */
  async endSession(sessionId: string): Promise<Checkpoint> {
    const entry = await this.append({
      sessionId,
      action: { kind: "session_end", resource: `session://${sessionId}`, summary: "session ended" },
      decision: "event",
      proof: "runtime",
    });
    const made = await this.checkpoint();
    if (made && made.size >= entry.seq) return made;
    const latest = await latestCheckpoint(this.#store);
    if (latest && latest.size >= entry.seq) return latest;
    throw new Error(`Cannot end session ${sessionId}: no checkpoint covers entry ${entry.seq}`);
  }

  /**
   * Signs and stores a checkpoint over the committed head; null when nothing is new.
   *
   * @example Nothing new means no checkpoint
   * ```ts
   * import { deepEqual } from "node:assert/strict";
   * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
   * import { openStore } from "../storage/mod.ts";
   * import { AuditLog } from "./log.ts";
   * using store = await openStore(":memory:");
   * const log = await AuditLog.open(store, signerFromSeed(generateSeed()));
   * deepEqual(await log.checkpoint(), null);
   * await log.close();
   * ```
   */
  checkpoint(): Promise<Checkpoint | null> {
    const run = this.#cpChain.then(() => this.#checkpointNow());
    this.#cpChain = run.catch(() => {});
    return run;
  }

  async #checkpointNow(): Promise<Checkpoint | null> {
    await this.#settled();
    // Only sign a head that links to one already trusted (see _tail.ts).
    // The latest checkpoint is read while the head is verified (both are KV reads).
    const newest = latestCheckpoint(this.#store);
    newest.catch(() => {}); // awaited below, after the head's own failure
    const head = await loadVerifiedHead(this.#store, this.#signer.publicKey, { known: this.#head });
    if (head.seq === 0 || head.log === null) return null;
    const latest = await newest;
    if (latest && latest.size >= head.seq) return null;
    const cp = await signCheckpoint(this.#signer, head.seq, head.hash, this.#now());
    const key = [...CHECKPOINT_PREFIX, cp.size];
    const res = await this.#store.atomic().check({ key, versionstamp: null }).set(key, cp).commit();
    if (!res.ok) return (await this.#store.get<Checkpoint>(key)).value; // another writer covered it
    await this.#witness(head.log, [cp]);
    return cp;
  }

  /**
   * Appends committed checkpoints to the witness. A failure fails closed: the caller's promise
   * rejects and every later append is refused, since checkpoints could no longer be anchored.
   */
  async #witness(log: string, cps: Checkpoint[]): Promise<void> {
    if (this.#witnessPath === null || cps.length === 0) return;
    try {
      await appendWitness(
        this.#witnessPath,
        await Promise.all(cps.map((cp) => signWitnessLine(this.#signer, log, cp, this.#location))),
      );
    } catch (err) {
      this.#witnessError ??= new Error(
        `Cannot append: the audit witness ${this.#witnessPath} could not be written ` +
          `(${(err as Error).message}); checkpoint ${
            cps.at(-1)!.size
          } is committed but not witnessed`,
        { cause: err },
      );
      throw this.#witnessError;
    }
  }

  /**
   * Returns entry `seq`, or null when there is none.
   *
   * @example Missing entries are null
   * ```ts
   * import { deepEqual } from "node:assert/strict";
   * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
   * import { openStore } from "../storage/mod.ts";
   * import { AuditLog } from "./log.ts";
   * using store = await openStore(":memory:");
   * const log = await AuditLog.open(store, signerFromSeed(generateSeed()));
   * deepEqual(await log.get(1), null);
   * await log.close();
   * ```
   */
  async get(seq: number): Promise<AuditEntry | null> {
    if (!Number.isSafeInteger(seq) || seq < 1) {
      throw new RangeError(
        `Cannot get an audit entry: seq must be a positive integer, current value is ${seq}`,
      );
    }
    await this.#settled();
    const got = await this.#store.get([...ENTRY_PREFIX, seq]);
    return got.value === null ? null : readEntry(got.value, seq);
  }

  /**
   * Lists entries in seq order (or newest first with `reverse`), starting at `fromSeq`
   * inclusive, filtered by `sessionId` (a scan), up to `limit`.
   *
   * @example The last entry first
   * ```ts
   * import { deepEqual } from "node:assert/strict";
   * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
   * import { openStore } from "../storage/mod.ts";
   * import { AuditLog } from "./log.ts";
   * using store = await openStore(":memory:");
   * const log = await AuditLog.open(store, signerFromSeed(generateSeed()));
   * await log.endSession("a");
   * await log.endSession("b");
   * deepEqual((await log.list({ reverse: true, limit: 1 })).map((e) => e.sessionId), ["b"]);
   * await log.close();
   * ```
   */
  async list(opts: AuditListOptions = {}): Promise<AuditEntry[]> {
    await this.#settled();
    return await listEntries(this.#store, opts);
  }

  /**
   * Returns every stored checkpoint in size order.
   *
   * @example One checkpoint per ended session
   * ```ts
   * import { deepEqual } from "node:assert/strict";
   * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
   * import { openStore } from "../storage/mod.ts";
   * import { AuditLog } from "./log.ts";
   * using store = await openStore(":memory:");
   * const log = await AuditLog.open(store, signerFromSeed(generateSeed()));
   * await log.endSession("a");
   * deepEqual((await log.checkpoints()).map((c) => c.size), [1]);
   * await log.close();
   * ```
   */
  async checkpoints(): Promise<Checkpoint[]> {
    await this.#settled();
    return await listCheckpoints(this.#store);
  }

  /**
   * Counts entries, checkpoints, distinct sessions and decisions (a full scan).
   *
   * @example Stats of a fresh log
   * ```ts
   * import { deepEqual } from "node:assert/strict";
   * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
   * import { openStore } from "../storage/mod.ts";
   * import { AuditLog } from "./log.ts";
   * using store = await openStore(":memory:");
   * const log = await AuditLog.open(store, signerFromSeed(generateSeed()));
   * await log.endSession("a");
   * deepEqual((await log.stats()).byDecision, { event: 1 });
   * await log.close();
   * ```
   */
  async stats(): Promise<AuditStats> {
    await this.#settled();
    return await scanStats(this.#store);
  }

  /**
   * Waits for pending appends, stops the timer and writes a final checkpoint over what no
   * checkpoint covers yet (none for a log that committed nothing over a covered head). Idempotent.
   * The store stays open (its owner closes it). Throws when a checkpoint could not be written
   * or witnessed while the log was open.
   *
   * @example Appends after close are refused
   * ```ts
   * import { rejects } from "node:assert/strict";
   * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
   * import { openStore } from "../storage/mod.ts";
   * import { AuditLog } from "./log.ts";
   * using store = await openStore(":memory:");
   * const log = await AuditLog.open(store, signerFromSeed(generateSeed()));
   * await log.close();
   * const action = { kind: "x", resource: "x://", summary: "x" };
   * await rejects(log.append({ sessionId: "s", action, decision: "event", proof: "" }));
   * ```
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#timer?.();
    this.#timer = undefined;
    await this.#settled();
    this.#journal?.close();
    // A log that committed nothing (a read-only command) over a head a checkpoint covered when it
    // opened has nothing to sign: the reads that would find so are skipped. Anything else (its
    // own entries, ones it recovered, a head opened uncovered) is checkpointed.
    if (this.#head.seq !== this.#opened.seq || !this.#opened.covered) await this.checkpoint();
    else await this.#cpChain;
    this.#tail?.close();
    const err = this.#timerError ??
      (this.#closeReported ? null : this.#witnessError ?? this.#failure);
    this.#timerError = null;
    this.#closeReported = true;
    if (err) throw err;
  }

  /** True when an entry can be chained and acknowledged now, from the tail (see _tail_wal.ts). */
  #fastReady(tail: AuditTail): boolean {
    const waiting = this.#pending.length + this.#unwritten.length;
    if (this.#queue.length > 0 || waiting >= MAX_PENDING) return false;
    if (tail.held) return !this.#reconcileDue;
    const state = tail.tryTake();
    if (state === null) return false; // another process holds the tail: wait in #drain
    const clean = state.records.length === 0 && state.bad.length === 0 &&
      state.head?.seq === this.#head.seq && state.head.hash === this.#head.hash;
    if (!clean) this.#reconcileDue = true; // keep the lock; #drain reconciles
    return clean;
  }

  /** Chains `input` after the tip (the last chained entry, committed or not). */
  #chain(input: PreparedInput, resolve: Chained["resolve"]): Chained {
    const { entry, stored } = chainEntry(input, this.#tip.seq + 1, this.#tip.hash);
    this.#tip = { seq: entry.seq, hash: entry.hash };
    return { input, entry, stored, resolve };
  }

  /**
   * Writes the chained entries not yet in the tail, in one write, then acknowledges them. On
   * failure none is acknowledged and the tip moves back before them.
   */
  #writeAhead(): void {
    const items = this.#unwritten.splice(0);
    if (items.length === 0) return;
    const tail = this.#tail!;
    try {
      tail.write(items.map(({ c }) => ({ s: c.entry.seq, h: c.entry.hash, b: c.stored.body })));
    } catch (err) {
      const first = items[0]!.c.entry;
      this.#tip = { seq: first.seq - 1, hash: first.prevHash };
      const error = new Error(
        `Cannot append: the audit tail ${tail.path} could not be written (${
          (err as Error).message
        })`,
        { cause: err },
      );
      // A torn line would swallow the next one: write nothing more (fail closed).
      this.#failure ??= error;
      for (const item of items) item.reject(error);
      for (const q of this.#queue.splice(0)) q.reject(error);
      return;
    }
    for (const item of items) this.#pending.push(item.c);
    for (const item of items) item.resolve(item.c.entry); // durable in the tail: acknowledged
  }

  #kick(): void {
    if (this.#draining) return;
    // With a tail the caller already has its acknowledgement: the group commit starts on the
    // next turn of the event loop, so its CPU work (the head signature) does not run before the
    // caller resumes, and more appends join it.
    this.#draining = this.#tail ? nextTurn().then(() => this.#drain()) : this.#drain();
  }

  async #settled(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  async #drain(): Promise<void> {
    await Promise.resolve(); // let appends issued in the same tick join the first batch
    const tail = this.#tail;
    try {
      while (
        this.#reconcileDue || this.#queue.length > 0 || this.#pending.length > 0 ||
        this.#unwritten.length > 0
      ) {
        if (tail) this.#writeAhead();
        if (tail && (!tail.held || this.#reconcileDue)) {
          await this.#reconcile(tail, tail.tryTake() ?? await tail.take());
        }
        if (tail) {
          for (const q of this.#queue.splice(0)) {
            this.#unwritten.push({ c: this.#chain(q.input, null), ...q });
          }
          this.#writeAhead();
        } else {
          this.#chainAhead();
        }
        if (this.#pending.length > 0) {
          const commit = this.#commitNext();
          // Chain the next batch while KV writes this one (on its own thread).
          if (!tail) this.#chainAhead();
          this.#startTimer();
          await commit;
        }
      }
    } catch (err) {
      // Only the tail's takeover throws here (a commit failure is handled per batch): fail
      // closed; what is acknowledged stays in the tail for the next process.
      this.#failure ??= new Error(
        `Cannot append: taking over the audit tail failed (${(err as Error).message})`,
        { cause: err },
      );
      this.#pending = [];
      for (const q of this.#queue.splice(0)) q.reject(this.#failure);
      for (const u of this.#unwritten.splice(0)) u.reject(this.#failure);
    } finally {
      if (tail?.held && this.#pending.length === 0 && this.#unwritten.length === 0) {
        try {
          // After a failure the file is left as it is, for the next holder to reconcile.
          if (this.#failure === null) tail.release(this.#head.seq, this.#head.hash);
        } finally {
          tail.unlock(); // the entries are committed; the next holder finds them committed
        }
      }
      // Cleared in the same tick the queue is seen empty, so a later append starts a new drain.
      this.#draining = null;
    }
  }

  /** Without a tail: chains queued appends until two batches wait. */
  #chainAhead(): void {
    const room = Math.max(0, 2 * MAX_BATCH - this.#pending.length);
    for (const q of this.#queue.splice(0, room)) this.#pending.push(this.#chain(q.input, q));
  }

  /**
   * Just took the tail's lock: reloads the head from KV (another process may have committed),
   * and chains the entries a dead holder acknowledged but did not commit, in order (they chain
   * to the same seqs and hashes when nobody bypassed the tail).
   */
  async #reconcile(tail: AuditTail, state: TailState): Promise<void> {
    this.#reconcileDue = false;
    const clean = state.records.length === 0 && state.bad.length === 0 &&
      state.head?.seq === this.#head.seq && state.head.hash === this.#head.hash;
    if (clean && !this.#headStale) return; // nobody committed since this log's last look
    this.#head = await loadVerifiedHead(this.#store, this.#signer.publicKey, { known: this.#head });
    this.#headStale = false;
    this.#tip = { seq: this.#head.seq, hash: this.#head.hash };
    const bad = [...state.bad];
    let recovered = 0;
    if (state.records.length > 0) {
      let from = state.head?.seq ?? 0;
      for (const r of state.records) from = Math.min(from, r.s - 1);
      const committed = await listEntries(this.#store, { fromSeq: Math.max(1, from + 1) });
      const { missing, unreadable } = uncommitted(state.records, committed);
      bad.push(...unreadable.map((r) => JSON.stringify(r)));
      for (const entry of missing) {
        let prepared: PreparedInput;
        try {
          prepared = prepareInput(entry, this.#now());
        } catch {
          bad.push(JSON.stringify(entry)); // well-formed but not encodable: kept, not trusted
          continue;
        }
        this.#pending.push(this.#chain(prepared, null));
        recovered++;
      }
    }
    if (bad.length > 0) tail.keepAside(bad);
    this.#tailRecovery = {
      file: tail.path,
      recovered: this.#tailRecovery.recovered + recovered,
      unreadable: this.#tailRecovery.unreadable + bad.length,
    };
  }

  /** Commits the next batch of chained entries (re-chaining them when the head moved). */
  async #commitNext(): Promise<void> {
    const max = Math.min(MAX_BATCH, Math.floor((990 * this.#every) / (this.#every + 1)));
    let chars = 0;
    let n = 0;
    while (n < this.#pending.length && n < max && chars < MAX_BATCH_CHARS - MAX_ENTRY_CHARS) {
      chars += this.#pending[n]!.input.chars;
      n++;
    }
    try {
      await this.#commit(n);
      const done = this.#pending.splice(0, n);
      for (const c of done) c.resolve?.resolve(c.entry);
    } catch (err) {
      this.#headStale = true;
      if (this.#tail) {
        // Acknowledged entries stay in the tail for the next holder; this log fails closed.
        this.#failure ??= new Error(
          `Cannot append: committing the audit tail failed (${(err as Error).message}); ` +
            "its entries stay in the tail and the next process to open the log commits them",
          { cause: err },
        );
        this.#pending = [];
        for (const q of this.#queue.splice(0)) q.reject(this.#failure);
        this.#tail.unlock();
        return;
      }
      for (const c of this.#pending.splice(0, n)) c.resolve?.reject(err);
      this.#tip = { seq: this.#head.seq, hash: this.#head.hash };
      this.#rechain(); // what is left chains after the committed head again
    }
  }

  /** Chains every pending entry again after the committed head. */
  #rechain(): void {
    const old = this.#pending;
    this.#tip = { seq: this.#head.seq, hash: this.#head.hash };
    this.#pending = [];
    for (const c of old) {
      const again = this.#chain(c.input, c.resolve);
      if (c.resolve === null && again.entry.seq !== c.entry.seq) this.#resequenced++;
      this.#pending.push(again);
    }
  }

  async #commit(n: number): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (this.#headStale) {
        const key = this.#signer.publicKey;
        this.#head = await loadVerifiedHead(this.#store, key, { known: this.#head });
        this.#headStale = false;
      }
      const head = this.#head;
      const first = this.#pending[0]!.entry;
      if (first.seq !== head.seq + 1 || first.prevHash !== head.hash) this.#rechain();
      const op = this.#store.atomic().check({ key: HEAD_KEY, versionstamp: head.versionstamp });
      const cps: Checkpoint[] = [];
      let last: AuditEntry | null = null;
      for (let i = 0; i < n; i++) {
        const { entry, stored } = this.#pending[i]!;
        op.set([...ENTRY_PREFIX, entry.seq], stored);
        if (entry.seq % this.#every === 0) {
          const cp = await signCheckpoint(this.#signer, entry.seq, entry.hash, this.#now());
          op.set([...CHECKPOINT_PREFIX, entry.seq], cp);
          cps.push(cp);
        }
        last = entry;
      }
      // One head signature per commit (not per entry): the log is named by its entry 1.
      const log = head.log ?? this.#pending[0]!.entry.hash;
      op.set(HEAD_KEY, await signHead(this.#signer, log, last!.seq, last!.hash, last!.ts));
      const res = await op.commit();
      if (res.ok) {
        this.#head = {
          seq: last!.seq,
          hash: last!.hash,
          log,
          versionstamp: res.versionstamp,
          legacy: false,
          checkpoint: null,
        };
        await this.#witness(log, cps);
        return;
      }
      this.#headStale = true; // another writer moved the head: reload and re-chain
    }
    throw new Error(`Cannot append: the chain head kept moving for ${MAX_ATTEMPTS} attempts`);
  }
}

/**
 * Resolves on the next turn of the event loop (a message to itself), without `setTimeout`: in
 * Deno 2.9 the first `setTimeout` of a process loads Node's timer layer (about 4 ms), which a
 * one-shot command paid for its first append.
 */
function nextTurn(): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  return new Promise((resolve) => {
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
}
