/**
 * Audit log throughput. Targets (issue 15): a durable append alone ≤ 0.5 ms median; ≥ 50,000
 * entries/s under concurrent load (group commit); chain verify ≥ 250,000 entries/s in memory
 * (also reported from KV). These run against a real KV file.
 *
 * With a journal folder (what the CLI uses for a local store) an append is acknowledged once its
 * chained form is written to the shared tail file (runtime/audit/_tail_wal.ts) and committed to
 * KV by a background group commit; without one it waits for its own KV commit. Both are shown,
 * so the ratio between them is measured in one run.
 *
 * Every commit also signs the chain head (one Ed25519 signature per group commit, not per
 * entry), and with a witness every checkpoint is appended and fsync'd to the witness file.
 *
 * Run: `deno bench -A bench/audit_bench.ts`. Entries/s = batch size / reported time per iteration.
 */
import { type AuditInput, AuditLog, verifyChain, verifyStore } from "../runtime/audit/mod.ts";
import { signHead } from "../runtime/audit/_head.ts";
import { generateSeed, loadFastBlake3, signerFromSeed } from "../runtime/crypto/mod.ts";
import { openStore } from "../runtime/storage/mod.ts";

const signer = signerFromSeed(generateSeed());
const dir = await Deno.makeTempDir({ prefix: "astrid-audit-bench-" });

function input(i: number): AuditInput {
  return {
    sessionId: `session-${i % 8}`,
    action: {
      kind: "execute_command",
      resource: `exec://npm run test -- --shard ${i}`,
      permission: "execute",
      risk: "medium",
      summary: `npm run test (shard ${i})`,
    },
    decision: "allowed",
    proof: "rule:exec://npm run test*",
    outcome: { exitCode: 0, durationMs: 1234, stdoutBytes: 5678 },
  };
}

const tailed = await openStore(`${dir}/tailed.kv`);
const tailedLog = await AuditLog.open(tailed, signer, {
  checkpointSeconds: 0,
  journalDir: `${dir}/tailed-journal`,
});
let t = 0;
Deno.bench({
  name: "append: one durable append at a time, journal (target ≤ 0.5 ms)",
  group: "single",
  baseline: true,
  async fn() {
    await tailedLog.append(input(t++));
  },
});

const single = await openStore(`${dir}/single.kv`);
const singleLog = await AuditLog.open(single, signer, { checkpointSeconds: 0 });
let n = 0;
Deno.bench({
  name: "append: one durable append at a time, no journal (its own KV commit)",
  group: "single",
  async fn() {
    await singleLog.append(input(n++));
  },
});

let seq = 1;
Deno.bench("head: sign the head record (once per group commit)", async () => {
  await signHead(signer, "ab".repeat(32), seq++, "cd".repeat(32), 0);
});

const witnessed = await openStore(`${dir}/witnessed.kv`);
const witnessedLog = await AuditLog.open(witnessed, signer, {
  checkpointSeconds: 0,
  checkpointEvery: 16,
  witnessPath: `${dir}/witness/audit-witness.jsonl`,
});
let w = 0;
Deno.bench("append: one at a time, witnessed (a checkpoint + witness fsync every 16)", async () => {
  await witnessedLog.append(input(w++));
});

const burst = await openStore(`${dir}/burst.kv`);
const burstLog = await AuditLog.open(burst, signer, { checkpointSeconds: 0 });
const BURST = 2000;
Deno.bench(`append: ${BURST} concurrent appends, group commit (target ≥ 50k/s)`, async () => {
  const all = [];
  for (let i = 0; i < BURST; i++) all.push(burstLog.append(input(i)));
  await Promise.all(all);
});

const burstTailed = await openStore(`${dir}/burst-tailed.kv`);
const burstTailedLog = await AuditLog.open(burstTailed, signer, {
  checkpointSeconds: 0,
  journalDir: `${dir}/burst-journal`,
});
Deno.bench(`append: ${BURST} concurrent appends, journal, until committed`, async () => {
  const all = [];
  for (let i = 0; i < BURST; i++) all.push(burstTailedLog.append(input(i)));
  await Promise.all(all);
  await burstTailedLog.get(1); // reads wait for the group commits
});

// A 20,000-entry chain to verify. verifyStore (what `audit verify` runs) loads blake3-jit first
// (runtime/crypto/blake3.ts); verifyChain alone is measured with it loaded too.
await loadFastBlake3();
const VERIFY = 20_000;
const big = await openStore(`${dir}/verify.kv`);
const bigLog = await AuditLog.open(big, signer, { checkpointSeconds: 0 });
for (let i = 0; i < VERIFY; i += 2000) {
  await Promise.all(Array.from({ length: 2000 }, (_, j) => bigLog.append(input(i + j))));
}
await bigLog.close();
const entries = await bigLog.list();
const checkpoints = await bigLog.checkpoints();

Deno.bench(`verifyChain: ${VERIFY} entries in memory (target ≥ 250k/s)`, () => {
  const report = verifyChain(entries, checkpoints, signer.publicKey);
  if (!report.ok) throw new Error("Cannot bench: the chain does not verify");
});

Deno.bench(`verifyStore: ${VERIFY} entries read from KV and verified`, async () => {
  const report = await verifyStore(big, signer.publicKey);
  if (!report.ok) throw new Error("Cannot bench: the store does not verify");
});

globalThis.addEventListener("unload", () => {
  tailed.close();
  burstTailed.close();
  single.close();
  witnessed.close();
  burst.close();
  big.close();
  Deno.removeSync(dir, { recursive: true });
});
