/**
 * The `bash` executor. Commands run inside the wall (runtime/sandbox): the whole filesystem
 * read-only, the workspace read-write with its `.astrid/` read-only, the runtime's state,
 * credentials and other users' homes hidden, a private /tmp, no network unless the call's
 * network actions were allowed, every capability dropped in an unprivileged user namespace,
 * a new PID namespace that dies with us, and an allowlisted environment. Where the wall cannot
 * be built, `bash` is refused unless the configuration says `sandbox = "off"`: never a silent
 * downgrade.
 *
 * The working directory persists: a trap prints `pwd -P` after a per-call random marker at
 * exit; the executor strips it and moves `ctx.cwd` only when the new folder is inside the
 * workspace.
 *
 * @module
 */
import { capOutput, DEFAULT_MAX_OUTPUT_CHARS } from "./output.ts";
import { capture, type Captured, stripMarker } from "./_bash_output.ts";
import { Sandbox } from "../sandbox/mod.ts";
import { NO_WALLS, type Walls } from "../security/walls.ts";
import {
  type BashArgs,
  MAX_BASH_TIMEOUT_MS,
  type ShellRunner,
  type ShellRunOptions,
  type ToolContext,
  ToolError,
  type ToolResult,
} from "./types.ts";

/** `"bwrap"` (the default) or `"off"` (no sandbox; only when the configuration says so). */
export type SandboxMode = "bwrap" | "off";

/** Options for {@link BashExecutor.create}. */
export interface BashExecutorOptions {
  /** The sandbox; `"off"` runs bash directly (the config's `sandbox = "off"`). */
  readonly sandbox?: SandboxMode;
  /** The bwrap binary (default `/usr/bin/bwrap`). */
  readonly bwrapPath?: string;
  /** What the wall hides besides its built-in list (default: nothing more). */
  readonly walls?: Walls;
  /** The shell inside the sandbox (default `/bin/bash`). */
  readonly shellPath?: string;
  /** Environment for commands (default: PATH, LANG, TERM; HOME is always the workspace). */
  readonly env?: Readonly<Record<string, string>>;
  /** Output cap in characters (default 30,000). */
  readonly maxOutputChars?: number;
}

export { DEFAULT_BASH_TIMEOUT_MS, MAX_BASH_TIMEOUT_MS } from "./types.ts";

const DEFAULT_ENV: Readonly<Record<string, string>> = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  LANG: "C.UTF-8",
  TERM: "dumb",
};

// Runs the command with `eval`, so the line is never spliced into our own script; the EXIT
// trap reports the final working directory even when the command calls `exit`.
const SCRIPT = [
  "exec 2>&1",
  "__astrid_marker=$1",
  "__astrid_cmd=$2",
  "set --",
  'trap \'printf "\\n%s%s\\n" "$__astrid_marker" "$(pwd -P)"\' EXIT',
  'eval "$__astrid_cmd"',
].join("\n");

/** A spawned call and how to kill every process it started. */
interface Launched {
  readonly child: Deno.ChildProcess;
  readonly kill: () => void;
}
type Launch = (argv: string[], env: Record<string, string>, cwd: string) => Promise<Launched>;

/**
 * Runs `bash` calls in the sandbox.
 *
 * @example Run a command; the working directory persists
 * ```ts
 * import { equal, match } from "node:assert/strict";
 * import { BashExecutor } from "./bash_executor.ts";
 * const root = await Deno.realPath(await Deno.makeTempDir());
 * await Deno.mkdir(`${root}/sub`);
 * const shell = await BashExecutor.create();
 * const ctx = { workspaceRoot: root, sessionId: "s", cwd: root };
 * await shell.run({ command: "cd sub", timeout: 10_000 }, ctx);
 * equal(ctx.cwd, `${root}/sub`);
 * match((await shell.run({ command: "pwd", timeout: 10_000 }, ctx)).output, /sub/);
 * ```
 */
export class BashExecutor implements ShellRunner {
  readonly #exec: (args: BashArgs, ctx: ToolContext, net: boolean) => Promise<ToolResult>;
  readonly #env: Readonly<Record<string, string>>;
  readonly #shell: string;
  readonly #max: number;

