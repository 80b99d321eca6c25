/**
 * One tool call, start to finish: parse the arguments, classify the call into Actions, pass
 * each through the interceptor, run the tool in its executor with exactly the grants that were
 * allowed, and audit the outcome. The result is labelled untrusted.
 *
 * @module
 */
import { type Action, describeAction } from "../security/action.ts";
import type { ApprovalAnswer, Provenance } from "../security/approval.ts";
import type {
  Allowed,
  Deferred,
  Denied,
  DenyCode,
  SecurityInterceptor,
} from "../security/interceptor.ts";
import { builtinTool } from "./registry.ts";
import { FileExecutor } from "./file_executor.ts";
import {
  type FileToolName,
  type ShellRunner,
  type SubAgentRunner,
  type ToolContext,
  ToolError,
} from "./types.ts";
import type { ToolResult } from "./types.ts";
import { NO_WALLS, type Walls } from "../security/walls.ts";
import { workspaceCreator } from "../sandbox/creator.ts";

/** The executors and per-session state one session's tool calls share. */
export interface ToolSession {
  /** Mutable: `bash` updates `cwd`. */
  readonly ctx: ToolContext;
  /** The Worker-backed executor for the workspace alone; escapes get a narrower copy. */
  readonly files: FileExecutor;
  readonly shell: ShellRunner;
  readonly subAgent?: SubAgentRunner;
}

/** Per-call options. */
export interface InvokeOptions {
  /** The human's answer given up front (`--approve`, or a queued approval). */
  readonly answer?: ApprovalAnswer | undefined;
  /** Where the arguments came from. */
  readonly provenance?: Provenance | undefined;
  readonly signal?: AbortSignal | undefined;
  /** The model's id for the call, passed to `before_tool_call` hooks. */
  readonly toolCallId?: string | undefined;
}

/** What happened to a tool call. */
export type InvokeOutcome =
  | {
    readonly status: "ok";
    readonly result: ToolResult;
    readonly proofs: readonly string[];
    /** Tool output is always untrusted input for the model. */
    readonly trust: "untrusted";
  }
  | {
    readonly status: "denied";
    readonly code: DenyCode;
    readonly reason: string;
    readonly summary: string;
    readonly auditSeq: number | null;
  }
  | {
    readonly status: "deferred";
    readonly id: string;
    readonly reason: string;
    readonly summary: string;
  }
  | { readonly status: "error"; readonly code: string; readonly message: string };

/** The outcome of a call the interceptor did not allow (shared by every kind of tool). */
export function refusedOutcome(
  decision: Denied | Deferred,
  summary: string,
): Exclude<InvokeOutcome, { status: "ok" | "error" }> {
  return decision.outcome === "denied"
    ? {
      status: "denied",
      code: decision.code,
      reason: decision.reason,
      summary,
      auditSeq: decision.auditSeq,
    }
    : { status: "deferred", id: decision.id, reason: decision.reason, summary };
}

/** The deferred-queue payload of a tool call. */
export interface ToolCallPayload {
  readonly tool: string;
  readonly args: unknown;
  readonly cwd: string;
}

/** Runs one built-in tool call through the interceptor and its executor. */
export async function invokeTool(
  interceptor: SecurityInterceptor,
  session: ToolSession,
  name: string,
  rawArgs: unknown,
  opts: InvokeOptions = {},
): Promise<InvokeOutcome> {
  const tool = builtinTool(name);
  if (!tool) {
    return { status: "error", code: "UNKNOWN_TOOL", message: `Cannot call ${name}: no such tool` };
  }
  // Policy, then the before_tool_call hooks; a rewrite is parsed, classified and checked again.
  // Arguments that cannot even be classified (a NUL byte, a bad type) never reach a tool, and
  // the attempt is on the record.
  let args: unknown;
  const screened = await interceptor.screenCall({
    tool: name,
    args: rawArgs,
    toolCallId: opts.toolCallId,
    build: async (raw) => {
      args = tool.parse(raw);
      return await tool.classify(args, session.ctx);
    },
  }, { argumentBytes: bytesOf(rawArgs), provenance: opts.provenance, signal: opts.signal });
  if (screened.outcome === "denied") {
    return { ...screened, status: "denied", summary: `${name} call` };
  }
  const actions = screened.actions;
  const argumentBytes = bytesOf(screened.args);

  const payload: ToolCallPayload = { tool: name, args: screened.args, cwd: session.ctx.cwd };
  const allowed: { action: Action; decision: Allowed }[] = [];
  const releaseAll = async (detail: string) => {
    for (const a of allowed) await a.decision.complete({ ok: false, detail });
  };
  for (const action of actions) {
    const decision = await interceptor.intercept(action, {
      tool: name,
      provenance: opts.provenance,
      argumentBytes,
      execution: { executor: "tool", payload },
      answer: opts.answer,
      signal: opts.signal,
      screened: screened.screen,
    });
    if (decision.outcome === "allowed") {
      allowed.push({ action, decision });
      continue;
    }
    await releaseAll(`not run: another action of the call was ${decision.outcome}`);
    return refusedOutcome(decision, summaryOf(action));
  }

  const root = session.ctx.workspaceRoot;
  const outside = (p: string) =>
    p !== root && !p.startsWith(root.endsWith("/") ? root : `${root}/`);
  const readEscapes = actions.flatMap((a) =>
    a.kind === "file_read" && outside(a.path) ? [a.path] : []
  );
  const writeEscapes = actions.flatMap((a) =>
    (a.kind === "file_write" || a.kind === "file_delete") && outside(a.path) ? [a.path] : []
  );
  const files = readEscapes.length || writeEscapes.length
    ? session.files.withGrants({ readEscapes, writeEscapes })
    : session.files;
  try {
    const result = await tool.run(args, session.ctx, {
      files,
      shell: session.shell,
      ...(session.subAgent ? { subAgent: session.subAgent } : {}),
    }, { allowNetwork: actions.some((a) => a.kind === "network_request") });
    for (const a of allowed) {
      await a.decision.complete({
        ok: !result.isError,
        detail: { exitCode: result.exitCode ?? null, truncatedChars: result.truncatedChars ?? 0 },
      });
    }
    return {
      status: "ok",
      result,
      proofs: allowed.map((a) => a.decision.proof),
      trust: "untrusted",
    };
  } catch (err) {
    const code = err instanceof ToolError ? err.code : "EXECUTOR_FAILED";
    const message = (err as Error).message;
    for (const a of allowed) await a.decision.complete({ ok: false, detail: { code, message } });
    return { status: "error", code, message };
  } finally {
    if (files !== session.files) files.close();
  }
}

