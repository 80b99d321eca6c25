/**
 * Sub-agents for the `task` tool. A child runs in its own session, linked to its parent's
 * (an audit `event` in each names the other), with:
 * - a budget slice reserved on the parent's budget (default min(remaining, per-task slice)),
 *   charged to the parent with what the child actually spent;
 * - at most what the parent holds: the parent's session tokens attenuated to the child, its
 *   session allowances copied, the same workspace mode and policy. Anything else is DENIED
 *   (never asked: a sub-agent has no human) and the denial is audited in the child's session;
 * - a maximum depth (default 3), concurrency (default 5, shared by the whole tree) and timeout.
 *
 * @module
 */
import type { AuditSink } from "../security/interceptor.ts";
import { type Gate, openGate } from "../security/gate.ts";
import { attenuate } from "../security/tokens.ts";
import type { Reservation } from "../security/budget.ts";
import type { Signer } from "../crypto/mod.ts";
import type { AstridConfig } from "../config/mod.ts";
import type { Store } from "../storage/mod.ts";
import type { LlmProvider } from "../llm/mod.ts";
import { createToolSession } from "../tools/invoke.ts";
import type { Walls } from "../security/walls.ts";
import { type SubAgentRunner, type TaskArgs, ToolError, type ToolResult } from "../tools/types.ts";
import { Agent, type AgentCosts, type AgentEvent } from "./loop.ts";
import { BuiltinToolRegistry, type CallScope } from "./registry.ts";
import type { SessionStore } from "./session.ts";

/** Limits on sub-agents. */
export interface SubAgentLimits {
  /** Children running at once in the whole tree (default 5). */
  readonly maxConcurrency: number;
  /** Deepest child: 1 = children of the top session only (default 3). */
  readonly maxDepth: number;
  /** Wall-clock limit per child, in ms (default 10 minutes). */
  readonly timeoutMs: number;
  /** The largest budget slice one child gets, in USD (default 1). */
  readonly perTaskUsd: number;
}

/**
 * The defaults of {@link SubAgentLimits}.
 *
 * @example The defaults
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { DEFAULT_SUB_AGENT_LIMITS } from "./sub_agent.ts";
 * equal(DEFAULT_SUB_AGENT_LIMITS.maxConcurrency, 5);
 * equal(DEFAULT_SUB_AGENT_LIMITS.maxDepth, 3);
 * ```
 */
export const DEFAULT_SUB_AGENT_LIMITS: SubAgentLimits = Object.freeze({
  maxConcurrency: 5,
  maxDepth: 3,
  timeoutMs: 600_000,
  perTaskUsd: 1,
});

/**
 * Why a sub-agent's uncovered action is refused (shown to its model and in the audit log).
 *
 * @example It says the child is never asked
 * ```ts
 * import { match } from "node:assert/strict";
 * import { NOT_DELEGATED } from "./sub_agent.ts";
 * match(NOT_DELEGATED, /never asked/);
 * ```
 */
export const NOT_DELEGATED =
  "not covered by what the parent session holds (a sub-agent is never asked; it is denied)";

/** What every sub-agent in a tree shares. */
export interface SubAgentContext {
  readonly store: Store;
  readonly signer: Signer;
  readonly audit: AuditSink & { endSession?(sessionId: string): Promise<unknown> };
  readonly config: AstridConfig;
  readonly workspaceRoot: string;
  readonly workspaceId: string;
  /** What no agent-side action may touch (default none). */
  readonly walls?: Walls | undefined;
  readonly provider: LlmProvider;
  readonly costs: AgentCosts;
  readonly sessions: SessionStore;
  readonly system: string;
  readonly limits?: Partial<SubAgentLimits>;
  readonly maxRounds?: number;
  readonly onEvent?: (childId: string, event: AgentEvent) => void;
}

/** The parent a runner spawns children for. */
export interface ParentHandle {
  readonly sessionId: string;
  readonly depth: number;
  readonly gate: Pick<Gate, "budget" | "allowances" | "tokens">;
  /** The provenance and signal of the parent's call in progress. */
  readonly scope: CallScope;
}

