/**
 * The file executor: runs the six file tools with Deno permissions that are exactly the
 * workspace plus approved escapes (read and write), with no net, run, ffi, sys or import. This
 * wall sits below the interceptor: a path the interceptor should have refused still fails here
 * with `NOT_CAPABLE`.
 *
 * The workspace's executor is a Deno Worker: one serving the plain tools (read, write, edit,
 * list) until `glob` or `grep` is called, then one serving every tool, both granted the same.
 * An executor with escapes ({@link FileExecutor.withGrants}) is a short-lived Deno subprocess
 * instead: a Worker cannot be granted more than its parent, and the runtime process itself is
 * narrowed to the workspace and its own state (runtime/cli/launch.ts), so only a new process can
 * be granted exactly that outside path (see `_file_channel.ts`).
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
import { deadline } from "../storage/deadline.ts";
import { capOutput, DEFAULT_MAX_OUTPUT_CHARS } from "./output.ts";
import {
  type FileRunner,
  type FileToolName,
  isToolErrorCode,
  ToolError,
  type ToolResult,
} from "./types.ts";
import type { WorkerRequest, WorkerResponse } from "./ops/worker.ts";
import type { Roots } from "./ops/_safe_fs.ts";
import type { FileCreator } from "../security/walls.ts";
import {
  type FileChannel,
  processChannel,
  workerChannel,
  type WorkerOps,
} from "./_file_channel.ts";

/** The file tools only the full Worker (`ops/worker.ts`) serves. */
const SEARCH_TOOLS: ReadonlySet<string> = new Set(["glob", "grep"]);

/** Options for {@link FileExecutor.create}. */
export interface FileExecutorOptions {
  /** The workspace root (read-write). */
  readonly root: string;
  /** Extra paths the executor may read (approved escapes). */
  readonly readEscapes?: readonly string[];
  /** Extra paths the executor may write (approved escapes). */
  readonly writeEscapes?: readonly string[];
  /**
   * Paths never read or written, whatever else is granted (`$ASTRID_HOME`, the audit witness:
   * `Walls.hidden`). A `.astrid` folder is never written either.
   */
  readonly hidden?: readonly string[];
  /**
   * Creates the new files (and folders) of `write_file` in the workspace from inside the
   * sandbox, before the call, so a folder swapped for a symlink cannot make one appear outside
   * (runtime/sandbox `workspaceCreator`). Without one, the ops create in-process under a parent
   * checked before and after. The executor made by `create` closes it on `close()`.
   */
  readonly creator?: FileCreator & Partial<AsyncDisposable>;
  /** Output cap in characters (default 30,000). */
  readonly maxOutputChars?: number;
  /** A call running longer than this (ms) terminates the Worker or subprocess (default 60,000). */
  readonly callTimeoutMs?: number;
  /**
   * Where the ops run (a test seam): `worker` for the workspace alone, `process` when escapes
   * are granted (the default picks by that rule).
   */
  readonly isolation?: "worker" | "process";
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
  /** Cancels the call's deadline. */
  cancel(): void;
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
 * Runs the file tools in a permission-narrowed Worker (or, with escapes, a subprocess).
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
export class FileExecutor implements FileRunner, Disposable, AsyncDisposable {
  readonly #read: readonly string[];
  readonly #write: readonly string[];
  readonly #hidden: readonly string[];
  readonly #root: string;
  readonly #ownsCreator: boolean;
  readonly #opts: FileExecutorOptions;
  readonly #max: number;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  readonly #isolation: "worker" | "process";
  /**
   * The running Worker(s) or subprocess. A subprocess serves every tool (`all`); a Worker is
   * started for the plain tools (`plain`) unless one serving every tool is already running, and
   * `glob` or `grep` start one that does (`all`).
   */
  readonly #channels = new Map<WorkerOps, FileChannel>();
  readonly #stopping = new Set<Promise<void>>();
  #nextId = 1;
  #closed = false;

  private constructor(opts: FileExecutorOptions, ownsCreator: boolean) {
    this.#ownsCreator = ownsCreator;
    const root = canonicalRoot(opts.root);
    this.#root = root;
    const write = [root, ...(opts.writeEscapes ?? []).map(canonicalRoot)];
    this.#write = [...new Set(write)];
    this.#read = [...new Set([...write, ...(opts.readEscapes ?? []).map(canonicalRoot)])];
    this.#hidden = (opts.hidden ?? []).map(canonicalRoot);
    this.#opts = opts;
    this.#max = opts.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS;
    this.#timeoutMs = opts.callTimeoutMs ?? 60_000;
    const escapes = (opts.readEscapes?.length ?? 0) + (opts.writeEscapes?.length ?? 0);
    this.#isolation = opts.isolation ?? (escapes > 0 ? "process" : "worker");
  }

  /** Creates an executor for `opts.root` plus the given escapes (canonicalised). */
  static create(opts: FileExecutorOptions): FileExecutor {
    return new FileExecutor(opts, true);
  }

  /** The canonical paths the executor may read and write, and those it never touches. */
  get roots(): Roots {
    return {
      read: this.#read,
      write: this.#write,
      hidden: this.#hidden,
      createdByHost: this.#opts.creator ? [this.#root] : [],
    };
  }

  /** Where the ops run: a Worker (the workspace alone) or a subprocess (with escapes). */
  get isolation(): "worker" | "process" {
    return this.#isolation;
  }

