/**
 * The append-only, hash-chained audit log over a {@link Store}.
 *
 * Each entry's `hash` is `hex(BLAKE3(bytes(prevHash) ‖ ACE-1("audit-entry", entry without hash)))`;
 * the `prevHash` of seq 1 is 64 zeros. Keys: `["audit","e",seq]` entries,
 * `["audit","c",size]` checkpoints, `["audit","head"]` the chain head `{seq, hash}`.
 *
 * Group commit: appends that arrive while a commit is in flight are batched into the next
 * atomic commit (up to 500 entries). Every commit checks the head's versionstamp, so two
 * processes appending to the same KV can never fork the chain: on a failed check the head is
 * reloaded and the batch re-chained. A signed checkpoint is written in the same commit whenever
 * a seq that is a multiple of `checkpointEvery` is appended, plus every `checkpointSeconds`, on
 * {@link AuditLog.endSession} and on {@link AuditLog.close}.
 *
 * @module
 */
import type { Signer } from "../crypto/mod.ts";
import type { Store } from "../storage/mod.ts";
import {
  chainEntry,
  CHECKPOINT_PREFIX,
  ENTRY_PREFIX,
  HEAD_KEY,
  type HeadRecord,
  MAX_ENTRY_CHARS,
  type PreparedInput,
  prepareInput,
} from "./_chain.ts";
import { type Checkpoint, signCheckpoint } from "./checkpoint.ts";
import { latestCheckpoint, listCheckpoints, listEntries, readEntry, scanStats } from "./_read.ts";
import { type Head, loadVerifiedHead } from "./_tail.ts";
import { AuditJournal, type JournalRecovery, recoverJournals } from "./journal.ts";

/** What the interceptor decided, or what kind of record this is. */
export type AuditDecision = "allowed" | "denied" | "deferred" | "outcome" | "event";

/** The audited action, as summarised by the interceptor. */
export interface AuditAction {
  /** The action kind (`file_read`, `execute_command`, …, or `session_end`). */
  kind: string;
  /** The resource URI (`file:///…`, `exec://…`, `net://…`). */
  resource: string;
  /** The permission asked for, when there is one. */
  permission?: string;
  /** low | medium | high | critical. */
  risk?: string;
  /** One human-readable line. */
  summary: string;
  /** Any further ACE-1 encodable detail. */
  detail?: unknown;
}

/** What a caller hands to {@link AuditLog.append}. */
export interface AuditInput {
  /** The session the action belongs to (non-empty). */
  sessionId: string;
  /** What was attempted. */
  action: AuditAction;
  /** What was decided. */
  decision: AuditDecision;
  /** Why: `rule:<pattern>`, `token:<id>`, `policy:<rule>`, `human:once`, … */
  proof: string;
  /** What happened (stored as `null` when absent). */
  outcome?: unknown;
  /** Milliseconds since the epoch (default: the log's clock). */
  ts?: number;
}

/** One stored, chained entry. */
export interface AuditEntry {
  /** Format version, always 1. */
  v: 1;
  /** 1-based and gap-free. */
  seq: number;
  /** Milliseconds since the epoch. */
  ts: number;
  /** The session. */
  sessionId: string;
  /** What was attempted. */
  action: AuditAction;
  /** What was decided. */
  decision: AuditDecision;
  /** Why. */
  proof: string;
  /** `null` when absent. */
  outcome: unknown;
  /** The previous entry's hash (64 zeros for seq 1). */
  prevHash: string;
  /** hex(BLAKE3(bytes(prevHash) ‖ ACE-1("audit-entry", this entry without hash))). */
  hash: string;
}

/** Tuning for {@link AuditLog.open}. */
export interface AuditLogOptions {
  /** Checkpoint whenever a seq that is a multiple of this is appended (default 256). */
  checkpointEvery?: number;
  /** Checkpoint uncovered entries at least this often, in seconds (default 5; 0 disables). */
  checkpointSeconds?: number;
  /** Clock in ms (default `Date.now`). */
  now?: () => number;
  /**
   * Folder of the write-ahead journal (see journal.ts): batched entries of effectful actions are
   * written there first, and orphaned journals found there are appended when the log opens.
   * Default: no journal (batches then commit before any effect).
   */
  journalDir?: string;
}

/** Options of {@link AuditLog.list}. */
export interface AuditListOptions {
  /** Only this session's entries (a scan). */
  sessionId?: string;
  /** At most this many entries. */
  limit?: number;
  /** Start at this seq, inclusive (going down with `reverse`). */
  fromSeq?: number;
  /** Newest first. */
  reverse?: boolean;
}

/** What {@link AuditLog.stats} returns. */
export interface AuditStats {
  /** Stored entries. */
  entries: number;
  /** Stored checkpoints. */
  checkpoints: number;
  /** Distinct session ids. */
  sessions: number;
  /** Entries per decision. */
  byDecision: Record<string, number>;
  /** Hash of the last entry (64 zeros when empty). */
  head: string;
  /** Size of the newest checkpoint (0 when none). */
  lastCheckpointSize: number;
}

interface Pending {
  input: PreparedInput;
  resolve(entry: AuditEntry): void;
  reject(err: unknown): void;
}

