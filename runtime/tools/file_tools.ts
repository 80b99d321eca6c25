/**
 * The six file tools: `read_file`, `write_file`, `edit_file`, `glob`, `grep`, `list_directory`.
 * Relative paths resolve against the workspace root. Each classifies into `file_read` or
 * `file_write` on the canonical target path and runs in the file executor's Worker.
 *
 * @module
 */
import type { Action } from "../security/action.ts";
import { canonicalizePath } from "../security/workspace.ts";
import { argsObject, optBool, optInt, optString, reqString } from "./_args.ts";
import type { BuiltinTool, FileToolName, ToolContext, ToolDefinition } from "./types.ts";

/** Parsed `read_file` arguments. */
export interface ReadFileArgs {
  readonly file_path: string;
  readonly offset?: number;
  readonly limit?: number;
  readonly tail?: number;
}
/** Parsed `write_file` arguments. */
export interface WriteFileArgs {
  readonly file_path: string;
  readonly content: string;
}
/** Parsed `edit_file` arguments. */
export interface EditFileArgs {
  readonly file_path: string;
  readonly old_string: string;
  readonly new_string: string;
  readonly replace_all?: boolean;
}
/** Parsed `glob` arguments. */
export interface GlobArgs {
  readonly pattern: string;
  readonly path?: string;
}
/** Parsed `grep` arguments. */
export interface GrepArgs {
  readonly pattern: string;
  readonly path?: string;
  readonly glob?: string;
  readonly context?: number;
  readonly case_insensitive?: boolean;
}
/** Parsed `list_directory` arguments. */
export interface ListDirectoryArgs {
  readonly path?: string;
}

const str = (description: string) => ({ type: "string", description });
const int = (description: string, minimum: number, maximum?: number) => ({
  type: "integer",
  description,
  minimum,
  ...(maximum === undefined ? {} : { maximum }),
});

function definition(
  name: FileToolName,
  description: string,
  properties: Record<string, Record<string, unknown>>,
  required: string[],
): ToolDefinition {
  return {
    name,
    description,
    inputSchema: { type: "object", properties, required, additionalProperties: false },
  };
}

/** Only own, present fields, so optional ones stay absent (exactOptionalPropertyTypes). */
type Defined<T> =
  & { [K in keyof T as undefined extends T[K] ? never : K]: T[K] }
  & { [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined> };
function defined<T extends Record<string, unknown>>(obj: T): Defined<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Defined<T>;
}

/**
 * The path a file tool acts on: the same canonical path classification produced (relative
 * paths start at the workspace root), so the Worker's lexical Deno permission check sees
 * exactly what the interceptor allowed. The Worker re-verifies it after opening.
 *
 * @example Relative paths start at the workspace root
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { toolPath } from "./file_tools.ts";
 * const root = await Deno.realPath(await Deno.makeTempDir());
 * const ctx = { workspaceRoot: root, sessionId: "s", cwd: `${root}/sub` };
 * equal(await toolPath("a/../b.txt", ctx), `${root}/b.txt`);
 * equal(await toolPath(undefined, ctx), root);
 * ```
 */
export async function toolPath(input: string | undefined, ctx: ToolContext): Promise<string> {
  return await canonicalizePath(input ?? ".", ctx.workspaceRoot);
}

async function target(
  kind: "file_read" | "file_write",
  input: string | undefined,
  ctx: ToolContext,
): Promise<Action[]> {
  return [{ kind, path: await toolPath(input, ctx) }];
}

/**
 * `read_file`: a text file with line numbers; binary files are refused.
 *
 * @example Classify a read
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { readFileTool } from "./file_tools.ts";
 * const root = await Deno.realPath(await Deno.makeTempDir());
 * const ctx = { workspaceRoot: root, sessionId: "s", cwd: root };
 * const args = readFileTool.parse({ file_path: "a.txt", limit: 10 });
 * deepEqual(await readFileTool.classify(args, ctx), [{ kind: "file_read", path: `${root}/a.txt` }]);
 * ```
 */
