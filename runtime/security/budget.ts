/**
 * Per-session spending budget, safe across processes. Amounts are held as integer
 * micro-dollars (1e-6 USD), so thousands of small charges never drift; the public API speaks
 * USD.
 *
 * A caller reserves an estimate before acting (`await reserve()`), then commits the actual
 * cost or refunds. Every process sharing the store sees the same record, `["budget",
 * sessionId]`, and every change to it is a Deno KV atomic commit checked on the record's
 * versionstamp: a reservation is granted only against the spend and reservations of all
 * processes, and a commit never overwrites another process's charge. One instance batches
 * its concurrent operations into one commit and retries when another process won the race.
 * A $0 reservation (file and kv actions) costs no KV commit.
 *
 * Carried writes: `reserve()`, `commit()` and `refund()` take an optional `Rider` (writes of
 * another component, e.g. the agent's session save) and put it in the same atomic commit as
 * the budget change, so both become durable with one fsync, all or nothing; where the budget
 * needs no commit (a $0 reservation, a refused one, a second settlement) the rider is written
 * alone. When the promise settles (resolved, or rejected with a `BudgetError`) the rider is on
 * disk; any other rejection means neither was written. A rider of another store than the
 * budget's is not carried: its owner sees it not committed and writes it itself.
 *
 * Overrun policy: `commit(actual)` always records what was actually spent, even above the
 * reservation (money already gone cannot be un-spent, and under-recording would hide it). When
 * the excess over the reservation does not fit in the session's free headroom, the charge is
 * still recorded and persisted, and `commit()` then rejects with a `BudgetError`, so an overrun
 * is never silent; every later non-zero `reserve()` fails while spent ≥ limit.
 *
 * Dead holders: each instance's unsettled reservations form one lease in the record, tagged
 * with its process (pid, kernel start time, boot and pid namespace: see `_budget_owner.ts`).
 * When a budget is loaded, and when a reservation does not fit, leases whose process is gone
 * (or whose pid was reused) are swept. A lease whose process cannot be checked from here
 * (another machine or container, or no procfs: Deno only reads `/proc` under `--allow-all`)
 * is swept once it has not been renewed for `leaseTtlMs` (default 2 min); holders renew their
 * lease every fifth of that while they hold money.
 *
 * Abandoned reservations: a sweep releases a dead holder's reservations, except those made with
 * `chargeIfAbandoned` (the lease's `owed` part), which it charges in full. The agent loop
 * reserves its model calls so: once the call is made the money may be gone, and the budget
 * cannot know how much, so a holder killed mid-call or before its charge reached the disk
 * leaves the most the call was allowed to cost on record, never less than it cost (the
 * overrun policy's rule: spend is never under-recorded). This is what lets the loop hold a
 * call's charge (at most the reservation) until its next commit instead of committing it on its
 * own before the tools run: a crash in between charges the reservation instead of losing the
 * charge. Its cost is over-counting on a crash: the estimate instead of the actual. A holder
 * whose owed lease was swept while it lived (an expired ttl) is charged only the excess of
 * its actual cost over the reservation when it settles, so nothing is counted twice.
 *
 * @module
 */
import type { Rider, Store } from "../storage/store.ts";
import { currentOwner, ownerLiveness } from "./_budget_owner.ts";
import {
  type BudgetRecord,
  headroom,
  MAX_LEASES,
  reservedOf,
  settle,
  sweep,
  type Terms,
  tryReserve,
} from "./_budget_record.ts";
import { Ledger, readRecord } from "./_budget_ledger.ts";
import { fromMicros, reservationHandle, toMicros } from "./_budget_money.ts";
import {
  BudgetError,
  type BudgetLimits,
  type BudgetOptions,
  type BudgetState,
  type Reservation,
  type ReserveOptions,
} from "./budget_types.ts";

export * from "./budget_types.ts";

const DEFAULT_LEASE_TTL_MS = 120_000;

/**
 * A session's budget, shared through the store by every process that loads it.
 *
 * @example Reserve, then commit the actual cost
 * ```ts
 * import { equal, rejects } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { SessionBudget } from "./budget.ts";
 * using kv = await openStore(":memory:");
 * const budget = await SessionBudget.load(kv, "s1", { sessionUsd: 1, perActionUsd: 0.5, warnAt: 0.8 });
 * const r = await budget.reserve(0.4);
 * await r.commit(0.25);
 * equal(budget.state().spentUsd, 0.25);
 * await rejects(budget.reserve(0.6), { code: "BUDGET_EXCEEDED" });
 * ```
 */
export class SessionBudget {
  #terms: Terms;
  #perAction: number;
  #onWarn: ((s: BudgetState) => void) | undefined;
  #ledger: Ledger;