/**
 * Spawns sub-agents. One instance per tree; {@link SubAgents.runnerFor} gives the `task` tool
 * its runner for one parent (`openAgent()` wires it).
 *
 * @example Limits default, and can be narrowed
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { SubAgents, type SubAgentContext } from "./sub_agent.ts";
 * const spawner = new SubAgents({ limits: { maxDepth: 1 } } as unknown as SubAgentContext);
 * equal(spawner.limits.maxDepth, 1);
 * equal(spawner.limits.maxConcurrency, 5);
 * ```
 */
export class SubAgents {
  #ctx: SubAgentContext;
  #limits: SubAgentLimits;
  #running = 0;
  #waiting: (() => void)[] = [];

  /** Creates the spawner. */
  constructor(ctx: SubAgentContext) {
    this.#ctx = ctx;
    this.#limits = { ...DEFAULT_SUB_AGENT_LIMITS, ...ctx.limits };
  }

  /** The effective limits. */
  get limits(): SubAgentLimits {
    return this.#limits;
  }

  /** The runner to inject as the parent's `ToolSession.subAgent`. */
  runnerFor(parent: ParentHandle): SubAgentRunner {
    return (args, ctx) => this.#spawn(parent, args, ctx.cwd);
  }

  async #spawn(parent: ParentHandle, args: TaskArgs, cwd: string): Promise<ToolResult> {
    const depth = parent.depth + 1;
    if (depth > this.#limits.maxDepth) {
      throw new ToolError(
        "NOT_CAPABLE",
        `Cannot spawn a sub-agent: depth ${depth} exceeds the maximum of ${this.#limits.maxDepth}`,
      );
    }
    await this.#acquire(parent.scope.signal);
    try {
      return await this.#run(parent, args, cwd, depth);
    } finally {
      this.#release();
    }
  }

  async #run(
    parent: ParentHandle,
    args: TaskArgs,
    cwd: string,
    depth: number,
  ): Promise<ToolResult> {
    const c = this.#ctx;
    const remaining = parent.gate.budget.state().remainingUsd;
    const slice = Math.min(remaining, this.#limits.perTaskUsd, c.config.budget.per_action_usd);
    let hold: Reservation;
    try {
      if (!(slice > 0)) throw new Error(`current remaining budget is $${remaining}`);
      hold = await parent.gate.budget.reserve(slice);
    } catch (err) {
      throw new ToolError("NOT_CAPABLE", `Cannot spawn a sub-agent: ${(err as Error).message}`);
    }
    const childId = crypto.randomUUID();
    let status = "failed";
    let spent = 0;
    try {
      await c.audit.append({
        sessionId: parent.sessionId,
        action: {
          kind: "sub_agent_spawn",
          resource: `session://${childId}`,
          summary: `spawned sub-agent ${childId}: ${args.description}`,
          detail: { child: childId, depth, budgetUsd: slice },
        },
        decision: "event",
        proof: `parent:${parent.sessionId}`,
      });
      const gate = await openGate({
        store: c.store,
        signer: c.signer,
        audit: c.audit,
        config: { ...c.config, budget: { ...c.config.budget, session_usd: slice } },
        workspaceRoot: c.workspaceRoot,
        workspaceId: c.workspaceId,
        sessionId: childId,
        frontend: null,
        ...(c.walls ? { walls: c.walls } : {}),
      });
      const delegated = await delegate(parent, gate, c.signer, childId);
      await c.audit.append({
        sessionId: childId,
        action: {
          kind: "sub_agent_start",
          resource: `session://${parent.sessionId}`,
          summary: `sub-agent of session ${parent.sessionId}: ${args.description}`,
          detail: { parent: parent.sessionId, depth, budgetUsd: slice, ...delegated },
        },
        decision: "event",
        proof: `parent:${parent.sessionId}`,
      });
      const scope: CallScope = { provenance: undefined, signal: undefined };
      const tools = await createToolSession({
        workspaceRoot: gate.boundary.root,
        sessionId: childId,
        cwd,
        sandbox: c.config.tools.sandbox,
        outputLimitChars: c.config.tools.output_limit_chars,
        walls: c.walls,
        subAgent: this.runnerFor({ sessionId: childId, depth, gate, scope }),
      });
      const session = c.sessions.create({
        id: childId,
        parentId: parent.sessionId,
        depth,
        provider: c.provider.name,
        model: c.provider.model,
        workspaceRoot: c.workspaceRoot,
        workspaceId: c.workspaceId,
        cwd,
      });
      const agent = new Agent({
        provider: c.provider,
        costs: c.costs,
        budget: gate.budget,
        session,
        system: c.system,
        tools: new BuiltinToolRegistry(gate.interceptor, tools, {
          answer: { choice: "deny", reason: NOT_DELEGATED },
          scope,
          exclude: depth >= this.#limits.maxDepth ? ["task"] : [],
        }),
        promptProvenance: parent.scope.provenance ?? { trust: "trusted" },
        cwd: () => tools.ctx.cwd,
        ...(c.maxRounds !== undefined ? { maxRounds: c.maxRounds } : {}),
        ...(c.onEvent ? { onEvent: (e: AgentEvent) => c.onEvent!(childId, e) } : {}),
      });
      const timeout = AbortSignal.timeout(this.#limits.timeoutMs);
      const signal = parent.scope.signal
        ? AbortSignal.any([timeout, parent.scope.signal])
        : timeout;
      let text: string;
      try {
        const result = await agent.run(args.prompt, { signal });
        status = timeout.aborted ? "timeout" : result.status;
        text = result.text;
        if (status !== "completed") {
          text = `The sub-agent stopped (${status})${result.error ? `: ${result.error}` : ""}.` +
            (result.text ? `\nIts last text:\n${result.text}` : "");
        }
      } finally {
        tools.files.close();
      }
      session.end();
      await session.save();
      await gate.budget.flush();
      spent = gate.budget.state().spentUsd;
      return { output: text, isError: status !== "completed" };
    } finally {
      await hold.commit(spent);
      await c.audit.append({
        sessionId: parent.sessionId,
        action: {
          kind: "sub_agent_end",
          resource: `session://${childId}`,
          summary: `sub-agent ${childId} ended: ${status}`,
          detail: { child: childId, status, spentUsd: spent },
        },
        decision: "event",
        proof: `parent:${parent.sessionId}`,
      });
      await c.audit.endSession?.(childId);
    }
  }

  #acquire(signal: AbortSignal | undefined): Promise<void> {
    if (this.#running < this.#limits.maxConcurrency) {
      this.#running++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const go = () => {
        signal?.removeEventListener("abort", stop);
        this.#running++;
        resolve();
      };
      const stop = () => {
        this.#waiting = this.#waiting.filter((w) => w !== go);
        reject(new ToolError("UNAVAILABLE", "Cannot spawn a sub-agent: the turn was cancelled"));
      };
      signal?.addEventListener("abort", stop, { once: true });
      this.#waiting.push(go);
    });
  }

  #release(): void {
    this.#running--;
    this.#waiting.shift()?.();
  }
}

/** Gives the child what the parent holds: attenuated session tokens, copied allowances. */
async function delegate(
  parent: ParentHandle,
  child: Gate,
  signer: Signer,
  childId: string,
): Promise<{ tokens: number; allowances: number }> {
  let tokens = 0;
  const now = Date.now();
  for (const t of parent.gate.tokens.list()) {
    if (t.subject !== parent.sessionId || t.singleUse || t.expiresAt <= now) continue;
    // Session tokens live in memory: the child's store needs the chain before the child token.
    const chain = [t];
    for (let up = t.parent; up !== null;) {
      const held = parent.gate.tokens.get(up);
      if (!held) break;
      chain.unshift(held);
      up = held.parent;
    }
    for (const link of chain) await child.tokens.add(link);
    await child.tokens.add(attenuate(t, signer, { subject: childId, now }));
    tokens++;
  }
  for (const a of parent.gate.allowances.list()) {
    await child.allowances.add(a.pattern, a.permission);
  }
  return { tokens, allowances: parent.gate.allowances.list().length };
}
