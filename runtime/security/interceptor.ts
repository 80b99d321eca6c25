/**
 * The SecurityInterceptor: every Action passes policy → token → budget → approval → audit,
 * in that order, in {@link SecurityInterceptor.intercept}. It returns allowed (with proof),
 * denied (with a code and a sentence) or deferred (with the queue id). If the audit write
 * fails, the action is denied: the runtime fails closed.
 *
 * @module
 */
import { type Action, type ActionInfo, aliasResources, describeAction } from "./action.ts";
import { DEFAULT_TOKEN_TTL_MS, mintToken } from "./tokens.ts";
import { BudgetError, type Reservation } from "./budget.ts";
import type { ApprovalRequest } from "./approval.ts";
import { coverAction, suggestFor } from "./coverage.ts";
import { AuditBatch, type QueuedEntry } from "./audit_batch.ts";
import type { AuditAction, AuditEntry, AuditInput } from "../audit/mod.ts";
import type {
  Allowed,
  CallToScreen,
  Decision,
  Denied,
  DenyCode,
  InterceptContext,
  InterceptorDeps,
  Screened,
  ToolCallHooks,
} from "./interceptor_types.ts";
import { screenCall } from "./_screen.ts";

export type {
  Allowed,
  AuditSink,
  CallToScreen,
  Decision,
  Deferred,
  Denied,
  DenyCode,
  HookRun,
  HookVerdict,
  InterceptContext,
  InterceptorDeps,
  Screened,
  ScreenRecord,
  ToolCallEvent,
  ToolCallHooks,
} from "./interceptor_types.ts";

export { MAX_HOOK_REWRITES } from "./_screen.ts";

/**
 * The one gate every action passes. Build it with `openGate()` (gate.ts), which reads the
 * configuration; construct it directly to pass each part explicitly.
 *
 * @example A blocked command never reaches the human
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { AuditLog } from "../audit/mod.ts";
 * import { DEFAULT_CONFIG } from "../config/mod.ts";
 * import { openGate } from "./gate.ts";
 * import { PresetFrontend } from "./approval.ts";
 * using store = await openStore(":memory:");
 * const signer = signerFromSeed(generateSeed());
 * const audit = await AuditLog.open(store, signer);
 * const { interceptor } = await openGate({
 *   store, signer, audit, config: DEFAULT_CONFIG, workspaceRoot: await Deno.makeTempDir(),
 *   workspaceId: "ws", sessionId: "s1", frontend: new PresetFrontend({ choice: "always" }),
 * });
 * const d = await interceptor.intercept({ kind: "execute_command", argv: ["sudo", "id"] });
 * equal(d.outcome, "denied");
 * await audit.close();
 * ```
 */
export class SecurityInterceptor {
  #d: InterceptorDeps;
  #hooks: ToolCallHooks | null = null;
  #defaults: InterceptContext = {};
  /** Creates the interceptor over its dependencies. */
  constructor(deps: InterceptorDeps) {
    this.#d = deps;
  }

  /**
   * Registers the `before_tool_call` hooks every tool call passes after the admin policy
   * (null removes them). Only tool calls are screened, never a capsule's own host calls.
   */
  useHooks(hooks: ToolCallHooks | null): void {
    this.#hooks = hooks;
  }

  /** The registered hooks, or null. */
  get hooks(): ToolCallHooks | null {
    return this.#hooks;
  }

