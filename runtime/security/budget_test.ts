import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import { openStore, type Store } from "../storage/mod.ts";
import { BudgetError, type BudgetLimits, type BudgetState, SessionBudget } from "./budget.ts";
import { currentOwner } from "./_budget_owner.ts";

const LIMITS: BudgetLimits = { sessionUsd: 10, perActionUsd: 2, warnAt: 0.8 };
const KEY = ["budget", "session-1"];
const CONFIG = fromFileUrl(new URL("../../deno.json", import.meta.url));
const WORKER = fromFileUrl(new URL("../../tests/fixtures/budget_worker.ts", import.meta.url));

async function load(kv: Store, limits = LIMITS, onWarn?: (s: BudgetState) => void) {
  return await SessionBudget.load(kv, "session-1", limits, onWarn ? { onWarn } : {});
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Saved {
  spentMicros: number;
  warned: boolean;
  leases: Record<string, { micros: number; renewedAt: number; owner: { ns: string | null } }>;
}
const saved = async (kv: Store) => (await kv.get<Saved>(KEY)).value!;

function worker(args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", `--config=${CONFIG}`, WORKER, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs `count` workers that start spending together; returns their stdout lines. */
async function together(count: number, args: string[]): Promise<string[]> {
  const children = Array.from({ length: count }, () => worker(args).spawn());
  const go = new Uint8Array([1]);
  for (const child of children) {
    const w = child.stdin.getWriter();
    // A worker that already died shows why below, through its exit code and stderr.
    await w.write(go).catch(() => {});
    await w.close().catch(() => {});
  }
  return await Promise.all(children.map(async (child) => {
    const o = await child.output();
    equal(o.code, 0, new TextDecoder().decode(o.stderr));
    return new TextDecoder().decode(o.stdout).trim();
  }));
}

Deno.test("reserve() holds the amount and commit() charges it", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv);
  const r = await budget.reserve(1.5);
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
  deepEqual((await saved(kv)).leases, {});
});

Deno.test("reserve() rejects with BudgetError over the per-action or session limit", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv);
  await rejects(budget.reserve(2.000001), BudgetError);
  const held = await Promise.all([1, 2, 3, 4, 5].map(() => budget.reserve(2)));
  equal(budget.state().remainingUsd, 0);
  await rejects(budget.reserve(0.000001), { code: "BUDGET_EXCEEDED" });
  equal((await budget.reserve(0)).amountUsd, 0);
  await held[0]!.refund();
  await budget.reserve(2);
});

Deno.test("reserve() rejects with RangeError for negative, NaN, infinite, huge or non-number amounts", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv);
  for (const bad of [-0.01, -1e9, Number.NaN, Infinity, -Infinity, 1e300, 1e9 + 1]) {
    await rejects(budget.reserve(bad), RangeError, String(bad));
  }
  for (const bad of ["1", null, undefined, {}, 1n]) {
    await rejects(budget.reserve(bad as unknown as number), RangeError, String(bad));
  }
  equal(budget.state().reservedUsd, 0);
});

Deno.test("refund() restores the amount; settling is idempotent either way", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv);
  const denied = await budget.reserve(2);
  await denied.refund();
  await denied.refund();
  await denied.commit(); // after refund: no-op
  equal(budget.state().spentUsd, 0);
  equal(budget.state().reservedUsd, 0);
  const done = await budget.reserve(1);
  await Promise.all([done.commit(0.5), done.commit(0.5), done.refund()]);
  equal(budget.state().spentUsd, 0.5);
  equal(budget.state().reservedUsd, 0);
});

Deno.test("commit() with a bad actual amount rejects and leaves the reservation open", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv);
  const r = await budget.reserve(1);
  await rejects(r.commit(-1), RangeError);
  await rejects(r.commit(Number.NaN), RangeError);
  equal(budget.state().reservedUsd, 1);
  await r.refund();
  equal(budget.state().reservedUsd, 0);
});