function bytesOf(args: unknown): number {
  return new TextEncoder().encode(JSON.stringify(args) ?? "").length;
}

function summaryOf(action: Action): string {
  try {
    return describeAction(action).summary;
  } catch {
    return action.kind;
  }
}

/** Options for {@link createToolSession}. */
export interface ToolSessionOptions {
  readonly workspaceRoot: string;
  readonly sessionId: string;
  /** The `bash` working directory to resume from (default: the workspace root). */
  readonly cwd?: string | undefined;
  readonly sandbox: "bwrap" | "off";
  readonly outputLimitChars: number;
  /** What no tool may touch, and what the sandbox hides besides (default: none). */
  readonly walls?: Walls | undefined;
  readonly subAgent?: SubAgentRunner;
  /**
   * A file executor made ahead for `workspaceRoot` (see {@link earlyFileExecutor}); default: a
   * new one. The session owns it from then on.
   */
  readonly files?: FileExecutor | undefined;
}

/** What a session's file executor is made from. */
type ExecutorOptions = Pick<ToolSessionOptions, "workspaceRoot" | "outputLimitChars" | "walls">;

/**
 * The file executor of a one-shot command, started before the command has opened the store, the
 * audit log and the gate: its Worker then loads its ops while those open. Pass it to
 * {@link createToolSession} as `files`, or close it.
 *
 * @example Started ahead, then used by the session
 * ```ts
 * import { match } from "node:assert/strict";
 * import { createToolSession, earlyFileExecutor } from "./invoke.ts";
 * const root = await Deno.realPath(await Deno.makeTempDir());
 * await Deno.writeTextFile(`${root}/a.txt`, "hello\n");
 * const files = earlyFileExecutor({ workspaceRoot: root, outputLimitChars: 1000 }, "read_file");
 * const session = await createToolSession({
 *   workspaceRoot: root, sessionId: "s", sandbox: "off", outputLimitChars: 1000, files,
 * });
 * match((await session.files.run("read_file", { file_path: `${root}/a.txt` })).output, /hello/);
 * session.files.close();
 * ```
 */
export function earlyFileExecutor(opts: ExecutorOptions, tool: FileToolName): FileExecutor {
  const files = newFileExecutor(opts);
  files.start(tool);
  return files;
}

function newFileExecutor(opts: ExecutorOptions): FileExecutor {
  return FileExecutor.create({
    root: opts.workspaceRoot,
    maxOutputChars: opts.outputLimitChars,
    hidden: opts.walls?.hidden ?? [],
    creator: workspaceCreator(opts.walls ?? NO_WALLS, opts.workspaceRoot),
  });
}

/**
 * Creates the executors for one session's tool calls. Close `files` when done. The file
 * executor's Worker starts at the first file call (or at `files.start()`), the `bash` executor
 * at the first command.
 */
export function createToolSession(opts: ToolSessionOptions): Promise<ToolSession> {
  return Promise.resolve().then(() => {
    const root = opts.workspaceRoot;
    const inside = opts.cwd && (opts.cwd === root || opts.cwd.startsWith(`${root}/`));
    return {
      ctx: { workspaceRoot: root, sessionId: opts.sessionId, cwd: inside ? opts.cwd! : root },
      files: opts.files ?? newFileExecutor(opts),
      shell: lazyShell(opts),
      ...(opts.subAgent ? { subAgent: opts.subAgent } : {}),
    };
  });
}

/**
 * The session's `bash` executor, created at its first command: loading it and probing the
 * sandbox (a bwrap subprocess) is only paid by a session that runs a command.
 */
function lazyShell(opts: ToolSessionOptions): ShellRunner {
  let shell: Promise<ShellRunner> | undefined;
  return {
    async run(args, ctx, options) {
      shell ??= import("./bash_executor.ts").then(({ BashExecutor }) =>
        BashExecutor.create({
          sandbox: opts.sandbox,
          maxOutputChars: opts.outputLimitChars,
          ...(opts.walls ? { walls: opts.walls } : {}),
        })
      );
      return await (await shell).run(args, ctx, options);
    },
  };
}
