/**
 * Deciding a deferred action: what `astrid approvals approve/deny` and the daemon's
 * `approvals.respond` both do. Approving records the decision (atomically: two concurrent
 * decisions on one id cannot both win), then carries the action out through its registered
 * executor, passing the interceptor again with the human's answer (policy may have changed since
 * it was queued). Denying records the decision and audits it (`HUMAN_DENIED`).
 *
 * Failures a caller handles are {@link DeferredDecideError}s with a `code`; the CLI maps them to
 * exit codes, the daemon to RPC errors. The security gate is loaded only when an action is
 * approved, so listing the queue stays light.
 *
 * @module
 */
import type { AstridConfig } from "../config/mod.ts";
import type { Signer } from "../crypto/mod.ts";
import type { AuditLog } from "../audit/mod.ts";
import type { Store } from "../storage/mod.ts";
import type { Walls } from "../security/walls.ts";
import type {
  ApprovalChoice,
  DeferredQueue,
  DeferredRecord,
  Executor,
} from "../security/approval.ts";

/** What deciding needs of an opened runtime (the CLI's `Runtime` and the daemon's have it). */
export interface DecideRuntime {
  readonly store: Store;
  readonly key: Signer;
  readonly audit: Pick<AuditLog, "append">;
  readonly config: AstridConfig;
  readonly walls: Walls;
  /** The runtime's workspace, used when a record names none. */
  readonly workspaceRoot: string | null;
  /** The stable id of the workspace at `root` (`.astrid/workspace.json`). */
  workspaceId(root: string): Promise<string>;
}

/** Why a decision could not be made. */
export type DeferredDecideCode =
  | "NOT_FOUND"
  | "AMBIGUOUS"
  | "NOT_PENDING"
  | "NO_WORKSPACE"
  | "NO_EXECUTOR";

/**
 * Raised when a deferred action cannot be decided: unknown id (`NOT_FOUND`), a prefix of several
 * ids (`AMBIGUOUS`), already decided (`NOT_PENDING`), or it cannot be carried out
 * (`NO_WORKSPACE`, `NO_EXECUTOR`; the record is then marked failed).
 *
 * @example Match on the code
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { DeferredDecideError } from "./deferred_decide.ts";
 * equal(new DeferredDecideError("NOT_FOUND", "Cannot decide").code, "NOT_FOUND");
 * ```
 */
export class DeferredDecideError extends Error {
  /** Why. */
  readonly code: DeferredDecideCode;
  /** For `AMBIGUOUS`: the ids the prefix starts. */
  readonly candidates: readonly string[];
  /** Creates the error. */
  constructor(code: DeferredDecideCode, message: string, candidates: readonly string[] = []) {
    super(message);
    this.name = "DeferredDecideError";
    this.code = code;
    this.candidates = candidates;
  }
}

/** What approving did: executed, approved (nothing to execute), denied on re-check, failed. */
export interface ApproveOutcome {
  readonly id: string;
  readonly status: "executed" | "approved" | "denied" | "failed";
  readonly message: string;
  readonly result?: unknown;
}

/** What denying did. */
export interface DenyOutcome {
  readonly id: string;
  readonly status: "denied";
  readonly message: string;
  readonly record: DeferredRecord;
}

/**
 * The full id of the deferred action `given` names: the id itself, or the one id it is a prefix
 * of. Throws `NOT_FOUND` or `AMBIGUOUS` (with the candidates).
 *
 * @example A unique prefix resolves
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { DeferredQueue } from "../security/approval.ts";
 * import { resolveDeferredId } from "./deferred_decide.ts";
 * using store = await openStore(":memory:");
 * const queue = new DeferredQueue(store);
 * await queue.add({
 *   id: "abc-123", createdAt: 1, sessionId: "s", workspaceRoot: null,
 *   action: { kind: "file_read", path: "/w/a" } as never,
 *   info: { resource: "file:///w/a", permission: "read", risk: "low", summary: "read /w/a" } as never,
 *   reason: "why", provenance: null, execution: null, costUsd: 0, status: "pending",
 *   decision: null, result: null,
 * });
 * equal(await resolveDeferredId(queue, "abc"), "abc-123");
 * ```
 */
export async function resolveDeferredId(queue: DeferredQueue, given: string): Promise<string> {
  if (given !== "" && await queue.get(given)) return given;
  const found = given === ""
    ? []
    : (await queue.list()).map((r) => r.id).filter((id) => id.startsWith(given));
  if (found.length === 1) return found[0]!;
  if (found.length === 0) {
    throw new DeferredDecideError("NOT_FOUND", `Cannot find deferred action ${given}`);
  }
  throw new DeferredDecideError(
    "AMBIGUOUS",
    `Cannot pick a deferred action: ${given} is ambiguous; it starts ${found.length} ids`,
    found,
  );
}