  /**
   * A new executor with these grants added (a subprocess granted exactly the workspace plus
   * the escapes); this one stays as it was.
   */
  withGrants(grants: FileGrants): FileExecutor {
    const { isolation: _, ...opts } = this.#opts;
    return new FileExecutor({
      ...opts,
      readEscapes: [...(opts.readEscapes ?? []), ...(grants.readEscapes ?? [])],
      writeEscapes: [...(opts.writeEscapes ?? []), ...(grants.writeEscapes ?? [])],
    }, false); // the creator stays this executor's
  }

  /** Runs one file tool; `args` carry absolute paths. Throws {@link ToolError}. */
  async run(tool: FileToolName, args: Readonly<Record<string, unknown>>): Promise<ToolResult> {
    const created = tool === "write_file" && await this.#create(args.file_path);
    const done = await this.#call(tool, args);
    // The op found the file the creator had just made: to the caller it is still a new file.
    const output = created ? done.replace(/^Overwrote /, "Created ") : done;
    const { text, cut } = capOutput(output, this.#max);
    return cut > 0
      ? { output: text, isError: false, truncatedChars: cut }
      : { output: text, isError: false };
  }

  /**
   * Starts the Worker (or subprocess) now rather than at the first call, so that its start-up
   * runs while the caller does other work (opening the gate, screening the call). It gets the
   * same grants and no request until a call is made. `tool` (default `read_file`) picks the
   * Worker its call needs (see {@link FileExecutor.run}). A no-op once started or closed; a start
   * that fails is reported by the first call.
   *
   * @example Start the Worker ahead of the call
   * ```ts
   * import { match } from "node:assert/strict";
   * import { FileExecutor } from "./file_executor.ts";
   * const root = await Deno.makeTempDir();
   * await Deno.writeTextFile(`${root}/a.txt`, "hello\n");
   * using files = FileExecutor.create({ root });
   * files.start();
   * match((await files.run("read_file", { file_path: `${root}/a.txt` })).output, /hello/);
   * ```
   */
  start(tool: FileToolName = "read_file"): void {
    if (this.#closed) return;
    try {
      this.#ensureChannel(tool);
    } catch {
      // The first call starts it again and reports why it cannot.
    }
  }

  /** Terminates the Worker or subprocess; pending calls fail with `EXECUTOR_FAILED`. */
  close(): void {
    if (!this.#closed && this.#ownsCreator) {
      this.#stopping.add(Promise.resolve(this.#opts.creator?.[Symbol.asyncDispose]?.()));
    }
    this.#closed = true;
    this.#stop(new ToolError("EXECUTOR_FAILED", "Cannot finish the call: the executor was closed"));
  }

  /** Same as {@link FileExecutor.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes, then waits until every subprocess it started has exited. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await Promise.all(this.#stopping);
  }

  /** Creates a new workspace file (and its folders) through the creator, before the call. */
  async #create(path: unknown): Promise<boolean> {
    const creator = this.#opts.creator;
    if (!creator || typeof path !== "string" || !path.startsWith(`${this.#root}/`)) return false;
    if (await Deno.lstat(path).then(() => true, () => false)) return false;
    const parent = path.slice(0, path.lastIndexOf("/"));
    try {
      if (!(await Deno.lstat(parent).then((i) => i.isDirectory, () => false))) {
        await creator.mkdir(parent);
      }
      await creator.createFile(path);
    } catch (err) {
      throw new ToolError("NOT_CAPABLE", `Cannot create ${path}: ${(err as Error).message}`);
    }
    return true;
  }

  #call(tool: string, args: unknown): Promise<string> {
    if (this.#closed) {
      return Promise.reject(
        new ToolError("EXECUTOR_FAILED", `Cannot run ${tool}: the executor is closed`),
      );
    }
    let channel: FileChannel;
    try {
      channel = this.#ensureChannel(tool);
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
      const cancel = deadline(this.#timeoutMs, () => {
        this.#stop(
          new ToolError("TIMEOUT", `Cannot finish ${tool}: it ran past ${this.#timeoutMs} ms`),
        );
      });
      this.#pending.set(id, { resolve, reject, cancel });
      channel.post({ type: "call", id, tool, args } satisfies WorkerRequest);
    });
  }

  #ensureChannel(tool: string): FileChannel {
    const ops: WorkerOps = SEARCH_TOOLS.has(tool) ? "all" : "plain";
    const running = this.#channels.get("all") ??
      (ops === "plain" ? this.#channels.get(ops) : undefined);
    if (running) return running;
    const roots = this.roots;
    const events = {
      onmessage: (msg: WorkerResponse) => this.#settle(msg),
      onerror: (message: string) =>
        this.#stop(new ToolError("EXECUTOR_FAILED", `Cannot finish the call: ${message}`)),
    };
    const channel = this.#isolation === "process"
      ? processChannel(roots, events, ops)
      : workerChannel(roots, events, ops);
    this.#channels.set(ops, channel);
    this.#stopping.add(channel.closed);
    channel.closed.finally(() => this.#stopping.delete(channel.closed));
    return channel;
  }

  #settle(msg: WorkerResponse): void {
    const pending = this.#pending.get(msg.id);
    if (!pending) return;
    this.#pending.delete(msg.id);
    pending.cancel();
    if (msg.ok) pending.resolve(msg.output);
    else {
      const code = isToolErrorCode(msg.error.code) ? msg.error.code : "EXECUTOR_FAILED";
      pending.reject(new ToolError(code, String(msg.error.message)));
    }
  }

  #stop(reason: ToolError): void {
    for (const channel of this.#channels.values()) channel.terminate();
    this.#channels.clear();
    for (const [id, pending] of this.#pending) {
      pending.cancel();
      pending.reject(reason);
      this.#pending.delete(id);
    }
  }
}
