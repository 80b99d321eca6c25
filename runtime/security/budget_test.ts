import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { openStore, type Store } from "../storage/mod.ts";
import { BudgetError, type BudgetLimits, type BudgetState, SessionBudget } from "./budget.ts";

const LIMITS: BudgetLimits = { sessionUsd: 10, perActionUsd: 2, warnAt: 0.8 };

async function load(kv: Store, limits = LIMITS, onWarn?: (s: BudgetState) => void) {
  return await SessionBudget.load(kv, "session-1", limits, onWarn ? { onWarn } : {});
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("reserve() holds the amount and commit() charges it", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv);
  const r = budget.reserve(1.5);
  equal(r.amountUsd, 1.5);
  deepEqual(budget.state(), {
    spentUsd: 0,
    reservedUsd: 1.5,
    limitUsd: 10,
    remainingUsd: 8.5,
    warned: false,
  });
  await r.commit();
  deepEqual(budget.state(), {
    spentUsd: 1.5,
    reservedUsd: 0,
    limitUsd: 10,
    remainingUsd: 8.5,
    warned: false,
  });
});

Deno.test("reserve() throws BudgetError over the per-action or session limit", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv);
  throws(() => budget.reserve(2.000001), BudgetError);
  const held = [1, 2, 3, 4, 5].map(() => budget.reserve(2));
  equal(budget.state().remainingUsd, 0);
  throws(() => budget.reserve(0.000001), { code: "BUDGET_EXCEEDED" });
  equal(budget.reserve(0).amountUsd, 0);
  await held[0]!.refund();
  budget.reserve(2);
});

Deno.test("reserve() throws RangeError for negative, NaN, infinite, huge or non-number amounts", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv);
  for (const bad of [-0.01, -1e9, Number.NaN, Infinity, -Infinity, 1e300, 1e9 + 1]) {
    throws(() => budget.reserve(bad), RangeError, String(bad));
  }
  for (const bad of ["1", null, undefined, {}, 1n]) {
    throws(() => budget.reserve(bad as unknown as number), RangeError, String(bad));
  }
  equal(budget.state().reservedUsd, 0);
});

Deno.test("refund() restores the amount; settling is idempotent either way", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv);
  const denied = budget.reserve(2);
  await denied.refund();
  await denied.refund();
  await denied.commit(); // after refund: no-op
  equal(budget.state().spentUsd, 0);
  equal(budget.state().reservedUsd, 0);
  const done = budget.reserve(1);
  await done.commit(0.5);
  await done.commit(0.5);
  await done.refund(); // after commit: no-op
  equal(budget.state().spentUsd, 0.5);
  equal(budget.state().reservedUsd, 0);
});

Deno.test("commit() with a bad actual amount rejects and leaves the reservation open", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv);
  const r = budget.reserve(1);
  await rejects(r.commit(-1), RangeError);
  await rejects(r.commit(Number.NaN), RangeError);
  equal(budget.state().reservedUsd, 1);
  await r.refund();
  equal(budget.state().reservedUsd, 0);
});

Deno.test("commit() charges less than reserved when the action cost less", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv);
  await budget.reserve(2).commit(0.25);
  equal(budget.state().spentUsd, 0.25);
  equal(budget.state().remainingUsd, 9.75);
});

Deno.test("commit() above the reservation charges in full and rejects only on overrun", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv, { sessionUsd: 3, perActionUsd: 2, warnAt: 1 });
  // Within the free headroom: charged, no error.
  await budget.reserve(1).commit(1.5);
  equal(budget.state().spentUsd, 1.5);
  // Another reservation holds 1; the excess of this one does not fit: charged, then rejected.
  const other = budget.reserve(1);
  const r = budget.reserve(0.5);
  await rejects(r.commit(2), { code: "BUDGET_EXCEEDED" });
  equal(budget.state().spentUsd, 3.5);
  equal(budget.state().remainingUsd, 0);
  throws(() => budget.reserve(0.01), BudgetError);
  // The overrun is persisted, not silently dropped.
  const saved = (await kv.get<{ spentMicros: number }>(["budget", "session-1"])).value;
  equal(saved?.spentMicros, 3_500_000);
  await other.refund();
  throws(() => budget.reserve(0.01), BudgetError);
});

