/**
 * Per-session spending budget. Amounts are held as integer micro-dollars (1e-6 USD), so
 * thousands of small charges never drift; the public API speaks USD.
 *
 * A caller reserves an estimate before acting (`reserve()`, synchronous, so two concurrent
 * reservations can never both take the last dollar), then commits the actual cost or refunds.
 *
 * Overrun policy: `commit(actual)` always records what was actually spent, even above the
 * reservation (money already gone cannot be un-spent, and under-recording would hide it). When
 * the excess over the reservation does not fit in the session's free headroom, the charge is
 * still recorded and persisted, and `commit()` then rejects with a `BudgetError`, so an overrun
 * is never silent; every later `reserve()` fails while spent ≥ limit.
 *
 * One `SessionBudget` instance owns a session's record (`["budget", sessionId]`); writes are
 * serialised and coalesced, and the last state wins.
 *
 * @module
 */
import type { Store } from "../storage/store.ts";

/** Limits for one session, in USD. */
export interface BudgetLimits {
  /** Total the session may spend. */
  sessionUsd: number;
  /** Largest single reservation. */
  perActionUsd: number;
  /** Fraction of `sessionUsd` (0..1) at which `onWarn` fires once. */
  warnAt: number;
}

/** A snapshot of a session's budget, in USD. */
export interface BudgetState {
  spentUsd: number;
  reservedUsd: number;
  limitUsd: number;
  /** `limit - spent - reserved`, never below 0. */
  remainingUsd: number;
  warned: boolean;
}

/**
 * A reservation or charge would exceed the budget.
 *
 * @example Match on the code
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { BudgetError } from "./budget.ts";
 * equal(new BudgetError("Cannot reserve").code, "BUDGET_EXCEEDED");
 * ```
 */
export class BudgetError extends Error {
  /** Always `"BUDGET_EXCEEDED"`. */
  readonly code = "BUDGET_EXCEEDED";
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "BudgetError";
  }
}

/** Money set aside by {@link SessionBudget.reserve}; settle it exactly once. */
export interface Reservation {
  readonly id: string;
  readonly amountUsd: number;
  /** Charges `actualUsd` (default: the reserved amount). Idempotent; a no-op after refund. */
  commit(actualUsd?: number): Promise<void>;
  /** Releases the reservation. Idempotent; a no-op after commit. */
  refund(): Promise<void>;
}

const MICROS = 1_000_000;
/** Largest amount accepted anywhere: one billion USD. */
export const MAX_USD = 1e9;

function toMicros(usd: unknown, what: string): number {
  if (typeof usd !== "number" || !Number.isFinite(usd) || usd < 0 || usd > MAX_USD) {
    throw new RangeError(`Cannot use ${what}: current value is ${String(usd)}, expected 0..1e9`);
  }
  return Math.round(usd * MICROS);
}

const fromMicros = (micros: number): number => micros / MICROS;

interface Persisted {
  spentMicros: number;
  warned: boolean;
}

function isPersisted(value: unknown): value is Persisted {
  const v = value as Partial<Persisted> | null;
  return typeof v === "object" && v !== null && Number.isSafeInteger(v.spentMicros) &&
    v.spentMicros! >= 0 && typeof v.warned === "boolean";
}

/**
 * A session's budget: synchronous reservations, persisted spend.
 *
 * @example Reserve, then commit the actual cost
 * ```ts
 * import { equal, throws } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { SessionBudget } from "./budget.ts";
 * using kv = await openStore(":memory:");
 * const budget = await SessionBudget.load(kv, "s1", { sessionUsd: 1, perActionUsd: 0.5, warnAt: 0.8 });
 * const r = budget.reserve(0.4);
 * await r.commit(0.25);
 * equal(budget.state().spentUsd, 0.25);
 * throws(() => budget.reserve(0.6), { code: "BUDGET_EXCEEDED" });
 * ```
 */
export class SessionBudget {
  #store: Store;
  #sessionId: string;
  #limit: number;
  #perAction: number;
  #warnAt: number;
  #onWarn: ((s: BudgetState) => void) | undefined;
  #spent: number;
  #reserved = 0;
  #warned: boolean;
  #queued: Promise<void> | null = null;
  #running: Promise<void> = Promise.resolve();

  private constructor(
    store: Store,
    sessionId: string,
    limits: BudgetLimits,
    saved: Persisted,
    onWarn: ((s: BudgetState) => void) | undefined,
  ) {
    this.#store = store;
    this.#sessionId = sessionId;
    this.#limit = toMicros(limits.sessionUsd, "sessionUsd");
    this.#perAction = toMicros(limits.perActionUsd, "perActionUsd");
    this.#warnAt = Math.ceil(this.#limit * limits.warnAt);
    this.#spent = saved.spentMicros;
    this.#warned = saved.warned;
    this.#onWarn = onWarn;
  }

  /**
   * Loads a session's spend from `["budget", sessionId]` (zero when new). Throws `RangeError`
   * for bad limits and `TypeError` when the stored record is malformed (fail closed).
   *
   * @example Spend survives a reload
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { openStore } from "../storage/mod.ts";
   * import { SessionBudget } from "./budget.ts";
   * using kv = await openStore(":memory:");
   * const limits = { sessionUsd: 5, perActionUsd: 1, warnAt: 0.9 };
   * await (await SessionBudget.load(kv, "s1", limits)).reserve(1).commit();
   * equal((await SessionBudget.load(kv, "s1", limits)).state().spentUsd, 1);
   * ```
   */
  static async load(
    store: Store,
    sessionId: string,
    limits: BudgetLimits,
    opts: { onWarn?: (s: BudgetState) => void } = {},
  ): Promise<SessionBudget> {
    if (typeof sessionId !== "string" || sessionId.length === 0 || sessionId.length > 256) {
      throw new TypeError(`Cannot load budget: session id "${String(sessionId)}" is invalid`);
    }
    if (typeof limits.warnAt !== "number" || !(limits.warnAt >= 0 && limits.warnAt <= 1)) {
      throw new RangeError(`Cannot load budget: warnAt is ${limits.warnAt}, expected 0..1`);
    }
    const entry = await store.get(["budget", sessionId]);
    let saved: Persisted = { spentMicros: 0, warned: false };
    if (entry.versionstamp !== null) {
      if (!isPersisted(entry.value)) {
        throw new TypeError(`Cannot load budget: the record of session ${sessionId} is malformed`);
      }
      saved = { spentMicros: entry.value.spentMicros, warned: entry.value.warned };
    }
    return new SessionBudget(store, sessionId, limits, saved, opts.onWarn);
  }

