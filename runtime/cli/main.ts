/**
 * The `astrid` command: a thin entry over one command tree. Every failure leaves through
 * {@link run}'s single error path, which maps it to an exit code (see ARCHITECTURE.md).
 *
 * @module
 */
import type { Command } from "commander";
import {
  type CliIo,
  type OptionSource,
  prefetchRuntime,
  processIo,
  PROFILE_MARK,
} from "./context.ts";
import { CliError, ExitCode } from "./errors.ts";

// commander loads by a computed specifier, when a command needs the tree: its node:* imports
// cost about 20 ms at start-up, more than the read-only commands of QUICK take to run.
const COMMANDER: string = "commander";
const commanderLib = () => import(COMMANDER) as Promise<typeof import("commander")>;

/**
 * The commands in help order: the module that builds each, its factory, and the line
 * `astrid --help` shows for it (its usage term and description, kept equal to the module's own
 * by main_test.ts). A command's module pulls in the runtime it needs (LLM and MCP SDKs, the
 * capsule engine), so each is imported only when its command runs, by a computed specifier: a
 * literal one would put every module in the start-up module graph, and building that graph
 * costs more than running most commands. The top-level help is built from this table alone.
 */
const COMMANDS: Readonly<
  Record<string, readonly [module: string, factory: string, term: string, description: string]>
> = {
  init: [
    "./commands/init.ts",
    "initCommand",
    "init [options] [dir]",
    "Make DIR (default: the current folder) an Astrid workspace: DIR/.astrid/",
  ],
  keys: [
    "./commands/keys.ts",
    "keysCommand",
    "keys",
    "Manage the runtime's and the publisher's Ed25519 signing keys",
  ],
  config: [
    "./commands/config.ts",
    "configCommand",
    "config",
    "Inspect the layered config (defaults → /etc/astrid → $ASTRID_HOME → ASTRID_* env → workspace)",
  ],
  audit: [
    "./commands/audit.ts",
    "auditCommand",
    "audit",
    "Read, export and verify the hash-chained, signed audit log",
  ],
  approvals: [
    "./commands/approvals.ts",
    "approvalsCommand",
    "approvals",
    "List and decide actions that were deferred because nobody could approve them",
  ],
  grants: [
    "./commands/grants.ts",
    "grantsCommand",
    "grants",
    "List and revoke what runs without asking: Allow Always tokens, session allowances and " +
    "standing [permissions] allow rules",
  ],
  tools: [
    "./commands/tools.ts",
    "toolsCommand",
    "tools",
    "List and call tools: the built-in ones, installed capsules' (<capsule>__<tool>) and " +
    "configured MCP servers' (mcp__<server>__<tool>)",
  ],
  capsule: [
    "./commands/capsule.ts",
    "capsuleCommand",
    "capsule",
    "Compile, install, inspect and remove capsules (WASM extensions)",
  ],
  chat: [
    "./commands/chat.ts",
    "chatCommand",
    "chat [options]",
    "Talk to the agent (one-shot with -p; resume a session with -s)",
  ],
  sessions: [
    "./commands/sessions.ts",
    "sessionsCommand",
    "sessions",
    "List, show and delete agent sessions",
  ],
  servers: [
    "./commands/servers.ts",
    "serversCommand",
    "servers",
    "MCP servers declared as [servers.NAME] in config",
  ],
  daemon: [
    "./commands/daemon.ts",
    "daemonCommand",
    "daemon",
    "Run the daemon (astridd): JSON-RPC over WebSocket, shared sessions, the web approval inbox",
  ],
  mcp: [
    "./commands/mcp.ts",
    "mcpCommand",
    "mcp",
    "Offer Astrid's tools to other agents over MCP",
  ],
  demo: [
    "./commands/demo.ts",
    "demoCommand",
    "demo [options]",
    "Narrated walkthrough: policy, deferral, Allow Always, budget, tools, audit",
  ],
  doctor: [
    "./commands/doctor.ts",
    "doctorCommand",
    "doctor [options]",
    "Check Deno, the sandbox, the engine build, keys, config, the provider, KV and the audit log",
  ],
  completions: [
    "./commands/completions.ts",
    "completionsCommand",
    "completions <shell>",
    "Print a shell completion script (e.g. `astrid completions bash > ~/.astrid.bash`)",
  ],
};