Deno.test("1,000 concurrent reservations with random delays never overspend", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv, { sessionUsd: 100, perActionUsd: 1, warnAt: 0.5 });
  let chargedMicros = 0;
  let refused = 0;
  const outcomes = await Promise.all(Array.from({ length: 1000 }, async (_, i) => {
    await sleep(Math.random() * 5);
    const amount = Math.round(Math.random() * 1_000_000) / 1_000_000; // ≤ $1
    let r;
    try {
      r = budget.reserve(amount);
    } catch (err) {
      ok(err instanceof BudgetError);
      refused++;
      return "refused";
    }
    await sleep(Math.random() * 5);
    if (i % 5 === 0) {
      await r.refund(); // denied, errored or cancelled
      return "refunded";
    }
    const actual = Math.round(amount * (0.5 + Math.random() * 0.5) * 1e6) / 1e6;
    chargedMicros += Math.round(actual * 1e6);
    await r.commit(actual);
    return "committed";
  }));
  const state = budget.state();
  ok(state.spentUsd <= 100, `spent ${state.spentUsd}`);
  equal(state.reservedUsd, 0);
  equal(Math.round(state.spentUsd * 1e6), chargedMicros);
  equal(outcomes.filter((o) => o === "refused").length, refused);
  ok(outcomes.filter((o) => o === "committed").length > 0);
  await budget.flush();
  const saved = (await kv.get<{ spentMicros: number }>(["budget", "session-1"])).value;
  equal(saved?.spentMicros, chargedMicros);
});

Deno.test("concurrent reservations racing for the last dollars: exactly the limit is granted", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv, { sessionUsd: 1, perActionUsd: 1, warnAt: 1 });
  const results = await Promise.allSettled(
    Array.from({ length: 1000 }, async () => {
      await sleep(Math.random() * 3);
      const r = budget.reserve(0.01);
      await sleep(Math.random() * 3);
      await r.commit();
    }),
  );
  equal(results.filter((r) => r.status === "fulfilled").length, 100);
  equal(budget.state().spentUsd, 1);
});

Deno.test("micro-dollar accounting does not drift over many small charges", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv, { sessionUsd: 1, perActionUsd: 1, warnAt: 1 });
  for (let i = 0; i < 10; i++) await budget.reserve(0.1).commit();
  equal(budget.state().spentUsd, 1);
  equal(budget.state().remainingUsd, 0);
  throws(() => budget.reserve(0.000001), BudgetError);
});

Deno.test("onWarn fires once when spend crosses warnAt, and not again after a reload", async () => {
  using kv = await openStore(":memory:");
  const seen: BudgetState[] = [];
  const budget = await load(kv, LIMITS, (s) => seen.push(s));
  await budget.reserve(2).commit(); // 2
  await budget.reserve(2).commit(); // 4
  await budget.reserve(2).commit(); // 6
  equal(seen.length, 0);
  await budget.reserve(2).commit(); // 8 = 0.8 × 10
  await budget.reserve(1).commit(); // 9
  equal(seen.length, 1);
  equal(seen[0]!.spentUsd, 8);
  ok(seen[0]!.warned);
  const reloaded = await load(kv, LIMITS, (s) => seen.push(s));
  await reloaded.reserve(0.5).commit();
  equal(seen.length, 1);
  ok(reloaded.state().warned);
});

Deno.test("spend survives closing and reopening the store", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/state.kv`;
  {
    using kv = await openStore(path);
    const budget = await load(kv);
    await budget.reserve(1.25).commit();
    const pending = budget.reserve(2);
    await budget.reserve(0.75).commit();
    await pending.refund();
  }
  {
    using kv = await openStore(path);
    const budget = await load(kv);
    equal(budget.state().spentUsd, 2);
    equal(budget.state().reservedUsd, 0);
    const other = await SessionBudget.load(kv, "session-2", LIMITS);
    equal(other.state().spentUsd, 0);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("load() refuses bad limits, bad session ids and malformed records", async () => {
  using kv = await openStore(":memory:");
  await rejects(load(kv, { ...LIMITS, sessionUsd: -1 }), RangeError);
  await rejects(load(kv, { ...LIMITS, perActionUsd: Number.NaN }), RangeError);
  await rejects(load(kv, { ...LIMITS, warnAt: 1.5 }), RangeError);
  await rejects(load(kv, { ...LIMITS, warnAt: Number.NaN }), RangeError);
  await rejects(SessionBudget.load(kv, "", LIMITS), TypeError);
  await rejects(SessionBudget.load(kv, "x".repeat(300), LIMITS), TypeError);
  for (
    const record of [
      { spentMicros: -5, warned: false },
      { spentMicros: 1.5, warned: false },
      "9",
      null,
      {
        spentMicros: 1,
      },
    ]
  ) {
    await kv.set(["budget", "session-1"], record);
    await rejects(load(kv), TypeError, JSON.stringify(record));
  }
});

Deno.test("flush() coalesces writes and the last state wins", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv);
  const reservations = Array.from({ length: 20 }, () => budget.reserve(0.5));
  await Promise.all(reservations.map((r) => r.commit()));
  await budget.flush();
  const saved = (await kv.get<{ spentMicros: number; warned: boolean }>(["budget", "session-1"]))
    .value;
  deepEqual({ spentMicros: saved?.spentMicros, warned: saved?.warned }, {
    spentMicros: 10_000_000,
    warned: true,
  });
});
