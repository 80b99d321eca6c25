/**
 * The eight built-in tools and the executors that run them below the interceptor: file tools
 * in a permission-narrowed Deno Worker, `bash` under bubblewrap.
 *
 * A call goes: `builtinTool(name)` → `parse(args)` → `classify(args, ctx)` → the interceptor
 * allows every action → `run(args, ctx, env, { allowNetwork })`.
 *
 * Requirements: Deno's `worker-options` unstable feature (deno.json `"unstable"`), without
 * which Deno refuses to create the file executor's Worker and exits; `bwrap` on Linux for
 * `bash` (refused otherwise unless the sandbox is configured `"off"`).
 *
 * @example Run `read_file` end to end in a temporary workspace
 * ```ts
 * import { match } from "node:assert/strict";
 * import { BashExecutor, builtinTool, FileExecutor } from "./mod.ts";
 * const root = await Deno.realPath(await Deno.makeTempDir());
 * await Deno.writeTextFile(`${root}/notes.txt`, "hello\n");
 * const ctx = { workspaceRoot: root, sessionId: "s1", cwd: root };
 * using files = FileExecutor.create({ root });
 * const shell = await BashExecutor.create();
 * const tool = builtinTool("read_file")!;
 * const args = tool.parse({ file_path: "notes.txt" });
 * await tool.classify(args, ctx); // [{ kind: "file_read", path: `${root}/notes.txt` }]
 * const result = await tool.run(args, ctx, { files, shell });
 * match(result.output, /1\thello/);
 * ```
 *
 * @module
 */
export {
  type BashArgs,
  type BuiltinTool,
  type FileRunner,
  type FileToolName,
  isToolErrorCode,
  type JsonSchemaObject,
  type ShellRunner,
  type ShellRunOptions,
  type SubAgentRunner,
  type TaskArgs,
  type ToolContext,
  type ToolDefinition,
  type ToolEnv,
  ToolError,
  type ToolErrorCode,
  type ToolResult,
} from "./types.ts";
export { BUILTIN_TOOLS, builtinTool } from "./registry.ts";
export {
  type EditFileArgs,
  editFileTool,
  type GlobArgs,
  globTool,
  type GrepArgs,
  grepTool,
  type ListDirectoryArgs,
  listDirectoryTool,
  type ReadFileArgs,
  readFileTool,
  toolPath,
  type WriteFileArgs,
  writeFileTool,
} from "./file_tools.ts";
export { bashTool } from "./bash_tool.ts";
export { taskTool } from "./task_tool.ts";
export { FileExecutor, type FileExecutorOptions, type FileGrants } from "./file_executor.ts";
export {
  BashExecutor,
  type BashExecutorOptions,
  DEFAULT_BASH_TIMEOUT_MS,
  MAX_BASH_TIMEOUT_MS,
  type SandboxMode,
} from "./bash_executor.ts";
export { networkTargets, UNKNOWN_HOST } from "./network_need.ts";
export { capOutput, type CappedOutput, DEFAULT_MAX_OUTPUT_CHARS } from "./output.ts";
