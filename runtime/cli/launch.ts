/**
 * The `astrid` launcher: starts the runtime under Deno permission flags computed from the
 * configuration (launch_flags.ts), so Deno itself backs the boundary for the whole process.
 *
 * Started with wide permissions (`deno task astrid`, an `astrid` installed with
 * `deno install -A`), it re-executes itself as
 * `Deno.execPath() run --config <repo>/deno.json <flags> runtime/cli/main.ts …args` with stdio
 * inherited, and exits with the child's status. The child runs the CLI bundle instead of
 * main.ts when one was built from the sources as they are (_bundle.ts), or the build whose entry
 * started this launcher ({@link LaunchOptions}). Whether it is already narrowed is read from the
 * permissions themselves (`Deno.permissions.querySync`), never from the environment: a process
 * with no whole write, net, run or ffi grant runs the CLI in place.
 *
 * Signals: a terminal sends Ctrl-C to the whole foreground process group, so the child's REPL
 * receives it directly; the launcher ignores SIGINT (forwarding it too would deliver it twice)
 * unless stdin is not a terminal, where nobody sends it to the group and it is forwarded.
 * SIGTERM and SIGHUP are forwarded. A child killed by a signal makes the launcher exit with
 * 128 + the signal's number, as a shell reports it (Deno's `status.code` already says so).
 *
 * A SIGKILL of the launcher cannot be caught, so the child watches the launcher instead: it is
 * told the launcher's pid in `ASTRID_LAUNCHER_PID`, and once its parent is no longer that pid
 * (the launcher died and the child was re-parented) it exits within 200 ms, as if killed too.
 * The variable can only make the child exit sooner; nothing is granted by it.
 *
 * `--version` and `--help` alone print without re-executing: they need no permissions, and
 * the re-execution would double their start-up time.
 *
 * With `ASTRID_PROFILE=1` the launcher reports on stderr, after the child's own report, its
 * start-up, the permission computation (and, within it, loading the launcher's own modules) and
 * the child's whole run (start-up included).
 *
 * The flags are cached in `$ASTRID_HOME/cache/launch-flags.json` (_launch_cache.ts): a repeat
 * run whose recorded inputs (files, folders, PATH lookups, environment, folder, command line,
 * code) are all unchanged reuses them without loading the configuration loader; anything
 * changed, missing or untrusted recomputes them. `ASTRID_PROFILE=1` says which happened.
 *
 * This module stays tiny: it imports nothing at start-up; the cache check imports only
 * the argument scanner (no node: module), the configuration loader is loaded only to compute the
 * flags on a miss, and the runtime only in the narrowed child.
 *
 * @module
 */

/** Runs the CLI in this process and returns its exit code (main.ts `run`). */
export type CliRunner = (args: string[]) => Promise<number>;

const MAIN = decodeURIComponent(new URL("./main.ts", import.meta.url).pathname);
const CONFIG = decodeURIComponent(new URL("../../deno.json", import.meta.url).pathname);
const PRINT_ONLY = new Set(["-V", "--version", "-h", "--help"]);
const LAUNCHER_PID = "ASTRID_LAUNCHER_PID";
const WATCH_MS = 200;
/** The status of a process killed by SIGKILL (128 + 9). */
const KILLED = 137;

/**
 * Imports a module of this folder by a computed specifier. A literal `import("./x.ts")` makes
 * Deno build that module's whole graph when this file loads, which is what the launcher must
 * not pay for: measured about 13 ms on every launcher and child start.
 */
function load<T>(relative: string): Promise<T> {
  return import(new URL(relative, import.meta.url).href) as Promise<T>;
}

/**
 * True when this process runs without any whole grant of write, net, run or ffi: the launcher's
 * child, or someone who started the CLI with their own narrow flags. (Read is whole in the
 * runtime's own set: see launch_flags.ts `RUNTIME_READ`.)
 *
 * @example Under `deno test -A`, nothing is narrowed
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { isNarrowed } from "./launch.ts";
 * equal(isNarrowed(), Deno.permissions.querySync({ name: "write" }).state !== "granted");
 * ```
 */
