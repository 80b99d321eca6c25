/**
 * The interceptor's seams and answers: what it consults, what a call passes in, and what it
 * decides (the interceptor itself is interceptor.ts).
 *
 * @module
 */
import type { AdminPolicy } from "./policy.ts";
import type { WorkspaceBoundary } from "./workspace.ts";
import type { TokenStore } from "./token_store.ts";
import type { SessionBudget } from "./budget.ts";
import type {
  AllowanceStore,
  ApprovalAnswer,
  ApprovalBroker,
  DeferredQueue,
  Execution,
  Provenance,
} from "./approval.ts";
import type { Signer } from "../crypto/mod.ts";
import type { AuditBatch } from "./audit_batch.ts";
import type { AuditEntry, AuditInput, AuditJournal } from "../audit/mod.ts";
import type { Action } from "./action.ts";

/** The part of the audit log the interceptor writes to. `AuditLog` implements it. */
export interface AuditSink {
  append(input: AuditInput): Promise<AuditEntry>;
  /** The log's write-ahead journal, which batches of effectful actions need. */
  readonly journal?: AuditJournal | null;
}

/** Everything the interceptor consults, passed in explicitly. */
export interface InterceptorDeps {
  readonly policy: AdminPolicy;
  /** `[permissions] allow` and `ask` globs (deny lives in the policy). */
  readonly rules: { readonly allow: readonly string[]; readonly ask: readonly string[] };
  readonly boundary: WorkspaceBoundary;
  readonly tokens: TokenStore;
  readonly allowances: AllowanceStore;
  readonly budget: SessionBudget;
  readonly approvals: ApprovalBroker;
  readonly deferred: DeferredQueue;
  readonly audit: AuditSink;
  /** Signs Allow Always tokens. */
  readonly signer: Signer;
  /** Subject of persistent tokens: the workspace id. */
  readonly workspaceId: string;
  readonly sessionId: string;
  /** TTL of Allow Always tokens (default 1 h). */
  readonly alwaysTtlMs?: number;
}

/** Per-call context. */
export interface InterceptContext {
  readonly tool?: string | undefined;
  readonly capsule?: string | undefined;
  readonly provenance?: Provenance | undefined;
  /** Expected cost, reserved against the session budget. */
  readonly costUsd?: number | undefined;
  /** Size of the call's arguments, for the policy's maximum. */
  readonly argumentBytes?: number | undefined;
  /** How to run the action later if it has to be deferred. */
  readonly execution?: Execution | undefined;
  /** The human's answer given up front (`--approve`, or a queued approval being carried out). */
  readonly answer?: ApprovalAnswer | undefined;
  readonly signal?: AbortSignal | undefined;
  /**
   * Queue the audit entry of an action covered without a human (rule, token, allowance or
   * mode) in this batch instead of awaiting a durable append; `auditSeq` is then null. Only for
   * actions whose effects stay inside the sandbox until the batch is flushed, or, with
   * `writeAhead`, whose effects stay on this machine.
   */
  readonly auditBatch?: AuditBatch | undefined;
  /**
   * The action changes something outside the batch's reach (a file in the workspace): it is only
   * batched when its entry is written ahead to the journal first; otherwise it is appended
   * durably before it runs.
   */
  readonly writeAhead?: boolean | undefined;
  /**
   * Set by `SecurityInterceptor.screenCall`: the call's `before_tool_call` hooks already
   * ran (a human must still be asked when one required approval; their runs are audited).
   */
  readonly screened?: ScreenRecord | undefined;
}

/** One `before_tool_call` handler run, as audited (`detail.hooks` of the call's entries). */
export interface HookRun {
  readonly capsule: string;
  readonly hook: string;
  /** `pass`, `block`, `rewrite`, `approve` or `failed`. */
  readonly decision: HookVerdict["kind"];
  readonly ms: number;
}

/** What `before_tool_call` hooks decided about one call (the first block or failure wins). */
export type HookVerdict =
  | { readonly kind: "pass"; readonly runs: readonly HookRun[] }
  | {
    readonly kind: "block" | "failed";
    readonly capsule: string;
    readonly reason: string;
    readonly runs: readonly HookRun[];
  }
  | {
    readonly kind: "rewrite";
    readonly capsule: string;
    readonly params: Record<string, unknown>;
    readonly runs: readonly HookRun[];
  }
  | {
    readonly kind: "approve";
    readonly capsule: string;
    readonly title: string;
    readonly description: string;
    readonly runs: readonly HookRun[];
  };

/** The call as `before_tool_call` handlers see it. */
export interface ToolCallEvent {
  readonly toolName: string;
  readonly params: unknown;
  readonly toolCallId?: string | undefined;
  readonly sessionId: string;
}

/**
 * The `before_tool_call` seam (runtime/capsule/hooks.ts implements it over capsules). It must
 * not throw: a handler that fails is a `failed` verdict, which denies the call.
 */
export interface ToolCallHooks {
  beforeToolCall(call: ToolCallEvent, signal?: AbortSignal): Promise<HookVerdict>;
}

/** What screening left for the rest of the chain. */
export interface ScreenRecord {
  readonly runs: readonly HookRun[];
  /** A hook asked for a human: step 4 asks even when something else covers the action. */
  readonly approval?: { readonly capsule: string; readonly reason: string } | undefined;
}

/** One tool call to screen: its arguments, and how to turn arguments into its actions. */
export interface CallToScreen {
  readonly tool: string;
  readonly args: unknown;
  readonly toolCallId?: string | undefined;
  /** Classifies `args` into the call's actions; throws for arguments that cannot be classified. */
  build(args: unknown): Action[] | Promise<Action[]>;
}

/** A call that passed policy and its hooks: run `actions` (built from `args`) through `intercept`. */
export interface Screened {
  readonly outcome: "screened";
  readonly args: unknown;
  readonly actions: readonly Action[];
  readonly screen: ScreenRecord;
}

/** Why an action was denied. */
export type DenyCode =
  | "POLICY"
  | "ESCAPE_DENIED"
  | "BUDGET_EXCEEDED"
  | "HUMAN_DENIED"
  | "AUDIT_FAILED"
  | "MALFORMED"
  /** A capsule's `before_tool_call` hook blocked the call. */
  | "HOOK_BLOCKED"
  /** A `before_tool_call` hook threw, trapped, timed out, replied malformed or kept rewriting. */
  | "HOOK_FAILED";

/** An allowed action: run it, then call `complete` with the outcome. */
export interface Allowed {
  readonly outcome: "allowed";
  readonly proof: string;
  /** The entry's seq; null when the entry waits in an {@link AuditBatch}. */
  readonly auditSeq: number | null;
  /** Commits the budget reservation (or refunds it on failure) and audits the outcome. */
  complete(result: { ok: boolean; costUsd?: number; detail?: unknown }): Promise<void>;
}
/** A denied action. */
export interface Denied {
  readonly outcome: "denied";
  readonly code: DenyCode;
  readonly reason: string;
  readonly auditSeq: number | null;
}
/** A deferred action, waiting in the approval queue. */
export interface Deferred {
  readonly outcome: "deferred";
  readonly id: string;
  readonly reason: string;
  readonly auditSeq: number | null;
}
/** The interceptor's answer. */
export type Decision = Allowed | Denied | Deferred;
