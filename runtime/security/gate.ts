/**
 * Assembles a {@link SecurityInterceptor} for one session from configuration and open stores.
 * Frontends (CLI, daemon, tests) call this instead of wiring the parts by hand.
 *
 * @module
 */
import { SecurityInterceptor } from "./interceptor.ts";
import type { AuditSink } from "./interceptor_types.ts";
import { AdminPolicy } from "./policy.ts";
import { WorkspaceBoundary } from "./workspace.ts";
import { TokenStore } from "./token_store.ts";
import { SessionBudget } from "./budget.ts";
import { AllowanceStore, ApprovalBroker, DeferredQueue, type Frontend } from "./approval.ts";
import type { Store } from "../storage/mod.ts";
import type { Signer } from "../crypto/mod.ts";
import { toHex } from "../crypto/mod.ts";
import type { AstridConfig } from "../config/mod.ts";
import { NO_WALLS, type Walls } from "./walls.ts";

/** What {@link openGate} needs. */
export interface GateOptions {
  readonly store: Store;
  readonly signer: Signer;
  readonly audit: AuditSink;
  readonly config: AstridConfig;
  /** Canonical workspace root. */
  readonly workspaceRoot: string;
  /** Stable workspace id (from `.astrid/workspace.json`); subject of persistent tokens. */
  readonly workspaceId: string;
  readonly sessionId: string;
  /** Who answers approval prompts; null defers everything that needs a human. */
  readonly frontend: Frontend | null;
  /** Extra keys whose tokens are trusted besides `signer`'s. */
  readonly trustedIssuers?: readonly string[];
  /** What no agent-side action may touch (`$ASTRID_HOME`, the witness); default none. */
  readonly walls?: Walls;
}

/** The assembled gate and the parts callers inspect (budget, allowances, queue). */
export interface Gate {
  readonly interceptor: SecurityInterceptor;
  readonly policy: AdminPolicy;
  readonly boundary: WorkspaceBoundary;
  readonly tokens: TokenStore;
  readonly budget: SessionBudget;
  readonly allowances: AllowanceStore;
  readonly deferred: DeferredQueue;
}

/**
 * Builds the interceptor and its parts for one session.
 *
 * @example A safe-mode gate with nobody to ask defers a write
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { AuditLog } from "../audit/mod.ts";
 * import { DEFAULT_CONFIG } from "../config/mod.ts";
 * import { openGate } from "./gate.ts";
 * using store = await openStore(":memory:");
 * const signer = signerFromSeed(generateSeed());
 * const audit = await AuditLog.open(store, signer);
 * const root = await Deno.realPath(await Deno.makeTempDir());
 * const gate = await openGate({
 *   store, signer, audit, config: DEFAULT_CONFIG, workspaceRoot: root,
 *   workspaceId: "ws", sessionId: "s1", frontend: null,
 * });
 * const decision = await gate.interceptor.intercept({ kind: "file_write", path: `${root}/a.txt` });
 * equal(decision.outcome, "deferred");
 * await audit.close();
 * ```
 */
export async function openGate(opts: GateOptions): Promise<Gate> {
  const { config } = opts;
  const policy = new AdminPolicy({
    blocked_commands: config.policy.blocked_commands,
    denied_paths: config.policy.denied_paths,
    denied_hosts: config.policy.denied_hosts,
    max_argument_bytes: config.policy.max_argument_bytes,
    blocked_tools: config.policy.blocked_tools,
    blocked_capsules: config.policy.blocked_capsules,
    deny_rules: config.permissions.deny,
    walls: opts.walls ?? NO_WALLS,
    sandboxed: config.tools.sandbox === "bwrap",
  });
  // The four parts read independent state (the root's real path, tokens, the session's budget
  // and allowances): they are read at once. Any failure fails the gate.
  const [boundary, tokens, budget, allowances] = await Promise.all([
    WorkspaceBoundary.create(
      opts.workspaceRoot,
      config.workspace.mode,
      config.workspace.escape_policy,
    ),
    TokenStore.open(opts.store, {
      trustedIssuers: [toHex(opts.signer.publicKey), ...(opts.trustedIssuers ?? [])],
    }),
    SessionBudget.load(opts.store, opts.sessionId, {
      sessionUsd: config.budget.session_usd,
      perActionUsd: config.budget.per_action_usd,
      warnAt: config.budget.warn_at,
    }),
    AllowanceStore.load(opts.store, opts.sessionId, opts.signer),
  ]);
  if (allowances.rejected.length > 0) {
    // Planted, forged or copied allowances grant nothing; say so on the record.
    const n = allowances.rejected.length + allowances.rejectedOverflow;
    await opts.audit.append({
      sessionId: opts.sessionId,
      action: {
        kind: "allowance_rejected",
        resource: `session://${opts.sessionId}`,
        summary: `ignored ${n} session allowance record(s) that failed verification`,
        detail: { rejected: allowances.rejected.slice(0, 20) },
      },
      decision: "event",
      proof: "allowances:verify",
    });
  }
  const deferred = new DeferredQueue(opts.store);
  const interceptor = new SecurityInterceptor({
    policy,
    rules: { allow: config.permissions.allow, ask: config.permissions.ask },
    boundary,
    tokens,
    allowances,
    budget,
    approvals: new ApprovalBroker(opts.frontend, config.approval.timeout_seconds * 1000),
    deferred,
    audit: opts.audit,
    signer: opts.signer,
    workspaceId: opts.workspaceId,
    sessionId: opts.sessionId,
    alwaysTtlMs: config.approval.always_ttl_seconds * 1000,
  });
  return { interceptor, policy, boundary, tokens, budget, allowances, deferred };
}
