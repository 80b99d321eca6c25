/**
 * The security core. Every tool call becomes one or more {@link Action}s, and each passes one
 * {@link SecurityInterceptor}: admin policy → capability (rule, token, allowance, mode) →
 * budget → human approval → audit. {@link openGate} assembles it for a session.
 *
 * @example Deny a blocked command
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { AdminPolicy, DEFAULT_POLICY } from "./mod.ts";
 * const policy = new AdminPolicy(DEFAULT_POLICY);
 * equal(policy.check({ kind: "execute_command", argv: ["sudo", "id"] }).ok, false);
 * ```
 *
 * @module
 */
export * from "./action.ts";
export {
  compileResourcePattern,
  execResource,
  fileResource,
  matchResource,
  netResource,
  type ResourcePattern,
  urlResource,
} from "./resource.ts";
export {
  AdminPolicy,
  DEFAULT_POLICY,
  type PolicyConfig,
  type PolicyContext,
  type PolicyVerdict,
} from "./policy.ts";
export {
  type CommandDetail,
  CommandLineParser,
  MAX_COMMAND_LINE_BYTES,
  MAX_NESTING,
  parseArgv,
  parseCommandLine,
  type ParsedCommandLine,
  type StdinKind,
  type WordKind,
} from "./shell.ts";
export { opaqueReason, opaqueReasons } from "./opaque.ts";
export {
  type BoundaryDecision,
  canonicalizePath,
  type EscapePolicy,
  openConfined,
  PathError,
  WorkspaceBoundary,
  type WorkspaceMode,
} from "./workspace.ts";
export * from "./tokens.ts";
export { type RejectedToken, TokenStore } from "./token_store.ts";
export {
  BudgetError,
  type BudgetLimits,
  type BudgetOptions,
  type BudgetState,
  MAX_USD,
  type Reservation,
  SessionBudget,
} from "./budget.ts";
export * from "./approval.ts";
export {
  type Allowance,
  ALLOWANCE_DOMAIN,
  type AllowanceCheck,
  type AllowanceCode,
  AllowanceStore,
  type RejectedAllowance,
  verifyAllowance,
} from "./allowances.ts";
export {
  type Allowed,
  type AuditSink,
  type Decision,
  type Deferred,
  type Denied,
  type DenyCode,
  type InterceptContext,
  type InterceptorDeps,
  SecurityInterceptor,
} from "./interceptor.ts";
export { type Gate, type GateOptions, openGate } from "./gate.ts";
export { AuditBatch, AuditFlushError, type QueuedEntry } from "./audit_batch.ts";
export { NETWORK_COMMANDS } from "./network.ts";
