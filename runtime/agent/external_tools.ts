/**
 * Tool registries for what lives outside the runtime: MCP servers' tools (`mcp__<server>__<tool>`)
 * and installed capsules' tools (`<capsule>__<tool>`). Both go through the same interceptor as
 * the built-in tools; their output is untrusted.
 *
 * @module
 */
import type { LlmToolSpec } from "../llm/mod.ts";
import type { ApprovalAnswer } from "../security/approval.ts";
import type { SecurityInterceptor } from "../security/interceptor.ts";
import type { InvokeOutcome } from "../tools/invoke.ts";
import { callMcpTool, listMcpTools, type McpServerManager, parseMcpToolName } from "../mcp/mod.ts";
import { callCapsuleTool, type CapsuleHost, listCapsuleTools } from "../capsule/mod.ts";
import type { ToolCallOptions, ToolRegistry } from "./registry.ts";

/** Options shared by the external registries. */
export interface ExternalToolOptions {
  /** An answer given up front to every approval (`--approve`). */
  readonly answer?: ApprovalAnswer | undefined;
  readonly outputLimitChars?: number | undefined;
  /** Called with servers or capsules that could not be listed. */
  readonly onWarning?: (message: string) => void;
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
    return callMcpTool(interceptor, manager, parsed.server, parsed.tool, args, {
      answer: opts.answer,
      provenance: call.provenance,
      signal: call.signal,
      outputLimitChars: opts.outputLimitChars,
    });
  });
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