/**
 * The help line of every command, from {@link COMMANDS}: `[name, term, description]` in help
 * order (main_test.ts compares it with the commands the modules build).
 *
 * @example The first command
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { commandHelpLines } from "./main.ts";
 * equal(commandHelpLines()[0]?.[0], "init");
 * ```
 */
export function commandHelpLines(): [name: string, term: string, description: string][] {
  return Object.entries(COMMANDS).map(([name, [, , term, description]]) => [
    name,
    term,
    description,
  ]);
}

/**
 * Phase times of one run for `ASTRID_PROFILE=1`, in milliseconds: start-up, the command modules'
 * loads, the command's run, and within the run the phases commands record (context.ts `phase`).
 */
class Profile {
  readonly #loads: [name: string, ms: number][] = [];
  readonly #start = performance.now();
  #run = 0;

  loaded(name: string, ms: number): void {
    this.#loads.push([name, ms]);
  }

  ran(ms: number): void {
    this.#run = ms;
  }

  /** The report: start-up (process start to `run`), each module load, the command's run. */
  report(): string {
    const ms = (n: number) => `${n.toFixed(1)} ms`;
    const loads = this.#loads.reduce((sum, [, n]) => sum + n, 0);
    const slowest = [...this.#loads].sort((a, b) => b[1] - a[1]).slice(0, 5);
    // The phases this run's command recorded (context.ts `phase`), in the order they ended.
    const phases = performance.getEntriesByType("measure")
      .filter((e) => e.name.startsWith("astrid:") && e.startTime >= this.#start)
      .map((e) => `${e.name.slice("astrid:".length)} ${ms(e.duration)}`);
    return `profile: cli start ${ms(this.#start)}, load modules ${ms(loads)}, run ${
      ms(this.#run)
    }, total ${ms(performance.now())}\n` +
      (slowest.length === 0
        ? ""
        : `profile: slowest loads: ${slowest.map(([n, t]) => `${n} ${ms(t)}`).join(", ")}\n`) +
      (phases.length === 0 ? "" : `profile: phases: ${phases.join(", ")}\n`);
  }
}

async function loadCommand(name: string, io: CliIo, profile: Profile | null): Promise<Command> {
  const [module, factory] = COMMANDS[name]!;
  const start = performance.now();
  const loaded = await import(new URL(module, import.meta.url).href) as Record<
    string,
    (io: CliIo) => Command
  >;
  profile?.loaded(module.slice("./commands/".length), performance.now() - start);
  return loaded[factory]!(io);
}

/** The command `args` invoke (the first word that is not a global option), if any. */
function commandName(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") return undefined;
    if (!arg.startsWith("-")) return arg;
    // `-w/--workspace [dir]` takes the next word when it is not an option.
    if ((arg === "-w" || arg === "--workspace") && !(args[i + 1] ?? "-").startsWith("-")) i++;
  }
  return undefined;
}

/**
 * Builds the command tree over `io`: only the command `args` invoke, or every command when
 * none is named (help, version, an unknown command).
 */
export async function buildProgram(io: CliIo, args: readonly string[] = []): Promise<Command> {
  return await buildTree(io, args, { lazy: false, profile: null });
}

/**
 * The tree {@link buildProgram} builds; `lazy` leaves every command but the invoked one (or the
 * one `help NAME` names) a stub with only its help line: enough for the top-level help, the
 * version and an unknown command's suggestion, with no command module loaded.
 */
async function buildTree(
  io: CliIo,
  args: readonly string[],
  opts: { readonly lazy: boolean; readonly profile: Profile | null },
): Promise<Command> {
  const { Command, Help } = await commanderLib();
  const stubs = new Map<Command, string>();
  const program = new Command("astrid")
    .description(
      "Astrid: a secure runtime for AI agents. The agent proposes, you approve, the runtime enforces.",
    )
    .version("0.1.0")
    .option(
      "-w, --workspace [dir]",
      "workspace folder (default: the nearest folder with .astrid/); given without a folder, " +
        "that nearest workspace (`capsule install PATH --workspace` installs into it)",
    )
    .option("--json", "machine-readable output where a command supports it")
    .option("--debug", "show stack traces for errors (also ASTRID_DEBUG=1)")
    .showHelpAfterError()
    .configureHelp({ subcommandTerm: (cmd) => stubs.get(cmd) ?? new Help().subcommandTerm(cmd) });
  const name = commandName(args);
  const invoked = name === "help" ? commandName(args.slice(args.indexOf("help") + 1)) : name;
  const real = invoked !== undefined && Object.hasOwn(COMMANDS, invoked)
    ? [invoked]
    : opts.lazy || args.includes("-V") || args.includes("--version")
    ? []
    : Object.keys(COMMANDS);
  const loaded = new Map(
    await Promise.all(
      real.map(async (n) => [n, await loadCommand(n, io, opts.profile)] as const),
    ),
  );
  for (const [n, [, , term, description]] of Object.entries(COMMANDS)) {
    const command = loaded.get(n);
    if (command) program.addCommand(command);
    else if (opts.lazy) stubs.set(program.command(n).description(description), term);
  }
  applyToTree(program, io);
  return program;
}

// Commander does not hand the root's output and exit settings to added commands.
function applyToTree(cmd: Command, io: CliIo): void {
  cmd.exitOverride();
  cmd.configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  for (const sub of cmd.commands) applyToTree(sub, io);
}

/**
 * Runs the CLI with `args` and returns the exit code. With `ASTRID_PROFILE=1` it reports on
 * stderr, at the end, the phase times: start-up, command module loads, the command's run.
 */
export async function run(args: string[], io: CliIo = processIo()): Promise<number> {
  const profile = io.env.ASTRID_PROFILE === "1" ? new Profile() : null;
  if (profile) performance.mark(PROFILE_MARK);
  try {
    return await runTree(args, io, profile);
  } finally {
    if (profile) {
      // Whether this run is the CLI bundle's, and whether that matches the sources (_bundle.ts).
      const { describeCode } = await import(
        new URL("./_bundle.ts", import.meta.url).href
      ) as typeof import("./_bundle.ts");
      io.stderr(`profile: code: ${describeCode()}\n${profile.report()}`);
      performance.clearMarks(PROFILE_MARK);
      for (const e of performance.getEntriesByType("measure")) {
        if (e.name.startsWith("astrid:")) performance.clearMeasures(e.name);
      }
    }
  }
}

async function runTree(args: string[], io: CliIo, profile: Profile | null): Promise<number> {
  const quick = quickCommand(args);
  if (quick) return await runQuick(quick, args, io, profile);
  const program = await buildTree(io, args, { lazy: true, profile });
  const { CommanderError } = await commanderLib();
  const start = performance.now();
  try {
    await program.parseAsync(args, { from: "user" });
    return ExitCode.Ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version") {
        return ExitCode.Ok;
      }
      if (err.code === "commander.help") return ExitCode.Ok;
      return ExitCode.Usage;
    }
    return reportError(err, io, debugWanted(args, io));
  } finally {
    profile?.ran(performance.now() - start);
  }
}

