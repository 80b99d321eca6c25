/**
 * Where the file tools run, behind one small interface: a Deno Worker for the workspace, or a
 * short-lived Deno subprocess for approved escapes. A Worker cannot be granted more than its
 * parent, and the runtime process itself is narrowed (runtime/cli/launch.ts), so a path outside
 * the workspace can only be granted to a new process: `Deno.execPath() run --no-prompt
 * --allow-read=<roots> --allow-write=<roots> --deny-read=<hidden> --deny-write=<hidden>`
 * running ops/worker.ts, which speaks the Worker's protocol as JSON lines over stdin/stdout.
 *
 * @module
 */
import type { Roots } from "./ops/_safe_fs.ts";
import type { WorkerRequest, WorkerResponse } from "./ops/worker.ts";

/** One running executor of file ops (see ops/worker.ts for the protocol). */
export interface FileChannel {
  /** Sends a request. */
  post(msg: WorkerRequest): void;
  /** Stops it at once; pending calls get no answer. */
  terminate(): void;
  /** Settles when it has fully stopped (all of its handles closed). */
  readonly closed: Promise<void>;
}

/** What a channel reports back. */
export interface ChannelEvents {
  onmessage(msg: WorkerResponse): void;
  /** The channel failed (it stopped on its own, or sent something unreadable). */
  onerror(message: string): void;
}

const WORKER_URL = new URL("./ops/worker.ts", import.meta.url);
const PLAIN_WORKER_URL = new URL("./ops/plain_worker.ts", import.meta.url);

/**
 * What a Worker serves: every file tool (`worker.ts`), or the plain ones alone
 * (`plain_worker.ts`: no `glob` or `grep`, and none of their npm packages to load at start-up).
 */
export type WorkerOps = "all" | "plain";
const CONFIG = new URL("../../deno.json", import.meta.url);
/** Variables the subprocess's Deno needs to find its cache; nothing else is passed on. */
const DENO_ENV = ["DENO_DIR", "HOME", "XDG_CACHE_HOME"] as const;
const STDERR_TAIL = 2000;

/**
 * A Worker with read and write exactly `roots` (no net, run, ffi, sys or import), serving every
 * file tool or, with `ops: "plain"`, all but `glob` and `grep`.
 *
 * @example Read a file in a Worker
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { workerChannel } from "./_file_channel.ts";
 * const root = await Deno.realPath(await Deno.makeTempDir());
 * await Deno.writeTextFile(`${root}/a.txt`, "hi\n");
 * const roots = { read: [root], write: [root], hidden: [] };
 * const answer = Promise.withResolvers<boolean>();
 * const ch = workerChannel(roots, { onmessage: (m) => answer.resolve(m.ok), onerror: () => {} });
 * ch.post({ type: "call", id: 1, tool: "read_file", args: { file_path: `${root}/a.txt` } });
 * equal(await answer.promise, true);
 * ch.terminate();
 * ```
 */
export function workerChannel(
  roots: Roots,
  events: ChannelEvents,
  ops: WorkerOps = "all",
): FileChannel {
  const worker = new Worker(ops === "plain" ? PLAIN_WORKER_URL : WORKER_URL, {
    type: "module",
    name: "astrid-file-executor",
    deno: {
      permissions: {
        read: [...roots.read],
        write: [...roots.write],
        net: false,
        run: false,
        env: ["TINYGLOBBY_DEBUG"],
        ffi: false,
        sys: false,
        import: false,
      },
    },
  });
  worker.onmessage = (e: MessageEvent<WorkerResponse>) => events.onmessage(e.data);
  worker.onerror = (e: ErrorEvent) => {
    e.preventDefault();
    events.onerror(`the worker failed: ${e.message}`);
  };
  worker.postMessage({ type: "init", roots } satisfies WorkerRequest);
  return {
    post: (msg) => worker.postMessage(msg),
    terminate: () => worker.terminate(),
    closed: Promise.resolve(),
  };
}

/** One `--allow-…`/`--deny-…` flag; a path holding a comma cannot be listed, so it is refused. */
function pathFlag(flag: string, paths: readonly string[]): string[] {
  if (paths.length === 0) return [];
  for (const p of paths) {
    if (p.includes(",")) {
      throw new TypeError(`Cannot grant ${JSON.stringify(p)}: a permission path cannot hold ","`);
    }
  }
  return [`${flag}=${paths.join(",")}`];
}