Deno.test("commit() charges less than reserved when the action cost less", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv);
  await (await budget.reserve(2)).commit(0.25);
  equal(budget.state().spentUsd, 0.25);
  equal(budget.state().remainingUsd, 9.75);
});

Deno.test("commit() above the reservation charges in full and rejects only on overrun", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv, { sessionUsd: 3, perActionUsd: 2, warnAt: 1 });
  // Within the free headroom: charged, no error.
  await (await budget.reserve(1)).commit(1.5);
  equal(budget.state().spentUsd, 1.5);
  // Another reservation holds 1; the excess of this one does not fit: charged, then rejected.
  const other = await budget.reserve(1);
  const r = await budget.reserve(0.5);
  await rejects(r.commit(2), { code: "BUDGET_EXCEEDED" });
  equal(budget.state().spentUsd, 3.5);
  equal(budget.state().remainingUsd, 0);
  await rejects(budget.reserve(0.01), BudgetError);
  // The overrun is persisted, not silently dropped.
  equal((await saved(kv)).spentMicros, 3_500_000);
  await other.refund();
  await rejects(budget.reserve(0.01), BudgetError);
  // Spent is above the limit: even a free action is refused now.
  await rejects(budget.reserve(0), BudgetError);
});

Deno.test("a $0 reservation and its commit cost no KV commit", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv);
  await (await budget.reserve(1)).commit();
  const before = (await kv.get(KEY)).versionstamp;
  for (let i = 0; i < 100; i++) {
    const r = await budget.reserve(0);
    await (i % 2 ? r.commit() : r.refund());
  }
  await budget.flush();
  equal((await kv.get(KEY)).versionstamp, before);
  // A free reservation that turns out to cost something is charged all the same.
  await (await budget.reserve(0)).commit(0.5);
  equal((await saved(kv)).spentMicros, 1_500_000);
});

Deno.test("1,000 concurrent reservations with random delays never overspend", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv, { sessionUsd: 100, perActionUsd: 1, warnAt: 0.5 });
  let chargedMicros = 0;
  const outcomes = await Promise.all(Array.from({ length: 1000 }, async (_, i) => {
    await sleep(Math.random() * 5);
    const amount = Math.round(Math.random() * 1_000_000) / 1_000_000; // ≤ $1
    let r;
    try {
      r = await budget.reserve(amount);
    } catch (err) {
      ok(err instanceof BudgetError);
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
  ok(outcomes.filter((o) => o === "committed").length > 0);
  const record = await saved(kv);
  equal(record.spentMicros, chargedMicros);
  deepEqual(record.leases, {});
});

Deno.test("concurrent reservations racing for the last dollars: exactly the limit is granted", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv, { sessionUsd: 1, perActionUsd: 1, warnAt: 1 });
  const results = await Promise.allSettled(
    Array.from({ length: 1000 }, async () => {
      await sleep(Math.random() * 3);
      const r = await budget.reserve(0.01);
      await sleep(Math.random() * 3);
      await r.commit();
    }),
  );
  equal(results.filter((r) => r.status === "fulfilled").length, 100);
  equal(budget.state().spentUsd, 1);
});

Deno.test("two instances on one store share the limit and never lose a charge", async () => {
  using kv = await openStore(":memory:");
  const limits = { sessionUsd: 1, perActionUsd: 1, warnAt: 1 };
  const a = await load(kv, limits);
  const b = await load(kv, limits);
  const held = await a.reserve(0.7);
  await rejects(b.reserve(0.4), BudgetError);
  const results = await Promise.allSettled(
    Array.from({ length: 200 }, async (_, i) => {
      await sleep(Math.random() * 3);
      const r = await (i % 2 ? a : b).reserve(0.01);
      await sleep(Math.random() * 3);
      await r.commit();
    }),
  );
  equal(results.filter((r) => r.status === "fulfilled").length, 30);
  await held.commit(0.7);
  equal((await b.refresh()).spentUsd, 1);
  equal((await saved(kv)).spentMicros, 1_000_000);
});

