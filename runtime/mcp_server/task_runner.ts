/**
 * The `task` tool over MCP. `astrid mcp serve` offers `task` only when `[model]` names a
 * provider it can build (anthropic or openai with a key, a local `api_url`, a preset): see
 * {@link taskModelConfigured}. The provider is built on the first `task` call, not at start-up
 * ({@link lazyTaskModel}). Each MCP session gets a runner ({@link sessionTaskRunner}) whose
 * sub-agents are children of that session: a budget slice of its budget, at most the tokens
 * and allowances it holds, nobody to ask (an uncovered action is denied), every tool call
 * through a gate of their own, audited with the MCP client's identity.
 *
 * @module
 */
import type { AstridConfig } from "../config/mod.ts";
import type { ModelConfig } from "../llm/create_provider.ts";
import type { LlmProvider } from "../llm/provider.ts";
import type { AgentCosts } from "../agent/loop.ts";
import type { SubAgentContext, SubAgents } from "../agent/sub_agent.ts";
import type { Gate } from "../security/gate.ts";
import type { Provenance } from "../security/approval.ts";
import type { Signer } from "../crypto/mod.ts";
import type { Store } from "../storage/mod.ts";
import type { Walls } from "../security/walls.ts";
import { type SubAgentRunner, ToolError } from "../tools/types.ts";

/**
 * True when `model` names a provider `task` can run on without further setup: anthropic with a
 * key, openai with a key or an `api_url`, the `ollama` preset, `zai` with a key. A capsule
 * provider (`capsule:<name>`) is not served.
 *
 * @example A key, or a local URL
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { taskModelConfigured } from "./task_runner.ts";
 * equal(taskModelConfigured({ provider: "anthropic", api_key: "", api_url: "" }), false);
 * equal(taskModelConfigured({ provider: "anthropic", api_key: "sk-1", api_url: "" }), true);
 * equal(taskModelConfigured({ provider: "openai", api_key: "", api_url: "http://127.0.0.1:8080/v1" }), true);
 * equal(taskModelConfigured({ provider: "capsule:echo", api_key: "k", api_url: "" }), false);
 * ```
 */
export function taskModelConfigured(
  model: Pick<ModelConfig, "provider" | "api_key" | "api_url">,
): boolean {
  switch (model.provider) {
    case "anthropic":
    case "zai":
      return model.api_key !== "";
    case "openai":
      return model.api_key !== "" || model.api_url !== "";
    case "ollama":
      return true;
    default:
      return false;
  }
}

/** The model sub-agents run on, and how their calls are priced. */
export interface TaskModel {
  readonly provider: LlmProvider;
  readonly costs: AgentCosts;
}

/** Builds the {@link TaskModel} once, on first use. */
export type TaskModelLoader = () => Promise<TaskModel>;

/**
 * A loader for the configured model, or null when {@link taskModelConfigured} says there is
 * none. The provider modules are imported on the first call; a failure is not remembered (the
 * next call tries again).
 *
 * @example No key, no loader
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { DEFAULT_CONFIG } from "../config/mod.ts";
 * import { lazyTaskModel } from "./task_runner.ts";
 * const config = { ...DEFAULT_CONFIG, model: { ...DEFAULT_CONFIG.model, provider: "anthropic" as const, api_key: "" } };
 * equal(lazyTaskModel(config), null);
 * ```
 */
export function lazyTaskModel(config: AstridConfig): TaskModelLoader | null {
  if (!taskModelConfigured(config.model)) return null;
  let loading: Promise<TaskModel> | null = null;
  return function loadTaskModel() {
    loading ??= buildTaskModel(config).catch((err) => {
      loading = null;
      throw err;
    });
    return loading;
  };
}