// ---- Read-only commands run without commander -------------------------------------------------

/**
 * Read-only commands main.ts parses itself, without commander: `[noun, verb]`, the module that
 * runs it (a `(io, opts, cmd: OptionSource) => Promise<void>` export that the command's commander
 * action also calls), and its options: a flag (`true`) or an option that takes a value (a parser
 * returning null when commander should judge the value). Any command line these do not cover
 * exactly (help, an unknown or repeated option, `--opt=value`, `--`) goes to commander, so every
 * message and exit code stays commander's.
 */
const QUICK: readonly (readonly [
  words: readonly [string, string],
  module: string,
  fn: string,
  options: Readonly<Record<string, true | ((value: string) => unknown)>>,
  /** The option key of the one positional argument, which must follow the verb at once. */
  positional?: string,
])[] = [
  [["audit", "list"], "./commands/_audit_list.ts", "listAudit", {
    "--json": true,
    "--session": (v) => v,
    // commander's positiveInt (audit.ts) takes more forms; those go to commander.
    "--limit": (v) => /^[1-9][0-9]{0,14}$/.test(v) ? Number(v) : null,
  }],
  [["approvals", "list"], "./commands/_approvals_list.ts", "listApprovals", {
    "--json": true,
    "--all": true,
  }],
  [["tools", "list"], "./commands/_tools_host.ts", "quickListTools", { "--json": true }],
  [["tools", "call"], "./commands/_tools_run.ts", "quickCallTool", {
    "--json": true,
    "--args": (v) => v,
    // An answer outside the choices gets commander's message.
    "--approve": (v) => ["once", "session", "always", "deny"].includes(v) ? v : null,
    "--session": (v) => v,
  }, "name"],
];

