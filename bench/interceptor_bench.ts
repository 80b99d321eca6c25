/**
 * Interceptor benchmarks (issue 2 targets):
 * - a token-covered action through policy + token + budget, audit write excluded: ≤ 50 µs median;
 * - the whole intercept including its durable audit append: ≤ 1.5 ms median.
 */
import { join } from "node:path";
import { openStore } from "../runtime/storage/mod.ts";
import { generateSeed, signerFromSeed } from "../runtime/crypto/mod.ts";
import { type AuditEntry, type AuditInput, AuditLog } from "../runtime/audit/mod.ts";
import { DEFAULT_CONFIG } from "../runtime/config/mod.ts";
import { openGate } from "../runtime/security/gate.ts";
import { PresetFrontend } from "../runtime/security/approval.ts";
import type { Action } from "../runtime/security/action.ts";

const ws = await Deno.realPath(await Deno.makeTempDir());
const dir = await Deno.makeTempDir();
const store = await openStore(join(dir, "state.kv"));
const signer = signerFromSeed(generateSeed());
const audit = await AuditLog.open(store, signer, { checkpointSeconds: 3600 });
const action: Action = { kind: "execute_command", argv: ["npm", "run", "test"], cwd: ws };

async function gateWith(sink: { append(i: AuditInput): Promise<AuditEntry> }) {
  return await openGate({
    store,
    signer,
    audit: sink,
    config: structuredClone(DEFAULT_CONFIG),
    workspaceRoot: ws,
    workspaceId: "bench-ws",
    sessionId: "bench",
    frontend: new PresetFrontend({ choice: "always" }),
  });
}

// Mint the token once (Allow Always), through the real audit log.
const durable = await gateWith(audit);
const first = await durable.interceptor.intercept(action);
if (first.outcome !== "allowed") throw new Error(`setup failed: ${first.outcome}`);

// Excludes only the audit write: this sink does no I/O and returns a well-formed entry.
let seq = 0;
const noAuditWrite = await gateWith({
  append: (input) =>
    Promise.resolve({
      v: 1,
      seq: ++seq,
      ts: Date.now(),
      sessionId: input.sessionId,
      action: input.action,
      decision: input.decision,
      proof: input.proof,
      outcome: input.outcome ?? null,
      prevHash: "",
      hash: "",
    }),
});

Deno.bench("intercept: token-covered action, policy + token + budget (no audit write)", {
  group: "intercept",
  baseline: true,
}, async () => {
  const d = await noAuditWrite.interceptor.intercept(action);
  if (d.outcome !== "allowed") throw new Error("not covered");
});

Deno.bench("intercept: token-covered action, with durable audit append", {
  group: "intercept",
}, async () => {
  const d = await durable.interceptor.intercept(action);
  if (d.outcome !== "allowed") throw new Error("not covered");
});

globalThis.addEventListener("unload", () => {
  // Benchmarks end the process; the log's final checkpoint is not needed here.
  store.close();
});
