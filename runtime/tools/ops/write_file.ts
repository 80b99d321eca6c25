/**
 * `write_file` inside the Worker: parents created inside the write roots, verified before the
 * file is truncated.
 *
 * @module
 */
import { absPath, argsObject, reqString } from "../_args.ts";
import { openForWrite, type Roots } from "./_safe_fs.ts";

/** Writes `content` to `file_path`, creating it and its parent folders. */
export async function writeFileOp(raw: unknown, roots: Roots): Promise<string> {
  const obj = argsObject("write_file", raw, ["file_path", "content"]);
  const path = absPath("write_file", obj, "file_path");
  const content = reqString("write_file", obj, "content", { allowEmpty: true });
  const { file, created } = await openForWrite(path, roots, { create: true });
  using _file = file;
  await file.truncate(0);
  const bytes = new TextEncoder().encode(content);
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off));
  return `${created ? "Created" : "Overwrote"} ${path} (${bytes.length} bytes)`;
}
