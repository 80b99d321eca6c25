/**
 * The file executor's Worker entry. It runs with Deno permissions narrowed to the workspace and
 * the approved escapes (no net, run, ffi, sys or import; env only for `TINYGLOBBY_DEBUG`, which
 * tinyglobby reads when loaded). Module loading needs no read permission in Deno, so no source
 * folder is granted. `glob` and `grep` (tinyglobby, ignore) are loaded on their first call, so
 * the Worker's start-up (paid by the first call of any file tool) evaluates only the small ops;
 * their imports are literal, so they stay in the module graph that needs no read grant.
 *
 * Protocol (postMessage, in order): first `{type:"init", roots}`, then any number of
 * `{type:"call", id, tool, args}`; each call is answered with `{id, ok:true, output}` or
 * `{id, ok:false, error:{code, message}}`.
 *
 * Run as a main module (`deno run … worker.ts`: the escape subprocess of `_file_channel.ts`,
 * granted exactly the workspace plus the approved paths), it speaks the same protocol as JSON
 * lines: one request per line on stdin, one answer per line on stdout. It ends at end of input.
 *
 * @module
 */
import { isToolErrorCode, ToolError, type ToolErrorCode } from "../types.ts";
import type { Roots } from "./_safe_fs.ts";
import { editFileOp } from "./edit_file.ts";
import { listDirectoryOp } from "./list_directory.ts";
import { readFileOp } from "./read_file.ts";
import { writeFileOp } from "./write_file.ts";

/** A message to the Worker. */
export type WorkerRequest =
  | { readonly type: "init"; readonly roots: Roots }
  | { readonly type: "call"; readonly id: number; readonly tool: string; readonly args: unknown };

/** A message from the Worker. */
export type WorkerResponse =
  | { readonly id: number; readonly ok: true; readonly output: string }
  | {
    readonly id: number;
    readonly ok: false;
    readonly error: { readonly code: ToolErrorCode; readonly message: string };
  };

type Op = (raw: unknown, roots: Roots) => Promise<string>;

const OPS: Readonly<Record<string, Op>> = {
  read_file: readFileOp,
  write_file: writeFileOp,
  edit_file: editFileOp,
  glob: async (raw, roots) => await (await import("./glob.ts")).globOp(raw, roots),
  grep: async (raw, roots) => await (await import("./grep.ts")).grepOp(raw, roots),
  list_directory: listDirectoryOp,
};

/** Maps any thrown value to a coded, cloneable error. */
export function toWireError(err: unknown): { code: ToolErrorCode; message: string } {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ToolError && isToolErrorCode(err.code)) return { code: err.code, message };
  if (err instanceof Deno.errors.NotCapable) return { code: "NOT_CAPABLE", message };
  if (err instanceof Deno.errors.NotFound) return { code: "NOT_FOUND", message };
  if (err instanceof TypeError) return { code: "INVALID_ARGS", message };
  return { code: "IO", message };
}

interface WorkerScope {
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerResponse): void;
}

function main(scope: WorkerScope): void {
  let roots: Roots | undefined;
  scope.onmessage = async (e) => {
    const msg = e.data;
    if (msg.type === "init") {
      // Set once, never widened.
      roots ??= {
        read: [...msg.roots.read],
        write: [...msg.roots.write],
        hidden: [...(msg.roots.hidden ?? [])],
        createdByHost: [...(msg.roots.createdByHost ?? [])],
      };
      return;
    }
    try {
      const op = Object.hasOwn(OPS, msg.tool) ? OPS[msg.tool] : undefined;
      if (!op) throw new ToolError("INVALID_ARGS", `Cannot run ${msg.tool}: no such file tool`);
      if (!roots) throw new ToolError("EXECUTOR_FAILED", "Cannot run: the worker has no roots");
      scope.postMessage({ id: msg.id, ok: true, output: await op(msg.args, roots) });
    } catch (err) {
      scope.postMessage({ id: msg.id, ok: false, error: toWireError(err) });
    }
  };
}

/** Serves the protocol as JSON lines over stdin/stdout until stdin ends. */
async function serveStdio(): Promise<void> {
  const encoder = new TextEncoder();
  let writes = Promise.resolve();
  const writeAll = async (bytes: Uint8Array) => {
    while (bytes.length > 0) bytes = bytes.subarray(await Deno.stdout.write(bytes));
  };
  const scope: WorkerScope = {
    onmessage: null,
    postMessage(message) {
      const bytes = encoder.encode(JSON.stringify(message) + "\n");
      writes = writes.then(() => writeAll(bytes));
    },
  };
  main(scope);
  let buffer = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let at: number;
    while ((at = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
      // A line that is not a request ends the process: the parent never sends one.
      if (line !== "") scope.onmessage?.({ data: JSON.parse(line) } as MessageEvent<WorkerRequest>);
    }
  }
  await writes;
}

if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined") {
  main(globalThis as unknown as WorkerScope);
} else if (import.meta.main) {
  await serveStdio();
}
