/**
 * Race-free creation of new files and folders in the workspace. Deno has no `openat`, so a
 * path check followed by `open(O_CREAT)` can be raced: a folder swapped for a symlink in
 * between makes the file appear outside the workspace. The creator closes that race with the
 * wall itself: it is one long-lived shell inside the sandbox, where only the workspace is
 * writable (its `.astrid/` read-only), so whatever a path resolves to at the moment of
 * creation, nothing can be created outside. Callers create through it, then open the existing
 * file and verify its real path and inode as usual.
 *
 * Protocol (NUL-separated, one request at a time): `f\0PATH\0` creates an empty file with
 * O_EXCL (`set -C`; an existing regular file is left alone and counts as success, anything else
 * in the way fails), `d\0PATH\0` creates a folder and its parents; the shell answers one line:
 * `0` or the failing exit status.
 *
 * @module
 */
import type { Sandbox } from "./sandbox.ts";
import type { FileCreator, Walls } from "../security/walls.ts";
import { createInside } from "../security/workspace.ts";

// Reads requests until stdin closes; answers each with its status on a line.
const SCRIPT = [
  "set -C",
  "while IFS= read -r -d '' kind && IFS= read -r -d '' path; do",
  '  if [ "$kind" = d ]; then mkdir -p -- "$path" 2>/dev/null',
  '  else : > "$path" 2>/dev/null || { [ -f "$path" ] && [ ! -L "$path" ]; }; fi',
  '  printf "%s\\n" "$?"',
  "done",
].join("\n");

/** Why a creation failed. */
export class CreateError extends Error {
  /** Always `"CREATE_FAILED"`. */
  readonly code = "CREATE_FAILED";
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "CreateError";
  }
}

/**
 * Creates files and folders from inside the wall.
 *
 * @example Create a file and a folder in a workspace (where bubblewrap works)
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { Sandbox, WalledCreator } from "./mod.ts";
 * import { NO_WALLS } from "../security/walls.ts";
 * const sandbox = await Sandbox.open(NO_WALLS);
 * if (sandbox instanceof Sandbox) {
 *   const ws = await Deno.realPath(await Deno.makeTempDir());
 *   await using creator = new WalledCreator(sandbox, ws);
 *   await creator.mkdir(`${ws}/a/b`);
 *   await creator.createFile(`${ws}/a/b/c.txt`);
 *   ok((await Deno.lstat(`${ws}/a/b/c.txt`)).isFile);
 * }
 * ```
 */
export class WalledCreator implements AsyncDisposable {
  readonly #sandbox: Sandbox;
  readonly #workspace: string;
  #child: Deno.ChildProcess | null = null;
  #writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  #lines: AsyncIterator<string> | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #encoder = new TextEncoder();

  /** A creator for `workspace` (canonical); its shell starts on first use. */
  constructor(sandbox: Sandbox, workspace: string) {
    this.#sandbox = sandbox;
    this.#workspace = workspace;
  }

  /** Creates an empty file at `path` unless something exists there already. */
  createFile(path: string): Promise<void> {
    return this.#request("f", path);
  }

  /** Creates the folder `path` and any missing parents. */
  mkdir(path: string): Promise<void> {
    return this.#request("d", path);
  }

  #request(kind: "f" | "d", path: string): Promise<void> {
    if (path.includes("\0") || !path.startsWith("/")) {
      return Promise.reject(
        new TypeError(`Cannot create ${JSON.stringify(path)}: not an absolute path`),
      );
    }
    const run = this.#queue.catch(() => {}).then(async () => {
      const lines = await this.#start();
      await this.#writer!.write(this.#encoder.encode(`${kind}\0${path}\0`));
      const next = await lines.next();
      if (next.done) {
        this.#child = null;
        throw new CreateError(`Cannot create ${path}: the creator stopped`);
      }
      if (next.value !== "0") {
        throw new CreateError(
          `Cannot create ${path}: it is not writable inside the workspace's wall ` +
            `(it may lead outside the workspace or into .astrid)`,
        );
      }
    });
    this.#queue = run;
    return run;
  }

  async #start(): Promise<AsyncIterator<string>> {
    if (this.#child && this.#lines) return this.#lines;
    const walled = await this.#sandbox.command(
      { workspace: this.#workspace, network: false, cwd: this.#workspace },
      ["/bin/bash", "-c", SCRIPT],
    );
    const child = new Deno.Command(walled.program, {
      args: walled.args,
      env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" },
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#writer.closed.catch(() => {});
    this.#lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter())
      [Symbol.asyncIterator]();
    return this.#lines;
  }

  /** Stops the creator's shell. */
  async close(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child) return;
    await this.#writer?.close().catch(() => {});
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
    await this.#lines?.return?.();
  }

  /** Same as {@link WalledCreator.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function lineSplitter(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const p of parts) controller.enqueue(p);
    },
  });
}

/**
 * The creator a runtime uses for one workspace: the wall is probed on first use (so commands
 * that create nothing pay nothing); where no wall can be built (no bubblewrap, or no user
 * namespaces for a normal user), files are created in-process under a parent checked before and
 * after (`createInside`), and folders are made and then checked, which narrows the race without
 * closing it.
 *
 * @example Files land in the workspace either way
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { workspaceCreator } from "./creator.ts";
 * import { NO_WALLS } from "../security/walls.ts";
 * const ws = await Deno.realPath(await Deno.makeTempDir({ dir: "/var/tmp" }));
 * await using creator = workspaceCreator(NO_WALLS, ws);
 * await creator.createFile(`${ws}/a.txt`);
 * ok((await Deno.lstat(`${ws}/a.txt`)).isFile);
 * ```
 */
export function workspaceCreator(
  walls: Walls,
  workspace: string,
): FileCreator & AsyncDisposable {
  let walled: Promise<WalledCreator | null> | null = null;
  const open = () =>
    // The sandbox (its probe and wall builder) loads with the first creation, by a computed
    // specifier: a literal one makes Deno build its graph whenever this module loads.
    walled ??= (import(new URL("./sandbox.ts", import.meta.url).href) as Promise<
      typeof import("./sandbox.ts")
    >).then(async ({ Sandbox }) => {
      const s = await Sandbox.open(walls);
      return s instanceof Sandbox ? new WalledCreator(s, workspace) : null;
    });
  return {
    async createFile(path) {
      const creator = await open();
      if (creator) await creator.createFile(path);
      else await createInside(path, workspace);
    },
    async mkdir(path) {
      const creator = await open();
      if (creator) return await creator.mkdir(path);
      await Deno.mkdir(path, { recursive: true });
      const real = await Deno.realPath(path);
      if (real !== workspace && !real.startsWith(`${workspace}/`)) {
        await Deno.remove(real).catch(() => {});
        throw new CreateError(`Cannot create ${path}: it was swapped to ${real}`);
      }
    },
    async [Symbol.asyncDispose]() {
      await (await walled)?.close();
    },
  };
}