export function isNarrowed(): boolean {
  const names = ["write", "net", "run", "ffi"] as const;
  return names.every((name) => Deno.permissions.querySync({ name }).state !== "granted");
}

/**
 * V8's flags for the narrowed child (and for the installed `astrid`'s launcher, which runs the
 * same bundle):
 *
 * - `--min-semi-space-size=16`: young-generation semi-spaces of 16 MB from the start, so a
 *   command (a few MB allocated) runs without the two or three scavenges V8's 1 MB start makes it
 *   pay (0.5–3 ms each; bench/cli_bench.ts `tools call read_file` 2–3% faster over 101
 *   interleaved rounds). The pages are committed as they are used: a command's peak RSS did not
 *   change.
 * - `--no-lazy`: every function of a module is compiled when the module is, so Deno's code cache
 *   (made when a module is first compiled) holds them all, and a repeat run compiles nothing;
 *   with V8's default, each run compiles again every function it calls. A command's first run
 *   after a new build pays for the functions it never calls (once); a repeat `tools call
 *   read_file` is 5–9% faster, `tools list` 4–5% (interleaved rounds, a separate cache each).
 *   V8 refuses a code cache made under other flags (and Deno then makes it again), and a launcher
 *   and its child share some of what they compile: a launcher started without `--no-lazy` (a
 *   plain `deno run -A runtime/cli/launch.ts`) made its child's run 5 ms slower and every
 *   command 12 ms slower, with the cache made again by each process in turn. So the installed
 *   `astrid` and `deno task astrid` start the launcher under these flags, and a launcher started
 *   without `--no-lazy` starts its child without it too ({@link LAZY_CHILD_V8_FLAGS}).
 */
export const CHILD_V8_FLAGS = "--v8-flags=--min-semi-space-size=16,--no-lazy";

/** {@link CHILD_V8_FLAGS} without `--no-lazy`: for the child of a launcher started without it. */
export const LAZY_CHILD_V8_FLAGS = "--v8-flags=--min-semi-space-size=16";

/**
 * True when this process was started with V8's `--no-lazy` (in a `--v8-flags=` argument before
 * the script, read from `/proc/self/cmdline`); true as well when that cannot be read.
 *
 * @example A test runner started without it
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { startedEager } from "./launch.ts";
 * equal(startedEager(["deno", "test", "-A", "x_test.ts"]), false);
 * equal(startedEager(["deno", "run", "--v8-flags=--no-lazy", "launch.ts", "--v8-flags=--no-lazy"]), true);
 * equal(startedEager(["deno", "run", "launch.ts", "--v8-flags=--no-lazy"]), false);
 * ```
 */
export function startedEager(argv: readonly string[] | null = ownArgv()): boolean {
  if (argv === null) return true;
  for (const arg of argv.slice(1)) {
    if (arg.startsWith("--v8-flags=")) {
      if (arg.slice("--v8-flags=".length).split(",").includes("--no-lazy")) return true;
    } else if (!arg.startsWith("-") && /\.(?:[cm]?[jt]s)$/.test(arg)) {
      return false; // the script: what follows is its own arguments
    }
  }
  return false;
}

/** This process's command line (Linux), or null. */
function ownArgv(): string[] | null {
  try {
    return Deno.readTextFileSync("/proc/self/cmdline").split("\0").filter((a) => a !== "");
  } catch {
    return null;
  }
}

/**
 * The `deno run` arguments of the narrowed child for `astrid …args` under `flags`.
 *
 * @example The child runs main.ts with the flags and the user's arguments
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { childArgs } from "./launch.ts";
 * const args = childArgs(["--no-prompt", "--allow-env"], ["config", "paths"]);
 * equal(args[0], "run");
 * equal(args.at(-1), "paths");
 * ```
 */