  private constructor(opts: BashExecutorOptions, sandbox: Sandbox | string | null) {
    this.#env = opts.env ?? DEFAULT_ENV;
    this.#shell = opts.shellPath ?? "/bin/bash";
    this.#max = opts.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS;
    // The one-line platform dispatcher.
    this.#exec = sandbox === null
      ? (a, c) => this.#runWith(a, c, (argv, env, cwd) => spawnPlain(argv, env, cwd))
      : sandbox instanceof Sandbox
      ? (a, c, net) =>
        this.#runWith(a, c, async (argv, env, cwd) => {
          const walled = await sandbox.command(
            { workspace: c.workspaceRoot, network: net, cwd },
            argv,
          ).catch((err: Error) => {
            throw new ToolError("SANDBOX_UNAVAILABLE", `Cannot run bash: ${err.message}`);
          });
          return spawnWalled(walled.program, walled.args, env);
        })
      : () => refuse(sandbox);
  }

  /** Creates an executor, probing the wall once (skipped when the sandbox is off). */
  static async create(opts: BashExecutorOptions = {}): Promise<BashExecutor> {
    const sandbox = opts.sandbox === "off"
      ? null
      : await Sandbox.open(opts.walls ?? NO_WALLS, opts.bwrapPath ? { bwrap: opts.bwrapPath } : {});
    return new BashExecutor(opts, sandbox);
  }

  /** Runs `args.command`; a timeout kills every process of the call. Updates `ctx.cwd`. */
  async run(args: BashArgs, ctx: ToolContext, options: ShellRunOptions = {}): Promise<ToolResult> {
    if (!Number.isInteger(args.timeout) || args.timeout < 1 || args.timeout > MAX_BASH_TIMEOUT_MS) {
      throw new RangeError(
        `Cannot run bash: timeout must be 1..${MAX_BASH_TIMEOUT_MS} ms, current value is ${args.timeout}`,
      );
    }
    return await this.#exec(args, ctx, options.allowNetwork === true);
  }

  async #runWith(args: BashArgs, ctx: ToolContext, launch: Launch): Promise<ToolResult> {
    const cwd = await usableCwd(ctx);
    const marker = `__ASTRID_CWD_${crypto.randomUUID().replaceAll("-", "")}__:`;
    const env = { ...this.#env, HOME: ctx.workspaceRoot };
    const { child, kill } = await launch(
      [this.#shell, "-c", SCRIPT, "astrid-bash", marker, args.command],
      env,
      cwd,
    );
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, args.timeout);
    let captured: Captured;
    let errors: string;
    let status: Deno.CommandStatus;
    try {
      [captured, errors, status] = await Promise.all([
        capture(child.stdout),
        new Response(child.stderr).text(), // only the sandbox's own messages: bash merges 2>&1
        child.status,
      ]);
    } finally {
      clearTimeout(timer);
    }
    const stripped = stripMarker(captured.text, captured.tail, marker);
    const text = errors === "" ? stripped.text : `${errors.slice(0, 4096)}${stripped.text}`;
    const newCwd = stripped.newCwd;
    if (newCwd !== undefined && usableAsCwd(newCwd, ctx.workspaceRoot)) ctx.cwd = newCwd;
    const exitCode = status.code;
    const tail = timedOut
      ? `\n[killed: the command ran past its ${args.timeout} ms timeout]`
      : exitCode === 0
      ? ""
      : `\n[exit code ${exitCode}]`;
    // When the marker arrived after the byte cap, it was counted as dropped output.
    const markerBytes = captured.tail !== "" && newCwd !== undefined
      ? new TextEncoder().encode(`\n${marker}${newCwd}\n`).length
      : 0;
    const dropped = Math.max(0, captured.droppedBytes - markerBytes);
    const { text: capped, cut } = capOutput(text, this.#max, dropped);
    const output = capped + tail;
    const base = { output, isError: timedOut || exitCode !== 0, exitCode };
    return cut > 0 ? { ...base, truncatedChars: cut } : base;
  }
}

function refuse(why: string): Promise<ToolResult> {
  return Promise.reject(
    new ToolError(
      "SANDBOX_UNAVAILABLE",
      `Cannot run bash: the bubblewrap sandbox is unavailable (${why}); install bubblewrap or set [tools] sandbox = "off" in the user configuration to run commands unsandboxed`,
    ),
  );
}

function spawnWalled(program: string, args: string[], env: Record<string, string>): Launched {
  const child = new Deno.Command(program, {
    args,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Killing bwrap kills the PID namespace's init (--die-with-parent), and with it every
  // process in the namespace.
  return { child, kill: () => stop(child) };
}

// Unsandboxed: `setsid` makes bash a process-group leader so a timeout can kill the group.
function spawnPlain(argv: string[], env: Record<string, string>, cwd: string): Promise<Launched> {
  const child = new Deno.Command("setsid", {
    args: argv,
    env,
    clearEnv: true,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // setsid execs bash as a session and group leader, so the negative pid is the whole group.
  return Promise.resolve({ child, kill: () => (signal(-child.pid), stop(child)) });
}

// `child.kill` needs no run permission; `Deno.kill` needs all of it, which the launcher's
// narrowed runtime lacks (runtime/cli/launch.ts): the group kill above then uses `kill`.
function stop(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // already gone
  }
}

function signal(pid: number): void {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch (err) {
    if (!(err instanceof Deno.errors.NotCapable)) return; // already gone
    // The launcher's narrowed runtime may not use Deno.kill; the `kill` binary does it.
    try {
      new Deno.Command("kill", { args: ["-KILL", "--", String(pid)], stderr: "null" }).outputSync();
    } catch {
      // no kill binary allowed: the group kill is best effort
    }
  }
}

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith("/") ? root : `${root}/`);
}

// Inside the workspace, but not in a configuration folder: every command run from there would be
// refused (runtime/security/walls.ts), so a `cd .astrid` is not kept.
function usableAsCwd(path: string, root: string): boolean {
  return inside(path, root) && !path.slice(root.length).split("/").includes(".astrid");
}

async function usableCwd(ctx: ToolContext): Promise<string> {
  try {
    const real = await Deno.realPath(ctx.cwd);
    if (usableAsCwd(real, ctx.workspaceRoot) && (await Deno.stat(real)).isDirectory) return real;
  } catch {
    // removed since the last call
  }
  ctx.cwd = ctx.workspaceRoot;
  return ctx.workspaceRoot;
}
