/**
 * Private: the file executor's protocol, shared by its two Worker entries (`worker.ts`, every
 * file tool; `plain_worker.ts`, all but `glob` and `grep`, so that a Worker that reads, writes or
 * lists never has their npm packages in its module graph).
 *
 * In order: first `{type:"init", roots}`, then any number of `{type:"call", id, tool, args}`;
 * each call is answered with `{id, ok:true, output}` or `{id, ok:false, error:{code, message}}`.
 *
 * @module
 */
import { isToolErrorCode, ToolError, type ToolErrorCode } from "../types.ts";
import type { Roots } from "./_safe_fs.ts";

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

/** One file op: its raw arguments and the roots it may touch, to its output. */
export type Op = (raw: unknown, roots: Roots) => Promise<string>;

/**
 * Maps any thrown value to a coded, cloneable error.
 *
 * @example A missing file is NOT_FOUND
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { toWireError } from "./_protocol.ts";
 * equal(toWireError(new Deno.errors.NotFound("gone")).code, "NOT_FOUND");
 * ```
 */
export function toWireError(err: unknown): { code: ToolErrorCode; message: string } {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ToolError && isToolErrorCode(err.code)) return { code: err.code, message };
  if (err instanceof Deno.errors.NotCapable) return { code: "NOT_CAPABLE", message };
  if (err instanceof Deno.errors.NotFound) return { code: "NOT_FOUND", message };
  if (err instanceof TypeError) return { code: "INVALID_ARGS", message };
  return { code: "IO", message };
}

/** Where requests arrive and answers go: the Worker's global scope, or stdio's stand-in. */
export interface WorkerScope {
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerResponse): void;
}

/**
 * Serves `ops` on `scope`: the roots are set once by the first `init` and never widened; a
 * tool not in `ops`, or a call before `init`, is refused.
 *
 * @example Answer a call for an unknown tool
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { serveOps, type WorkerResponse, type WorkerScope } from "./_protocol.ts";
 * const answers: WorkerResponse[] = [];
 * const scope: WorkerScope = { onmessage: null, postMessage: (m) => answers.push(m) };
 * serveOps(scope, {});
 * scope.onmessage?.({ data: { type: "call", id: 1, tool: "rm", args: {} } } as MessageEvent);
 * await new Promise((r) => setTimeout(r, 0));
 * equal(answers[0]?.ok, false);
 * ```
 */
export function serveOps(scope: WorkerScope, ops: Readonly<Record<string, Op>>): void {
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
      const op = Object.hasOwn(ops, msg.tool) ? ops[msg.tool] : undefined;
      if (!op) throw new ToolError("INVALID_ARGS", `Cannot run ${msg.tool}: no such file tool`);
      if (!roots) throw new ToolError("EXECUTOR_FAILED", "Cannot run: the worker has no roots");
      scope.postMessage({ id: msg.id, ok: true, output: await op(msg.args, roots) });
    } catch (err) {
      scope.postMessage({ id: msg.id, ok: false, error: toWireError(err) });
    }
  };
}

/** True inside a Worker (not when run as a main module). */
export function inWorker(): boolean {
  return typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined";
}

/**
 * Serves the protocol with `ops` as JSON lines over stdin/stdout until stdin ends: how a Worker
 * entry runs as a main module (the file subprocess of `_file_channel.ts`).
 */
export async function serveStdio(ops: Readonly<Record<string, Op>>): Promise<void> {
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
  serveOps(scope, ops);
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