const MAX_BATCH = 500;
const MAX_BATCH_CHARS = 300_000;
const MAX_ATTEMPTS = 64;

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
  #queue: Pending[] = [];
  #draining: Promise<void> | null = null;
  #closed = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #timerError: unknown = null;
  #cpChain: Promise<unknown> = Promise.resolve();
  #journal: AuditJournal | null = null;
  #recovered: JournalRecovery[] = [];

  private constructor(store: Store, signer: Signer, head: Head, options: AuditLogOptions) {
    this.#store = store;
    this.#signer = signer;
    this.#head = head;
    this.#every = options.checkpointEvery ?? 256;
    this.#now = options.now ?? Date.now;
    const seconds = options.checkpointSeconds ?? 5;
    if (seconds > 0) {
      const timer = setInterval(() => {
        this.checkpoint().catch((err) => this.#timerError ??= err);
      }, seconds * 1000);
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  /**
   * Opens the log, checking that the stored head matches the last entry (fails closed with
   * {@link AuditIntegrityError} when it does not).
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
    const head = await loadVerifiedHead(store);
    const log = new AuditLog(store, signer, head, options);
    if (options.journalDir !== undefined) {
      const dir = options.journalDir;
      try {
        log.#journal = AuditJournal.open(dir, () => log.#head.seq);
        log.#recovered = await recoverJournals(dir, log, log.#journal?.path ?? null);
      } catch (err) {
        await log.close();
        throw new Error(
          `Cannot open the audit log: the journal in ${dir} failed (${(err as Error).message})`,
          { cause: err },
        );
      }
    }
    return log;
  }

  /** This process's write-ahead journal, or null when the log has none (see `journalDir`). */
  get journal(): AuditJournal | null {
    return this.#journal;
  }

  /** What opening the log recovered from orphaned journals (empty when nothing was found). */
  get recovered(): readonly JournalRecovery[] {
    return this.#recovered;
  }

  /**
   * Appends one entry; the returned promise resolves once it is durably committed. Throws
   * `TypeError` for input that is not ACE-1 encodable and `RangeError` for an oversized entry.
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
    let prepared: PreparedInput;
    try {
      prepared = prepareInput(input, this.#now());
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ input: prepared, resolve, reject });
      if (!this.#draining) this.#draining = this.#drain();
    });
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
    // Only sign a head that links to one already trusted (see _tail.ts).
    const head = await loadVerifiedHead(this.#store, this.#head);
    if (head.seq === 0) return null;
    const latest = await latestCheckpoint(this.#store);
    if (latest && latest.size >= head.seq) return null;
    const cp = signCheckpoint(this.#signer, head.seq, head.hash, this.#now());
    const key = [...CHECKPOINT_PREFIX, cp.size];
    const res = await this.#store.atomic().check({ key, versionstamp: null }).set(key, cp).commit();
    if (res.ok) return cp;
    return (await this.#store.get<Checkpoint>(key)).value; // another writer covered this size
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
    return await scanStats(this.#store);
  }

  /**
   * Waits for pending appends, stops the timer and writes a final checkpoint. Idempotent.
   * The store stays open (its owner closes it).
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
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    while (this.#draining) await this.#draining;
    this.#journal?.close();
    await this.checkpoint();
    const err = this.#timerError;
    this.#timerError = null;
    if (err) throw err;
  }

  async #drain(): Promise<void> {
    await Promise.resolve(); // let appends issued in the same tick join the first batch
    try {
      while (this.#queue.length > 0) {
        const max = Math.min(MAX_BATCH, Math.floor((990 * this.#every) / (this.#every + 1)));
        let chars = 0;
        let n = 0;
        while (n < this.#queue.length && n < max && chars < MAX_BATCH_CHARS - MAX_ENTRY_CHARS) {
          chars += this.#queue[n]!.input.chars;
          n++;
        }
        const batch = this.#queue.splice(0, n);
        try {
          const entries = await this.#commit(batch.map((p) => p.input));
          batch.forEach((p, i) => p.resolve(entries[i]!));
        } catch (err) {
          this.#headStale = true;
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      // Cleared in the same tick the queue is seen empty, so a later append starts a new drain.
      this.#draining = null;
    }
  }

  async #commit(inputs: PreparedInput[]): Promise<AuditEntry[]> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (this.#headStale) {
        this.#head = await loadVerifiedHead(this.#store, this.#head);
        this.#headStale = false;
      }
      const head = this.#head;
      const op = this.#store.atomic().check({ key: HEAD_KEY, versionstamp: head.versionstamp });
      const entries: AuditEntry[] = [];
      let prev = head.hash;
      let seq = head.seq;
      for (const input of inputs) {
        const { entry, stored } = chainEntry(input, ++seq, prev);
        prev = entry.hash;
        entries.push(entry);
        op.set([...ENTRY_PREFIX, seq], stored);
        if (seq % this.#every === 0) {
          const cp = signCheckpoint(this.#signer, seq, entry.hash, this.#now());
          op.set([...CHECKPOINT_PREFIX, seq], cp);
        }
      }
      const record: HeadRecord = { seq, hash: prev };
      op.set(HEAD_KEY, record);
      const res = await op.commit();
      if (res.ok) {
        this.#head = { ...record, versionstamp: res.versionstamp };
        return entries;
      }
      this.#headStale = true; // another writer moved the head: reload and re-chain
    }
    throw new Error(`Cannot append: the chain head kept moving for ${MAX_ATTEMPTS} attempts`);
  }
}
