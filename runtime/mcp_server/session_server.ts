/**
 * One MCP connection served: an SDK {@link Server} whose `tools/call` runs every call through
 * the gate, in a session of its own named after the client (`clientInfo.name`), with
 * provenance "untrusted", capsule `before_tool_call` hooks attached, the client's identity in
 * every audit entry, and approvals asked through elicitation or deferred to the queue.
 * A refused call is a tool result with `isError: true`, never a protocol error.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import {
  CallToolRequestSchema,
  type CallToolResult,
  type Implementation,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  Server,
} from "./_sdk.ts";
import { openGate } from "../security/gate.ts";
import type { Provenance } from "../security/approval.ts";
import type { AuditSink } from "../security/interceptor_types.ts";
import type { Walls } from "../security/walls.ts";
import type { Store } from "../storage/mod.ts";
import type { Signer } from "../crypto/mod.ts";
import type { AstridConfig } from "../config/mod.ts";
import type { AuditLog } from "../audit/mod.ts";
import { createToolSession, type InvokeOutcome, invokeTool } from "../tools/invoke.ts";
import { callCapsuleTool, type CapsuleHost } from "../capsule/mod.ts";
import { attachCapsuleHooks } from "../capsule/hooks.ts";
import type { McpServerManager } from "../mcp/mod.ts";
import { parseMcpToolName } from "../mcp/mod.ts";
import { screenedMcpCall } from "../agent/external_tools.ts";
import { type AgentSession, SessionStore } from "../agent/session.ts";
import { DeferredQueue } from "../security/approval.ts";
import type { ServedTool } from "./catalog.ts";
import { sessionTaskRunner, type TaskModelLoader } from "./task_runner.ts";
import { type CallScope, ElicitingFrontend } from "./elicit_frontend.ts";

/** What every served connection shares (opened once by the command). */
export interface ServeContext {
  readonly store: Store;
  readonly signer: Signer;
  readonly audit: AuditLog;
  readonly config: AstridConfig;
  readonly walls: Walls;
  /** The canonical workspace root and its id. */
  readonly workspace: { readonly root: string; readonly id: string };
  readonly host: CapsuleHost;
  /** The catalog (already filtered by `--tools`). */
  readonly tools: readonly ServedTool[];
  /** Configured MCP servers, when `--include-servers` offers their tools. */
  readonly mcp?: McpServerManager | null | undefined;
  /** Diagnostics (stderr: stdout is the protocol under stdio). */
  readonly log: (line: string) => void;
  /** The model `task` sub-agents run on (task_runner.ts); absent: `task` is not served. */
  readonly taskModel?: TaskModelLoader | null | undefined;
}

/** The server of one connection, and how to end its session. */
export interface SessionServer {
  readonly server: Server;
  /** The session id, once the client has initialised. */
  sessionId(): string | null;
  /** Ends the session (status `ended`, audit session end). Idempotent. */
  close(): Promise<void>;
}

/**
 * The URIs of the two resources.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { RESOURCES } from "./session_server.ts";
 * equal(RESOURCES.auditHead, "astrid://audit/head");
 * ```
 */
export const RESOURCES = {
  auditHead: "astrid://audit/head",
  approvalsPending: "astrid://approvals/pending",
} as const;

const MAX_CLIENT_FIELD = 120;

/**
 * A client-supplied name or version, made safe to show and store: control characters removed,
 * at most 120 characters; `fallback` when nothing is left or it is not a string.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { cleanClientField } from "./session_server.ts";
 * equal(cleanClientField("claude\u001b[2J-code", "x"), "claude[2J-code");
 * equal(cleanClientField(undefined, "unknown-client"), "unknown-client");
 * ```
 */
export function cleanClientField(value: unknown, fallback: string): string {
  if (typeof value !== "string") return fallback;
  // deno-lint-ignore no-control-regex
  const text = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, "").trim();
  return text === "" ? fallback : text.slice(0, MAX_CLIENT_FIELD);
}

/**
 * A session id named after the client: `mcp-<name>-<8 hex>`, the name reduced to
 * `[a-z0-9-]`.
 *
 * @example
 * ```ts
 * import { match } from "node:assert/strict";
 * import { clientSessionId } from "./session_server.ts";
 * match(clientSessionId("Claude Code"), /^mcp-claude-code-[0-9a-f]{8}$/);
 * ```
 */
export function clientSessionId(clientName: string): string {
  const slug = clientName.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "")
    .slice(0, 40) || "client";
  return `mcp-${slug}-${crypto.randomUUID().slice(0, 8)}`;
}

