/**
 * The file executor's Worker entry for the plain file tools (`read_file`, `write_file`,
 * `edit_file`, `list_directory`): the same protocol and the same narrowed permissions as
 * `worker.ts`, without `glob` and `grep`. Their npm packages (tinyglobby, ignore) are in
 * `worker.ts`'s module graph even though they load on first use, and a Worker pays for its
 * graph at start-up; a call of a plain tool starts this one instead (`_file_channel.ts`). Run as
 * a main module, it serves the same JSON lines over stdin/stdout as `worker.ts` does.
 *
 * @module
 */
import { PLAIN_OPS } from "./_plain_ops.ts";
import { inWorker, serveOps, serveStdio, type WorkerScope } from "./_protocol.ts";

if (inWorker()) {
  serveOps(globalThis as unknown as WorkerScope, PLAIN_OPS);
} else if (import.meta.main) {
  await serveStdio(PLAIN_OPS);
}