  /**
   * The same interceptor with `extra` merged into every call's context (for code that builds
   * its own context, such as MCP calls after {@link SecurityInterceptor.screenCall}).
   */
  scoped(extra: InterceptContext): SecurityInterceptor {
    const s = new SecurityInterceptor(this.#d);
    s.#hooks = this.#hooks;
    s.#defaults = { ...this.#defaults, ...extra };
    return s;
  }

  /**
   * Screens one tool call before its actions are intercepted (policy and boundary, then the
   * `before_tool_call` hooks): see runtime/security/_screen.ts. Pass `screened.screen` as
   * `ctx.screened` to {@link SecurityInterceptor.intercept}.
   */
  screenCall(call: CallToScreen, ctx: InterceptContext = {}): Promise<Screened | Denied> {
    return screenCall(call, { ...this.#defaults, ...ctx, tool: ctx.tool ?? call.tool }, {
      hooks: this.#hooks,
      sessionId: this.#d.sessionId,
      walls: (action, c) => this.#walls(action, c),
      deny: (action, code, reason, c) =>
        this.#deny(action, describeAction(action), code, reason, c),
      refuse: (tool, reason, c, code) => this.refuseCall(tool, reason, c, code),
    });
  }

  /** Step 1: the admin policy and the workspace boundary. Null when the action passes. */
  async #walls(action: Action, ctx: InterceptContext): Promise<Denied | null> {
    let info: ActionInfo;
    try {
      info = describeAction(action);
    } catch (err) {
      return await this.#deny(action, safeInfo(action), "MALFORMED", (err as Error).message, ctx);
    }
    const verdict = this.#d.policy.check(action, {
      tool: ctx.tool,
      capsule: ctx.capsule,
      argumentBytes: ctx.argumentBytes,
    });
    if (!verdict.ok) {
      return await this.#deny(
        action,
        info,
        "POLICY",
        verdict.reason,
        ctx,
        `policy:${verdict.rule}`,
      );
    }
    const boundary = this.#d.boundary.classify(action);
    if (boundary.escape && this.#d.boundary.escapePolicy === "deny") {
      const reason = `${boundary.reason}; escape_policy is "deny"`;
      return await this.#deny(action, info, "ESCAPE_DENIED", reason, ctx);
    }
    return null;
  }

  /**
   * Decides one action: policy → hooks → token → budget → approval → audit.
   */
  async intercept(action: Action, ctx: InterceptContext = {}): Promise<Decision> {
    ctx = { ...this.#defaults, ...ctx };
    let info: ActionInfo;
    try {
      info = describeAction(action);
    } catch (err) {
      return this.#deny(action, safeInfo(action), "MALFORMED", (err as Error).message, ctx);
    }

    // 1. Admin policy (and [permissions] deny): hard walls, nothing overrides them.
    const walled = await this.#walls(action, ctx);
    if (walled) return walled;
    const boundary = this.#d.boundary.classify(action);

    // 1b. Hooks: an MCP or capsule tool call nobody screened is screened here (it cannot be
    // rewritten: the caller would still run the old arguments).
    if (!ctx.screened && this.#hooks && isToolEntry(action)) {
      const screened = await this.screenCall({
        tool: ctx.tool ?? action.kind,
        args: action.args,
        build: (args) => {
          if (args !== action.args) {
            throw new TypeError("Cannot rewrite the arguments of this call: it was not screened");
          }
          return [action];
        },
      }, ctx);
      if (screened.outcome === "denied") return screened;
      ctx = { ...ctx, screened: screened.screen };
    }
    const hookAsk = ctx.screened?.approval;

    // 2. Capability: a standing rule, a signed token, a session allowance, or the mode.
    const resources = [info.resource, ...aliasResources(action)];
    const cover = await coverAction(
      {
        rules: this.#d.rules,
        tokens: this.#d.tokens,
        allowances: this.#d.allowances,
        mode: this.#d.boundary.mode,
        workspaceRoot: this.#d.boundary.root,
        subjects: [this.#d.sessionId, this.#d.workspaceId],
      },
      action,
      info,
      resources,
      boundary,
      ctx.provenance,
    );

    // 3. Budget: reserve now, refund on anything but success.
    let reservation: Reservation;
    try {
      reservation = await this.#d.budget.reserve(ctx.costUsd ?? 0);
    } catch (err) {
      if (err instanceof BudgetError || err instanceof RangeError) {
        return this.#deny(action, info, "BUDGET_EXCEEDED", err.message, ctx);
      }
      // A budget that cannot be read or written (a corrupt record, a failing store) fails closed.
      const why = `Cannot check the budget: ${(err as Error).message}`;
      return this.#deny(action, info, "BUDGET_EXCEEDED", why, ctx);
    }

    // 4. Approval: only when nothing above already covers the action.
    // A hook's approval request asks the human even when something above covers the action.
    let proof = hookAsk ? undefined : cover.proof;
    let mint: { tokenId: string; pattern: string } | null = null;
    if (proof === undefined) {
      const request: ApprovalRequest = {
        id: crypto.randomUUID(),
        sessionId: this.#d.sessionId,
        action,
        info,
        reason: hookAsk
          ? `capsule ${hookAsk.capsule} asks: ${hookAsk.reason}`
          : cover.needsAsk ?? "approval required",
        provenance: ctx.provenance,
        suggestions: suggestFor(info.resource, boundary, this.#d.boundary.root),
        alwaysTtlMs: this.#d.alwaysTtlMs ?? DEFAULT_TOKEN_TTL_MS,
      };
      const result = ctx.answer
        ? { kind: "answer" as const, answer: ctx.answer }
        : await this.#d.approvals.ask(request, ctx.signal);
      if (result.kind === "unanswered") {
        await reservation.refund();
        return await this.#defer(request, ctx, result.why);
      }
      const { choice, pattern: picked, reason } = result.answer;
      const pattern = picked && request.suggestions.includes(picked) ? picked : info.resource;
      if (choice === "deny") {
        await reservation.refund();
        return this.#deny(action, info, "HUMAN_DENIED", reason ?? "denied by the user", ctx);
      }
      if (choice === "session") {
        const allowance = await this.#d.allowances.add(pattern, info.permission);
        proof = `approval:session allowance:${allowance.id}`;
      } else if (choice === "always") {
        mint = { tokenId: crypto.randomUUID(), pattern };
        proof = `approval:always token:${mint.tokenId}`;
      } else {
        proof = "approval:once";
      }
    }

    // 5. Audit: no entry, no action. Covered actions may queue in the caller's batch (flushed
    // before anything leaves the sandbox); one with a lasting effect is written ahead first.
    const batch = ctx.auditBatch;
    if (
      cover.proof !== undefined && !hookAsk && batch?.accepts(this.#d.audit) &&
      (!ctx.writeAhead || batch.canWriteAhead)
    ) {
      let queued: QueuedEntry;
      try {
        queued = batch.queue(
          this.#auditInput(info, action, "allowed", proof, ctx),
          ctx.writeAhead === true,
        );
      } catch (err) {
        await reservation.refund();
        const why = `the audit journal write failed (${(err as Error).message})`;
        return await this.#deny(
          action,
          info,
          "AUDIT_FAILED",
          `Cannot allow ${info.summary}: ${why}`,
          ctx,
        );
      }
      return this.#allowedQueued(proof, queued, reservation, batch);
    }
    let entry: AuditEntry;
    try {
      // Entries queued before this action go on the record first, keeping the chain in order
      // (a batch whose flush already failed is bypassed; the call's result is withheld anyway).
      if (batch?.accepts(this.#d.audit) && batch.pending > 0) await batch.flush();
      entry = await this.#d.audit.append(this.#auditInput(info, action, "allowed", proof, ctx));
    } catch (err) {
      await reservation.refund();
      return {
        outcome: "denied",
        code: "AUDIT_FAILED",
        reason: `Cannot allow ${info.summary}: the audit write failed (${(err as Error).message})`,
        auditSeq: null,
      };
    }
    if (mint) await this.#mintAlways(mint, info, entry.seq);
    return this.#allowed(info, action, proof, entry.seq, reservation, ctx);
  }

  /**
   * Opens an {@link AuditBatch} over this interceptor's audit log (see `InterceptContext.auditBatch`).
   *
   * @example An empty batch flushes at once
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { SecurityInterceptor } from "./interceptor.ts";
   * import type { InterceptorDeps } from "./interceptor.ts";
   * const i = new SecurityInterceptor({ audit: { append: () => Promise.reject(new Error("x")) } } as unknown as InterceptorDeps);
   * const batch = i.openBatch();
   * await batch.flush();
   * equal(batch.pending, 0);
   * ```
   */
  openBatch(): AuditBatch {
    return new AuditBatch(this.#d.audit, this.#d.audit.journal ?? null);
  }

  /**
   * Denies and audits a call that could not even be turned into actions (for example a path
   * with a NUL byte): it never reaches a tool, and the attempt is on the record.
   */
  async refuseCall(
    tool: string,
    reason: string,
    ctx: InterceptContext = {},
    code: DenyCode = "MALFORMED",
  ): Promise<Denied> {
    const info: ActionInfo = {
      resource: `tool://${tool}`,
      permission: "invoke",
      risk: "high",
      summary: `Unclassifiable call to ${tool}`,
    };
    const pseudo = { kind: "unclassified" } as unknown as Action;
    return await this.#deny(pseudo, info, code, reason, { ...this.#defaults, ...ctx, tool });
  }

  async #mintAlways(mint: { tokenId: string; pattern: string }, info: ActionInfo, seq: number) {
    const token = mintToken(this.#d.signer, {
      id: mint.tokenId,
      resource: mint.pattern,
      permissions: [info.permission],
      ttlMs: this.#d.alwaysTtlMs ?? 3_600_000,
      scope: "persistent",
      subject: this.#d.workspaceId,
      auditId: seq,
    });
    await this.#d.tokens.add(token);
  }

  #allowed(
    info: ActionInfo,
    action: Action,
    proof: string,
    seq: number,
    reservation: Reservation,
    ctx: InterceptContext,
  ): Allowed {
    let done = false;
    return {
      outcome: "allowed",
      proof,
      auditSeq: seq,
      complete: async (result) => {
        if (done) return;
        done = true;
        if (result.ok) await reservation.commit(result.costUsd);
        else await reservation.refund();
        await this.#d.audit.append({
          ...this.#auditInput(info, action, "outcome", `seq:${seq}`, ctx),
          outcome: { ok: result.ok, detail: result.detail ?? null },
        });
      },
    };
  }

  #allowedQueued(
    proof: string,
    queued: QueuedEntry,
    reservation: Reservation,
    batch: AuditBatch,
  ): Allowed {
    let done = false;
    return {
      outcome: "allowed",
      proof,
      auditSeq: null,
      complete: async (result) => {
        if (done) return;
        done = true;
        if (result.ok) await reservation.commit(result.costUsd);
        else await reservation.refund();
        const outcome = { ok: result.ok, detail: result.detail ?? null };
        if (queued.state === "queued") {
          batch.setOutcome(queued, outcome);
          return;
        }
        // Already flushed (or being flushed): the outcome gets its own entry, as unbatched.
        await batch.settled();
        await this.#d.audit.append({
          ...queued.input,
          decision: "outcome",
          proof: `seq:${queued.seq ?? "unwritten"}`,
          outcome,
          ts: Date.now(),
        });
      },
    };
  }

  async #defer(request: ApprovalRequest, ctx: InterceptContext, why: string): Promise<Decision> {
    const reason = `${request.reason}; deferred because ${why}`;
    try {
      await this.#d.deferred.add({
        id: request.id,
        createdAt: Date.now(),
        sessionId: this.#d.sessionId,
        workspaceRoot: this.#d.boundary.root,
        action: request.action,
        info: request.info,
        reason,
        provenance: ctx.provenance ?? null,
        execution: ctx.execution ?? null,
        costUsd: ctx.costUsd ?? 0,
        status: "pending",
        decision: null,
        result: null,
      });
      const flushing = ctx.auditBatch?.flush().catch(() => {});
      const entry = await this.#d.audit.append(
        this.#auditInput(request.info, request.action, "deferred", `deferred:${request.id}`, ctx),
      );
      await flushing;
      return { outcome: "deferred", id: request.id, reason, auditSeq: entry.seq };
    } catch (err) {
      return {
        outcome: "denied",
        code: "AUDIT_FAILED",
        reason: `Cannot defer ${request.info.summary}: ${(err as Error).message}`,
        auditSeq: null,
      };
    }
  }

  async #deny(
    action: Action,
    info: ActionInfo,
    code: DenyCode,
    reason: string,
    ctx: InterceptContext,
    proof: string = code.toLowerCase(),
  ): Promise<Denied> {
    // Queued reads are flushed in the same tick, so they keep their place before the denial.
    const flushing = ctx.auditBatch?.flush().catch(() => {});
    try {
      const entry = await this.#d.audit.append(
        this.#auditInput(info, action, "denied", proof, ctx, { code, reason }),
      );
      await flushing;
      return { outcome: "denied", code, reason, auditSeq: entry.seq };
    } catch {
      await flushing;
      return { outcome: "denied", code, reason, auditSeq: null };
    }
  }

  #auditInput(
    info: ActionInfo,
    action: Action,
    decision: AuditInput["decision"],
    proof: string,
    ctx: InterceptContext,
    outcome: unknown = null,
  ): AuditInput {
    const auditAction: AuditAction = {
      kind: typeof action?.kind === "string" ? action.kind : "unknown",
      resource: info.resource,
      permission: info.permission,
      risk: info.risk,
      summary: info.summary,
      detail: {
        action,
        ...(ctx.tool ? { tool: ctx.tool } : {}),
        ...(ctx.capsule ? { capsule: ctx.capsule } : {}),
        ...(ctx.provenance ? { provenance: ctx.provenance } : {}),
        // The call's before_tool_call runs: capsule, decision and latency (ms).
        ...(ctx.screened?.runs.length ? { hooks: ctx.screened.runs } : {}),
      },
    };
    return { sessionId: this.#d.sessionId, action: auditAction, decision, proof, outcome };
  }
}

/** The action a tool of an MCP server or a capsule is called by (not a capsule's host call). */
function isToolEntry(
  action: Action,
): action is Extract<Action, { kind: "mcp_tool_call" | "capsule_tool_call" }> {
  return action.kind === "mcp_tool_call" || action.kind === "capsule_tool_call";
}

function safeInfo(action: Action): ActionInfo {
  const kind = typeof action === "object" && action && "kind" in action
    ? String(action.kind)
    : "unknown";
  return {
    resource: `invalid://${kind}`,
    permission: "invoke",
    risk: "critical",
    summary: `malformed ${kind} action`,
  };
}