export const readFileTool: BuiltinTool<ReadFileArgs> = {
  definition: definition(
    "read_file",
    "Read a text file. Lines are numbered like `cat -n`. Use offset (1-based line) and limit for long files, or tail for the last lines; files of any size are streamed. Text that is not UTF-8 is decoded as Latin-1 with a notice. Binary files are refused.",
    {
      file_path: str("Path of the file (relative paths start at the workspace root)"),
      offset: int("First line to show, 1-based", 1),
      limit: int("How many lines to show (default 2000)", 1, 1_000_000),
      tail: int("Show the last N lines instead (not with offset)", 1, 1_000_000),
    },
    ["file_path"],
  ),
  parse(args) {
    const o = argsObject("read_file", args, ["file_path", "offset", "limit", "tail"]);
    const parsed = defined({
      file_path: reqString("read_file", o, "file_path", { path: true }),
      offset: optInt("read_file", o, "offset", 1, Number.MAX_SAFE_INTEGER),
      limit: optInt("read_file", o, "limit", 1, 1_000_000),
      tail: optInt("read_file", o, "tail", 1, 1_000_000),
    });
    if (parsed.offset !== undefined && parsed.tail !== undefined) {
      throw new TypeError("Cannot parse read_file arguments: give offset or tail, not both");
    }
    return parsed;
  },
  classify: (a, ctx) => target("file_read", a.file_path, ctx),
  run: async (a, ctx, env) =>
    env.files.run("read_file", { ...a, file_path: await toolPath(a.file_path, ctx) }),
};

/**
 * `write_file`: create or overwrite a file, creating parent folders.
 *
 * @example A write outside the workspace classifies to its canonical path
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { writeFileTool } from "./file_tools.ts";
 * const root = await Deno.realPath(await Deno.makeTempDir());
 * const ctx = { workspaceRoot: root, sessionId: "s", cwd: root };
 * const args = writeFileTool.parse({ file_path: "/etc/../etc/motd", content: "" });
 * deepEqual(await writeFileTool.classify(args, ctx), [{ kind: "file_write", path: "/etc/motd" }]);
 * ```
 */
export const writeFileTool: BuiltinTool<WriteFileArgs> = {
  definition: definition(
    "write_file",
    "Create or overwrite a file with the given content. Missing parent folders are created.",
    { file_path: str("Path of the file"), content: str("The complete new content") },
    ["file_path", "content"],
  ),
  parse(args) {
    const o = argsObject("write_file", args, ["file_path", "content"]);
    return {
      file_path: reqString("write_file", o, "file_path", { path: true }),
      content: reqString("write_file", o, "content", { allowEmpty: true }),
    };
  },
  classify: (a, ctx) => target("file_write", a.file_path, ctx),
  run: async (a, ctx, env) =>
    env.files.run("write_file", { ...a, file_path: await toolPath(a.file_path, ctx) }),
};

/**
 * `edit_file`: replace an exact string; fails when it is missing or ambiguous.
 *
 * @example Parsing refuses a no-op edit
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { editFileTool } from "./file_tools.ts";
 * throws(() => editFileTool.parse({ file_path: "a", old_string: "x", new_string: "x" }), TypeError);
 * ```
 */
export const editFileTool: BuiltinTool<EditFileArgs> = {
  definition: definition(
    "edit_file",
    "Replace old_string with new_string in a file. old_string must occur exactly once unless replace_all is true; the error says how many times it occurs.",
    {
      file_path: str("Path of the file"),
      old_string: str("The exact text to replace"),
      new_string: str("The replacement text"),
      replace_all: { type: "boolean", description: "Replace every occurrence (default false)" },
    },
    ["file_path", "old_string", "new_string"],
  ),
  parse(args) {
    const t = "edit_file";
    const o = argsObject(t, args, ["file_path", "old_string", "new_string", "replace_all"]);
    const parsed = defined({
      file_path: reqString(t, o, "file_path", { path: true }),
      old_string: reqString(t, o, "old_string"),
      new_string: reqString(t, o, "new_string", { allowEmpty: true }),
      replace_all: optBool(t, o, "replace_all"),
    });
    if (parsed.old_string === parsed.new_string) {
      throw new TypeError("Cannot parse edit_file.new_string: it equals old_string");
    }
    return parsed;
  },
  classify: (a, ctx) => target("file_write", a.file_path, ctx),
  run: async (a, ctx, env) =>
    env.files.run("edit_file", { ...a, file_path: await toolPath(a.file_path, ctx) }),
};

