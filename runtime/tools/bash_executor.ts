/**
 * The `bash` executor. Commands run under bubblewrap: the whole filesystem read-only, the
 * workspace read-write, a private /tmp, no network unless the call's network actions were
 * allowed, a new PID namespace that dies with us, and an allowlisted environment. Where bwrap
 * cannot run, `bash` is refused unless the configuration says `sandbox = "off"`: never a silent
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
import {
  type BashArgs,
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
  /** The shell inside the sandbox (default `/bin/bash`). */
  readonly shellPath?: string;
  /** Environment for commands (default: PATH, LANG, TERM; HOME is always the workspace). */
  readonly env?: Readonly<Record<string, string>>;
  /** Output cap in characters (default 30,000). */
  readonly maxOutputChars?: number;
}

/** The default timeout of one command, in ms. */
export const DEFAULT_BASH_TIMEOUT_MS = 120_000;
/** The longest timeout a call may ask for, in ms. */
export const MAX_BASH_TIMEOUT_MS = 600_000;

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

/**
 * Probes whether bwrap can create its namespaces here (`bwrap --ro-bind / / true`).
 *
 * @example A missing binary probes false
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { probeBwrap } from "./bash_executor.ts";
 * equal(await probeBwrap("/nonexistent/bwrap"), false);
 * ```
 */
export async function probeBwrap(bwrapPath = "/usr/bin/bwrap"): Promise<boolean> {
  if (Deno.build.os !== "linux") return false;
  try {
    const { success } = await new Deno.Command(bwrapPath, {
      args: ["--ro-bind", "/", "/", "true"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
      clearEnv: true,
    }).output();
    return success;
  } catch {
    return false;
  }
}

/**
 * The bwrap arguments for one call (exported for tests and audit).
 *
 * @example Network is dropped unless allowed
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { bwrapArgs } from "./bash_executor.ts";
 * ok(bwrapArgs("/ws", "/ws", false).includes("--unshare-net"));
 * ok(!bwrapArgs("/ws", "/ws", true).includes("--unshare-net"));
 * ```
 */
export function bwrapArgs(
  workspace: string,
  cwd: string,
  allowNetwork: boolean,
): string[] {
  return [
    "--ro-bind",
    "/",
    "/",
    "--tmpfs",
    "/tmp",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    "--bind",
    workspace,
    workspace, // after --tmpfs /tmp, so a workspace under /tmp stays visible
    ...(allowNetwork ? [] : ["--unshare-net"]),
    "--unshare-pid",
    "--die-with-parent",
    "--new-session",
    "--chdir",
    cwd,
  ]; // deno-fmt-ignore
}

/** A spawned call and how to kill every process it started. */
interface Launched {
  readonly child: Deno.ChildProcess;
  readonly kill: () => void;
}
type Launch = (argv: string[], env: Record<string, string>, cwd: string) => Launched;

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

  private constructor(opts: BashExecutorOptions, bwrapWorks: boolean) {
    this.#env = opts.env ?? DEFAULT_ENV;
    this.#shell = opts.shellPath ?? "/bin/bash";
    this.#max = opts.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS;
    const bwrap = opts.bwrapPath ?? "/usr/bin/bwrap";
    const isLinux = Deno.build.os === "linux";
    // The one-line platform dispatcher.
    this.#exec = opts.sandbox === "off"
      ? (a, c) => this.#runWith(a, c, (argv, env, cwd) => spawnPlain(argv, env, cwd))
      : isLinux && bwrapWorks
      ? (a, c, net) =>
        this.#runWith(
          a,
          c,
          (argv, env, cwd) => spawnBwrap(bwrap, argv, env, c.workspaceRoot, cwd, net),
        )
      : () =>
        refuse(isLinux ? `${bwrap} cannot create namespaces here` : `the OS is ${Deno.build.os}`);
  }

  /** Creates an executor, probing bwrap once (skipped when the sandbox is off). */
  static async create(opts: BashExecutorOptions = {}): Promise<BashExecutor> {
    const works = opts.sandbox === "off" ? false : await probeBwrap(opts.bwrapPath);
    return new BashExecutor(opts, works);
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
    const { child, kill } = launch(
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
    if (newCwd !== undefined && inside(newCwd, ctx.workspaceRoot)) ctx.cwd = newCwd;
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
      `Cannot run bash: the bubblewrap sandbox is unavailable (${why}); install bubblewrap or set sandbox = "off" in the configuration to run commands unsandboxed`,
    ),
  );
}

function spawnBwrap(
  bwrap: string,
  argv: string[],
  env: Record<string, string>,
  workspace: string,
  cwd: string,
  net: boolean,
): Launched {
  const child = new Deno.Command(bwrap, {
    args: [...bwrapArgs(workspace, cwd, net), "--", ...argv],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Killing bwrap kills the PID namespace's init (--die-with-parent), and with it every
  // process in the namespace.
  return { child, kill: () => signal(child.pid) };
}

// Unsandboxed: `setsid` makes bash a process-group leader so a timeout can kill the group.
function spawnPlain(argv: string[], env: Record<string, string>, cwd: string): Launched {
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
  return { child, kill: () => (signal(-child.pid), signal(child.pid)) };
}

function signal(pid: number): void {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith("/") ? root : `${root}/`);
}

async function usableCwd(ctx: ToolContext): Promise<string> {
  try {
    const real = await Deno.realPath(ctx.cwd);
    if (inside(real, ctx.workspaceRoot) && (await Deno.stat(real)).isDirectory) return real;
  } catch {
    // removed since the last call
  }
  ctx.cwd = ctx.workspaceRoot;
  return ctx.workspaceRoot;
}
