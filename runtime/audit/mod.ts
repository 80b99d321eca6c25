/**
 * The audit log: append-only, hash-chained entries (BLAKE3 over ACE-1) with signed
 * checkpoints and a signed head, group commit over Deno KV, a witness file outside the store
 * that makes truncation and rollback detectable (witness.ts, after c2sp.org/tlog-checkpoint and
 * c2sp.org/tlog-witness), verification that names the first bad position, and a JSONL export
 * that can be verified offline.
 *
 * @example Append, export and verify offline
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { openStore } from "../storage/mod.ts";
 * import { AuditLog, verifyExport, writeExport } from "./mod.ts";
 * using store = await openStore(":memory:");
 * const signer = signerFromSeed(generateSeed());
 * const log = await AuditLog.open(store, signer);
 * await log.append({
 *   sessionId: "s1",
 *   action: { kind: "execute_command", resource: "exec://git status", summary: "git status" },
 *   decision: "allowed",
 *   proof: "rule:exec://git status",
 * });
 * await log.close();
 * let text = "";
 * await writeExport(store, signer.publicKey, (line) => void (text += line + "\n"));
 * deepEqual(verifyExport(text, signer.publicKey).ok, true);
 * ```
 *
 * @module
 */
export { AuditLog } from "./log.ts";
export type {
  AuditAction,
  AuditDecision,
  AuditEntry,
  AuditInput,
  AuditListOptions,
  AuditLogOptions,
  AuditStats,
} from "./types.ts";
export {
  type Checkpoint,
  checkpointBytes,
  type CheckpointProblem,
  signCheckpoint,
  verifyCheckpoint,
} from "./checkpoint.ts";
export {
  AuditIntegrityError,
  problemLabel,
  verifyChain,
  type VerifyReport,
  type WitnessSummary,
} from "./verify.ts";
export { verifyStore, type VerifyStoreOptions } from "./verify_store.ts";
export {
  appendWitness,
  type ParsedWitness,
  parseWitness,
  signWitnessLine,
  verifyWitnessLine,
  type WitnessLine,
  witnessLineBytes,
} from "./witness.ts";
export {
  AuditJournal,
  INTERRUPTED_OUTCOME,
  type JournalRecovery,
  recoverJournals,
} from "./journal.ts";
export { EXPORT_FORMAT, parseExport, verifyExport, writeExport } from "./export.ts";
