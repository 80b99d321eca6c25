/**
 * The file executor's Worker entry. It runs with Deno permissions narrowed to the workspace and
 * the approved escapes (no net, run, ffi, sys or import; env only for `TINYGLOBBY_DEBUG`, which
 * tinyglobby reads when loaded). Module loading needs no read permission in Deno, so no source
 * folder is granted. `glob` and `grep` (tinyglobby, ignore) are loaded on their first call, so
 * the Worker's start-up (paid by the first call of any file tool) evaluates only the small ops;
 * their imports are literal, so they stay in the module graph that needs no read grant.
 *
 * Protocol (postMessage, in order; `_protocol.ts`): first `{type:"init", roots}`, then any
 * number of `{type:"call", id, tool, args}`; each call is answered with `{id, ok:true, output}`
 * or `{id, ok:false, error:{code, message}}`. A Worker for the plain tools alone runs
 * `plain_worker.ts`, which serves the same protocol without `glob` and `grep`.
 *
 * Run as a main module (`deno run … worker.ts`: the escape subprocess of `_file_channel.ts`,
 * granted exactly the workspace plus the approved paths), it speaks the same protocol as JSON
 * lines: one request per line on stdin, one answer per line on stdout. It ends at end of input.
 *
 * @module
 */
import { inWorker, type Op, serveOps, serveStdio, type WorkerScope } from "./_protocol.ts";
import { PLAIN_OPS } from "./_plain_ops.ts";

export { toWireError, type WorkerRequest, type WorkerResponse } from "./_protocol.ts";

/**
 * Every file tool's op: the plain ones (also served by `plain_worker.ts`), `glob` and `grep`.
 *
 * @example The six file tools
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { OPS } from "./worker.ts";
 * equal(Object.keys(OPS).length, 6);
 * ```
 */
export const OPS: Readonly<Record<string, Op>> = Object.freeze({
  ...PLAIN_OPS,
  glob: async (raw, roots) => await (await import("./glob.ts")).globOp(raw, roots),
  grep: async (raw, roots) => await (await import("./grep.ts")).grepOp(raw, roots),
});

if (inWorker()) {
  serveOps(globalThis as unknown as WorkerScope, OPS);
} else if (import.meta.main) {
  await serveStdio(OPS);
}
