/**
 * MCP tools as agent tools: {@link listMcpTools} names them `mcp__<server>__<tool>`, and
 * {@link callMcpTool} runs one call the way `tools/invoke.ts` runs a built-in: an
 * `mcp_tool_call` action (`mcp://server/tool`) through the interceptor, the call only when
 * allowed, the outcome audited via `complete()`, and the result labelled untrusted.
 * The outcome has the same shape as `InvokeOutcome`, so the tool registry can route to it.
 *
 * @module
 */
import type { ApprovalAnswer, Provenance } from "../security/approval.ts";
import type { SecurityInterceptor } from "../security/interceptor.ts";
import { type InvokeOutcome, refusedOutcome } from "../tools/invoke.ts";
import type { CallToolResult, ContentBlock } from "./_sdk.ts";
import { McpError } from "./errors.ts";
import type { McpServerManager } from "./manager.ts";
import { isServerName, isToolName, mcpToolName } from "./names.ts";

/** One MCP tool as the model sees it. */
export interface McpToolDefinition {
  /** `mcp__<server>__<tool>`. */
  readonly name: string;
  readonly server: string;
  /** The tool's name on its server. */
  readonly tool: string;
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
}

/** What {@link listMcpTools} found, with the servers that could not be reached. */
export interface McpToolListing {
  readonly tools: McpToolDefinition[];
  readonly errors: { readonly server: string; readonly code: string; readonly message: string }[];
}

/**
 * Lists the tools of `servers` (default: every configured server), starting servers as needed.
 * A server that fails is reported in `errors`; the others are still listed.
 *
 * @example Nothing configured, nothing listed
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { McpServerManager } from "./manager.ts";
 * import { listMcpTools } from "./call.ts";
 * const manager = new McpServerManager({ servers: [], parentEnv: {}, baseDir: "/" });
 * deepEqual(await listMcpTools(manager), { tools: [], errors: [] });
 * ```
 */
export async function listMcpTools(
  manager: McpServerManager,
  servers: readonly string[] = manager.servers.map((s) => s.name),
): Promise<McpToolListing> {
  const results = await Promise.all(servers.map(async (server) => {
    try {
      const tools = await manager.listTools(server);
      return {
        tools: tools.map((t) => ({
          name: mcpToolName(server, t.name),
          server,
          tool: t.name,
          description: t.description ?? "",
          inputSchema: t.inputSchema as Record<string, unknown>,
        })),
        error: null,
      };
    } catch (err) {
      const code = err instanceof McpError ? err.code : "CALL_FAILED";
      return { tools: [], error: { server, code, message: (err as Error).message } };
    }
  }));
  return {
    tools: results.flatMap((r) => r.tools),
    errors: results.flatMap((r) => (r.error ? [r.error] : [])),
  };
}

/** An MCP call's result, in the shape of a built-in tool's `ToolResult` plus the raw content. */
export interface McpToolResult {
  /** The text for the model (text blocks joined; other blocks summarised), capped. */
  readonly output: string;
  readonly isError: boolean;
  readonly truncatedChars?: number;
  /** The server's content blocks, untouched. */
  readonly content: readonly ContentBlock[];
  readonly structuredContent?: Record<string, unknown> | undefined;
}

/** What happened to an MCP call: `InvokeOutcome`, with the server's content kept on success. */
export type McpCallOutcome =
  | {
    readonly status: "ok";
    readonly result: McpToolResult;
    readonly proofs: readonly string[];
    /** Server output is always untrusted input for the model. */
    readonly trust: "untrusted";
  }
  | Exclude<InvokeOutcome, { status: "ok" }>;

/** Per-call options. */
export interface McpCallOptions {
  readonly answer?: ApprovalAnswer | undefined;
  readonly provenance?: Provenance | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
  /** Cap on `output` (default 30,000 characters, like `[tools] output_limit_chars`). */
  readonly outputLimitChars?: number | undefined;
}

/** The deferred-queue payload of an MCP call (executor name `"mcp"`). */
export interface McpCallPayload {
  readonly server: string;
  readonly tool: string;
  readonly args: Record<string, unknown>;
}

/**
 * Turns an MCP tool result into text for the model (blocks joined, capped at `limit` chars).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { renderMcpResult } from "./call.ts";
 * equal(renderMcpResult({ content: [{ type: "text", text: "hi" }] }, 100).output, "hi");
 * ```
 */