Deno.test("micro-dollar accounting does not drift over many small charges", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv, { sessionUsd: 1, perActionUsd: 1, warnAt: 1 });
  for (let i = 0; i < 10; i++) await (await budget.reserve(0.1)).commit();
  equal(budget.state().spentUsd, 1);
  equal(budget.state().remainingUsd, 0);
  await rejects(budget.reserve(0.000001), BudgetError);
});

Deno.test("onWarn fires once when spend crosses warnAt, and not again after a reload", async () => {
  using kv = await openStore(":memory:");
  const seen: BudgetState[] = [];
  const budget = await load(kv, LIMITS, (s) => seen.push(s));
  for (let i = 0; i < 3; i++) await (await budget.reserve(2)).commit(); // 6
  equal(seen.length, 0);
  await (await budget.reserve(2)).commit(); // 8 = 0.8 × 10
  await (await budget.reserve(1)).commit(); // 9
  equal(seen.length, 1);
  equal(seen[0]!.spentUsd, 8);
  ok(seen[0]!.warned);
  const reloaded = await load(kv, LIMITS, (s) => seen.push(s));
  await (await reloaded.reserve(0.5)).commit();
  equal(seen.length, 1);
  ok(reloaded.state().warned);
});

Deno.test("a throwing onWarn neither loses the charge nor lets it be charged twice", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv, { sessionUsd: 1, perActionUsd: 1, warnAt: 0.5 }, () => {
    throw new Error("listener failed");
  });
  const r = await budget.reserve(0.6);
  await r.commit();
  await r.commit();
  equal((await saved(kv)).spentMicros, 600_000);
  ok((await saved(kv)).warned);
});

