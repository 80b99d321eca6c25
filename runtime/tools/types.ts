/**
 * The shapes every built-in tool shares: its JSON-schema definition, the per-session context,
 * the result, the runners the executors provide, and the coded {@link ToolError}.
 *
 * @module
 */
import type { Action } from "../security/action.ts";

/** A JSON-schema object describing a tool's parameters. */
export interface JsonSchemaObject {
  /** Always `"object"`. */
  readonly type: "object";
  /** One JSON schema per parameter. */
  readonly properties: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Parameters that must be present. */
  readonly required: readonly string[];
  /** Always false: unknown parameters are refused. */
  readonly additionalProperties: false;
}

/** What the model sees of a tool. */
export interface ToolDefinition {
  /** The tool's name, e.g. `read_file`. */
  readonly name: string;
  /** One paragraph for the model. */
  readonly description: string;
  /** The parameters, as JSON schema. */
  readonly inputSchema: JsonSchemaObject;
}

/** Per-session state a tool call runs in. `cwd` is the `bash` working directory and changes. */
export interface ToolContext {
  /** The canonical (symlink-free, absolute) workspace root. */
  readonly workspaceRoot: string;
  /** The session the call belongs to. */
  readonly sessionId: string;
  /** The `bash` working directory; persisted across calls, always inside the workspace. */
  cwd: string;
}

/** What a tool returns. The agent labels it untrusted before it enters the transcript. */
export interface ToolResult {
  /** The text for the model, already capped. */
  readonly output: string;
  /** True when the call failed in a way the model should see (e.g. a non-zero exit code). */
  readonly isError: boolean;
  /** The exit code, for `bash`. */
  readonly exitCode?: number;
  /** How many characters the cap removed (0 or absent when nothing was cut). */
  readonly truncatedChars?: number;
}

/** The default timeout of one `bash` command, in ms. */
export const DEFAULT_BASH_TIMEOUT_MS = 120_000;
/** The longest timeout a `bash` call may ask for, in ms. */
export const MAX_BASH_TIMEOUT_MS = 600_000;

/** The names of the tools the file executor runs inside its Worker. */
export type FileToolName =
  | "read_file"
  | "write_file"
  | "edit_file"
  | "glob"
  | "grep"
  | "list_directory";

/** Runs one file tool with already-resolved absolute paths (implemented by `FileExecutor`). */
export interface FileRunner {
  /** Runs `tool` with `args`; throws {@link ToolError} on failure. */
  run(tool: FileToolName, args: Readonly<Record<string, unknown>>): Promise<ToolResult>;
}

/** Arguments of the `bash` tool after parsing. */
export interface BashArgs {
  /** The command line. */
  readonly command: string;
  /** Timeout in milliseconds. */
  readonly timeout: number;
}

/** Options for one `bash` call, decided by the interceptor. */
export interface ShellRunOptions {
  /** True only when every network action of the call was allowed. */
  readonly allowNetwork?: boolean;
}

/** Runs a `bash` call (implemented by `BashExecutor`); updates `ctx.cwd`. */
export interface ShellRunner {
  /** Runs the command; throws {@link ToolError} when it cannot run at all. */
  run(args: BashArgs, ctx: ToolContext, options?: ShellRunOptions): Promise<ToolResult>;
}

/** Arguments of the `task` tool after parsing. */
export interface TaskArgs {
  /** A short label for the sub-agent's job. */
  readonly description: string;
  /** The full instructions for the sub-agent. */
  readonly prompt: string;
}

/** Runs a sub-agent for the `task` tool (the agent runtime injects it). */
export type SubAgentRunner = (args: TaskArgs, ctx: ToolContext) => Promise<ToolResult>;

/** The executors a tool call may use; pass only what the interceptor allowed. */
export interface ToolEnv {
  /** The Worker-backed file executor. */
  readonly files: FileRunner;
  /** The sandboxed shell. */
  readonly shell: ShellRunner;
  /** The sub-agent runner; when absent `task` fails with code `UNAVAILABLE`. */
  readonly subAgent?: SubAgentRunner;
}

/** A built-in tool: definition, argument parser, classifier and runner. */
export interface BuiltinTool<A> {
  /** What the model sees. */
  readonly definition: ToolDefinition;
  /** Validates raw arguments; throws `TypeError` naming the bad field. */
  parse(args: unknown): A;
  /** The actions the interceptor must allow before {@link BuiltinTool.run}. */
  classify(args: A, ctx: ToolContext): Promise<Action[]>;
  /** Runs the call through the executors in `env`. */
  run(args: A, ctx: ToolContext, env: ToolEnv, options?: ShellRunOptions): Promise<ToolResult>;
}

/** Why a tool call failed; callers match on `code`. */
export type ToolErrorCode =
  | "NOT_CAPABLE"
  | "NOT_FOUND"
  | "BINARY_FILE"
  | "TOO_LARGE"
  | "EDIT_NO_MATCH"
  | "EDIT_AMBIGUOUS"
  | "INVALID_ARGS"
  | "IO"
  | "TIMEOUT"
  | "SANDBOX_UNAVAILABLE"
  | "UNAVAILABLE"
  | "EXECUTOR_FAILED";

const CODES: ReadonlySet<string> = new Set<ToolErrorCode>([
  "NOT_CAPABLE",
  "NOT_FOUND",
  "BINARY_FILE",
  "TOO_LARGE",
  "EDIT_NO_MATCH",
  "EDIT_AMBIGUOUS",
  "INVALID_ARGS",
  "IO",
  "TIMEOUT",
  "SANDBOX_UNAVAILABLE",
  "UNAVAILABLE",
  "EXECUTOR_FAILED",
]);

/**
 * A tool call that failed for a reason the caller can act on.
 *
 * @example Match on the code
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { ToolError } from "./types.ts";
 * const err = new ToolError("NOT_FOUND", "Cannot read file: /ws/a does not exist");
 * equal(err.code, "NOT_FOUND");
 * ```
 */
export class ToolError extends Error {
  /** The failure's code. */
  readonly code: ToolErrorCode;
  /** Creates the error. */
  constructor(code: ToolErrorCode, message: string) {
    super(message);
    this.name = "ToolError";
    this.code = code;
  }
}

/**
 * True when `code` is a known {@link ToolErrorCode} (used to revive errors sent by the Worker).
 *
 * @example Revive a code sent by the Worker
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { isToolErrorCode } from "./types.ts";
 * ok(isToolErrorCode("TIMEOUT"));
 * ok(!isToolErrorCode("nope"));
 * ```
 */
export function isToolErrorCode(code: unknown): code is ToolErrorCode {
  return typeof code === "string" && CODES.has(code);
}
