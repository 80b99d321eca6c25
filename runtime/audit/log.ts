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
  readonly #witnessPath: string | null;
  readonly #location: string;
  #witnessError: Error | null = null;
  #closeReported = false;

  private constructor(store: Store, signer: Signer, head: Head, options: AuditLogOptions) {
    this.#store = store;
    this.#signer = signer;
    this.#head = head;
    this.#witnessPath = options.witnessPath ?? null;
    this.#location = options.storeLocation ?? "";
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
    const head = await openHead(store, signer, options.witnessPath ?? null, location);
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
    if (this.#witnessError) return Promise.reject(this.#witnessError);
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
    const head = await loadVerifiedHead(this.#store, this.#signer.publicKey, { known: this.#head });
    if (head.seq === 0 || head.log === null) return null;
    const latest = await latestCheckpoint(this.#store);
    if (latest && latest.size >= head.seq) return null;
    const cp = signCheckpoint(this.#signer, head.seq, head.hash, this.#now());
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
        cps.map((cp) => signWitnessLine(this.#signer, log, cp, this.#location)),
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
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    while (this.#draining) await this.#draining;
    this.#journal?.close();
    await this.checkpoint();
    const err = this.#timerError ?? (this.#closeReported ? null : this.#witnessError);
    this.#timerError = null;
    this.#closeReported = true;
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
        const key = this.#signer.publicKey;
        this.#head = await loadVerifiedHead(this.#store, key, { known: this.#head });
        this.#headStale = false;
      }
      const head = this.#head;
      const op = this.#store.atomic().check({ key: HEAD_KEY, versionstamp: head.versionstamp });
      const entries: AuditEntry[] = [];
      const cps: Checkpoint[] = [];
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
          cps.push(cp);
        }
      }
      // One head signature per commit (not per entry): the log is named by its entry 1.
      const log = head.log ?? entries[0]!.hash;
      op.set(HEAD_KEY, signHead(this.#signer, log, seq, prev, entries.at(-1)!.ts));
      const res = await op.commit();
      if (res.ok) {
        const record: HeadRecord = { seq, hash: prev };
        this.#head = {
          ...record,
          log,
          versionstamp: res.versionstamp,
          legacy: false,
          checkpoint: null,
        };
        await this.#witness(log, cps);
        return entries;
      }
      this.#headStale = true; // another writer moved the head: reload and re-chain
    }
    throw new Error(`Cannot append: the chain head kept moving for ${MAX_ATTEMPTS} attempts`);
  }
}
