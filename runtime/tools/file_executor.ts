/**
 * The file executor: runs the six file tools in a Deno Worker whose permissions are exactly the
 * workspace plus approved escapes (read and write), with no net, run, ffi, sys or import. This
 * wall sits below the interceptor: a path the interceptor should have refused still fails here
 * with `NOT_CAPABLE`.
 *
 * Deno checks permissions on the path as written, not on where its symlinks lead, so the Worker
 * also opens every file first and verifies its real path (see `ops/_safe_fs.ts`). Write escapes
 * are readable too (the verification needs `realPath`).
 *
 * Needs Deno's `--unstable-worker-options` (deno.json `"unstable": ["worker-options"]`); without
 * it the Worker cannot be created and every call fails with `EXECUTOR_FAILED` (fail closed).
 *
 * @module
 */
import { capOutput, DEFAULT_MAX_OUTPUT_CHARS } from "./output.ts";
import {
  type FileRunner,
  type FileToolName,
  isToolErrorCode,
  ToolError,
  type ToolResult,
} from "./types.ts";
import type { WorkerRequest, WorkerResponse } from "./ops/worker.ts";

/** Options for {@link FileExecutor.create}. */
export interface FileExecutorOptions {
  /** The workspace root (read-write). */
  readonly root: string;
  /** Extra paths the Worker may read (approved escapes). */
  readonly readEscapes?: readonly string[];
  /** Extra paths the Worker may write (approved escapes). */
  readonly writeEscapes?: readonly string[];
  /** Output cap in characters (default 30,000). */
  readonly maxOutputChars?: number;
  /** A call running longer than this (ms) terminates the Worker (default 60,000). */
  readonly callTimeoutMs?: number;
}

/** Extra grants for {@link FileExecutor.withGrants}. */
export interface FileGrants {
  /** Paths to add to the readable set. */
  readonly readEscapes?: readonly string[];
  /** Paths to add to the writable set. */
  readonly writeEscapes?: readonly string[];
}

interface Pending {
  resolve(output: string): void;
  reject(err: ToolError): void;
  timer: ReturnType<typeof setTimeout>;
}

/** Returns the canonical form of `path`; a missing final component keeps its name. */
function canonicalRoot(path: string): string {
  if (!path.startsWith("/") || path.includes("\0")) {
    throw new TypeError(`Cannot grant ${JSON.stringify(path)}: expected an absolute path`);
  }
  try {
    return Deno.realPathSync(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    const cut = path.lastIndexOf("/");
    const parent = Deno.realPathSync(path.slice(0, cut) || "/");
    const name = path.slice(cut + 1);
    if (name === "" || name === "." || name === "..") {
      throw new TypeError(`Cannot grant ${JSON.stringify(path)}: it does not name a file`);
    }
    return `${parent === "/" ? "" : parent}/${name}`;
  }
}

/**
 * Runs the file tools in a permission-narrowed Worker.
 *
 * @example Read a file in a temporary workspace
 * ```ts
 * import { match } from "node:assert/strict";
 * import { FileExecutor } from "./file_executor.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${root}/a.txt`, "hello\n");
 * using files = FileExecutor.create({ root });
 * const result = await files.run("read_file", { file_path: `${root}/a.txt` });
 * match(result.output, /1\thello/);
 * ```
 */
export class FileExecutor implements FileRunner, Disposable {
  readonly #read: readonly string[];
  readonly #write: readonly string[];
  readonly #opts: FileExecutorOptions;
  readonly #max: number;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | undefined;
  #nextId = 1;
  #closed = false;

  private constructor(opts: FileExecutorOptions) {
    const root = canonicalRoot(opts.root);
    const write = [root, ...(opts.writeEscapes ?? []).map(canonicalRoot)];
    this.#write = [...new Set(write)];
    this.#read = [...new Set([...write, ...(opts.readEscapes ?? []).map(canonicalRoot)])];
    this.#opts = opts;
    this.#max = opts.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS;
    this.#timeoutMs = opts.callTimeoutMs ?? 60_000;
  }

  /** Creates an executor for `opts.root` plus the given escapes (canonicalised). */
  static create(opts: FileExecutorOptions): FileExecutor {
    return new FileExecutor(opts);
  }

  /** The canonical paths the Worker may read and write. */
  get roots(): { readonly read: readonly string[]; readonly write: readonly string[] } {
    return { read: this.#read, write: this.#write };
  }

  /** A new executor (a new Worker) with these grants added; this one stays as it was. */
  withGrants(grants: FileGrants): FileExecutor {
    return new FileExecutor({
      ...this.#opts,
      readEscapes: [...(this.#opts.readEscapes ?? []), ...(grants.readEscapes ?? [])],
      writeEscapes: [...(this.#opts.writeEscapes ?? []), ...(grants.writeEscapes ?? [])],
    });
  }

  /** Runs one file tool; `args` carry absolute paths. Throws {@link ToolError}. */
  async run(tool: FileToolName, args: Readonly<Record<string, unknown>>): Promise<ToolResult> {
    const output = await this.#call(tool, args);
    const { text, cut } = capOutput(output, this.#max);
    return cut > 0
      ? { output: text, isError: false, truncatedChars: cut }
      : { output: text, isError: false };
  }

  /** Terminates the Worker; pending calls fail with `EXECUTOR_FAILED`. */
  close(): void {
    this.#closed = true;
    this.#stop(new ToolError("EXECUTOR_FAILED", "Cannot finish the call: the executor was closed"));
  }

  /** Same as {@link FileExecutor.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #call(tool: string, args: unknown): Promise<string> {
    if (this.#closed) {
      return Promise.reject(
        new ToolError("EXECUTOR_FAILED", `Cannot run ${tool}: the executor is closed`),
      );
    }
    let worker: Worker;
    try {
      worker = this.#ensureWorker();
    } catch (err) {
      return Promise.reject(
        new ToolError(
          "EXECUTOR_FAILED",
          `Cannot start the file executor: ${(err as Error).message}`,
        ),
      );
    }
    const id = this.#nextId++;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#stop(
          new ToolError("TIMEOUT", `Cannot finish ${tool}: it ran past ${this.#timeoutMs} ms`),
        );
      }, this.#timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      worker.postMessage({ type: "call", id, tool, args } satisfies WorkerRequest);
    });
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL("./ops/worker.ts", import.meta.url), {
      type: "module",
      name: "astrid-file-executor",
      deno: {
        permissions: {
          read: [...this.#read],
          write: [...this.#write],
          net: false,
          run: false,
          env: ["TINYGLOBBY_DEBUG"],
          ffi: false,
          sys: false,
          import: false,
        },
      },
    });
    worker.onmessage = (e: MessageEvent<WorkerResponse>) => this.#settle(e.data);
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#stop(
        new ToolError("EXECUTOR_FAILED", `Cannot finish the call: the worker failed: ${e.message}`),
      );
    };
    worker.postMessage(
      { type: "init", roots: { read: this.#read, write: this.#write } } satisfies WorkerRequest,
    );
    this.#worker = worker;
    return worker;
  }

  #settle(msg: WorkerResponse): void {
    const pending = this.#pending.get(msg.id);
    if (!pending) return;
    this.#pending.delete(msg.id);
    clearTimeout(pending.timer);
    if (msg.ok) pending.resolve(msg.output);
    else {
      const code = isToolErrorCode(msg.error.code) ? msg.error.code : "EXECUTOR_FAILED";
      pending.reject(new ToolError(code, String(msg.error.message)));
    }
  }

  #stop(reason: ToolError): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(reason);
      this.#pending.delete(id);
    }
  }
}
