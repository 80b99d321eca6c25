/**
 * Private: the write path of a session budget. A {@link Ledger} queues changes to one budget
 * record, applies each batch to a copy of the record, and commits the copy with a Deno KV
 * atomic check on the versionstamp it was read at. When another process committed first, the
 * check fails and the batch is applied again to a fresh read, so no update is ever lost and no
 * decision is taken on stale numbers.
 *
 * A step may bring a {@link Rider}: writes of another component (a session save) that go into
 * the same atomic commit as the batch, so both are durable after one fsync. A batch that
 * carries a rider is committed even when the record did not change (then without the check);
 * riders are batched up to {@link RIDER_MUTATIONS} mutations and {@link RIDER_BYTES} bytes.
 *
 * @module
 */
import type { Rider, Store } from "../storage/store.ts";
import {
  type BudgetRecord,
  cloneRecord,
  emptyRecord,
  encodeRecord,
  parseRecord,
} from "./_budget_record.ts";

/** Bookkeeping of one batch, shared by its steps. */
export interface Batch {
  /** Some step changed the record: it has to be committed. */
  changed: boolean;
  /** Some step refused (a reservation did not fit): decide it on a freshly read record. */
  refused: boolean;
  /** Stale leases were already swept in this attempt. */
  swept: boolean;
}

/**
 * One queued change. It may run several times (once per attempt) on a fresh copy, and returns
 * what to do once its attempt is committed: resolve or reject its caller.
 */
export type Step = (record: BudgetRecord, batch: Batch) => () => void;

const MAX_ATTEMPTS = 500;
/** Most rider mutations in one commit (Deno KV takes 1000; the record and its check are 2). */
export const RIDER_MUTATIONS = 900;
/** Most rider bytes in one commit (Deno KV takes 800 KiB). */
export const RIDER_BYTES = 500_000;

interface Queued {
  step: Step;
  fail: (err: unknown) => void;
  rider: Rider | null;
}

/** How many queued items, from the first, one commit takes: riders up to the limits, ≥ 1. */
function fitting(queue: readonly Queued[]): number {
  let mutations = 0;
  let bytes = 0;
  for (let i = 0; i < queue.length; i++) {
    const rider = queue[i]!.rider;
    if (!rider) continue;
    mutations += rider.mutations;
    bytes += rider.bytes;
    if (i > 0 && (mutations > RIDER_MUTATIONS || bytes > RIDER_BYTES)) return i;
  }
  return queue.length;
}

/** Reads and parses a budget record; throws `TypeError` when it is malformed. */
export async function readRecord(
  store: Store,
  key: Deno.KvKey,
): Promise<{ record: BudgetRecord; stamp: string | null }> {
  const entry = await store.get(key);
  const record = entry.versionstamp === null ? emptyRecord() : parseRecord(entry.value);
  if (record === null) {
    throw new TypeError(`Cannot read budget: the record ${JSON.stringify(key)} is malformed`);
  }
  return { record, stamp: entry.versionstamp };
}

/**
 * The queue and commit loop of one budget instance, with the heartbeat that renews its lease.
 *
 * @example Two steps in one tick share one commit
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { Ledger, readRecord } from "./_budget_ledger.ts";
 * using kv = await openStore(":memory:");
 * const ledger = new Ledger(kv, ["budget", "s"], await readRecord(kv, ["budget", "s"]), {
 *   instance: crypto.randomUUID(), renewEveryMs: 60_000,
 * });
 * const add = (r: { spentMicros: number }, b: { changed: boolean }) => {
 *   r.spentMicros += 5;
 *   b.changed = true;
 *   return () => {};
 * };
 * ledger.submit(add, () => {});
 * ledger.submit(add, () => {});
 * await ledger.flush();
 * equal(ledger.view.spentMicros, 10);
 * ```
 */
export class Ledger {
  #store: Store;
  #key: Deno.KvKey;
  #instance: string;
  #renewEveryMs: number;
  #view: BudgetRecord;
  #stamp: string | null;
  #queue: Queued[] = [];
  #draining: Promise<void> | null = null;
  #heartbeat: ReturnType<typeof setInterval> | null = null;

  /** Wraps the record at `key`, last seen as `seen`; `instance` names this holder's lease. */
  constructor(
    store: Store,
    key: Deno.KvKey,
    seen: { record: BudgetRecord; stamp: string | null },
    opts: { instance: string; renewEveryMs: number },
  ) {
    this.#store = store;
    this.#key = key;
    this.#view = seen.record;
    this.#stamp = seen.stamp;
    this.#instance = opts.instance;
    this.#renewEveryMs = opts.renewEveryMs;
  }

