/**
 * The budget's contract: limits, state, options, the reservation handle and `BudgetError`
 * (budget.ts implements it and re-exports all of it).
 *
 * @module
 */
import type { Rider } from "../storage/store.ts";

/** Largest amount accepted anywhere: one billion USD. */
export const MAX_USD = 1e9;

/** Limits for one session, in USD. */
export interface BudgetLimits {
  /** Total the session may spend. */
  sessionUsd: number;
  /** Largest single reservation. */
  perActionUsd: number;
  /** Fraction of `sessionUsd` (0..1) at which `onWarn` fires once. */
  warnAt: number;
}

/** A snapshot of a session's budget, in USD, across every process sharing the store. */
export interface BudgetState {
  spentUsd: number;
  reservedUsd: number;
  limitUsd: number;
  /** `limit - spent - reserved`, never below 0. */
  remainingUsd: number;
  warned: boolean;
}

/** Options of `SessionBudget.load()`. */
export interface BudgetOptions {
  /** Called once, by the process whose charge crosses `warnAt`; what it throws is ignored. */
  onWarn?: (s: BudgetState) => void;
  /** How long an unverifiable lease lives without renewal; default 120,000 ms (2 min). */
  leaseTtlMs?: number;
}

/**
 * Options of `SessionBudget.reserve()`.
 *
 * @example Reserve a model call, charged in full if this process dies before settling it
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { SessionBudget } from "./budget.ts";
 * using kv = await openStore(":memory:");
 * const budget = await SessionBudget.load(kv, "s", { sessionUsd: 1, perActionUsd: 1, warnAt: 1 });
 * const r = await budget.reserve(0.1, undefined, { chargeIfAbandoned: true });
 * equal(r.chargedIfAbandoned, true);
 * await r.commit(0.02);
 * equal(budget.state().spentUsd, 0.02);
 * ```
 */
export interface ReserveOptions {
  /**
   * The reservation is charged in full, not released, when its holder dies (or its lease
   * expires) before settling it: for money that may be gone once the reservation is made, such
   * as a model call's (see budget.ts, "Abandoned reservations"). Default false.
   */
  chargeIfAbandoned?: boolean;
}

/**
 * A reservation or charge would exceed the budget.
 *
 * @example Match on the code
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { BudgetError } from "./budget_types.ts";
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

/**
 * Money set aside by `SessionBudget.reserve()`; settle it exactly once. A settlement may carry
 * a `Rider` (runtime/storage/store.ts): other writes made durable in the same atomic commit as
 * the charge (or alone, when the settlement needs no commit); once the promise resolves, both
 * are on disk.
 */
export interface Reservation {
  readonly id: string;
  readonly amountUsd: number;
  /**
   * True when the budget records the reservation so that it is charged in full if its holder
   * dies unsettled (`ReserveOptions.chargeIfAbandoned`); absent or false otherwise. A holder may
   * then let the settlement wait for its next commit without risking a lost charge.
   */
  readonly chargedIfAbandoned?: boolean;
  /** Charges `actualUsd` (default: the reserved amount). Idempotent; a no-op after refund. */
  commit(actualUsd?: number, rider?: Rider): Promise<void>;
  /** Releases the reservation. Idempotent; a no-op after commit. */
  refund(rider?: Rider): Promise<void>;
}
