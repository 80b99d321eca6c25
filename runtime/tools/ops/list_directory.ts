/**
 * `list_directory` inside the Worker: entries with type and size, sorted by name.
 *
 * @module
 */
import { absPath, argsObject } from "../_args.ts";
import { ToolError } from "../types.ts";
import { type Roots, verifiedRealPath } from "./_safe_fs.ts";

/** Lists a folder: one `type<TAB>size<TAB>name` line per entry (folders end with `/`). */
export async function listDirectoryOp(raw: unknown, roots: Roots): Promise<string> {
  const obj = argsObject("list_directory", raw, ["path"]);
  const path = absPath("list_directory", obj, "path");
  const real = await verifiedRealPath(path, roots, "read", "list");
  if (!(await Deno.stat(real)).isDirectory) {
    throw new ToolError("INVALID_ARGS", `Cannot list ${path}: it is not a directory`);
  }
  const rows: { name: string; line: string }[] = [];
  for await (const entry of Deno.readDir(real)) {
    const info = await Deno.lstat(`${real}/${entry.name}`);
    const type = info.isSymlink
      ? "symlink"
      : info.isDirectory
      ? "dir"
      : info.isFile
      ? "file"
      : "other";
    const size = info.isFile ? String(info.size) : "-";
    rows.push({
      name: entry.name,
      line: `${type}\t${size}\t${entry.name}${info.isDirectory ? "/" : ""}`,
    });
  }
  rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (rows.length === 0) return `(${path} is empty)`;
  return `${path}: ${rows.length} entr${rows.length === 1 ? "y" : "ies"}\n${
    rows.map((r) => r.line).join("\n")
  }`;
}