export function childArgs(
  flags: readonly string[],
  args: readonly string[],
  main: string = MAIN,
  eager = true,
): string[] {
  const v8 = eager ? CHILD_V8_FLAGS : LAZY_CHILD_V8_FLAGS;
  return ["run", "--quiet", v8, "--config", CONFIG, ...flags, main, ...args];
}

/** How {@link launch} was started. */
export interface LaunchOptions {
  /**
   * The module the narrowed child runs: the entry of the CLI bundle that started this launcher
   * (the installed `astrid` runs its current build as it is). By default, the current build when
   * it was built from the sources as they are (_bundle.ts `freshBuild`), else main.ts.
   */
  readonly main?: string;
}

/**
 * Runs `astrid …args`: in place when this process is already narrowed (or only prints
 * `--version`/`--help`), else in a child under the computed flags. Returns the exit code.
 *
 * @example Already narrowed processes run the CLI in place
 * ```ts ignore
 * import { launch } from "./launch.ts";
 * Deno.exit(await launch(Deno.args));
 * ```
 */
export async function launch(
  args: string[],
  run?: CliRunner,
  options: LaunchOptions = {},
): Promise<number> {
  const start = performance.now();
  // Started straight by the installed `astrid` (_launch_direct.ts): the flags it was handed must
  // be the launcher's own for this run, else this process does the launcher's work.
  const direct = await loadDirect();
  const inPlace = async () => {
    watchLauncher();
    return await (run ?? (await load<typeof import("./main.ts")>("./main.ts")).run)(args);
  };
  if (args.length === 1 && PRINT_ONLY.has(args[0]!)) return await inPlace();
  if (isNarrowed()) {
    const held = direct === null || await directHolds(args, direct.flags);
    if (direct !== null && Deno.env.get("ASTRID_PROFILE") === "1") {
      const ms = (performance.now() - start).toFixed(1);
      console.error(
        `profile: direct start: the flags ${held ? "held" : "did not hold (relaunched)"}, ` +
          `checked in ${ms} ms`,
      );
    }
    if (held) return await inPlace();
  } else if (launcherPid() === Deno.ppid) {
    // The launcher's own child is still wide: never re-execute again (fail closed).
    console.error("error: Cannot start the runtime: its permissions were not narrowed");
    return 1;
  }
  let flags: string[];
  let main = options.main;
  let profile = false;
  let loaded = start;
  let source = "";
  try {
    const env = Deno.env.toObject();
    const cwd = env.INIT_CWD || Deno.cwd();
    const { cachedFlags } = await load<typeof import("./_launch_cache.ts")>("./_launch_cache.ts");
    loaded = performance.now();
    // Only on a miss: the configuration loader and the flag computation.
    const compute = async (recorded: Readonly<Record<string, string | undefined>>) => {
      const [{ launchPermissions }, { denoFlags }] = await Promise.all([
        load<typeof import("./_launch_inputs.ts")>("./_launch_inputs.ts"),
        load<typeof import("./launch_flags.ts")>("./launch_flags.ts"),
      ]);
      return denoFlags(await launchPermissions(args, recorded, cwd));
    };
    const got = await cachedFlags(args, env, cwd, compute);
    flags = got.flags;
    source = got.source;
    // For the installed `astrid`'s next run in this folder (_launch_direct.ts).
    if (got.home !== undefined && !env.INIT_CWD) {
      (direct ?? await loadDirect(false))?.remember(got.home, cwd, flags);
    }
    if (main === undefined) {
      const { freshBuild } = await load<typeof import("./_bundle.ts")>("./_bundle.ts");
      main = freshBuild() ?? MAIN;
    }
    if (env.ASTRID_DEBUG === "1") {
      console.error(`launch: deno ${childArgs(flags, args, main, startedEager()).join(" ")}`);
    }
    profile = env.ASTRID_PROFILE === "1";
  } catch (err) {
    console.error(`error: Cannot launch the runtime: ${(err as Error).message}`);
    return 1;
  }
  const computed = performance.now();
  // The child compiles as this process does (see CHILD_V8_FLAGS).
  const code = await relaunch(childArgs(flags, args, main, startedEager()));
  if (profile) {
    // After the child's own report (main.ts): this process's start-up, flags and the child.
    const ms = (n: number) => `${n.toFixed(1)} ms`;
    const end = performance.now();
    console.error(
      `profile: launcher start ${ms(start)}, permissions ${ms(computed - start)} (${source}), ` +
        `child ${ms(end - computed)}, total ${ms(end)}; of the permissions, loading the ` +
        `launcher's cache module ${ms(loaded - start)} (the config loader's load, on a miss, ` +
        `is in the rest)`,
    );
  }
  return code;
}

