/**
 * Audit log throughput. Targets (ARCHITECTURE.md / audit brief): a durable append alone
 * ≤ 1 ms median; ≥ 20,000 entries/s under concurrent load (group commit); full verify
 * ≥ 50,000 entries/s. Deno KV fsyncs every commit, so these run against a real KV file.
 *
 * Every commit also signs the chain head (one Ed25519 signature per group commit, not per
 * entry), and with a witness every checkpoint is appended and fsync'd to the witness file.
 *
 * Run: `deno bench -A bench/audit_bench.ts`. Entries/s = batch size / reported time per iteration.
 */
import { type AuditInput, AuditLog, verifyChain, verifyStore } from "../runtime/audit/mod.ts";
import { signHead } from "../runtime/audit/_head.ts";
import { generateSeed, signerFromSeed } from "../runtime/crypto/mod.ts";
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

const single = await openStore(`${dir}/single.kv`);
const singleLog = await AuditLog.open(single, signer, { checkpointSeconds: 0 });
let n = 0;
Deno.bench("append: one durable append at a time (target ≤ 1 ms)", async () => {
  await singleLog.append(input(n++));
});

let seq = 1;
Deno.bench("head: sign the head record (once per group commit)", () => {
  signHead(signer, "ab".repeat(32), seq++, "cd".repeat(32), 0);
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
Deno.bench(`append: ${BURST} concurrent appends, group commit (target ≥ 20k/s)`, async () => {
  const all = [];
  for (let i = 0; i < BURST; i++) all.push(burstLog.append(input(i)));
  await Promise.all(all);
});

// A 20,000-entry chain to verify.
const VERIFY = 20_000;
const big = await openStore(`${dir}/verify.kv`);
const bigLog = await AuditLog.open(big, signer, { checkpointSeconds: 0 });
for (let i = 0; i < VERIFY; i += 2000) {
  await Promise.all(Array.from({ length: 2000 }, (_, j) => bigLog.append(input(i + j))));
}
await bigLog.close();
const entries = await bigLog.list();
const checkpoints = await bigLog.checkpoints();

Deno.bench(`verifyChain: ${VERIFY} entries in memory (target ≥ 50k/s)`, () => {
  const report = verifyChain(entries, checkpoints, signer.publicKey);
  if (!report.ok) throw new Error("Cannot bench: the chain does not verify");
});

Deno.bench(`verifyStore: ${VERIFY} entries read from KV and verified`, async () => {
  const report = await verifyStore(big, signer.publicKey);
  if (!report.ok) throw new Error("Cannot bench: the store does not verify");
});

globalThis.addEventListener("unload", () => {
  single.close();
  witnessed.close();
  burst.close();
  big.close();
  Deno.removeSync(dir, { recursive: true });
});
