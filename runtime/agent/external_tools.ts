/**
 * Tool registries for what lives outside the runtime: MCP servers' tools (`mcp__<server>__<tool>`)
 * and installed capsules' tools (`<capsule>__<tool>`). Both go through the same interceptor as
 * the built-in tools; their output is untrusted.
 *
 * @module
 */
import type { LlmMessage, LlmProvider, LlmRequest, LlmToolSpec, LlmUsage } from "../llm/mod.ts";
import type { CreateMessageRequestParams, Sampler } from "../mcp/mod.ts";
import type { AgentCosts, BudgetLike } from "./loop.ts";
import type { ApprovalAnswer } from "../security/approval.ts";
import type { SecurityInterceptor } from "../security/interceptor.ts";
import { type InvokeOutcome, refusedOutcome } from "../tools/invoke.ts";
import {
  callMcpTool,
  listMcpTools,
  type McpCallOptions,
  type McpServerManager,
  parseMcpToolName,
} from "../mcp/mod.ts";
import { attachCapsuleHooks } from "../capsule/hooks.ts";
import { callCapsuleTool, type CapsuleHost, listCapsuleTools } from "../capsule/mod.ts";
import type { ToolCallOptions, ToolRegistry } from "./registry.ts";

/** Options shared by the external registries. */
export interface ExternalToolOptions {
  /** An answer given up front to every approval (`--approve`). */
  readonly answer?: ApprovalAnswer | undefined;
  readonly outputLimitChars?: number | undefined;
  /** Called with servers or capsules that could not be listed, and failing best-effort hooks. */
  readonly onWarning?: (message: string) => void;
  /** CPU budget of one capsule hook call (default 5 s). */
  readonly hookTimeoutMs?: number | undefined;
}

class FixedRegistry implements ToolRegistry {
  #defs: LlmToolSpec[];
  #call: (name: string, args: unknown, opts: ToolCallOptions) => Promise<InvokeOutcome>;
  constructor(
    defs: LlmToolSpec[],
    call: (name: string, args: unknown, opts: ToolCallOptions) => Promise<InvokeOutcome>,
  ) {
    this.#defs = defs;
    this.#call = call;
  }
  definitions(): LlmToolSpec[] {
    return this.#defs;
  }
  call(name: string, args: unknown, opts: ToolCallOptions): Promise<InvokeOutcome> {
    return this.#call(name, args, opts);
  }
}

/**
 * The tools of the configured MCP servers (listed once, when the registry is made).
 *
 * @example No servers, no tools
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { McpServerManager } from "../mcp/mod.ts";
 * import { mcpToolRegistry } from "./external_tools.ts";
 * await using manager = new McpServerManager({ servers: [], parentEnv: {}, baseDir: "/" });
 * const registry = await mcpToolRegistry({} as never, manager);
 * equal(registry.definitions().length, 0);
 * ```
 */
export async function mcpToolRegistry(
  interceptor: SecurityInterceptor,
  manager: McpServerManager,
  opts: ExternalToolOptions = {},
): Promise<ToolRegistry> {
  const { tools, errors } = await listMcpTools(manager);
  for (const e of errors) opts.onWarning?.(String(e));
  const defs = tools.map((t) => ({
    name: t.name,
    description: t.description,
    inputSchema: t.inputSchema as object,
  }));
  return new FixedRegistry(defs, (name, args, call) => {
    const parsed = parseMcpToolName(name);
    if (!parsed) {
      return Promise.resolve({
        status: "error",
        code: "UNKNOWN_TOOL",
        message: `Cannot call ${name}: not an MCP tool`,
      });
    }
    return screenedMcpCall(interceptor, manager, parsed.server, parsed.tool, args, {
      answer: opts.answer,
      provenance: call.provenance,
      signal: call.signal,
      outputLimitChars: opts.outputLimitChars,
    });
  });
}

/**
 * Calls an MCP tool after screening the call ({@link SecurityInterceptor.screenCall}: policy,
 * then the `before_tool_call` hooks, whose rewrite replaces the arguments sent).
 */