/**
 * `glob`: files matching a pattern, newest first.
 *
 * @example The search folder defaults to the workspace root
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { globTool } from "./file_tools.ts";
 * deepEqual(globTool.parse({ pattern: "**\/*.ts" }), { pattern: "**\/*.ts" });
 * ```
 */
export const globTool: BuiltinTool<GlobArgs> = {
  definition: definition(
    "glob",
    "Find files by glob pattern (e.g. `src/**/*.ts`), newest first. Dotfiles are included.",
    {
      pattern: str("Glob pattern, relative to path"),
      path: str("Folder to search (default: the workspace root)"),
    },
    ["pattern"],
  ),
  parse(args) {
    const o = argsObject("glob", args, ["pattern", "path"]);
    return defined({
      pattern: reqString("glob", o, "pattern"),
      path: optString("glob", o, "path", { path: true }),
    });
  },
  classify: (a, ctx) => target("file_read", a.path, ctx),
  run: async (a, ctx, env) =>
    env.files.run("glob", { pattern: a.pattern, path: await toolPath(a.path, ctx) }),
};

/**
 * `grep`: JS regex search over text files, respecting .gitignore.
 *
 * @example An invalid regex is a TypeError naming the field
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { grepTool } from "./file_tools.ts";
 * throws(() => grepTool.parse({ pattern: "(" }), /grep\.pattern/);
 * ```
 */
export const grepTool: BuiltinTool<GrepArgs> = {
  definition: definition(
    "grep",
    "Search file contents with a JavaScript regular expression. Files ignored by .gitignore and binary files are skipped. Output lines are `file:line:text`; context lines use `-`.",
    {
      pattern: str("JavaScript regular expression"),
      path: str("File or folder to search (default: the workspace root)"),
      glob: str("Only search files matching this glob (e.g. `**/*.ts`)"),
      context: int("Lines of context around each match", 0, 50),
      case_insensitive: { type: "boolean", description: "Ignore case (default false)" },
    },
    ["pattern"],
  ),
  parse(args) {
    const t = "grep";
    const o = argsObject(t, args, ["pattern", "path", "glob", "context", "case_insensitive"]);
    const parsed = defined({
      pattern: reqString(t, o, "pattern"),
      path: optString(t, o, "path", { path: true }),
      glob: optString(t, o, "glob"),
      context: optInt(t, o, "context", 0, 50),
      case_insensitive: optBool(t, o, "case_insensitive"),
    });
    try {
      new RegExp(parsed.pattern, "u");
    } catch (err) {
      throw new TypeError(`Cannot parse grep.pattern: ${(err as Error).message}`);
    }
    return parsed;
  },
  classify: (a, ctx) => target("file_read", a.path, ctx),
  run: async (a, ctx, env) => env.files.run("grep", { ...a, path: await toolPath(a.path, ctx) }),
};

/**
 * `list_directory`: entries with type and size, sorted by name.
 *
 * @example No path means the workspace root
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { listDirectoryTool } from "./file_tools.ts";
 * const ctx = { workspaceRoot: "/", sessionId: "s", cwd: "/" };
 * deepEqual(await listDirectoryTool.classify(listDirectoryTool.parse({}), ctx), [
 *   { kind: "file_read", path: "/" },
 * ]);
 * ```
 */
export const listDirectoryTool: BuiltinTool<ListDirectoryArgs> = {
  definition: definition(
    "list_directory",
    "List a folder: one `type<TAB>size<TAB>name` line per entry, sorted by name.",
    { path: str("Folder to list (default: the workspace root)") },
    [],
  ),
  parse(args) {
    const o = argsObject("list_directory", args, ["path"]);
    return defined({ path: optString("list_directory", o, "path", { path: true }) });
  },
  classify: (a, ctx) => target("file_read", a.path, ctx),
  run: async (a, ctx, env) =>
    env.files.run("list_directory", { path: await toolPath(a.path, ctx) }),
};
