/**
 * Executors that carry out approved, deferred actions, by name. `tool` re-runs a built-in tool
 * call through the interceptor with the human's recorded answer.
 *
 * @module
 */
import type { Executor } from "../security/approval.ts";
import { createToolSession, invokeTool, type ToolCallPayload } from "../tools/invoke.ts";
import { CliError, ExitCode } from "./errors.ts";

function isPayload(value: unknown): value is ToolCallPayload {
  const v = value as Partial<ToolCallPayload> | null;
  return typeof v === "object" && v !== null && typeof v.tool === "string" &&
    typeof v.cwd === "string";
}

/** Re-runs a deferred built-in tool call. */
export const toolExecutor: Executor = async (payload, env) => {
  if (!isPayload(payload)) throw new TypeError("Cannot execute: the stored tool call is malformed");
  const session = await createToolSession({
    workspaceRoot: env.workspaceRoot,
    sessionId: env.sessionId,
    cwd: payload.cwd,
    sandbox: env.config.tools.sandbox,
    outputLimitChars: env.config.tools.output_limit_chars,
  });
  try {
    const outcome = await invokeTool(env.interceptor, session, payload.tool, payload.args, {
      answer: env.answer,
    });
    if (outcome.status === "denied") {
      throw Object.assign(new CliError(outcome.reason, ExitCode.Denied), { code: "DENIED" });
    }
    if (outcome.status === "deferred") {
      throw new CliError(`another action of the call is waiting for approval: ${outcome.id}`);
    }
    if (outcome.status === "error") throw new CliError(outcome.message);
    return outcome.result;
  } finally {
    session.files.close();
  }
};

/** The executors the CLI registers. */
export function defaultExecutors(): ReadonlyMap<string, Executor> {
  return new Map([["tool", toolExecutor]]);
}