/** A command line of {@link QUICK}: which entry, its options, and the global ones. */
interface QuickCall {
  readonly entry: (typeof QUICK)[number];
  readonly opts: Record<string, unknown>;
  readonly globals: { workspace?: string; json?: boolean };
}

/** The {@link QUICK} command `args` name exactly, or null to let commander parse them. */
function quickCommand(args: readonly string[]): QuickCall | null {
  const globals: { workspace?: string; json?: boolean } = {};
  let i = 0;
  // Global options before the command: --json, --debug, -w/--workspace DIR.
  for (; i < args.length && args[i]!.startsWith("-"); i++) {
    const arg = args[i]!;
    if (arg === "--json") globals.json = true;
    else if (arg === "--debug") continue;
    else if ((arg === "-w" || arg === "--workspace") && globals.workspace === undefined) {
      const dir = args[i + 1];
      if (dir === undefined || dir === "" || dir.startsWith("-")) return null;
      globals.workspace = dir;
      i++;
    } else return null;
  }
  const entry = QUICK.find(([[noun, verb]]) => args[i] === noun && args[i + 1] === verb);
  if (!entry) return null;
  const opts: Record<string, unknown> = {};
  i += 2;
  const positional = entry[4];
  if (positional !== undefined) {
    const value = args[i++];
    if (value === undefined || value.startsWith("-")) return null;
    opts[positional] = value;
  }
  for (; i < args.length; i++) {
    const arg = args[i]!;
    const camel = arg.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const spec = Object.hasOwn(entry[3], arg) ? entry[3][arg] : undefined;
    if (spec === undefined || (spec !== true && Object.hasOwn(opts, camel))) return null;
    if (spec === true) {
      opts[camel] = true;
      continue;
    }
    const value = args[++i];
    if (value === undefined || value.startsWith("-")) return null;
    const parsed = spec(value);
    if (parsed === null) return null;
    opts[camel] = parsed;
  }
  return { entry, opts, globals };
}

/**
 * Starts loading what the command line `args` will load when it runs, when it is a {@link QUICK}
 * one (each opens the runtime): its module and the runtime's. The CLI bundle's entry calls it
 * while the installed `astrid`'s flags are checked (scripts/build_cli.ts); nothing runs.
 *
 * @example Anything else loads nothing ahead
 * ```ts
 * import { prefetch } from "./main.ts";
 * prefetch(["capsule", "compile", "."]);
 * ```
 */