  /** The record as of the last read or commit. Do not mutate it. */
  get view(): BudgetRecord {
    return this.#view;
  }

  /**
   * Queues `step`; `fail` gets the error when the store cannot be read or written. `rider`'s
   * writes go into the commit that decides the step; it is told before the step finishes.
   * Throws `RangeError` for a rider larger than one commit can carry. A rider of another store
   * is not carried (its owner sees it not `committed` and writes it itself).
   */
  submit(step: Step, fail: (err: unknown) => void, rider: Rider | null = null): void {
    if (rider && rider.store !== this.#store) rider = null;
    if (rider && (rider.mutations > RIDER_MUTATIONS || rider.bytes > RIDER_BYTES)) {
      throw new RangeError(
        `Cannot carry writes: current size is ${rider.mutations} mutations, ${rider.bytes} bytes`,
      );
    }
    this.#queue.push({ step, fail, rider });
    this.#draining ??= this.#drain();
  }

  /** Resolves once everything queued so far is committed (never rejects). */
  flush(): Promise<void> {
    return this.#draining ?? Promise.resolve();
  }

  /** Reads the record again, after the queue has drained. */
  async reload(): Promise<BudgetRecord> {
    await this.flush();
    const seen = await readRecord(this.#store, this.#key);
    this.#view = seen.record;
    this.#stamp = seen.stamp;
    return this.#view;
  }

  async #drain(): Promise<void> {
    await null; // let the steps queued in the same tick join the first batch
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, fitting(this.#queue));
      try {
        await this.#commit(
          batch.map((b) => b.step),
          batch.flatMap((b) => b.rider ? [b.rider] : []),
        );
      } catch (err) {
        for (const b of batch) b.fail(err);
      }
    }
    this.#draining = null;
  }

  /**
   * Applies `steps` to a copy of the record and commits it if the record has not changed since
   * it was read; otherwise reads it again and starts over. The first attempt trusts the last
   * view (one instance per process is the common case); a refusal or a batch that changes
   * nothing is only final on a fresh read. `riders` are written in the same commit.
   */
  async #commit(steps: Step[], riders: Rider[]): Promise<void> {
    let cached = true;
    for (let attempt = 1;; attempt++) {
      if (!cached) {
        const seen = await readRecord(this.#store, this.#key);
        this.#view = seen.record;
        this.#stamp = seen.stamp;
      }
      const work = cloneRecord(this.#view);
      const batch: Batch = { changed: false, refused: false, swept: false };
      const finish = steps.map((step) => step(work, batch));
      if (cached && (batch.refused || !batch.changed)) {
        cached = false;
        continue;
      }
      let stamp = this.#stamp;
      if (batch.changed || riders.length > 0) {
        const op = this.#store.atomic();
        if (batch.changed) {
          op.check({ key: this.#key, versionstamp: this.#stamp })
            .set(this.#key, encodeRecord(work, Date.now()));
        }
        for (const rider of riders) rider.apply(op);
        const res = await op.commit();
        if (!res.ok) {
          if (attempt >= MAX_ATTEMPTS) {
            throw new Error(
              `Cannot update budget: the record changed under ${attempt} attempts in a row`,
            );
          }
          cached = false;
          // Another process won the race; back off a little once that repeats.
          if (attempt > 2) await new Promise((r) => setTimeout(r, Math.random() * attempt));
          continue;
        }
        if (batch.changed) stamp = res.versionstamp;
      }
      this.#view = work;
      this.#stamp = stamp;
      this.#beat();
      for (const rider of riders) rider.committed();
      for (const f of finish) f();
      return;
    }
  }

  /** Renews this instance's lease every `renewEveryMs` while it holds one. */
  #beat(): void {
    const holding = this.#view.leases.has(this.#instance);
    if (holding && this.#heartbeat === null) {
      this.#heartbeat = setInterval(
        () => this.submit(this.#renew, () => this.#stop()),
        this.#renewEveryMs,
      );
      Deno.unrefTimer(this.#heartbeat); // a held lease never keeps the process alive
    } else if (!holding) {
      this.#stop();
    }
  }

  #renew: Step = (r, batch) => {
    const lease = r.leases.get(this.#instance);
    if (lease) {
      lease.renewedAt = Date.now();
      batch.changed = true;
    }
    return () => {};
  };

  #stop(): void {
    if (this.#heartbeat !== null) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
  }
}