  /**
   * Sets `amountUsd` aside, synchronously. Throws `BudgetError` when it exceeds the per-action
   * limit or the session's remaining budget, `RangeError` for a negative, NaN or huge amount.
   *
   * @example Refund restores the amount
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { openStore } from "../storage/mod.ts";
   * import { SessionBudget } from "./budget.ts";
   * using kv = await openStore(":memory:");
   * const budget = await SessionBudget.load(kv, "s", { sessionUsd: 2, perActionUsd: 2, warnAt: 1 });
   * const r = budget.reserve(2);
   * equal(budget.state().remainingUsd, 0);
   * await r.refund();
   * equal(budget.state().remainingUsd, 2);
   * ```
   */
  reserve(amountUsd: number): Reservation {
    const amount = toMicros(amountUsd, "amountUsd");
    if (amount > this.#perAction) {
      throw new BudgetError(
        `Cannot reserve $${amountUsd}: the per-action limit is $${fromMicros(this.#perAction)}`,
      );
    }
    if (this.#spent + this.#reserved + amount > this.#limit) {
      throw new BudgetError(
        `Cannot reserve $${amountUsd}: current remaining budget is $${this.state().remainingUsd}`,
      );
    }
    this.#reserved += amount;
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      this.#reserved -= amount;
      return true;
    };
    return Object.freeze({
      id: crypto.randomUUID(),
      amountUsd: fromMicros(amount),
      commit: (actualUsd?: number): Promise<void> => {
        let actual: number;
        try {
          actual = actualUsd === undefined ? amount : toMicros(actualUsd, "actualUsd");
        } catch (err) {
          return Promise.reject(err);
        }
        if (!settle()) return this.#queued ?? this.#running;
        // Nothing was spent (file and kv actions cost $0): no write on the hot path.
        if (actual === 0) return Promise.resolve();
        return this.#charge(amount, actual);
      },
      refund: (): Promise<void> => {
        settle();
        return Promise.resolve();
      },
    });
  }

  async #charge(reserved: number, actual: number): Promise<void> {
    // Headroom for the excess is what is left once this reservation is released.
    const excess = actual - reserved;
    const overrun = excess > 0 && this.#spent + this.#reserved + actual > this.#limit;
    this.#spent += actual;
    const crossed = !this.#warned && this.#spent >= this.#warnAt && this.#spent > 0;
    if (crossed) this.#warned = true;
    const written = this.flush();
    try {
      if (crossed) this.#onWarn?.(this.state());
    } finally {
      await written;
    }
    if (overrun) {
      throw new BudgetError(
        `Cannot stay within budget: charged $${fromMicros(actual)} against a reservation of ` +
          `$${fromMicros(reserved)}; current spend is $${fromMicros(this.#spent)} of ` +
          `$${fromMicros(this.#limit)}`,
      );
    }
  }

  /**
   * Returns the current spend, reservations and remaining budget in USD.
   *
   * @example A snapshot after a reservation
   * ```ts
   * import { deepEqual } from "node:assert/strict";
   * import { openStore } from "../storage/mod.ts";
   * import { SessionBudget } from "./budget.ts";
   * using kv = await openStore(":memory:");
   * const budget = await SessionBudget.load(kv, "s", { sessionUsd: 3, perActionUsd: 1, warnAt: 0.5 });
   * budget.reserve(0.1);
   * deepEqual(budget.state(), {
   *   spentUsd: 0, reservedUsd: 0.1, limitUsd: 3, remainingUsd: 2.9, warned: false,
   * });
   * ```
   */
  state(): BudgetState {
    return {
      spentUsd: fromMicros(this.#spent),
      reservedUsd: fromMicros(this.#reserved),
      limitUsd: fromMicros(this.#limit),
      remainingUsd: fromMicros(Math.max(0, this.#limit - this.#spent - this.#reserved)),
      warned: this.#warned,
    };
  }

  /**
   * Persists the spend to `["budget", sessionId]`. Writes are serialised; a flush requested
   * while one is waiting joins it, and each write stores the state current when it runs.
   *
   * @example Persist explicitly
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { openStore } from "../storage/mod.ts";
   * import { SessionBudget } from "./budget.ts";
   * using kv = await openStore(":memory:");
   * const budget = await SessionBudget.load(kv, "s", { sessionUsd: 3, perActionUsd: 1, warnAt: 1 });
   * await budget.flush();
   * equal(((await kv.get(["budget", "s"])).value as { spentMicros: number }).spentMicros, 0);
   * ```
   */
  flush(): Promise<void> {
    if (this.#queued) return this.#queued;
    const write = this.#running.catch(() => {}).then(async () => {
      this.#queued = null;
      await this.#store.set(["budget", this.#sessionId], {
        spentMicros: this.#spent,
        warned: this.#warned,
        updatedAt: Date.now(),
      });
    });
    this.#queued = write;
    this.#running = write;
    return write;
  }
}
