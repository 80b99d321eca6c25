/**
 * How a chat session is wired, shared by `astrid chat` (runtime/cli/commands/chat.ts) and the
 * daemon's sessions (runtime/daemon/session_host.ts): the provider (a built-in one that
 * `/model` can switch, or an installed capsule's `[[llm_provider]]`), MCP servers' and
 * capsules' tools through the session's interceptor, pricing, sub-agent limits and the system
 * prompt (project context, then capsules' context files and skills).
 *
 * It lives in cli/ rather than agent/ because it starts MCP servers and reads installed
 * capsules through the CLI's own helpers (commands/servers.ts, commands/_tools_run.ts).
 *
 * @module
 */
import {
  type LlmProvider,
  type ModelConfig,
  pricingFromConfig,
  type PricingTable,
} from "../llm/mod.ts";
import type { ApprovalChoice, Frontend } from "../security/approval.ts";
import type { AstridConfig } from "../config/mod.ts";
import {
  type AgentEvent,
  capsuleSystemPrompt,
  capsuleToolRegistry,
  CompositeToolRegistry,
  DEFAULT_SYSTEM_PROMPT,
  mcpToolRegistry,
  type OpenAgentOptions,
  pricedCosts,
  providerSampler,
  type SubAgentLimits,
  type ToolRegistry,
} from "../agent/mod.ts";
import { projectSystemPrompt } from "../agent/project_context.ts";
import type { Gate } from "../security/gate.ts";
import type { CapsuleHost } from "../capsule/mod.ts";
import { openCapsuleProvider } from "../capsule/llm_provider.ts";
import { providerCompleter } from "../llm/complete.ts";
import { frontendElicitor, gatedSampler, type McpServerManager } from "../mcp/mod.ts";
import type { Runtime } from "./context.ts";
import { SessionModel } from "./_session_model.ts";
import { openServerManager } from "./commands/servers.ts";
import { capsuleHost } from "./commands/_tools_run.ts";

/**
 * True when an installed capsule's `[[llm_provider]]` is the model (`capsule:<name>`).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { isCapsuleModel } from "./chat_wiring.ts";
 * equal(isCapsuleModel({ provider: "capsule:local" }), true);
 * ```
 */
export function isCapsuleModel(model: Pick<ModelConfig, "provider">): boolean {
  return model.provider.startsWith("capsule:");
}

/**
 * The sub-agent limits from `[agent]`.
 *
 * @example Seconds become milliseconds
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { DEFAULT_CONFIG } from "../config/mod.ts";
 * import { subAgentLimitsFromConfig } from "./chat_wiring.ts";
 * equal(subAgentLimitsFromConfig(DEFAULT_CONFIG).timeoutMs, 600_000);
 * ```
 */
export function subAgentLimitsFromConfig(config: AstridConfig): SubAgentLimits {
  return {
    maxConcurrency: config.agent.max_concurrency,
    maxDepth: config.agent.max_depth,
    timeoutMs: config.agent.task_timeout_seconds * 1000,
    perTaskUsd: config.agent.task_budget_usd,
  };
}

/** How much of a tool's output a `--json` `tool_end` event carries. */
export const TOOL_END_OUTPUT_CHARS = 4000;

/** What {@link toolOutputs} returns. */
export interface ToolOutputs {
  /** Wraps the session's registry to remember each call's output. */
  wrap(registry: ToolRegistry): ToolRegistry;
  /** Adds the remembered output to a `tool_end` event. */
  attach(event: AgentEvent | Record<string, unknown>): AgentEvent | Record<string, unknown>;
}

/**
 * Remembers each tool call's output (calls run one at a time) so that `--json` `tool_end`
 * events carry it, capped at {@link TOOL_END_OUTPUT_CHARS}.
 *
 * @example Events other than `tool_end` pass through
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { toolOutputs } from "./chat_wiring.ts";
 * deepEqual(toolOutputs().attach({ type: "text", text: "hi" }), { type: "text", text: "hi" });
 * ```
 */
export function toolOutputs(): ToolOutputs {
  let last: { name: string; output: string } | null = null;
  return {
    wrap: (registry: ToolRegistry): ToolRegistry => ({
      definitions: () => registry.definitions(),
      call: async (name, args, callOpts) => {
        const outcome = await registry.call(name, args, callOpts);
        if (outcome.status === "ok") last = { name, output: outcome.result.output };
        else last = null;
        return outcome;
      },
    }),
    attach: (event) => {
      if (event.type !== "tool_end" || last === null || last.name !== event.name) return event;
      const { output } = last;
      last = null;
      const truncated = output.length > TOOL_END_OUTPUT_CHARS;
      return {
        ...event,
        output: truncated ? output.slice(0, TOOL_END_OUTPUT_CHARS) : output,
        ...(truncated ? { outputTruncated: output.length } : {}),
      };
    },
  };
}

/**
 * MCP servers' and installed capsules' tools for the agent, through the session's interceptor.
 * MCP sampling requests are answered by the session's model, each one gated and budgeted.
 */