export function prefetch(args: readonly string[]): void {
  const quick = quickCommand(args);
  if (quick) quickModule(quick.entry[1]).catch(() => {});
}

/** The module of a {@link QUICK} command, loaded with the runtime's (see {@link prefetch}). */
function quickModule(module: string): Promise<unknown> {
  prefetchRuntime();
  return import(new URL(module, import.meta.url).href);
}

/**
 * Runs a {@link QUICK} command as its commander action would, through the same error path. Its
 * `--json` is global-or-own as in commander (`optsWithGlobals`: the command's own wins).
 */
async function runQuick(
  call: QuickCall,
  args: readonly string[],
  io: CliIo,
  profile: Profile | null,
): Promise<number> {
  const [[noun, verb], module, fn] = call.entry;
  let start = performance.now();
  try {
    const loaded = await quickModule(module) as Record<
      string,
      (io: CliIo, opts: Record<string, unknown>, cmd: OptionSource) => Promise<void>
    >;
    profile?.loaded(`${noun} ${verb} (without commander)`, performance.now() - start);
    start = performance.now();
    const merged = { ...call.globals, ...call.opts };
    await loaded[fn]!(io, call.opts, { optsWithGlobals: () => merged });
    return ExitCode.Ok;
  } catch (err) {
    return reportError(err, io, debugWanted(args, io));
  } finally {
    profile?.ran(performance.now() - start);
  }
}

/** True when `--debug` precedes the command's own `--` or `ASTRID_DEBUG=1` is set. */
function debugWanted(args: readonly string[], io: CliIo): boolean {
  if (io.env.ASTRID_DEBUG === "1") return true;
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).includes("--debug");
}

/**
 * The one error exit path: prints `err` as one line (a stack trace only when `debug`) and
 * returns its exit code. A closed stdout (`astrid capsule list | head`) ends quietly.
 */
export function reportError(err: unknown, io: CliIo, debug: boolean): number {
  if (err instanceof Deno.errors.BrokenPipe) return ExitCode.Ok;
  const code = (err as { code?: unknown } | null)?.code;
  const exit = err instanceof CliError
    ? err.exitCode
    : code === "INTEGRITY"
    ? ExitCode.Integrity
    : ExitCode.Error;
  const message = err instanceof Error ? err.message : String(err);
  if (debug && err instanceof Error && err.stack) {
    io.stderr(`error: ${err.stack}\n`);
    return exit;
  }
  io.stderr(`error: ${message.trimEnd()}\n`);
  if (!expected(err)) io.stderr("(run with --debug or ASTRID_DEBUG=1 for a stack trace)\n");
  return exit;
}

/**
 * Errors a user can cause and fix: ours (`CliError`, coded domain errors) and the
 * operating system's (a missing file, a permission).
 */
function expected(err: unknown): boolean {
  if (err instanceof CliError) return true;
  if (typeof (err as { code?: unknown } | null)?.code === "string") return true;
  const e = Deno.errors;
  return err instanceof e.NotFound || err instanceof e.PermissionDenied ||
    err instanceof e.NotCapable || err instanceof e.AlreadyExists ||
    err instanceof e.IsADirectory || err instanceof e.NotADirectory ||
    err instanceof e.ConnectionRefused || err instanceof e.InvalidData ||
    err instanceof e.TimedOut || err instanceof SyntaxError || err instanceof RangeError;
}

if (import.meta.main) {
  // Re-executed under permission flags computed from the configuration unless already narrowed.
  // A computed specifier: a literal one puts the launcher's graph (and the `node:*` modules in
  // it) in main.ts's start-up graph, which then initialises Node compatibility (about 10 ms).
  const { launch } = await import(
    new URL("./launch.ts", import.meta.url).href
  ) as typeof import("./launch.ts");
  Deno.exit(await launch(Deno.args, run));
}