async function buildTaskModel(config: AstridConfig): Promise<TaskModel> {
  const [{ createProvider }, { pricingFromConfig }, { pricedCosts }] = await Promise.all([
    import("../llm/create_provider.ts"),
    import("../llm/pricing.ts"),
    import("../agent/loop.ts"),
  ]);
  const provider = createProvider(config.model);
  const costs = pricedCosts(provider.model, pricingFromConfig(config), config.model.max_tokens);
  return { provider, costs };
}

/** What {@link sessionTaskRunner} needs: one MCP session's gate and what it shares. */
export interface SessionTaskOptions {
  readonly model: TaskModelLoader;
  readonly store: Store;
  readonly signer: Signer;
  /** The session's audit sink (with the MCP client's identity). */
  readonly audit: SubAgentContext["audit"];
  readonly config: AstridConfig;
  readonly workspaceId: string;
  readonly walls?: Walls | undefined;
  /** The MCP session: the sub-agents' parent. */
  readonly sessionId: string;
  readonly gate: Pick<Gate, "budget" | "allowances" | "tokens" | "boundary">;
  /** Where the `task` prompt came from (the MCP client: untrusted). */
  readonly provenance: Provenance;
  /** The cancellation signal of the MCP request in progress, if any. */
  readonly signal: () => AbortSignal | undefined;
  readonly onWarning?: (message: string) => void;
}

/**
 * The `task` runner of one MCP session (`ToolSession.subAgent`). The spawner (limits from
 * `[agent]`, concurrency shared by the session's tree) is built on the first call; a model that
 * cannot be built fails the call with code `UNAVAILABLE`.
 *
 * @example Wire it into the session's tool executors
 * ```ts ignore
 * const tools = await createToolSession({
 *   workspaceRoot, sessionId, sandbox: "bwrap", outputLimitChars: 30_000,
 *   subAgent: sessionTaskRunner({ model, store, signer, audit, config, workspaceId, sessionId,
 *     gate, provenance, signal: () => undefined }),
 * });
 * ```
 */
export function sessionTaskRunner(opts: SessionTaskOptions): SubAgentRunner {
  let spawner: Promise<SubAgents> | null = null;
  return async function runTask(args, toolCtx) {
    spawner ??= openSpawner(opts).catch((err: Error) => {
      spawner = null;
      throw new ToolError("UNAVAILABLE", `Cannot run task: ${err.message}`);
    });
    const runner = (await spawner).runnerFor({
      sessionId: opts.sessionId,
      depth: 0,
      gate: opts.gate,
      scope: { provenance: opts.provenance, signal: opts.signal() },
    });
    return await runner(args, toolCtx);
  };
}

async function openSpawner(opts: SessionTaskOptions): Promise<SubAgents> {
  const [
    model,
    { SubAgents },
    { SessionStore },
    { DEFAULT_SYSTEM_PROMPT },
    { projectSystemPrompt },
  ] = await Promise.all([
    opts.model(),
    import("../agent/sub_agent.ts"),
    import("../agent/session.ts"),
    import("../agent/open.ts"),
    import("../agent/project_context.ts"),
  ]);
  const root = opts.gate.boundary.root;
  const agent = opts.config.agent;
  return new SubAgents({
    store: opts.store,
    signer: opts.signer,
    audit: opts.audit,
    config: opts.config,
    workspaceRoot: root,
    workspaceId: opts.workspaceId,
    walls: opts.walls,
    provider: model.provider,
    costs: model.costs,
    sessions: new SessionStore(opts.store),
    system: await projectSystemPrompt(
      DEFAULT_SYSTEM_PROMPT,
      { workspaceRoot: root, mode: opts.config.workspace.mode },
      opts.onWarning ? { onWarning: opts.onWarning } : {},
    ),
    limits: {
      maxConcurrency: agent.max_concurrency,
      maxDepth: agent.max_depth,
      timeoutMs: agent.task_timeout_seconds * 1000,
      perTaskUsd: agent.task_budget_usd,
    },
    maxRounds: agent.max_rounds,
  });
}