function externalTools(
  rt: Runtime,
  provider: LlmProvider,
  approve: ApprovalChoice | undefined,
  human: { readonly frontend: Frontend | null },
  host: CapsuleHost,
  warn: (message: string) => void,
) {
  const workspaceRoot = host.workspaceRoot;
  let manager: McpServerManager | null = null;
  const answer = approve ? { choice: approve } : undefined;
  return {
    attach: async (builtin: ToolRegistry, gate: Gate): Promise<ToolRegistry> => {
      const costs = pricedCosts(
        provider.model,
        provider instanceof SessionModel ? provider.pricing : pricingFromConfig(rt.config),
        rt.config.model.max_tokens,
      );
      manager = openServerManager(rt.config, {
        env: rt.io.env,
        cwd: rt.io.cwd,
        workspaceRoot,
        walls: rt.walls,
        sampler: gatedSampler(gate.interceptor, providerSampler(provider, gate.budget, costs), {
          answer,
        }),
        elicitor: frontendElicitor(human.frontend),
      });
      const limit = rt.config.tools.output_limit_chars;
      const mcp = await mcpToolRegistry(gate.interceptor, manager, {
        answer,
        outputLimitChars: limit,
        onWarning: warn,
      });
      const capsules = await capsuleToolRegistry(
        gate.interceptor,
        host,
        { answer, outputLimitChars: limit, onWarning: warn },
      );
      return new CompositeToolRegistry([builtin, mcp, capsules]);
    },
    async close() {
      await manager?.close();
    },
  };
}

/** The agent options a chat builds, minus who answers and who listens. */
export type ChatBaseOptions = Omit<OpenAgentOptions, "frontend" | "onEvent" | "onSubAgentEvent">;

/** What {@link chatAgentOptions} needs besides the runtime and the workspace. */
export interface ChatWiringOptions {
  /** The built-in provider, or null when `[model] provider = "capsule:<name>"`. */
  readonly builtIn: LlmProvider | null;
  /** Builds a provider for another model of the same config (`/model NAME`). */
  readonly makeProvider: (cfg: ModelConfig) => LlmProvider;
  readonly resume?: string | undefined;
  readonly maxRounds: number;
  /** `--approve`: the answer MCP and capsule tools give every prompt. */
  readonly approve?: ApprovalChoice | undefined;
  /** Who answers MCP elicitations (set once known; read when a server asks). */
  readonly human: { readonly frontend: Frontend | null };
  /** Where warnings go (default: `warning: …` on the runtime's stderr). */
  readonly onWarning?: (message: string) => void;
}

/** A wired chat: the options for `openAgent`, and what to close after the session closes. */
export interface ChatWiring extends AsyncDisposable {
  readonly base: ChatBaseOptions;
  readonly host: CapsuleHost;
  readonly outputs: ToolOutputs;
  readonly provider: LlmProvider;
  readonly pricing: Readonly<PricingTable>;
}

/**
 * Wires a chat session in workspace `ws` of runtime `rt` (whose config is that workspace's):
 * the provider, external tools, pricing, sub-agent limits and the system prompt.
 */
export async function chatAgentOptions(
  rt: Runtime,
  ws: { readonly root: string; readonly id: string },
  opts: ChatWiringOptions,
): Promise<ChatWiring> {
  const warn = opts.onWarning ?? ((m: string) => rt.io.stderr(`warning: ${m}\n`));
  const installed = await capsuleHost(rt, ws.root);
  // Capsule model wiring: a capsule provider (bound to the session's gate in extraTools)
  // and the session's model for capsules' `llm-complete` calls.
  const capsuleModel = opts.builtIn ? null : openCapsuleProvider(installed, rt.config.model);
  // `/model NAME` switches a built-in provider's model for the session (priced, audited).
  const provider = opts.builtIn
    ? new SessionModel({
      initial: opts.builtIn,
      make: (model) => opts.makeProvider({ ...rt.config.model, model }),
      pricing: pricingFromConfig(rt.config),
      configured: rt.config.model.model,
    })
    : capsuleModel!.provider;
  const pricing = provider instanceof SessionModel
    ? provider.pricing
    : pricingFromConfig(rt.config);
  const host: CapsuleHost = {
    ...installed,
    llm: providerCompleter(provider, pricingFromConfig(rt.config)),
  };
  const external = externalTools(rt, provider, opts.approve, opts.human, host, warn);
  const outputs = toolOutputs();
  const base: ChatBaseOptions = {
    store: rt.store,
    signer: rt.key,
    audit: rt.audit,
    config: rt.config,
    workspaceRoot: ws.root,
    workspaceId: ws.id,
    walls: rt.walls,
    provider,
    resume: opts.resume,
    maxRounds: opts.maxRounds,
    pricing,
    subAgents: subAgentLimitsFromConfig(rt.config),
    extraTools: (builtin: ToolRegistry, gate: Gate) => {
      capsuleModel?.bind(gate.interceptor);
      return external.attach(builtin, gate).then((r) => outputs.wrap(r));
    },
    // Session facts and AGENTS.md / CLAUDE.md (runtime/agent/project_context.ts), then
    // installed capsules' context files and skills (runtime/agent/capsule_context.ts).
    system: await capsuleSystemPrompt(
      await projectSystemPrompt(
        DEFAULT_SYSTEM_PROMPT,
        { workspaceRoot: ws.root, mode: rt.config.workspace.mode },
        { onWarning: warn },
      ),
      host.capsules,
      { onWarning: warn },
    ),
  };
  return {
    base,
    host,
    outputs,
    provider,
    pricing,
    [Symbol.asyncDispose]: () => external.close(),
  };
}
