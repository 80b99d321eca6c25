/**
 * RPC methods `servers.list|start|stop|running|tools`: the `[servers.NAME]` of the daemon's
 * config, run by one {@link McpServerManager} that lives as long as the daemon (registered as
 * service `"servers"`), so a server started by one CLI command keeps running after it exits.
 * At start the `auto_start = true` servers are started (in the background; a failure is a
 * `server.status` event with state `failed`). Every state change is published as a
 * `server.status` event. Servers run in the same wall as when the CLI starts them.
 *
 * @module
 */
import type { MethodGroup } from "./mod.ts";
import {
  type DaemonContext,
  type JsonSchema,
  RpcError,
  RpcErrorCode,
  type RpcMethod,
} from "../types.ts";
import { describeServer, openServerManager } from "../../cli/commands/servers.ts";
import { listMcpTools, McpError, type McpServerManager, type ServerEvent } from "../../mcp/mod.ts";

/** The name the manager is registered under in {@link DaemonContext.services}. */
export const SERVERS_SERVICE = "servers";

const NAME_PARAMS: JsonSchema = {
  type: "object",
  additionalProperties: false,
  required: ["name"],
  properties: { name: { type: "string", minLength: 1, description: "The server's name." } },
};
const NO_PARAMS: JsonSchema = { type: "object", additionalProperties: false, properties: {} };

const STATE: JsonSchema = {
  enum: ["stopped", "starting", "running", "restarting", "failed"],
  description: "Where it is in its life.",
};

const STATUS: JsonSchema = {
  type: "object",
  required: ["name", "transport", "state", "pid", "restarts", "lastError"],
  properties: {
    name: { type: "string", description: "The server's name." },
    transport: { enum: ["stdio", "http"], description: "How it is reached." },
    state: STATE,
    pid: { type: ["integer", "null"], description: "Its process id while running (stdio)." },
    restarts: { type: "integer", description: "Restarts since it last stayed up." },
    lastError: { type: ["string", "null"], description: "Why it last stopped or failed." },
  },
};

function manager(ctx: DaemonContext): McpServerManager {
  const m = ctx.services.get<McpServerManager>(SERVERS_SERVICE);
  if (!m) throw new RpcError(RpcErrorCode.Internal, "Cannot reach the servers: not started");
  return m;
}

/** Turns a manager error into the RPC error a client sees. */
function rpcError(err: unknown): unknown {
  if (!(err instanceof McpError)) return err;
  const code = err.code === "UNKNOWN_SERVER"
    ? RpcErrorCode.NotFound
    : err.code === "INTEGRITY"
    ? RpcErrorCode.Integrity
    : RpcErrorCode.Internal;
  return new RpcError(code, err.message, { code: err.code });
}

const list: RpcMethod = {
  name: "servers.list",
  summary: "The configured servers (as `astrid servers list --json`) with their state",
  params: NO_PARAMS,
  result: {
    type: "array",
    description: "One row per [servers.NAME]: its configuration (env names only) and state.",
    items: {
      type: "object",
      required: ["name", "transport", "state", "running", "pid"],
      properties: {
        name: { type: "string", description: "The server's name." },
        transport: { enum: ["stdio", "http"], description: "How it is reached." },
        state: STATE,
        running: { type: "boolean", description: "It is running in the daemon." },
        pid: { type: ["integer", "null"], description: "Its process id while running." },
      },
    },
  },
  handler(_params: unknown, call) {
    const m = manager(call.daemon);
    return Promise.resolve(m.servers.map((s) => {
      const st = m.status(s.name)[0]!;
      return {
        ...describeServer(s),
        state: st.state,
        running: st.state === "running",
        pid: st.pid,
        restarts: st.restarts,
        last_error: st.lastError,
      };
    }));
  },
};

const start: RpcMethod = {
  name: "servers.start",
  summary: "Starts a server in the daemon (checks binary_hash, completes the MCP handshake)",
  params: NAME_PARAMS,
  result: {
    type: "object",
    required: ["name", "server", "pid", "tools", "rejectedTools", "persistent"],
    properties: {
      name: { type: "string", description: "The server's name." },
      server: {
        type: ["object", "null"],
        description: "What the server said it is ({name, version}).",
      },
      pid: { type: ["integer", "null"], description: "Its process id (stdio)." },
      tools: { type: "integer", description: "How many tools it offers." },
      rejectedTools: { type: "array", description: "Tools refused (bad names or schemas)." },
      persistent: { const: true, description: "It keeps running after the caller leaves." },
    },
  },
  async handler(params: { name: string }, call) {
    const m = manager(call.daemon);
    try {
      m.status(params.name); // unknown names fail before anything is published
      call.daemon.events.publish({ type: "server.status", name: params.name, state: "starting" });
      const conn = await m.start(params.name);
      const tools = await conn.listTools();
      return {
        name: params.name,
        server: conn.serverInfo ?? null,
        pid: m.status(params.name)[0]?.pid ?? null,
        tools: tools.length,
        rejectedTools: conn.rejectedTools,
        persistent: true,
      };
    } catch (err) {
      if (err instanceof McpError && err.code !== "UNKNOWN_SERVER") {
        call.daemon.events.publish({
          type: "server.status",
          name: params.name,
          state: "failed",
          detail: err.message,
        });
      }
      throw rpcError(err);
    }
  },
};