async function decideOrThrow(
  queue: DeferredQueue,
  id: string,
  choice: ApprovalChoice,
  reason: string | null,
): Promise<DeferredRecord> {
  try {
    return await queue.decide(id, choice, reason);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "NOT_FOUND" || code === "NOT_PENDING") {
      throw new DeferredDecideError(code, (err as Error).message);
    }
    throw err;
  }
}

/**
 * Approves deferred action `id` with `scope`, then carries it out through the interceptor and
 * its executor (from `executors`, by the name the record stores). The decision and the result
 * are stored in the queue before this returns.
 */
export async function approveDeferred(
  rt: DecideRuntime,
  queue: DeferredQueue,
  executors: ReadonlyMap<string, Executor>,
  id: string,
  scope: Exclude<ApprovalChoice, "deny">,
): Promise<ApproveOutcome> {
  const record = await decideOrThrow(queue, id, scope, null);
  const root = record.workspaceRoot ?? rt.workspaceRoot;
  if (!root) {
    await queue.finish(id, "failed", { error: "no workspace" });
    throw new DeferredDecideError("NO_WORKSPACE", `Cannot approve ${id}: it names no workspace`);
  }
  // A computed specifier keeps the gate out of the module graph of `approvals list`.
  const { openGate } =
    await (import(new URL("../security/gate.ts", import.meta.url).href) as Promise<
      typeof import("../security/gate.ts")
    >);
  const gate = await openGate({
    store: rt.store,
    signer: rt.key,
    audit: rt.audit,
    config: rt.config,
    workspaceRoot: root,
    workspaceId: await rt.workspaceId(root),
    sessionId: record.sessionId,
    frontend: null,
    walls: rt.walls,
  });
  const answer = { choice: scope, reason: `approved from the queue (${id})` };
  if (!record.execution) {
    const decision = await gate.interceptor.intercept(record.action, {
      answer,
      costUsd: record.costUsd,
      provenance: record.provenance ?? undefined,
    });
    if (decision.outcome === "allowed") await decision.complete({ ok: true });
    const status = decision.outcome === "allowed" ? "approved" : "denied";
    await queue.finish(id, status === "approved" ? "executed" : "failed", decision);
    return {
      id,
      status,
      message: status === "approved"
        ? `approved ${id}: ${record.info.summary} (nothing to execute)`
        : `Cannot carry out ${id}: ${(decision as { reason: string }).reason}`,
    };
  }
  const executor = executors.get(record.execution.executor);
  if (!executor) {
    await queue.finish(id, "failed", { error: `no executor ${record.execution.executor}` });
    throw new DeferredDecideError(
      "NO_EXECUTOR",
      `Cannot execute ${id}: no executor named "${record.execution.executor}" is registered`,
    );
  }
  try {
    const result = await executor(record.execution.payload, {
      sessionId: record.sessionId,
      workspaceRoot: root,
      interceptor: gate.interceptor,
      answer,
      config: rt.config,
    });
    await queue.finish(id, "executed", result);
    return {
      id,
      status: "executed",
      message: `approved and executed ${id}: ${record.info.summary}`,
      result,
    };
  } catch (err) {
    const message = (err as Error).message;
    await queue.finish(id, "failed", { error: message });
    const denied = (err as { code?: string }).code === "DENIED";
    return {
      id,
      status: denied ? "denied" : "failed",
      message: `Cannot execute ${id}: ${message}`,
    };
  }
}

/** Denies deferred action `id` and audits the human's refusal (`HUMAN_DENIED`). */
export async function denyDeferred(
  rt: Pick<DecideRuntime, "audit">,
  queue: DeferredQueue,
  id: string,
  reason: string | null,
): Promise<DenyOutcome> {
  const record = await decideOrThrow(queue, id, "deny", reason);
  await rt.audit.append({
    sessionId: record.sessionId,
    action: {
      kind: record.action.kind,
      resource: record.info.resource,
      permission: record.info.permission,
      risk: record.info.risk,
      summary: record.info.summary,
    },
    decision: "denied",
    proof: `human:deferred:${id}`,
    outcome: { code: "HUMAN_DENIED", reason: reason ?? "denied by the user" },
  });
  return { id, status: "denied", message: `denied ${id}: ${record.info.summary}`, record };
}
