/**
 * `read_file` inside the Worker: verified open, binary refusal, `cat -n` style numbering.
 *
 * @module
 */
import { absPath, argsObject, optInt } from "../_args.ts";
import { openForRead, readAllFrom, type Roots } from "./_safe_fs.ts";
import { decodeText } from "./_text.ts";

/** Largest file `read_file` loads. */
export const MAX_READ_BYTES = 10 * 1024 * 1024;
/** Lines shown when no limit is given. */
export const DEFAULT_READ_LINES = 2000;

/** Reads a text file and numbers its lines from `offset` (1-based) for `limit` lines. */
export async function readFileOp(raw: unknown, roots: Roots): Promise<string> {
  const obj = argsObject("read_file", raw, ["file_path", "offset", "limit"]);
  const path = absPath("read_file", obj, "file_path");
  const offset = optInt("read_file", obj, "offset", 1, Number.MAX_SAFE_INTEGER) ?? 1;
  const limit = optInt("read_file", obj, "limit", 1, 1_000_000) ?? DEFAULT_READ_LINES;
  using file = await openForRead(path, roots);
  const text = decodeText(await readAllFrom(file, path, MAX_READ_BYTES), path);
  if (text.length === 0) return `(${path} is empty)`;
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (offset > lines.length) {
    return `(${path} has ${lines.length} lines; offset ${offset} is past the end)`;
  }
  const shown = lines.slice(offset - 1, offset - 1 + limit);
  const body = shown.map((line, i) => `${String(offset + i).padStart(6)}\t${line}`).join("\n");
  const last = offset - 1 + shown.length;
  return last < lines.length
    ? `${body}\n(lines ${offset}-${last} of ${lines.length}; pass offset to read more)`
    : body;
}