export async function screenedMcpCall(
  interceptor: SecurityInterceptor,
  manager: McpServerManager,
  server: string,
  tool: string,
  args: unknown,
  opts: McpCallOptions = {},
): Promise<InvokeOutcome> {
  const name = `mcp__${server}__${tool}`;
  const screened = await interceptor.screenCall({
    tool: name,
    args,
    build: (a) => [{ kind: "mcp_tool_call", server, tool, args: a }],
  }, { provenance: opts.provenance, signal: opts.signal });
  if (screened.outcome === "denied") {
    return refusedOutcome(screened, `Call MCP tool ${tool} on server ${server}`);
  }
  return await callMcpTool(
    interceptor.scoped({ screened: screened.screen }),
    manager,
    server,
    tool,
    screened.args,
    opts,
  );
}

/**
 * The tools of the installed capsules (described once, when the registry is made).
 *
 * @example No capsules, no tools
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { capsuleToolRegistry } from "./external_tools.ts";
 * const registry = await capsuleToolRegistry({} as never, {
 *   capsules: [], workspaceRoot: "/", store: {} as never, limits: { timeoutMs: 1000, memoryMb: 64 },
 * });
 * equal(registry.definitions().length, 0);
 * ```
 */
export async function capsuleToolRegistry(
  interceptor: SecurityInterceptor,
  host: CapsuleHost,
  opts: ExternalToolOptions = {},
): Promise<ToolRegistry> {
  const listed = await listCapsuleTools(host.capsules, host.limits, {
    parentEnv: host.parentEnv ?? {},
    workspaceRoot: host.workspaceRoot,
  });
  const defs = listed.map((t) => ({
    name: t.name,
    description: t.description,
    inputSchema: t.inputSchema as object,
  }));
  // Capsules' [[interceptor]] hooks: before_tool_call joins this interceptor's chain (every
  // tool call of the session); the agent loop finds the others on `interceptor.hooks`.
  attachCapsuleHooks({
    host,
    interceptor,
    hookTimeoutMs: opts.hookTimeoutMs,
    onError: opts.onWarning,
  });
  return new FixedRegistry(
    defs,
    (name, args, call) =>
      callCapsuleTool(interceptor, host, name, args, {
        answer: opts.answer,
        provenance: call.provenance,
        signal: call.signal,
      }),
  );
}

/**
 * Answers MCP servers' sampling requests with the session's own model, charging the session
 * budget. Wrap it with `gatedSampler` (runtime/mcp) so each request is an audited action that
 * needs approval before it reaches the model.
 */
export function providerSampler(
  provider: LlmProvider,
  budget: BudgetLike,
  costs: AgentCosts,
): Sampler {
  return async function sampleWithProvider(_server, params, signal) {
    const messages: LlmMessage[] = params.messages.map((m) => ({
      role: m.role,
      content: [{ type: "text", text: samplingText(m.content) }],
    }));
    const req: LlmRequest = {
      messages,
      tools: [],
      system: params.systemPrompt ?? "",
      maxTokens: params.maxTokens,
      signal,
    };
    const reservation = await budget.reserve(costs.estimate(req));
    let text = "";
    let usage: LlmUsage | null = null;
    let stop = "endTurn";
    try {
      for await (const event of provider.stream(req)) {
        if (event.type === "text_delta") text += event.text;
        else if (event.type === "usage") usage = event;
        else if (event.type === "done" && event.stopReason === "max_tokens") stop = "maxTokens";
        else if (event.type === "error") throw event.error;
      }
    } catch (err) {
      if (usage) await reservation.commit(costs.actual(usage));
      else await reservation.refund();
      throw err;
    }
    await reservation.commit(usage ? costs.actual(usage) : undefined);
    return {
      role: "assistant",
      content: { type: "text", text },
      model: provider.model,
      stopReason: stop,
    };
  };
}

type SamplingContent = CreateMessageRequestParams["messages"][number]["content"];

// Sampling messages carry one block or a list; only text reaches the model here.
function samplingText(content: SamplingContent): string {
  const blocks = (Array.isArray(content) ? content : [content]) as {
    type: string;
    text?: string;
  }[];
  return blocks.map((b) => b.type === "text" ? b.text ?? "" : `[${b.type} content omitted]`)
    .join("\n");
}
