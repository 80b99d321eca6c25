/**
 * `edit_file` inside the Worker: exact string replacement that refuses missing or ambiguous
 * matches.
 *
 * @module
 */
import { absPath, argsObject, optBool, reqString } from "../_args.ts";
import { ToolError } from "../types.ts";
import { openForWrite, readAllFrom, type Roots } from "./_safe_fs.ts";
import { decodeText } from "./_text.ts";
import { MAX_READ_BYTES } from "./read_file.ts";

/** Counts non-overlapping occurrences of `needle` in `hay`. */
export function countOccurrences(hay: string, needle: string): number {
  let count = 0;
  for (let i = hay.indexOf(needle); i !== -1; i = hay.indexOf(needle, i + needle.length)) count++;
  return count;
}

/** Replaces `old_string` with `new_string` once (or everywhere with `replace_all`). */
export async function editFileOp(raw: unknown, roots: Roots): Promise<string> {
  const obj = argsObject("edit_file", raw, [
    "file_path",
    "old_string",
    "new_string",
    "replace_all",
  ]);
  const path = absPath("edit_file", obj, "file_path");
  const oldString = reqString("edit_file", obj, "old_string");
  const newString = reqString("edit_file", obj, "new_string", { allowEmpty: true });
  const replaceAll = optBool("edit_file", obj, "replace_all") ?? false;
  if (oldString === newString) {
    throw new TypeError("Cannot parse edit_file.new_string: it equals old_string");
  }
  const { file } = await openForWrite(path, roots, { create: false, read: true });
  using _file = file;
  const text = decodeText(await readAllFrom(file, path, MAX_READ_BYTES), path);
  const count = countOccurrences(text, oldString);
  if (count === 0) {
    throw new ToolError("EDIT_NO_MATCH", `Cannot edit ${path}: old_string was not found`);
  }
  if (count > 1 && !replaceAll) {
    throw new ToolError(
      "EDIT_AMBIGUOUS",
      `Cannot edit ${path}: old_string occurs ${count} times; add context to make it unique or set replace_all`,
    );
  }
  // split/join: a string replacement would interpret `$&` and friends in new_string.
  const updated = replaceAll
    ? text.split(oldString).join(newString)
    : text.slice(0, text.indexOf(oldString)) + newString +
      text.slice(text.indexOf(oldString) + oldString.length);
  const bytes = new TextEncoder().encode(updated);
  await file.truncate(0);
  await file.seek(0, Deno.SeekMode.Start);
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off));
  return `Edited ${path}: replaced ${replaceAll ? count : 1} occurrence${
    (replaceAll ? count : 1) === 1 ? "" : "s"
  }`;
}
