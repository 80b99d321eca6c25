/**
 * `glob` inside the Worker (tinyglobby), newest first.
 *
 * @module
 */
import { glob } from "tinyglobby";
import { absPath, argsObject, reqString } from "../_args.ts";
import { ToolError } from "../types.ts";
import { insideRoots, type Roots, verifiedRealPath } from "./_safe_fs.ts";

/** Most matches `glob` reports. */
export const MAX_GLOB_RESULTS = 1000;

/** Rejects patterns that could climb out of the search folder. */
export function checkPattern(tool: string, field: string, pattern: string): void {
  if (pattern.startsWith("/") || pattern.split("/").some((s) => s === "..")) {
    throw new TypeError(
      `Cannot parse ${tool}.${field}: patterns must be relative without "..", current value is "${pattern}"`,
    );
  }
}

/** Files under a verified folder matching `patterns`, symlinks not followed. */
export async function findFiles(
  dir: string,
  patterns: string[],
  ignore: string[] = [],
): Promise<string[]> {
  return await glob(patterns, {
    cwd: dir,
    dot: true,
    onlyFiles: true,
    followSymbolicLinks: false,
    absolute: true,
    expandDirectories: false,
    ignore,
  });
}

/** Lists files matching `pattern` under `path`, sorted by modification time, newest first. */
export async function globOp(raw: unknown, roots: Roots): Promise<string> {
  const obj = argsObject("glob", raw, ["pattern", "path"]);
  const pattern = reqString("glob", obj, "pattern");
  checkPattern("glob", "pattern", pattern);
  const path = absPath("glob", obj, "path");
  const dir = await verifiedRealPath(path, roots, "read", "search");
  if (!(await Deno.stat(dir)).isDirectory) {
    throw new ToolError("INVALID_ARGS", `Cannot search ${path}: it is not a directory`);
  }
  // The runtime's own state never shows up, even when it sits inside the searched folder.
  const files = (await findFiles(dir, [pattern])).filter((f) => !insideRoots(f, roots.hidden));
  const stamped = await Promise.all(files.map(async (file) => {
    const info = await Deno.lstat(file).catch(() => null);
    return { file, mtime: info?.mtime?.getTime() ?? 0 };
  }));
  stamped.sort((a, b) => b.mtime - a.mtime || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  if (stamped.length === 0) return `No files match ${pattern} under ${path}`;
  const shown = stamped.slice(0, MAX_GLOB_RESULTS).map((s) => s.file);
  const more = stamped.length - shown.length;
  return shown.join("\n") + (more > 0 ? `\n(${more} more matches not shown)` : "");
}