Deno.test("spend survives closing and reopening the store", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/state.kv`;
  {
    using kv = await openStore(path);
    const budget = await load(kv);
    await (await budget.reserve(1.25)).commit();
    const pending = await budget.reserve(2);
    await (await budget.reserve(0.75)).commit();
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
  await rejects(SessionBudget.load(kv, "s", LIMITS, { leaseTtlMs: 10 }), RangeError);
  await rejects(SessionBudget.load(kv, "", LIMITS), TypeError);
  await rejects(SessionBudget.load(kv, "x".repeat(300), LIMITS), TypeError);
  const owner = currentOwner();
  const id = crypto.randomUUID();
  const lease = { micros: 5, owner, renewedAt: 1 };
  for (
    const record of [
      { spentMicros: -5, warned: false },
      { spentMicros: 1.5, warned: false },
      "9",
      null,
      { spentMicros: 1 },
      { spentMicros: 1, warned: false, extra: 1 },
      { spentMicros: 1, warned: false, leases: [] },
      { spentMicros: 1, warned: false, leases: { "not-a-uuid": lease } },
      { spentMicros: 1, warned: false, leases: { [id]: { ...lease, micros: 0 } } },
      { spentMicros: 1, warned: false, leases: { [id]: { ...lease, micros: -1 } } },
      { spentMicros: 1, warned: false, leases: { [id]: { ...lease, micros: 1e16 } } },
      { spentMicros: 1, warned: false, leases: { [id]: { ...lease, owner: { pid: 1 } } } },
      {
        spentMicros: 1,
        warned: false,
        leases: { [id]: { ...lease, owner: { ...owner, pid: 0 } } },
      },
      { spentMicros: 1, warned: false, leases: { [id]: { ...lease, renewedAt: "now" } } },
      { spentMicros: 1, warned: false, leases: { [id]: { ...lease, more: 1 } } },
      { spentMicros: 1, warned: false, leases: { [id]: { ...lease, owed: 0 } } },
      { spentMicros: 1, warned: false, leases: { [id]: { ...lease, owed: 6 } } },
      { spentMicros: 1, warned: false, leases: { [id]: { ...lease, owed: -1 } } },
      { spentMicros: 1, warned: false, leases: { [id]: { ...lease, owed: "1" } } },
      { spentMicros: 1, warned: false, leases: { [id]: { ...lease, owed: 1, more: 1 } } },
    ]
  ) {
    await kv.set(KEY, record);
    await rejects(load(kv), TypeError, JSON.stringify(record));
  }
  // A record written before leases existed is read as having none.
  await kv.set(KEY, { spentMicros: 2_000_000, warned: false, updatedAt: 5 });
  deepEqual((await load(kv)).state().spentUsd, 2);
});

Deno.test("a record made malformed under a running budget fails closed", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv);
  const r = await budget.reserve(1);
  await kv.set(KEY, { spentMicros: "0", warned: false });
  await rejects(budget.reserve(1), TypeError);
  await rejects(r.commit(), TypeError);
  await rejects(budget.refresh(), TypeError);
});

Deno.test("a commit the store failed to write stays open and can be retried", async () => {
  using kv = await openStore(":memory:");
  let failNext = false;
  const flaky: Store = {
    get: (key) => kv.get(key),
    getMany: (keys) => kv.getMany(keys),
    set: (key, value) => kv.set(key, value),
    delete: (key) => kv.delete(key),
    list: (selector, options) => kv.list(selector, options),
    atomic: () => {
      const op = kv.atomic();
      const commit = op.commit.bind(op);
      op.commit = () => {
        if (!failNext) return commit();
        failNext = false;
        return Promise.reject(new Error("disk full"));
      };
      return op;
    },
    close: () => kv.close(),
    [Symbol.dispose]: () => {},
  };
  const budget = await SessionBudget.load(flaky, "session-1", LIMITS);
  const r = await budget.reserve(1);
  failNext = true;
  await rejects(r.commit(0.5), /disk full/);
  equal((await saved(kv)).spentMicros, 0);
  await r.commit(0.5);
  equal((await saved(kv)).spentMicros, 500_000);
  deepEqual((await saved(kv)).leases, {});
});

const HAS_PROCFS = currentOwner().ns !== null;

Deno.test({
  name: "planted leases: dead and reused pids and expired foreign leases are swept; live ones stay",
  ignore: !HAS_PROCFS,
  fn: async () => {
    using kv = await openStore(":memory:");
    const self = currentOwner();
    const now = Date.now();
    const ids = Array.from({ length: 6 }, () => crypto.randomUUID());
    const foreign = "00000000-0000-0000-0000-000000000000/pid:[1]";
    const leases = {
      [ids[0]!]: { micros: 100_000, owner: { ...self, pid: 2 ** 30 }, renewedAt: now }, // gone
      [ids[1]!]: { micros: 200_000, owner: { ...self, start: "1" }, renewedAt: now }, // pid reused
      [ids[2]!]: { micros: 400_000, owner: { ...self, ns: foreign }, renewedAt: now - 3_600_000 },
      [ids[3]!]: { micros: 800_000, owner: { ns: null, pid: 7, start: null }, renewedAt: 0 },
      [ids[4]!]: { micros: 1_000_000, owner: { ...self, ns: foreign }, renewedAt: now }, // fresh
      [ids[5]!]: { micros: 2_000_000, owner: self, renewedAt: 0 }, // this process: alive
    };
    await kv.set(KEY, { spentMicros: 0, warned: false, leases });
    const budget = await load(kv, { sessionUsd: 5, perActionUsd: 5, warnAt: 1 });
    deepEqual(Object.keys((await saved(kv)).leases).sort(), [ids[4]!, ids[5]!].sort());
    equal(budget.state().reservedUsd, 3);
    // The live leases keep holding their money.
    await budget.reserve(2);
    await rejects(budget.reserve(0.01), { code: "BUDGET_EXCEEDED" });
  },
});

Deno.test({
  name: "a lease planted after load is swept when a reservation does not fit",
  ignore: !HAS_PROCFS,
  fn: async () => {
    using kv = await openStore(":memory:");
    const budget = await load(kv, { sessionUsd: 1, perActionUsd: 1, warnAt: 1 });
    await (await budget.reserve(0.25)).commit();
    const record = await saved(kv);
    const dead = { micros: 750_000, owner: { ...currentOwner(), pid: 2 ** 30 }, renewedAt: 0 };
    await kv.set(KEY, { ...record, leases: { [crypto.randomUUID()]: dead } });
    await (await budget.reserve(0.75)).commit();
    deepEqual(await saved(kv).then((r) => [r.spentMicros, r.leases]), [1_000_000, {}]);
  },
});

Deno.test("a held lease is renewed while it holds money, and no longer once settled", async () => {
  using kv = await openStore(":memory:");
  const budget = await SessionBudget.load(kv, "session-1", LIMITS, { leaseTtlMs: 1000 });
  const r = await budget.reserve(1);
  const first = Object.values((await saved(kv)).leases)[0]!.renewedAt;
  let renewed = first;
  while (renewed === first) {
    await sleep(50);
    renewed = Object.values((await saved(kv)).leases)[0]!.renewedAt;
  }
  ok(renewed > first);
  await r.commit();
  const stamp = (await kv.get(KEY)).versionstamp;
  await sleep(450); // two renewal periods: nothing is written for an empty lease
  equal((await kv.get(KEY)).versionstamp, stamp);
});

Deno.test("two processes each spending $0.66 of $1 at once: exactly one is granted and its charge kept", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/state.kv`;
  try {
    const lines = await together(2, ["once", path, "s-race", "1", "0.66"]);
    deepEqual(lines.sort(), ["ok", "refused"]);
    using kv = await openStore(path);
    const record = (await kv.get<Saved>(["budget", "s-race"])).value!;
    deepEqual([record.spentMicros, record.leases], [660_000, {}]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("4 processes × 150 concurrent cycles on one KV file: never over the limit, no lost charge", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/state.kv`;
  try {
    let committedMicros = 0;
    let refused = 0;
    for (const line of await together(4, ["cycles", path, "s-many", "25", "150"])) {
      const got = JSON.parse(line);
      committedMicros += got.committedMicros;
      refused += got.refused;
    }
    ok(refused > 0, "the limit was reached under contention");
    using kv = await openStore(path);
    const record = (await kv.get<Saved>(["budget", "s-many"])).value!;
    equal(record.spentMicros, committedMicros);
    ok(record.spentMicros <= 25_000_000, `spent ${record.spentMicros}`);
    deepEqual(record.leases, {});
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "a process killed while holding a reservation does not block the session",
  ignore: !HAS_PROCFS,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/state.kv`;
    const child = worker(["hold", path, "s-dead", "1", "0.9"]).spawn();
    try {
      const reader = child.stdout.getReader();
      const { value } = await reader.read();
      equal(new TextDecoder().decode(value).trim(), "held");
      reader.releaseLock();
      using kv = await openStore(path);
      const limits = { sessionUsd: 1, perActionUsd: 1, warnAt: 1 };
      const budget = await SessionBudget.load(kv, "s-dead", limits);
      equal(budget.state().reservedUsd, 0.9);
      // Alive: its lease holds.
      await rejects(budget.reserve(0.5), { code: "BUDGET_EXCEEDED" });
      child.kill("SIGKILL");
      equal((await child.status).signal, "SIGKILL");
      // Dead: swept by the reservation that needs the money.
      await (await budget.reserve(0.5)).commit();
      const record = (await kv.get<Saved>(["budget", "s-dead"])).value!;
      deepEqual([record.spentMicros, record.leases], [500_000, {}]);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      await child.stdout.cancel().catch(() => {});
      await child.stderr.cancel();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("without procfs (narrowed permissions) a killed holder's lease expires after its ttl", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/state.kv`;
  const ttl = 3000;
  // Deno reads /proc only under --allow-all: this worker cannot see pids, nor be seen by them.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      `--allow-read=${dir},${WORKER}`,
      `--allow-write=${dir}`,
      "--unstable-kv",
      `--config=${CONFIG}`,
      WORKER,
      ...["hold", path, "s-ttl", "1", "0.9", String(ttl)],
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    equal(new TextDecoder().decode(value).trim(), "held");
    reader.releaseLock();
    using kv = await openStore(path);
    const lease = Object.values((await kv.get<Saved>(["budget", "s-ttl"])).value!.leases)[0]!;
    equal(lease.owner.ns, null);
    const limits = { sessionUsd: 1, perActionUsd: 1, warnAt: 1 };
    const budget = await SessionBudget.load(kv, "s-ttl", limits, { leaseTtlMs: ttl });
    await rejects(budget.reserve(0.5), { code: "BUDGET_EXCEEDED" });
    child.kill("SIGKILL");
    await child.status;
    // Nobody renews it now: once the ttl has passed, the next reservation that needs it sweeps it.
    const renewed = Object.values((await kv.get<Saved>(["budget", "s-ttl"])).value!.leases)[0]!;
    await sleep(Math.max(0, renewed.renewedAt + ttl + 100 - Date.now()));
    await (await budget.reserve(0.5)).commit();
    const record = (await kv.get<Saved>(["budget", "s-ttl"])).value!;
    deepEqual([record.spentMicros, record.leases], [500_000, {}]);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await child.stderr.cancel();
    await Deno.remove(dir, { recursive: true });
  }
});

/** A rider on `kv` that sets `["ride", name]` and records whether it was committed. */
function ride(kv: Store, name: string | number, mutations = 1, bytes = 100) {
  const rider = {
    store: kv,
    done: 0,
    mutations,
    bytes,
    apply: (op: Deno.AtomicOperation) => void op.set(["ride", name], "written"),
    committed: () => void rider.done++,
  };
  return rider;
}
const written = async (kv: Store, name: string | number) =>
  (await kv.get(["ride", name])).versionstamp !== null;

/** A store that counts atomic commits. */
function countCommits(kv: Store): { store: Store; commits: () => number } {
  let commits = 0;
  const store: Store = {
    get: (key) => kv.get(key),
    getMany: (keys) => kv.getMany(keys),
    set: (key, value) => kv.set(key, value),
    delete: (key) => kv.delete(key),
    list: (selector, options) => kv.list(selector, options),
    atomic: () => {
      const op = kv.atomic();
      const commit = op.commit.bind(op);
      op.commit = () => {
        commits++;
        return commit();
      };
      return op;
    },
    close: () => kv.close(),
    [Symbol.dispose]: () => {},
  };
  return { store, commits: () => commits };
}

Deno.test("reserve() and commit() with a rider write it in the budget's own commit", async () => {
  using kv = await openStore(":memory:");
  const { store, commits } = countCommits(kv);
  const budget = await SessionBudget.load(store, "session-1", LIMITS);
  const first = ride(store, "reserve");
  const r = await budget.reserve(1, first);
  equal(commits(), 1);
  equal(first.done, 1);
  ok(await written(kv, "reserve"));
  equal((await saved(kv)).leases[Object.keys((await saved(kv)).leases)[0]!]?.micros, 1_000_000);
  const second = ride(store, "settle");
  await r.commit(0.25, second);
  equal(commits(), 2);
  equal(second.done, 1);
  ok(await written(kv, "settle"));
  deepEqual([(await saved(kv)).spentMicros, (await saved(kv)).leases], [250_000, {}]);
});

Deno.test("a refused reserve() still writes its rider, then rejects with BudgetError", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv, { sessionUsd: 1, perActionUsd: 1, warnAt: 1 });
  await (await budget.reserve(0.9)).commit();
  const full = ride(kv, "full");
  await rejects(budget.reserve(0.5, full), { code: "BUDGET_EXCEEDED" });
  equal(full.done, 1);
  ok(await written(kv, "full"));
  const perAction = ride(kv, "per-action");
  await rejects(budget.reserve(5, perAction), { code: "BUDGET_EXCEEDED" });
  ok(await written(kv, "per-action"));
  equal((await saved(kv)).spentMicros, 900_000);
});

Deno.test("a rider on a $0 reservation or on a second settlement is written alone", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv);
  const free = await budget.reserve(0, ride(kv, "free-reserve"));
  ok(await written(kv, "free-reserve"));
  await free.refund(ride(kv, "free-refund"));
  ok(await written(kv, "free-refund"));
  const r = await budget.reserve(1);
  await r.commit(1);
  await r.commit(1, ride(kv, "again"));
  await r.refund(ride(kv, "refund-after"));
  ok(await written(kv, "again"));
  ok(await written(kv, "refund-after"));
  equal((await saved(kv)).spentMicros, 1_000_000);
});

Deno.test("a rider larger than one commit is refused with RangeError; nothing is written", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv);
  await rejects(budget.reserve(1, ride(kv, "huge", 901)), RangeError);
  await rejects(budget.reserve(1, ride(kv, "heavy", 1, 600_000)), RangeError);
  ok(!(await written(kv, "huge")));
  equal(budget.state().reservedUsd, 0);
});

Deno.test("a failed commit writes neither the charge nor its rider; a retry writes both", async () => {
  using kv = await openStore(":memory:");
  let failNext = false;
  const flaky: Store = {
    ...countCommits(kv).store,
    atomic: () => {
      const op = kv.atomic();
      const commit = op.commit.bind(op);
      op.commit = () => {
        if (!failNext) return commit();
        failNext = false;
        return Promise.reject(new Error("disk full"));
      };
      return op;
    },
  };
  const budget = await SessionBudget.load(flaky, "session-1", LIMITS);
  const r = await budget.reserve(1);
  failNext = true;
  const rider = ride(flaky, "settle");
  await rejects(r.commit(0.5, rider), /disk full/);
  equal(rider.done, 0);
  ok(!(await written(kv, "settle")));
  equal((await saved(kv)).spentMicros, 0);
  await r.commit(0.5, rider);
  equal(rider.done, 1);
  ok(await written(kv, "settle"));
  equal((await saved(kv)).spentMicros, 500_000);
});

Deno.test("two instances on one KV file racing with riders never overspend; every rider lands", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astrid-budget-ride-" });
  try {
    using kv = await openStore(`${dir}/state.kv`);
    using other = await openStore(`${dir}/state.kv`);
    const limits = { sessionUsd: 1, perActionUsd: 1, warnAt: 1 };
    const a = await SessionBudget.load(kv, "session-1", limits);
    const b = await SessionBudget.load(other, "session-1", limits);
    const results = await Promise.allSettled(
      Array.from({ length: 80 }, async (_, i) => {
        await sleep(Math.random() * 3);
        const r = await (i % 2 ? a : b).reserve(0.05, ride(i % 2 ? kv : other, `r${i}`));
        await sleep(Math.random() * 3);
        await r.commit(undefined, ride(i % 2 ? kv : other, `c${i}`));
      }),
    );
    equal(results.filter((r) => r.status === "fulfilled").length, 20);
    for (const r of results) {
      if (r.status === "rejected") equal((r.reason as BudgetError).code, "BUDGET_EXCEEDED");
    }
    equal((await saved(kv)).spentMicros, 1_000_000);
    deepEqual((await saved(kv)).leases, {});
    for (let i = 0; i < 80; i++) ok(await written(kv, `r${i}`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a rider of another store is not carried: it stays unwritten for its owner", async () => {
  using kv = await openStore(":memory:");
  using elsewhere = await openStore(":memory:");
  const budget = await load(kv);
  const rider = ride(elsewhere, "foreign");
  await (await budget.reserve(1, rider)).commit();
  equal(rider.done, 0);
  ok(!(await written(kv, "foreign")));
  ok(!(await written(elsewhere, "foreign")));
  equal((await saved(kv)).spentMicros, 1_000_000);
});

Deno.test("reserve() with chargeIfAbandoned settles like any other while its holder lives", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv);
  const plain = await budget.reserve(1);
  const owed = await budget.reserve(1, undefined, { chargeIfAbandoned: true });
  deepEqual([plain.chargedIfAbandoned, owed.chargedIfAbandoned], [false, true]);
  const lease = Object.values((await saved(kv)).leases)[0] as Record<string, unknown>;
  deepEqual([lease.micros, lease.owed], [2_000_000, 1_000_000]);
  await owed.commit(0.25);
  const after = Object.values((await saved(kv)).leases)[0] as Record<string, unknown>;
  // Settled: the owed part is gone from the lease (and so from the stored record).
  deepEqual([after.micros, "owed" in after], [1_000_000, false]);
  await plain.refund();
  deepEqual([(await saved(kv)).spentMicros, (await saved(kv)).leases], [250_000, {}]);
  // A refund of an owed reservation charges nothing.
  await (await budget.reserve(1, undefined, { chargeIfAbandoned: true })).refund();
  equal(budget.state().spentUsd, 0.25);
});

Deno.test("an owed reservation whose lease was swept while its holder lived is not charged twice", async () => {
  using kv = await openStore(":memory:");
  const budget = await load(kv);
  const a = await budget.reserve(1, undefined, { chargeIfAbandoned: true });
  const b = await budget.reserve(1, undefined, { chargeIfAbandoned: true });
  // What a sweeper that took this holder for dead writes: the owed part charged, the lease gone.
  const record = await saved(kv);
  await kv.set(KEY, { spentMicros: 2_000_000, warned: false, leases: {}, updatedAt: Date.now() });
  equal(record.spentMicros, 0);
  await budget.refresh();
  await a.commit(0.5); // within the reservation: already charged in full
  await b.commit(1.5); // above it: only the excess
  equal((await saved(kv)).spentMicros, 2_500_000);
});

/** A child that reserves $0.3 charged if abandoned and $0.2 plain, says "held", and parks. */
const ABANDONING = `
import { openStore } from ${JSON.stringify(import.meta.resolve("../storage/mod.ts"))};
import { SessionBudget } from ${JSON.stringify(import.meta.resolve("./budget.ts"))};
const store = await openStore(Deno.args[0]);
const budget = await SessionBudget.load(store, "s-owed", { sessionUsd: 1, perActionUsd: 1, warnAt: 1 });
await budget.reserve(0.3, undefined, { chargeIfAbandoned: true });
await budget.reserve(0.2);
console.log("held");
setInterval(() => {}, 1000);
`;

Deno.test({
  name:
    "a process killed holding reservations: those made chargeIfAbandoned are charged, the rest released",
  ignore: !HAS_PROCFS,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/state.kv`;
    await Deno.writeTextFile(`${dir}/child.ts`, ABANDONING);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-kv", `--config=${CONFIG}`, `${dir}/child.ts`, path],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    try {
      const reader = child.stdout.getReader();
      const { value } = await reader.read();
      equal(new TextDecoder().decode(value).trim(), "held");
      reader.releaseLock();
      using kv = await openStore(path);
      const limits = { sessionUsd: 1, perActionUsd: 1, warnAt: 1 };
      // Alive: both are held, nothing is spent.
      const live = (await SessionBudget.load(kv, "s-owed", limits)).state();
      deepEqual([live.spentUsd, live.reservedUsd], [0, 0.5]);
      child.kill("SIGKILL");
      equal((await child.status).signal, "SIGKILL");
      // Dead: load() sweeps its lease, charging the owed $0.3 and releasing the $0.2.
      const budget = await SessionBudget.load(kv, "s-owed", limits);
      deepEqual([budget.state().spentUsd, budget.state().reservedUsd], [0.3, 0]);
      await rejects(budget.reserve(0.8), { code: "BUDGET_EXCEEDED" });
      await (await budget.reserve(0.7)).commit();
      const record = (await kv.get<Saved>(["budget", "s-owed"])).value!;
      deepEqual([record.spentMicros, record.leases], [1_000_000, {}]);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      await child.stdout.cancel().catch(() => {});
      await child.stderr.cancel();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
