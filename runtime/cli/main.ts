/**
 * The `astrid` command: a thin entry over one command tree. Every failure leaves through
 * {@link run}'s single error path, which maps it to an exit code (see ARCHITECTURE.md).
 *
 * @module
 */
import { Command, CommanderError } from "commander";
import { type CliIo, processIo } from "./context.ts";
import { CliError, ExitCode } from "./errors.ts";

/**
 * The commands in help order: the module that builds each, and its factory. A command's module
 * pulls in the runtime it needs (LLM and MCP SDKs, the capsule engine), so each is imported only
 * when its command runs, by a computed specifier: a literal one would put every module in the
 * start-up module graph, and building that graph costs more than running most commands.
 */
const COMMANDS: Readonly<Record<string, readonly [module: string, factory: string]>> = {
  init: ["./commands/init.ts", "initCommand"],
  keys: ["./commands/keys.ts", "keysCommand"],
  config: ["./commands/config.ts", "configCommand"],
  audit: ["./commands/audit.ts", "auditCommand"],
  approvals: ["./commands/approvals.ts", "approvalsCommand"],
  grants: ["./commands/grants.ts", "grantsCommand"],
  tools: ["./commands/tools.ts", "toolsCommand"],
  capsule: ["./commands/capsule.ts", "capsuleCommand"],
  chat: ["./commands/chat.ts", "chatCommand"],
  sessions: ["./commands/sessions.ts", "sessionsCommand"],
  servers: ["./commands/servers.ts", "serversCommand"],
  mcp: ["./commands/mcp.ts", "mcpCommand"],
  demo: ["./commands/demo.ts", "demoCommand"],
  doctor: ["./commands/doctor.ts", "doctorCommand"],
  completions: ["./commands/completions.ts", "completionsCommand"],
};

async function loadCommand(name: string, io: CliIo): Promise<Command> {
  const [module, factory] = COMMANDS[name]!;
  const loaded = await import(new URL(module, import.meta.url).href) as Record<
    string,
    (io: CliIo) => Command
  >;
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
    .showHelpAfterError();
  const name = commandName(args);
  const versionOnly = name === undefined && (args.includes("-V") || args.includes("--version"));
  const names = name !== undefined && Object.hasOwn(COMMANDS, name)
    ? [name]
    : versionOnly
    ? []
    : Object.keys(COMMANDS);
  for (const command of await Promise.all(names.map((n) => loadCommand(n, io)))) {
    program.addCommand(command);
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

/** Runs the CLI with `args` and returns the exit code. */
export async function run(args: string[], io: CliIo = processIo()): Promise<number> {
  const program = await buildProgram(io, args);
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
  const { launch } = await import("./launch.ts");
  Deno.exit(await launch(Deno.args, run));
}
