/**
 * Executors that carry out approved, deferred actions, by name. `tool` re-runs a built-in tool
 * call through the interceptor with the human's recorded answer.
 *
 * @module
 */
import type { Executor } from "../security/approval.ts";
import type { InvokeOutcome, ToolCallPayload } from "../tools/invoke.ts";
import type { CapsuleToolPayload } from "../capsule/mod.ts";
import type { Runtime } from "./context.ts";
import type { McpCallPayload } from "../mcp/mod.ts";
import { CliError, ExitCode } from "./errors.ts";

// What carries an action out (the tools, the capsule engine, the MCP SDK) is imported when an
// executor runs, not when a command registers the executors: `approvals list` needs none of it.
// The specifiers are computed: a literal `import()` would put those modules in the graph Deno
// builds when this module loads (see main.ts); the types stay checked.
const lazy = <T>(path: string): Promise<T> => import(new URL(path, import.meta.url).href);
const toolsCommandModule = () =>
  lazy<typeof import("./commands/_tools_run.ts")>("./commands/_tools_run.ts");

function isPayload(value: unknown): value is ToolCallPayload {
  const v = value as Partial<ToolCallPayload> | null;
  return typeof v === "object" && v !== null && typeof v.tool === "string" &&
    typeof v.cwd === "string";
}

function resultOf(outcome: InvokeOutcome): unknown {
  if (outcome.status === "denied") {
    throw Object.assign(new CliError(outcome.reason, ExitCode.Denied), { code: "DENIED" });
  }
  if (outcome.status === "deferred") {
    throw new CliError(`another action of the call is waiting for approval: ${outcome.id}`);
  }
  if (outcome.status === "error") throw new CliError(outcome.message);
  return outcome.result;
}

/** Re-runs a deferred built-in tool call, inside the walls of the runtime that carries it out. */
function toolExecutor(rt: Runtime): Executor {
  return async (payload, env) => {
    if (!isPayload(payload)) {
      throw new TypeError("Cannot execute: the stored tool call is malformed");
    }
    const { createToolSession, invokeTool } = await lazy<typeof import("../tools/invoke.ts")>(
      "../tools/invoke.ts",
    );
    const session = await createToolSession({
      workspaceRoot: env.workspaceRoot,
      sessionId: env.sessionId,
      cwd: payload.cwd,
      sandbox: env.config.tools.sandbox,
      outputLimitChars: env.config.tools.output_limit_chars,
      walls: rt.walls,
    });
    try {
      return resultOf(
        await invokeTool(env.interceptor, session, payload.tool, payload.args, {
          answer: env.answer,
        }),
      );
    } finally {
      session.files.close();
    }
  };
}

/** Re-runs a deferred capsule tool call with the capsules installed for its workspace. */
function capsuleToolExecutor(rt: Runtime): Executor {
  return async (payload, env) => {
    const p = payload as Partial<CapsuleToolPayload> | null;
    if (typeof p?.tool !== "string") {
      throw new TypeError("Cannot execute: the stored capsule tool call is malformed");
    }
    const [{ capsuleHost }, { callCapsuleTool }] = await Promise.all([
      toolsCommandModule(),
      lazy<typeof import("../capsule/mod.ts")>("../capsule/mod.ts"),
    ]);
    const host = await capsuleHost(rt, env.workspaceRoot);
    const outcome = await callCapsuleTool(env.interceptor, host, p.tool, p.args, {
      answer: env.answer,
    });
    if (outcome.status === "error" && outcome.code === "INTEGRITY") {
      throw Object.assign(new CliError(outcome.message, ExitCode.Integrity), { code: "INTEGRITY" });
    }
    return resultOf(outcome);
  };
}

/** Re-runs a deferred MCP tool call against the configured servers. */
function mcpExecutor(rt: Runtime): Executor {
  return async (payload, env) => {
    const p = payload as Partial<McpCallPayload> | null;
    if (typeof p?.server !== "string" || typeof p.tool !== "string") {
      throw new TypeError("Cannot execute: the stored MCP call is malformed");
    }
    const [{ mcpManager }, { callMcpTool }] = await Promise.all([
      toolsCommandModule(),
      lazy<typeof import("../mcp/mod.ts")>("../mcp/mod.ts"),
    ]);
    await using manager = await mcpManager(rt, env.workspaceRoot);
    return resultOf(
      await callMcpTool(env.interceptor, manager, p.server, p.tool, p.args, {
        answer: env.answer,
      }),
    );
  };
}

/** The executors the CLI registers for the runtime a command opened. */
export function defaultExecutors(rt: Runtime): ReadonlyMap<string, Executor> {
  return new Map([
    ["tool", toolExecutor(rt)],
    ["capsule_tool", capsuleToolExecutor(rt)],
    ["mcp", mcpExecutor(rt)],
  ]);
}
