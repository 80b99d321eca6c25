/**
 * The `astrid` command: a thin entry over one command tree. Every failure leaves through
 * {@link run}'s single error path, which maps it to an exit code (see ARCHITECTURE.md).
 *
 * @module
 */
import { Command, CommanderError } from "commander";
import { type CliIo, processIo } from "./context.ts";
import { CliError, ExitCode } from "./errors.ts";
import { configCommand } from "./commands/config.ts";
import { initCommand } from "./commands/init.ts";
import { keysCommand } from "./commands/keys.ts";
import { auditCommand } from "./commands/audit.ts";
import { approvalsCommand } from "./commands/approvals.ts";
import { demoCommand } from "./commands/demo.ts";
import { toolsCommand } from "./commands/tools.ts";
import { capsuleCommand } from "./commands/capsule.ts";
import { chatCommand } from "./commands/chat.ts";
import { sessionsCommand } from "./commands/sessions.ts";
import { serversCommand } from "./commands/servers.ts";
import { defaultExecutors } from "./executors.ts";

/** Builds the whole command tree over `io`. */
export function buildProgram(io: CliIo): Command {
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
    .showHelpAfterError();
  program.addCommand(initCommand(io));
  program.addCommand(keysCommand(io));
  program.addCommand(configCommand(io));
  program.addCommand(auditCommand(io));
  program.addCommand(approvalsCommand(io, defaultExecutors));
  program.addCommand(toolsCommand(io));
  program.addCommand(capsuleCommand(io));
  program.addCommand(chatCommand(io));
  program.addCommand(sessionsCommand(io));
  program.addCommand(serversCommand(io));
  program.addCommand(demoCommand(io));
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
  const program = buildProgram(io);
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
    if (err instanceof CliError) {
      io.stderr(`error: ${err.message}\n`);
      return err.exitCode;
    }
    const code = (err as { code?: unknown }).code;
    if (code === "CONFIG" || code === "KEY" || code === "PATH") {
      io.stderr(`error: ${(err as Error).message}\n`);
      return ExitCode.Error;
    }
    if (code === "INTEGRITY") {
      io.stderr(`error: ${(err as Error).message}\n`);
      return ExitCode.Integrity;
    }
    io.stderr(`error: ${(err as Error)?.stack ?? String(err)}\n`);
    return ExitCode.Error;
  }
}

if (import.meta.main) {
  Deno.exit(await run(Deno.args));
}