/**
 * The `deno run` arguments of the escape subprocess for `roots`: read and write exactly the
 * roots, never the hidden paths nor a write root's `.astrid` folder, nothing else.
 *
 * @example Exactly the roots, minus the hidden paths
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { processArgs } from "./_file_channel.ts";
 * const args = processArgs({ read: ["/ws", "/etc/hosts"], write: ["/ws"], hidden: ["/h"] });
 * ok(args.includes("--allow-read=/ws,/etc/hosts"));
 * ok(args.includes("--deny-write=/h,/ws/.astrid"));
 * ok(!args.some((a) => a.startsWith("--allow-net") || a.startsWith("--allow-run")));
 * ```
 */
export function processArgs(roots: Roots, ops: WorkerOps = "all"): string[] {
  const configDirs = roots.write.map((w) => `${w === "/" ? "" : w}/.astrid`);
  return [
    "run",
    "--quiet",
    "--no-prompt",
    "--cached-only",
    // The plain ops import no package: without the project's config Deno reads no deno.json,
    // lockfile or node_modules state at start-up (about 3 ms of the subprocess's start).
    ...(ops === "plain" ? ["--no-config"] : ["--config", decodeURIComponent(CONFIG.pathname)]),
    ...pathFlag("--allow-read", roots.read),
    ...pathFlag("--allow-write", roots.write),
    "--allow-env=TINYGLOBBY_DEBUG",
    ...pathFlag("--deny-read", roots.hidden),
    ...pathFlag("--deny-write", [...roots.hidden, ...configDirs]),
    decodeURIComponent((ops === "plain" ? PLAIN_WORKER_URL : WORKER_URL).pathname),
  ];
}

function denoEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
  for (const name of DENO_ENV) {
    try {
      const value = Deno.env.get(name);
      if (value !== undefined) env[name] = value;
    } catch {
      // no env permission: Deno falls back to its defaults
    }
  }
  return env;
}

/** Splits a byte stream into lines (without the `\n`). */
async function* lines(stream: ReadableStream<Uint8Array<ArrayBuffer>>): AsyncGenerator<string> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let at: number;
    while ((at = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
    }
  }
  if (buffer !== "") yield buffer;
}

/**
 * A subprocess (Deno itself) granted exactly `roots`, speaking JSON lines: the escape path.
 * `ops` as for a Worker: a plain tool's subprocess loads no `glob`/`grep` packages.
 *
 * @example Read a file through a subprocess
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { processChannel } from "./_file_channel.ts";
 * const root = await Deno.realPath(await Deno.makeTempDir());
 * await Deno.writeTextFile(`${root}/a.txt`, "hi\n");
 * const answer = Promise.withResolvers<boolean>();
 * const ch = processChannel({ read: [root], write: [root], hidden: [] }, {
 *   onmessage: (m) => answer.resolve(m.ok),
 *   onerror: (why) => answer.reject(new Error(why)),
 * });
 * ch.post({ type: "call", id: 1, tool: "read_file", args: { file_path: `${root}/a.txt` } });
 * equal(await answer.promise, true);
 * ch.terminate();
 * await ch.closed;
 * ```
 */
export function processChannel(
  roots: Roots,
  events: ChannelEvents,
  ops: WorkerOps = "all",
): FileChannel {
  const child = new Deno.Command(Deno.execPath(), {
    args: processArgs(roots, ops),
    cwd: "/",
    env: denoEnv(),
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stopping = false;
  let stderr = "";
  const writer = child.stdin.getWriter();
  writer.closed.catch(() => {}); // a dead child's stdin rejects; reported through its exit
  const encoder = new TextEncoder();
  let writes = Promise.resolve();
  const post = (msg: WorkerRequest) => {
    const bytes = encoder.encode(JSON.stringify(msg) + "\n");
    writes = writes.then(() => writer.write(bytes)).catch(() => {});
  };
  const readOut = (async () => {
    for await (const line of lines(child.stdout)) {
      if (line === "") continue;
      let msg: WorkerResponse;
      try {
        msg = JSON.parse(line);
      } catch {
        if (!stopping) events.onerror(`the file process sent an unreadable line`);
        continue;
      }
      events.onmessage(msg);
    }
  })();
  const readErr = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      stderr = (stderr + chunk).slice(-STDERR_TAIL);
    }
  })();
  const closed = (async () => {
    const status = await child.status;
    await Promise.allSettled([readOut, readErr]);
    if (!stopping) {
      const tail = stderr.trim().split("\n").at(-1) ?? "";
      events.onerror(`the file process exited with code ${status.code}${tail ? `: ${tail}` : ""}`);
    }
  })();
  post({ type: "init", roots });
  return {
    post,
    terminate: () => {
      if (stopping) return;
      stopping = true;
      writer.close().catch(() => {});
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    },
    closed,
  };
}
