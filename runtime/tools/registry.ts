/**
 * The built-in tools by name.
 *
 * @module
 */
import { bashTool } from "./bash_tool.ts";
import {
  editFileTool,
  globTool,
  grepTool,
  listDirectoryTool,
  readFileTool,
  writeFileTool,
} from "./file_tools.ts";
import { taskTool } from "./task_tool.ts";
import type { BuiltinTool } from "./types.ts";

/**
 * The eight built-in tools, in a stable order.
 *
 * @example The tools, in order
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { BUILTIN_TOOLS } from "./registry.ts";
 * deepEqual(BUILTIN_TOOLS.map((t) => t.definition.name), [
 *   "read_file", "write_file", "edit_file", "glob", "grep", "bash", "list_directory", "task",
 * ]);
 * ```
 */
export const BUILTIN_TOOLS: readonly BuiltinTool<unknown>[] = Object.freeze([
  readFileTool,
  writeFileTool,
  editFileTool,
  globTool,
  grepTool,
  bashTool,
  listDirectoryTool,
  taskTool,
] as BuiltinTool<unknown>[]);

/**
 * The built-in tool called `name`, or undefined.
 *
 * @example Look a tool up by name
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { builtinTool } from "./registry.ts";
 * equal(builtinTool("bash")?.definition.name, "bash");
 * equal(builtinTool("rm"), undefined);
 * ```
 */
export function builtinTool(name: string): BuiltinTool<unknown> | undefined {
  return BUILTIN_TOOLS.find((t) => t.definition.name === name);
}