/** An audit sink that adds the MCP client's identity to each entry's `detail`. */
function withClient(
  audit: AuditLog,
  client: { name: string; version: string },
): AuditSink & { endSession(sessionId: string): Promise<unknown> } {
  const mcpClient = { name: client.name, version: client.version };
  return {
    append: (input) => {
      const detail = input.action.detail;
      const merged = detail !== null && typeof detail === "object" && !Array.isArray(detail)
        ? { ...detail as Record<string, unknown>, mcpClient }
        : detail === undefined
        ? { mcpClient }
        : { value: detail, mcpClient };
      return audit.append({ ...input, action: { ...input.action, detail: merged } });
    },
    get journal() {
      return audit.journal;
    },
    endSession: (sessionId) => audit.endSession(sessionId),
  };
}

interface OpenSession {
  readonly id: string;
  readonly client: { name: string; version: string };
  readonly agentSession: AgentSession;
  readonly call: (tool: ServedTool, args: unknown) => Promise<InvokeOutcome>;
  readonly dispose: () => void;
}

/**
 * Creates the server for one MCP connection; connect it to a transport. The session (gate,
 * tool executors, session record) opens when the client has initialised.
 *
 * @example
 * ```ts ignore
 * const session = createSessionServer(ctx);
 * await session.server.connect(new StdioServerTransport());
 * ```
 */
export function createSessionServer(ctx: ServeContext): SessionServer {
  const server = new Server({ name: "astrid", version: "0.1.0" }, {
    capabilities: { tools: {}, resources: {}, logging: {} },
    instructions: "Astrid's tools. Every call passes Astrid's security gate (policy, capability " +
      "tokens, budget, human approval) and is recorded in its signed audit log.",
  });
  const scope = new AsyncLocalStorage<CallScope>();
  const byName = new Map(ctx.tools.map((t) => [t.name, t]));
  let opening: Promise<OpenSession> | null = null;
  let openedId: string | null = null;
  let closed = false;

  const open = (): Promise<OpenSession> => {
    opening ??= openSession(ctx, server, scope).then((s) => {
      openedId = s.id;
      return s;
    });
    return opening;
  };
  server.oninitialized = () => {
    // A pipelining client's `initialized` can be handled before its `initialize` (whose
    // clientInfo names the session): open on the next turn of the event loop.
    setTimeout(() => {
      open().catch((err) => ctx.log(`error: Cannot open the MCP session: ${err.message}`));
    }, 0);
  };

  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: ctx.tools.map((t) => ({
      name: t.name,
      description: t.description,
      inputSchema: t.inputSchema as { type: "object" },
      annotations: { ...t.annotations },
    })),
  }));

  server.setRequestHandler(CallToolRequestSchema, async (req, extra): Promise<CallToolResult> => {
    const name = req.params.name;
    const tool = byName.get(name);
    if (!tool) {
      return errorResult(`Cannot call ${name}: no such tool is served here`);
    }
    try {
      const session = await open();
      const outcome = await scope.run(
        { requestId: extra.requestId, signal: extra.signal },
        () => session.call(tool, req.params.arguments ?? {}),
      );
      return toResult(outcome);
    } catch (err) {
      return errorResult(`Cannot call ${name}: ${(err as Error).message}`);
    }
  });

  server.setRequestHandler(ListResourcesRequestSchema, () => ({
    resources: [
      {
        uri: RESOURCES.auditHead,
        name: "audit-head",
        title: "Audit log head",
        description: "The newest audit entry's sequence number and hash",
        mimeType: "application/json",
      },
      {
        uri: RESOURCES.approvalsPending,
        name: "approvals-pending",
        title: "Pending approvals",
        description: "Deferred actions waiting for `astrid approvals approve ID`",
        mimeType: "application/json",
      },
    ],
  }));

  server.setRequestHandler(ReadResourceRequestSchema, async (req) => {
    const uri = req.params.uri;
    let value: unknown;
    if (uri === RESOURCES.auditHead) {
      const [last] = await ctx.audit.list({ limit: 1, reverse: true });
      value = last
        ? { seq: last.seq, hash: last.hash, ts: last.ts }
        : { seq: 0, hash: "0".repeat(64), ts: null };
    } else if (uri === RESOURCES.approvalsPending) {
      value = (await new DeferredQueue(ctx.store).list("pending")).map((r) => ({
        id: r.id,
        createdAt: r.createdAt,
        sessionId: r.sessionId,
        summary: r.info.summary,
        risk: r.info.risk,
        resource: r.info.resource,
        reason: r.reason,
        approve: `astrid approvals approve ${r.id}`,
      }));
    } else {
      throw new RangeError(`Cannot read resource ${uri}: no such resource`);
    }
    return {
      contents: [{ uri, mimeType: "application/json", text: JSON.stringify(value, null, 2) }],
    };
  });

  return {
    server,
    sessionId: () => openedId,
    async close() {
      if (closed) return;
      closed = true;
      const current = opening;
      if (!current) return;
      const session = await current.catch(() => null);
      if (!session) return;
      session.dispose();
      session.agentSession.updateTurn({ status: "completed", endedAt: Date.now() });
      session.agentSession.end();
      await session.agentSession.save().catch((err) =>
        ctx.log(`warning: Cannot save session ${session.id}: ${err.message}`)
      );
      await ctx.audit.endSession(session.id).catch((err) =>
        ctx.log(`warning: Cannot end audit session ${session.id}: ${err.message}`)
      );
    },
  };
}