  private constructor(
    store: Store,
    sessionId: string,
    limits: BudgetLimits,
    seen: { record: BudgetRecord; stamp: string | null },
    opts: BudgetOptions,
  ) {
    const limit = toMicros(limits.sessionUsd, "sessionUsd");
    const ttl = opts.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
    const owner = currentOwner();
    this.#terms = {
      limit,
      warnAt: Math.ceil(limit * limits.warnAt),
      instance: crypto.randomUUID(),
      owner,
      stale(lease) {
        const alive = ownerLiveness(lease.owner, owner);
        return alive === "dead" || (alive === "unknown" && Date.now() - lease.renewedAt > ttl);
      },
    };
    this.#perAction = toMicros(limits.perActionUsd, "perActionUsd");
    this.#onWarn = opts.onWarn;
    this.#ledger = new Ledger(store, ["budget", sessionId], seen, {
      instance: this.#terms.instance,
      renewEveryMs: Math.floor(ttl / 5),
    });
  }

  /**
   * Loads a session's budget from `["budget", sessionId]` (zero when new) and sweeps the
   * leases of processes that died. Throws `RangeError` for bad limits and `TypeError` when the
   * stored record is malformed (fail closed).
   *
   * @example Spend survives a reload
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { openStore } from "../storage/mod.ts";
   * import { SessionBudget } from "./budget.ts";
   * using kv = await openStore(":memory:");
   * const limits = { sessionUsd: 5, perActionUsd: 1, warnAt: 0.9 };
   * await (await (await SessionBudget.load(kv, "s1", limits)).reserve(1)).commit();
   * equal((await SessionBudget.load(kv, "s1", limits)).state().spentUsd, 1);
   * ```
   */
  static async load(
    store: Store,
    sessionId: string,
    limits: BudgetLimits,
    opts: BudgetOptions = {},
  ): Promise<SessionBudget> {
    if (typeof sessionId !== "string" || sessionId.length === 0 || sessionId.length > 256) {
      throw new TypeError(`Cannot load budget: session id "${String(sessionId)}" is invalid`);
    }
    if (typeof limits.warnAt !== "number" || !(limits.warnAt >= 0 && limits.warnAt <= 1)) {
      throw new RangeError(`Cannot load budget: warnAt is ${limits.warnAt}, expected 0..1`);
    }
    const ttl = opts.leaseTtlMs;
    if (ttl !== undefined && !(Number.isSafeInteger(ttl) && ttl >= 1000)) {
      throw new RangeError(`Cannot load budget: leaseTtlMs is ${ttl}, expected ≥ 1000`);
    }
    const seen = await readRecord(store, ["budget", sessionId]);
    const budget = new SessionBudget(store, sessionId, limits, seen, opts);
    const t = budget.#terms;
    if ([...seen.record.leases.values()].some(t.stale)) {
      await new Promise<void>((resolve, reject) => {
        budget.#ledger.submit((r, batch) => {
          if (sweep(r, t.instance, t.stale) > 0) batch.changed = true;
          return resolve;
        }, reject);
      });
    }
    return budget;
  }

  /**
   * Sets `amountUsd` aside. Rejects with `BudgetError` when it exceeds the per-action limit or
   * the session's remaining budget (all processes counted), `RangeError` for a negative, NaN or
   * huge amount. A $0 reservation is decided locally, without a KV commit. `rider` is written in
   * the commit that decides the reservation (granted or refused; see the module doc). With
   * `opts.chargeIfAbandoned` the reservation is charged in full if its holder dies unsettled
   * (module doc, "Abandoned reservations").
   *
   * @example Refund restores the amount
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { openStore } from "../storage/mod.ts";
   * import { SessionBudget } from "./budget.ts";
   * using kv = await openStore(":memory:");
   * const budget = await SessionBudget.load(kv, "s", { sessionUsd: 2, perActionUsd: 2, warnAt: 1 });
   * const r = await budget.reserve(2);
   * equal(budget.state().remainingUsd, 0);
   * await r.refund();
   * equal(budget.state().remainingUsd, 2);
   * ```
   */
  reserve(amountUsd: number, rider?: Rider, opts: ReserveOptions = {}): Promise<Reservation> {
    const owed = opts.chargeIfAbandoned === true;
    let amount: number;
    try {
      amount = toMicros(amountUsd, "amountUsd");
    } catch (err) {
      return Promise.reject(err);
    }
    if (amount > this.#perAction) {
      const err = new BudgetError(
        `Cannot reserve $${amountUsd}: the per-action limit is $${fromMicros(this.#perAction)}`,
      );
      return rider ? this.#carry(rider).then(() => Promise.reject(err)) : Promise.reject(err);
    }
    if (amount === 0) {
      // Free actions never overspend; only an overrun already on record refuses them.
      const decide = (): Promise<Reservation> => {
        const v = this.#ledger.view;
        return v.spentMicros + reservedOf(v) > this.#terms.limit
          ? Promise.reject(this.#refusal(amountUsd, v))
          : Promise.resolve(this.#reservation(0, owed));
      };
      return rider ? this.#carry(rider).then(decide) : decide();
    }
    return new Promise((resolve, reject) => {
      this.#ledger.submit(
        (r, batch) => {
          const got = tryReserve(r, this.#terms, amount, Date.now(), batch, owed);
          if (got === "held") return () => resolve(this.#reservation(amount, owed));
          batch.refused = true;
          const err = got === "crowded"
            ? new BudgetError(`Cannot reserve: current holders are ${MAX_LEASES} processes`)
            : this.#refusal(amountUsd, r);
          return () => reject(err);
        },
        reject,
        rider ?? null,
      );
    });
  }

  /** Writes `rider` alone (through the ledger, so it keeps its order with the budget's). */
  #carry(rider: Rider): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#ledger.submit(() => resolve, reject, rider);
    });
  }

  #refusal(amountUsd: number, r: BudgetRecord): BudgetError {
    const left = fromMicros(headroom(r, this.#terms.limit));
    return new BudgetError(`Cannot reserve $${amountUsd}: current remaining budget is $${left}`);
  }

  #reservation(amount: number, owed: boolean): Reservation {
    return reservationHandle(
      amount,
      (actual, rider) => this.#settle(amount, actual, rider, owed),
      (rider) => this.#carry(rider),
      owed,
    );
  }

  #settle(reserved: number, actual: number, rider: Rider | null, owed: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#ledger.submit(
        (r, batch) => {
          batch.changed = true;
          const { overrun, crossed } = settle(r, this.#terms, reserved, actual, Date.now(), owed);
          const spent = r.spentMicros;
          return () => {
            try {
              if (crossed) this.#onWarn?.(this.state());
            } catch {
              // The charge is on record either way; a failing listener must not reopen it.
            }
            if (!overrun) return resolve();
            reject(
              new BudgetError(
                `Cannot stay within budget: charged $${fromMicros(actual)} against a reservation ` +
                  `of $${fromMicros(reserved)}; current spend is $${fromMicros(spent)} of ` +
                  `$${fromMicros(this.#terms.limit)}`,
              ),
            );
          };
        },
        reject,
        rider,
      );
    });
  }

  /**
   * Returns the spend, reservations and remaining budget in USD, as of this instance's last
   * read or commit (see {@link SessionBudget.refresh} for another process's latest).
   *
   * @example A snapshot after a reservation
   * ```ts
   * import { deepEqual } from "node:assert/strict";
   * import { openStore } from "../storage/mod.ts";
   * import { SessionBudget } from "./budget.ts";
   * using kv = await openStore(":memory:");
   * const budget = await SessionBudget.load(kv, "s", { sessionUsd: 3, perActionUsd: 1, warnAt: 0.5 });
   * await budget.reserve(0.1);
   * deepEqual(budget.state(), {
   *   spentUsd: 0, reservedUsd: 0.1, limitUsd: 3, remainingUsd: 2.9, warned: false,
   * });
   * ```
   */
  state(): BudgetState {
    const v = this.#ledger.view;
    return {
      spentUsd: fromMicros(v.spentMicros),
      reservedUsd: fromMicros(reservedOf(v)),
      limitUsd: fromMicros(this.#terms.limit),
      remainingUsd: fromMicros(headroom(v, this.#terms.limit)),
      warned: v.warned,
    };
  }

  /**
   * Reads the record again (other processes' charges included) and returns the state. Throws
   * `TypeError` when the record became malformed.
   *
   * @example Another instance's charge becomes visible
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { openStore } from "../storage/mod.ts";
   * import { SessionBudget } from "./budget.ts";
   * using kv = await openStore(":memory:");
   * const limits = { sessionUsd: 3, perActionUsd: 1, warnAt: 1 };
   * const a = await SessionBudget.load(kv, "s", limits);
   * const b = await SessionBudget.load(kv, "s", limits);
   * await (await b.reserve(0.5)).commit();
   * equal(a.state().spentUsd, 0);
   * equal((await a.refresh()).spentUsd, 0.5);
   * ```
   */
  async refresh(): Promise<BudgetState> {
    await this.#ledger.reload();
    return this.state();
  }

  /**
   * Waits until every operation queued so far is committed. Each reservation, commit and
   * refund is written as it happens; this only waits for those not yet awaited.
   *
   * @example Wait for a refund that was not awaited
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { openStore } from "../storage/mod.ts";
   * import { SessionBudget } from "./budget.ts";
   * using kv = await openStore(":memory:");
   * const budget = await SessionBudget.load(kv, "s", { sessionUsd: 3, perActionUsd: 1, warnAt: 1 });
   * void (await budget.reserve(1)).refund();
   * await budget.flush();
   * equal(budget.state().reservedUsd, 0);
   * ```
   */
  flush(): Promise<void> {
    return this.#ledger.flush();
  }
}
