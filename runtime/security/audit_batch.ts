/**
 * Audit batches: decisions on a tool call's host calls are queued and written in one group
 * commit, provided the caller flushes the batch before anything leaves the sandbox and withholds
 * the result if the flush fails.
 *
 * Reads only need that. An action with an effect that outlives the process (a capsule writing
 * into the workspace) may only wait in a batch when its entry is first written ahead to the
 * audit log's journal (`runtime/audit/journal.ts`), together with every entry queued before it,
 * so a crash before the flush still leaves the record, in order. Without a journal such actions
 * are not batched.
 *
 * @module
 */
import type { AuditInput, AuditJournal } from "../audit/mod.ts";
import type { AuditSink } from "./interceptor_types.ts";

/**
 * A failed {@link AuditBatch.flush}: queued decisions are not on the record, so whatever they
 * produced must be withheld. Callers match on `code`.
 *
 * @example The code is stable
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { AuditFlushError } from "./audit_batch.ts";
 * equal(new AuditFlushError("Cannot flush: disk full").code, "AUDIT_FAILED");
 * ```
 */
export class AuditFlushError extends Error {
  /** Stable code for callers to match on. */
  readonly code = "AUDIT_FAILED";
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AuditFlushError";
  }
}

/** One decision waiting in an {@link AuditBatch}; its outcome is filled in by `complete()`. */
export interface QueuedEntry {
  /** The entry to append (its `outcome` is set when the action completes before the flush). */
  input: AuditInput;
  /** Where the entry is: still queued, being appended, written, or lost to a failed append. */
  state: "queued" | "flushing" | "written" | "failed";
  /** The entry's seq once written. */
  seq: number | null;
  /** Its record id in the journal, once written ahead. */
  journalId: number | null;
}

/**
 * Audit entries of covered read-only decisions, held back so one tool call's reads cost one
 * group commit instead of two durable appends each. Open it with
 * {@link SecurityInterceptor.openBatch}, pass it as `InterceptContext.auditBatch`, and
 * {@link AuditBatch.flush} it before anything can leave the sandbox and before the result is
 * returned. Once a flush fails, every later flush fails too (the gap stays visible).
 *
 * @example Reads queue until the flush
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { AuditLog } from "../audit/mod.ts";
 * import { DEFAULT_CONFIG } from "../config/mod.ts";
 * import { openGate } from "./gate.ts";
 * using store = await openStore(":memory:");
 * const audit = await AuditLog.open(store, signerFromSeed(generateSeed()));
 * const root = await Deno.realPath(await Deno.makeTempDir());
 * const { interceptor } = await openGate({
 *   store, signer: signerFromSeed(generateSeed()), audit, workspaceRoot: root,
 *   config: { ...DEFAULT_CONFIG, permissions: { ...DEFAULT_CONFIG.permissions, allow: ["file://**"] } },
 *   workspaceId: "ws", sessionId: "s1", frontend: null,
 * });
 * const batch = interceptor.openBatch();
 * const d = await interceptor.intercept({ kind: "file_read", path: `${root}/a` }, { auditBatch: batch });
 * equal(d.auditSeq, null);
 * if (d.outcome === "allowed") await d.complete({ ok: true });
 * equal(batch.pending, 1);
 * await batch.flush();
 * equal((await audit.list()).length, 1);
 * await audit.close();
 * ```
 */
export class AuditBatch {
  #sink: AuditSink;
  #journal: AuditJournal | null;
  #queue: QueuedEntry[] = [];
  #ahead = 0; // how many of #queue (a prefix) are written ahead to the journal
  #tail: Promise<void> = Promise.resolve();
  #failure: Error | null = null;

  /** Creates an empty batch over `sink` (the interceptor's audit log) and its journal, if any. */
  constructor(sink: AuditSink, journal: AuditJournal | null = null) {
    this.#sink = sink;
    this.#journal = journal;
  }

  /** How many entries wait for the next flush. */
  get pending(): number {
    return this.#queue.length;
  }

  /** True when entries can be written ahead (the log has a journal). */
  get canWriteAhead(): boolean {
    return this.#journal !== null;
  }

  /** True when this batch writes to `sink` and no flush has failed. */
  accepts(sink: AuditSink): boolean {
    return sink === this.#sink && this.#failure === null;
  }

  /**
   * Queues one entry (internal to the interceptor); its outcome may be filled in later with
   * {@link AuditBatch.setOutcome}. With `writeAhead`, the entry and all queued before it are
   * first written to the journal; that throws when there is no journal or the write fails, and
   * then nothing is queued.
   */
  queue(input: AuditInput, writeAhead = false): QueuedEntry {
    const entry: QueuedEntry = {
      input: input.ts === undefined ? { ...input, ts: Date.now() } : input,
      state: "queued",
      seq: null,
      journalId: null,
    };
    if (writeAhead) {
      this.writeAhead();
      entry.journalId = this.#journal!.record(entry.input);
      this.#ahead++;
    }
    this.#queue.push(entry);
    return entry;
  }

  /**
   * Writes every queued entry not yet in the journal to it, before an effect the batch does not
   * itself record (a capsule's kv-set). Throws when there is no journal or the write fails.
   */
  writeAhead(): void {
    const journal = this.#journal;
    if (!journal) throw new Error("Cannot write the audit batch ahead: the log has no journal");
    for (; this.#ahead < this.#queue.length; this.#ahead++) {
      const item = this.#queue[this.#ahead]!;
      item.journalId = journal.record(item.input);
      if (item.input.outcome !== undefined && item.input.outcome !== null) {
        journal.outcome(item.journalId, item.input.outcome);
      }
    }
  }

  /** Fills in the outcome of a still-queued entry (and its journal record). */
  setOutcome(entry: QueuedEntry, outcome: unknown): void {
    entry.input = { ...entry.input, outcome };
    if (entry.journalId !== null) this.#journal?.outcome(entry.journalId, outcome);
  }

  /** Resolves when every flush started so far has settled. */
  settled(): Promise<void> {
    return this.#tail;
  }

  /**
   * Appends every queued entry, in order (issued in one tick, they share one group commit), and
   * resolves once they and every earlier flush are durable. Rejects with {@link AuditFlushError}.
   */
  async flush(): Promise<void> {
    const items = this.#queue.splice(0);
    this.#ahead = 0;
    const prior = this.#tail;
    const journal = this.#journal;
    let released = 0;
    const writes = items.map(async (item) => {
      item.state = "flushing";
      try {
        item.seq = (await this.#sink.append(item.input)).seq;
        item.state = "written";
        if (item.journalId !== null) released++;
      } catch (err) {
        item.state = "failed"; // a journaled entry stays in the journal for recovery
        this.#failure ??= err as Error;
      }
    });
    const done = Promise.all([prior, ...writes]).then(() => {
      if (released > 0) journal?.release(released);
    });
    this.#tail = done;
    await done;
    if (this.#failure) {
      throw new AuditFlushError(
        `Cannot flush the audit batch: an append failed (${this.#failure.message})`,
        { cause: this.#failure },
      );
    }
  }
}
