/**
 * Private: the plain file ops (read, write, edit, list), served by both Worker entries. Their
 * modules import nothing from npm.
 *
 * @module
 */
import type { Op } from "./_protocol.ts";
import { editFileOp } from "./edit_file.ts";
import { listDirectoryOp } from "./list_directory.ts";
import { readFileOp } from "./read_file.ts";
import { writeFileOp } from "./write_file.ts";

/**
 * The four plain file tools' ops, by tool name.
 *
 * @example The plain tools
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { PLAIN_OPS } from "./_plain_ops.ts";
 * deepEqual(Object.keys(PLAIN_OPS).sort(), ["edit_file", "list_directory", "read_file", "write_file"]);
 * ```
 */
export const PLAIN_OPS: Readonly<Record<string, Op>> = Object.freeze({
  read_file: readFileOp,
  write_file: writeFileOp,
  edit_file: editFileOp,
  list_directory: listDirectoryOp,
});