export function renderMcpResult(result: CallToolResult, limit: number): McpToolResult {
  const content = (result.content ?? []) as ContentBlock[];
  const parts = content.map((b) => {
    switch (b.type) {
      case "text":
        return b.text;
      case "resource":
        return "text" in b.resource ? b.resource.text : `[resource ${b.resource.uri}]`;
      case "resource_link":
        return `[resource ${b.uri}]`;
      default:
        return `[${b.type} ${"mimeType" in b ? b.mimeType : ""}]`.replace(" ]", "]");
    }
  });
  if (parts.length === 0 && result.structuredContent) {
    parts.push(JSON.stringify(result.structuredContent));
  }
  const full = parts.join("\n");
  const output = full.length > limit ? full.slice(0, limit) : full;
  return {
    output,
    isError: result.isError === true,
    ...(full.length > limit ? { truncatedChars: full.length - limit } : {}),
    content,
    ...(result.structuredContent ? { structuredContent: result.structuredContent } : {}),
  };
}

/**
 * Calls `tool` on `server` through the interceptor.
 *
 * @example Deferred when nobody can approve; the server is never started
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { AuditLog } from "../audit/mod.ts";
 * import { DEFAULT_CONFIG } from "../config/mod.ts";
 * import { openGate } from "../security/gate.ts";
 * import { McpServerManager } from "./manager.ts";
 * import { callMcpTool } from "./call.ts";
 * using store = await openStore(":memory:");
 * const signer = signerFromSeed(generateSeed());
 * const audit = await AuditLog.open(store, signer);
 * const { interceptor } = await openGate({
 *   store, signer, audit, config: DEFAULT_CONFIG, workspaceRoot: await Deno.makeTempDir(),
 *   workspaceId: "ws", sessionId: "s", frontend: null,
 * });
 * const manager = new McpServerManager({
 *   servers: [{ name: "gh", transport: "stdio", command: "/nonexistent", args: [], env: {}, autoStart: false, restartPolicy: "never" }],
 *   parentEnv: {}, baseDir: "/",
 * });
 * const outcome = await callMcpTool(interceptor, manager, "gh", "create_issue", { title: "x" });
 * equal(outcome.status, "deferred");
 * equal(manager.status("gh")[0]?.state, "stopped");
 * await audit.close();
 * ```
 */
export async function callMcpTool(
  interceptor: SecurityInterceptor,
  manager: McpServerManager,
  server: string,
  tool: string,
  args: unknown,
  opts: McpCallOptions = {},
): Promise<McpCallOutcome> {
  const name = `mcp__${server}__${tool}`;
  if (!manager.servers.some((s) => s.name === server)) {
    return {
      status: "error",
      code: "UNKNOWN_TOOL",
      message: `Cannot call ${name}: no such server`,
    };
  }
  const argumentBytes = new TextEncoder().encode(JSON.stringify(args) ?? "").length;
  const isRecord = typeof args === "object" && args !== null && !Array.isArray(args);
  if (!isServerName(server) || !isToolName(tool) || !isRecord) {
    const reason = !isRecord
      ? `Cannot call ${name}: arguments must be a JSON object`
      : `Cannot call ${name}: the tool name is not a safe MCP tool name`;
    const denied = await interceptor.refuseCall(name, reason, { argumentBytes });
    return { ...denied, status: "denied", summary: `${name} call` };
  }
  const action = { kind: "mcp_tool_call" as const, server, tool, args };
  const summary = `Call MCP tool ${tool} on server ${server}`;
  const payload: McpCallPayload = { server, tool, args: args as Record<string, unknown> };
  const decision = await interceptor.intercept(action, {
    tool: name,
    provenance: opts.provenance,
    argumentBytes,
    execution: { executor: "mcp", payload },
    answer: opts.answer,
    signal: opts.signal,
  });
  if (decision.outcome !== "allowed") return refusedOutcome(decision, summary);
  try {
    const raw = await manager.callTool(server, tool, payload.args, {
      signal: opts.signal,
      timeoutMs: opts.timeoutMs,
    });
    const result = renderMcpResult(raw, opts.outputLimitChars ?? 30_000);
    await decision.complete({
      ok: !result.isError,
      detail: { isError: result.isError, truncatedChars: result.truncatedChars ?? 0 },
    });
    return { status: "ok", result, proofs: [decision.proof], trust: "untrusted" };
  } catch (err) {
    const code = err instanceof McpError ? err.code : "CALL_FAILED";
    const message = (err as Error).message;
    await decision.complete({ ok: false, detail: { code, message } });
    return { status: "error", code, message };
  }
}
