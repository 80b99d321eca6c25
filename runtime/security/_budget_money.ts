/**
 * Private: amounts and the reservation handle of budget.ts. Amounts are integer micro-dollars
 * inside, USD outside; a handle settles its reservation at most once.
 *
 * @module
 */
import type { Rider } from "../storage/store.ts";
import { BudgetError, MAX_USD, type Reservation } from "./budget_types.ts";

const MICROS = 1_000_000;

/** USD to micro-dollars; `RangeError` unless `usd` is a number in 0..1e9. */
export function toMicros(usd: unknown, what: string): number {
  if (typeof usd !== "number" || !Number.isFinite(usd) || usd < 0 || usd > MAX_USD) {
    throw new RangeError(`Cannot use ${what}: current value is ${String(usd)}, expected 0..1e9`);
  }
  return Math.round(usd * MICROS);
}

/** Micro-dollars to USD. */
export const fromMicros = (micros: number): number => micros / MICROS;

const noop = () => {};

/**
 * A handle on `amount` micro-dollars set aside. `settle(actual, rider)` charges `actual` (0 for
 * a refund), releases the amount and writes `rider` in the same commit; it runs at most once,
 * unless it fails with something other than a `BudgetError` (then nothing was recorded, and
 * the caller may try again). A $0 reservation settled at $0 never calls it, nor does a second
 * settlement: a rider given to those is written alone by `carry(rider)`.
 */
export function reservationHandle(
  amount: number,
  settle: (actual: number, rider: Rider | null) => Promise<void>,
  carry: (rider: Rider) => Promise<void>,
  chargedIfAbandoned = false,
): Reservation {
  let open = true;
  let settling: Promise<void> = Promise.resolve();
  const once = (actual: number, rider: Rider | null): Promise<void> => {
    if (!open || (amount === 0 && actual === 0)) {
      const before = open ? settling : settling.then(noop, noop);
      open = false;
      return rider ? before.then(() => carry(rider)) : before;
    }
    open = false;
    settling = settle(actual, rider).catch((err) => {
      if (!(err instanceof BudgetError)) open = true;
      throw err;
    });
    return settling;
  };
  return Object.freeze({
    id: crypto.randomUUID(),
    amountUsd: fromMicros(amount),
    chargedIfAbandoned,
    commit: (actualUsd?: number, rider?: Rider): Promise<void> => {
      let actual: number;
      try {
        actual = actualUsd === undefined ? amount : toMicros(actualUsd, "actualUsd");
      } catch (err) {
        return Promise.reject(err);
      }
      return once(actual, rider ?? null);
    },
    refund: (rider?: Rider): Promise<void> => once(0, rider ?? null),
  });
}
