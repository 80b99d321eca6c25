/**
 * Session budget on the hot path. Every non-zero reservation and every settlement is a Deno KV
 * atomic commit checked on the record's versionstamp (safe across processes); a $0
 * reservation (file and kv actions) is decided in memory and costs no commit. A `Rider` (here a
 * session save of ~4 messages) rides in the same commit: compare "with a rider" to the same
 * plus a separate save commit.
 *
 * Run: `deno bench -A bench/budget_bench.ts`
 *
 * @module
 */
import { join } from "node:path";
import { openStore } from "../runtime/storage/mod.ts";
import { SessionBudget } from "../runtime/security/budget.ts";
import type { Rider } from "../runtime/storage/store.ts";

const limits = { sessionUsd: 1e9, perActionUsd: 1, warnAt: 1 };
const memory = await openStore(":memory:");
const dir = await Deno.makeTempDir();
const file = await openStore(join(dir, "state.kv"));
const inMemory = await SessionBudget.load(memory, "bench", limits);
const onDisk = await SessionBudget.load(file, "bench", limits);
const peerA = await SessionBudget.load(file, "shared", limits);
const peerB = await SessionBudget.load(file, "shared", limits);

Deno.bench(
  "reserve($0) + commit(), no KV commit",
  { group: "budget", baseline: true },
  async () => {
    await (await onDisk.reserve(0)).commit();
  },
);

Deno.bench("reserve($0.01) + commit(), :memory: KV", { group: "budget" }, async () => {
  await (await inMemory.reserve(0.01)).commit();
});

Deno.bench("reserve($0.01) + commit(), KV file (fsync)", { group: "budget" }, async () => {
  await (await onDisk.reserve(0.01)).commit();
});

Deno.bench("reserve($0.01) + refund(), KV file (fsync)", { group: "budget" }, async () => {
  await (await onDisk.reserve(0.01)).refund();
});

/** About what the agent loop saves per tool round: 4 messages of ~1 KB, a turn, a header. */
function save(n: number): Rider {
  return {
    store: file,
    mutations: 6,
    bytes: 6_000,
    apply(op) {
      for (let i = 0; i < 4; i++) op.set(["bench_save", n, i], "m".repeat(1000));
      op.set(["bench_save", n, "turn"], { n });
      op.set(["bench_save", n, "header"], { n });
    },
    committed() {},
  };
}
let saves = 0;

Deno.bench("reserve($0.01, save) + commit(), one commit, KV file", { group: "rider" }, async () => {
  await (await onDisk.reserve(0.01, save(saves++))).commit();
});

Deno.bench("reserve($0.01) + a separate save + commit(), KV file", {
  group: "rider",
  baseline: true,
}, async () => {
  const pending = save(saves++);
  const op = file.atomic();
  pending.apply(op);
  await op.commit();
  await (await onDisk.reserve(0.01)).commit();
});

Deno.bench("two instances alternating on one record, KV file", { group: "budget" }, async () => {
  await (await peerA.reserve(0.01)).commit();
  await (await peerB.reserve(0.01)).commit();
});

Deno.bench("16 concurrent reserve($0.01) + commit(), batched, KV file", {
  group: "batch",
}, async () => {
  await Promise.all(
    Array.from({ length: 16 }, async () => await (await onDisk.reserve(0.01)).commit()),
  );
});

globalThis.addEventListener("unload", () => {
  memory.close();
  file.close();
  Deno.removeSync(dir, { recursive: true });
});
