/**
 * Session budget on the hot path. Every non-zero reservation and every settlement is a Deno KV
 * atomic commit checked on the record's versionstamp (safe across processes); a $0
 * reservation (file and kv actions) is decided in memory and costs no commit.
 *
 * Run: `deno bench -A bench/budget_bench.ts`
 *
 * @module
 */
import { join } from "node:path";
import { openStore } from "../runtime/storage/mod.ts";
import { SessionBudget } from "../runtime/security/budget.ts";

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