/**
 * The flags the installed `astrid` started this process under and the means to remember new
 * ones, or null when it was not started so (`take`: read the variable; false: only load).
 */
async function loadDirect(take = true): Promise<
  { flags: string[]; remember: typeof import("./_launch_direct.ts").rememberDirect } | null
> {
  let handed = false;
  try {
    handed = Deno.env.get("ASTRID_DIRECT_FLAGS") !== undefined;
  } catch {
    handed = false;
  }
  if (take && !handed) return null;
  const mod = await load<typeof import("./_launch_direct.ts")>("./_launch_direct.ts");
  const flags = take ? mod.takeDirectFlags() : [];
  return flags === null ? null : { flags, remember: mod.rememberDirect };
}

/** True when `flags` are exactly the launcher's cached flags for this run, all inputs unchanged. */
async function directHolds(args: readonly string[], flags: readonly string[]): Promise<boolean> {
  try {
    const env = Deno.env.toObject();
    const { lookupFlags } = await load<typeof import("./_launch_cache.ts")>("./_launch_cache.ts");
    const cached = await lookupFlags(args, env, env.INIT_CWD || Deno.cwd());
    return cached !== null && cached.length === flags.length &&
      cached.every((f, i) => f === flags[i]);
  } catch {
    return false;
  }
}

/** The pid in `ASTRID_LAUNCHER_PID`, or null (unset, or no env permission). */
function launcherPid(): number | null {
  try {
    const pid = Number(Deno.env.get(LAUNCHER_PID));
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** In the launcher's child: exit when the launcher is gone (it was killed with SIGKILL). */
function watchLauncher(): void {
  const launcher = launcherPid();
  if (launcher === null || launcher !== Deno.ppid) return;
  Deno.env.delete(LAUNCHER_PID); // not handed on to the processes this one starts
  // Ticks of `AbortSignal.timeout`, not `setInterval`: a process's first `setTimeout` or
  // `setInterval` costs 4–8 ms in Deno 2.9 (measured), paid by every command that sets no other
  // timer, where `AbortSignal.timeout` costs 0.3 ms. Its timer keeps the event loop alive; the
  // CLI always ends with `Deno.exit` (main.ts), which stops it.
  const tick = () => {
    AbortSignal.timeout(WATCH_MS).addEventListener("abort", () => {
      if (Deno.ppid !== launcher) Deno.exit(KILLED);
      tick();
    }, { once: true });
  };
  tick();
}

async function relaunch(args: readonly string[]): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...args],
    // The child is the runtime, not a user's `deno`: no background check for a newer Deno (a DNS
    // lookup of dl.deno.land on every command, measured).
    env: { [LAUNCHER_PID]: String(Deno.pid), DENO_NO_UPDATE_CHECK: "1" },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const forward = (signal: Deno.Signal) => () => {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  };
  const listeners: [Deno.Signal, () => void][] = Deno.build.os === "windows" ? [] : [
    ["SIGINT", Deno.stdin.isTerminal() ? () => {} : forward("SIGINT")],
    ["SIGTERM", forward("SIGTERM")],
    ["SIGHUP", forward("SIGHUP")],
  ];
  for (const [signal, listener] of listeners) Deno.addSignalListener(signal, listener);
  try {
    return (await child.status).code;
  } finally {
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
  }
}

if (import.meta.main) {
  Deno.exit(await launch(Deno.args));
}