const stop: RpcMethod = {
  name: "servers.stop",
  summary: "Stops a server running in the daemon (it stays stopped until started again)",
  params: NAME_PARAMS,
  result: {
    type: "object",
    required: ["name", "wasRunning", "state"],
    properties: {
      name: { type: "string", description: "The server's name." },
      wasRunning: { type: "boolean", description: "It was running (or starting) before." },
      state: { const: "stopped", description: "Its state now." },
    },
  },
  async handler(params: { name: string }, call) {
    const m = manager(call.daemon);
    try {
      const before = m.status(params.name)[0]!.state;
      await m.stop(params.name);
      if (before !== "stopped") {
        call.daemon.events.publish({ type: "server.status", name: params.name, state: "stopped" });
      }
      return { name: params.name, wasRunning: before !== "stopped", state: "stopped" };
    } catch (err) {
      throw rpcError(err);
    }
  },
};

const running: RpcMethod = {
  name: "servers.running",
  summary: "The servers that are not stopped, with pid, restarts and last error",
  params: NO_PARAMS,
  result: { type: "array", items: STATUS, description: "One row per live server." },
  handler(_params: unknown, call) {
    return Promise.resolve(manager(call.daemon).status().filter((s) => s.state !== "stopped"));
  },
};

const tools: RpcMethod = {
  name: "servers.tools",
  summary: "The tools of one server (starting it in the daemon if needed)",
  params: NAME_PARAMS,
  result: {
    type: "array",
    description: "Its tools as the agent sees them (mcp__<server>__<tool>).",
    items: {
      type: "object",
      required: ["name", "server", "tool", "description", "inputSchema"],
      properties: {
        name: { type: "string", description: "mcp__<server>__<tool>." },
        server: { type: "string", description: "The server." },
        tool: { type: "string", description: "The tool's own name." },
        description: { type: "string", description: "What the server says it does (untrusted)." },
        inputSchema: { type: "object", description: "Its arguments' JSON Schema." },
      },
    },
  },
  async handler(params: { name: string }, call) {
    const m = manager(call.daemon);
    try {
      m.status(params.name);
    } catch (err) {
      throw rpcError(err);
    }
    const listing = await listMcpTools(m, [params.name]);
    const failed = listing.errors[0];
    if (failed) {
      throw new RpcError(
        failed.code === "INTEGRITY" ? RpcErrorCode.Integrity : RpcErrorCode.Internal,
        `${failed.code}: ${failed.message}`,
        { code: failed.code },
      );
    }
    return listing.tools;
  },
};

/** What a manager event means for `server.status`. */
function statusOf(e: ServerEvent): "starting" | "running" | "stopped" | "failed" {
  switch (e.type) {
    case "started":
      return "running";
    case "restarting":
      return "starting";
    case "gave_up":
      return "failed";
    case "exited":
    case "stopped":
      return "stopped";
  }
}

/** Opens the daemon's manager, registers it, and starts the `auto_start` servers. */
function startGroup(ctx: DaemonContext): Promise<() => Promise<void>> {
  const rt = ctx.rt;
  const m = openServerManager(rt.config, {
    env: rt.io.env,
    cwd: rt.io.cwd,
    workspaceRoot: rt.paths.workspaceRoot,
    walls: rt.walls,
    onEvent: (e) =>
      ctx.events.publish({
        type: "server.status",
        name: e.server,
        state: statusOf(e),
        ...(e.detail !== undefined ? { detail: e.detail } : {}),
      }),
  });
  ctx.services.set(SERVERS_SERVICE, m);
  // In the background: a slow server must not hold up the daemon's start.
  const auto = m.startAutoStart().then((results) => {
    for (const r of results) {
      if (r.error) {
        ctx.events.publish({
          type: "server.status",
          name: r.server,
          state: "failed",
          detail: r.error.message,
        });
      }
    }
  });
  return Promise.resolve(async () => {
    await m.close();
    await auto;
  });
}

/** The servers methods. */
export const group: MethodGroup = {
  methods: [list, start, stop, running, tools],
  start: startGroup,
};
