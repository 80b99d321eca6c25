/**
 * Builds the published audit-chain vector `testdata/audit_chain_v1.jsonl` deterministically:
 * a fixed Ed25519 seed (bytes 0..31), a fixed clock, `checkpointEvery: 4`, two sessions. Ed25519
 * (RFC 8032) and BLAKE3 are deterministic, so the output is byte-identical on every run.
 * `export_test.ts` checks the stored file against it. Not re-exported.
 *
 * @module
 */
import { signerFromSeed } from "../crypto/mod.ts";
import { openStore } from "../storage/mod.ts";
import { writeExport } from "./export.ts";
import { AuditLog } from "./log.ts";

/** The fixture's seed: the bytes 0, 1, …, 31. */
export const FIXTURE_SEED: Uint8Array = Uint8Array.from({ length: 32 }, (_, i) => i);

/** Returns the fixture export text. */
export async function buildFixture(): Promise<string> {
  const signer = signerFromSeed(FIXTURE_SEED.slice());
  let clock = 1_767_225_600_000; // 2026-01-01T00:00:00Z
  const now = () => (clock += 1000);
  using store = await openStore(":memory:");
  const log = await AuditLog.open(store, signer, { checkpointEvery: 4, checkpointSeconds: 0, now });
  const steps = [
    ["s-alpha", "file_read", "file:///work/proj/README.md", "allowed", "rule:file:///work/proj/**"],
    ["s-alpha", "execute_command", "exec://git status", "allowed", "token:t-1"],
    ["s-beta", "network_request", "net://api.example.com:443", "denied", "policy:deny-net"],
    ["s-alpha", "file_write", "file:///work/proj/a.ts", "deferred", "deferred:d-1"],
    ["s-beta", "execute_command", "exec://rm -rf /", "denied", "policy:deny"],
  ] as const;
  for (const [sessionId, kind, resource, decision, proof] of steps) {
    await log.append({
      sessionId,
      action: { kind, resource, summary: `${kind} ${resource}`, risk: "medium" },
      decision,
      proof,
    });
  }
  await log.append({
    sessionId: "s-alpha",
    action: { kind: "execute_command", resource: "exec://git status", summary: "git status" },
    decision: "outcome",
    proof: "token:t-1",
    outcome: { exitCode: 0, stdoutBytes: 42, note: "ünïcödé ✓" },
  });
  await log.endSession("s-beta");
  await log.endSession("s-alpha");
  await log.close();
  let text = "";
  await writeExport(store, signer.publicKey, (line) => void (text += line + "\n"));
  return text;
}