async function openSession(
  ctx: ServeContext,
  server: Server,
  scope: AsyncLocalStorage<CallScope>,
): Promise<OpenSession> {
  const info: Partial<Implementation> = server.getClientVersion() ?? {};
  const client = {
    name: cleanClientField(info.name, "unknown-client"),
    version: cleanClientField(info.version, "?"),
  };
  const id = clientSessionId(client.name);
  const agentSession = new SessionStore(ctx.store).create({
    id,
    provider: "mcp",
    model: client.name,
    workspaceRoot: ctx.workspace.root,
    workspaceId: ctx.workspace.id,
  });
  agentSession.beginTurn(`MCP client ${client.name} ${client.version}`);
  await agentSession.save();
  const audit = withClient(ctx.audit, client);
  const gate = await openGate({
    store: ctx.store,
    signer: ctx.signer,
    audit,
    config: ctx.config,
    workspaceRoot: ctx.workspace.root,
    workspaceId: ctx.workspace.id,
    sessionId: id,
    frontend: new ElicitingFrontend(
      server,
      scope,
      ctx.config.approval.timeout_seconds * 1000,
      ctx.config.workspace.mode !== "safe",
    ),
    walls: ctx.walls,
  });
  attachCapsuleHooks({ host: ctx.host, interceptor: gate.interceptor });
  const provenance: Provenance = { trust: "untrusted", source: `MCP client ${client.name}` };
  // `task`: sub-agents that are children of this session, through gates of their own.
  const subAgent = ctx.taskModel
    ? sessionTaskRunner({
      model: ctx.taskModel,
      store: ctx.store,
      signer: ctx.signer,
      audit,
      config: ctx.config,
      workspaceId: ctx.workspace.id,
      walls: ctx.walls,
      sessionId: id,
      gate,
      provenance,
      signal: () => scope.getStore()?.signal,
      onWarning: (m) => ctx.log(`warning: ${m}`),
    })
    : undefined;
  const tools = await createToolSession({
    workspaceRoot: gate.boundary.root,
    sessionId: id,
    sandbox: ctx.config.tools.sandbox,
    outputLimitChars: ctx.config.tools.output_limit_chars,
    walls: ctx.walls,
    ...(subAgent ? { subAgent } : {}),
  });
  ctx.log(`session ${id} for MCP client ${client.name} ${client.version}`);
  return {
    id,
    client,
    agentSession,
    call: ({ name, source }, args) => {
      switch (source) {
        case "builtin":
          return invokeTool(gate.interceptor, tools, name, args, { provenance });
        case "capsule":
          return callCapsuleTool(gate.interceptor, ctx.host, name, args, { provenance });
        case "mcp": {
          const mcp = parseMcpToolName(name);
          if (!mcp || !ctx.mcp) {
            throw new RangeError(`Cannot call ${name}: MCP servers are not served`);
          }
          return screenedMcpCall(gate.interceptor, ctx.mcp, mcp.server, mcp.tool, args, {
            provenance,
            outputLimitChars: ctx.config.tools.output_limit_chars,
          });
        }
      }
    },
    dispose: () => tools.files.close(),
  };
}

function errorResult(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}

/**
 * An outcome as an MCP tool result: anything but success is `isError: true`, with the reason
 * (and, when deferred, the approval id and the command that approves it).
 *
 * @example A deferral names the approval command
 * ```ts
 * import { equal, match } from "node:assert/strict";
 * import { toResult } from "./session_server.ts";
 * const r = toResult({ status: "deferred", id: "abc", reason: "r", summary: "Write file /x" });
 * equal(r.isError, true);
 * match(String(r.content[0]?.type === "text" && r.content[0].text), /astrid approvals approve abc/);
 * ```
 */
export function toResult(outcome: InvokeOutcome): CallToolResult {
  switch (outcome.status) {
    case "ok":
      return {
        content: [{ type: "text", text: outcome.result.output }],
        isError: outcome.result.isError,
      };
    case "denied":
      return {
        ...errorResult(`Denied (${outcome.code}): ${outcome.summary}: ${outcome.reason}`),
        _meta: { "astrid/denied": outcome.code },
      };
    case "deferred":
      return {
        ...errorResult(
          `Deferred: ${outcome.summary} is waiting for approval (id ${outcome.id}). ` +
            `A human can approve it with: astrid approvals approve ${outcome.id}`,
        ),
        _meta: { "astrid/approvalId": outcome.id },
      };
    case "error":
      return errorResult(`${outcome.code}: ${outcome.message}`);
  }
}
