/**
 * Capsule `[[command]]`s as slash commands (`/name args` in the REPL, `astrid capsule run NAME
 * COMMAND ARGS…` on the command line).
 *
 * - A prompt command (`prompt` or `path`) expands its template with the arguments: `$ARGUMENTS`
 *   and `{{args}}` are replaced, or the arguments are appended. The REPL sends the result as
 *   the user's turn. Nothing runs and nothing is gated: the turn's own tool calls are.
 * - A wasm command (neither) runs the capsule's `on_hook` with hook `command:<name>` and payload
 *   `{ args }`, and shows the `text` it returns (OpenClaw `registerCommand`). The run is a
 *   `capsule_tool_call` action for tool `command_<name>` (resource
 *   `capsule://<capsule>/command_<name>`) through the interceptor, gated and audited like a tool
 *   call, with the same host env as tool calls (registry.ts `hostEnv`). A deferred command is
 *   not re-run on approval: the human runs it again.
 *
 * Names are collision-safe: a command named like a built-in slash command, or offered by two
 * capsules, is only reachable as `/<capsule>:<name>` (which always works).
 *
 * @module
 */
import { type InvokeOptions, type InvokeOutcome, refusedOutcome } from "../tools/invoke.ts";
import type { SecurityInterceptor } from "../security/interceptor.ts";
import { type CapsuleCommand, loadStatic } from "./engines/static.ts";
import type { InstalledCapsule } from "./install.ts";
import { type CapsuleHost, runInInstance } from "./registry.ts";

/** The prefix of a wasm command's tool name in its action (`<capsule>__command_<name>`). */
export const COMMAND_TOOL_PREFIX = "command_";

/** A capsule command with the slash name it answers to. */
export type SlashCommand = CapsuleCommand & {
  /** Without the leading `/`: `name`, or `capsule:name` when the name is taken. */
  readonly slash: string;
};

/** What {@link slashCommands} found. */
export interface SlashCommands {
  readonly commands: SlashCommand[];
  /** Capsules whose commands could not be read. */
  readonly warnings: string[];
}

/**
 * The commands of `capsules`, named collision-safe against `reserved` (built-in names, without
 * `/`) and each other.
 *
 * @example Two capsules with the same command, and a built-in name
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { capsuleDirs } from "./install.ts";
 * import { listInstalled } from "./installed.ts";
 * import { slashCommands } from "./commands.ts";
 * import { testInstall, testRecords } from "./_testing.ts";
 * using records = await testRecords();
 * const dirs = capsuleDirs(await Deno.makeTempDir(), null);
 * for (const name of ["a", "b"]) {
 *   const src = await Deno.makeTempDir();
 *   await Deno.writeTextFile(`${src}/Capsule.toml`, `[package]\nname = "${name}"\nversion = "1"\n` +
 *     '[[command]]\nname = "review"\nprompt = "Review"\n[[command]]\nname = "help"\nprompt = "H"\n' +
 *     `[[command]]\nname = "only_${name}"\nprompt = "O"\n`);
 *   await testInstall(dirs, src, records);
 * }
 * const { capsules } = await listInstalled(dirs, { requireHash: true, records });
 * const { commands } = await slashCommands(capsules, ["help"]);
 * deepEqual(commands.map((c) => c.slash).sort(), ["a:help", "a:review", "b:help", "b:review", "only_a", "only_b"]);
 * ```
 */
export async function slashCommands(
  capsules: readonly InstalledCapsule[],
  reserved: readonly string[],
): Promise<SlashCommands> {
  const all: CapsuleCommand[] = [];
  const warnings: string[] = [];
  for (const c of capsules) {
    try {
      all.push(...(await loadStatic(c.loaded)).commands);
    } catch (e) {
      warnings.push(`commands of capsule ${c.record.name} unavailable: ${(e as Error).message}`);
    }
  }
  const count = new Map<string, number>();
  for (const c of all) count.set(c.name, (count.get(c.name) ?? 0) + 1);
  const taken = new Set(reserved);
  const commands = all.map((c) => ({
    ...c,
    slash: taken.has(c.name) || count.get(c.name)! > 1 ? `${c.capsule}:${c.name}` : c.name,
  }));
  return { commands, warnings };
}

/**
 * Finds the command `/word` names: its slash name, or `capsule:name`.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { findSlashCommand } from "./commands.ts";
 * const cmds = [{ slash: "review", capsule: "a", name: "review", description: "", kind: "prompt", prompt: "R" }] as const;
 * equal(findSlashCommand(cmds, "a:review")?.name, "review");
 * equal(findSlashCommand(cmds, "nope"), undefined);
 * ```
 */
export function findSlashCommand(
  commands: readonly SlashCommand[],
  word: string,
): SlashCommand | undefined {
  return commands.find((c) => c.slash === word || `${c.capsule}:${c.name}` === word);
}

/**
 * A prompt command's text for `args`: `$ARGUMENTS` and `{{args}}` are replaced; a template with
 * neither gets the arguments appended after a blank line (none: unchanged).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { expandCommandPrompt } from "./commands.ts";
 * equal(expandCommandPrompt("Review $ARGUMENTS now", "a.ts"), "Review a.ts now");
 * equal(expandCommandPrompt("Review {{args}}", "a.ts"), "Review a.ts");
 * equal(expandCommandPrompt("Review", "a.ts"), "Review\n\na.ts");
 * equal(expandCommandPrompt("Review", ""), "Review");
 * ```
 */
export function expandCommandPrompt(template: string, args: string): string {
  const a = args.trim();
  if (template.includes("$ARGUMENTS") || template.includes("{{args}}")) {
    return template.replaceAll("$ARGUMENTS", a).replaceAll("{{args}}", a);
  }
  return a === "" ? template : `${template.replace(/\s+$/, "")}\n\n${a}`;
}

/** What running a command gives: a prompt to send, or the wasm's outcome. */
export type CommandRun =
  | { readonly kind: "prompt"; readonly prompt: string }
  | { readonly kind: "outcome"; readonly outcome: InvokeOutcome };

/**
 * Runs `command` with `args`: a prompt command expands (nothing is gated), a wasm command runs
 * its `command:<name>` hook through the interceptor and returns the hook's `text` as the output.
 *
 * @example A prompt command expands
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { runCapsuleCommand } from "./commands.ts";
 * const cmd = { slash: "r", capsule: "a", name: "r", description: "", kind: "prompt", prompt: "Do $ARGUMENTS" } as const;
 * deepEqual(await runCapsuleCommand({} as never, {} as never, cmd, "it"), { kind: "prompt", prompt: "Do it" });
 * ```
 */
export async function runCapsuleCommand(
  interceptor: SecurityInterceptor,
  host: CapsuleHost,
  command: SlashCommand,
  args: string,
  opts: InvokeOptions = {},
): Promise<CommandRun> {
  if (command.kind === "prompt") {
    return { kind: "prompt", prompt: expandCommandPrompt(command.prompt, args) };
  }
  return { kind: "outcome", outcome: await runWasmCommand(interceptor, host, command, args, opts) };
}

async function runWasmCommand(
  interceptor: SecurityInterceptor,
  host: CapsuleHost,
  command: SlashCommand,
  args: string,
  opts: InvokeOptions,
): Promise<InvokeOutcome> {
  const installed = host.capsules.find((c) => c.record.name === command.capsule);
  if (!installed) {
    return {
      status: "error",
      code: "UNKNOWN_TOOL",
      message: `Cannot run /${command.slash}: capsule ${command.capsule} is not installed`,
    };
  }
  const tool = `${COMMAND_TOOL_PREFIX}${command.name}`;
  const payload = { args };
  const summary = `Run command ${command.name} of capsule ${command.capsule}`;
  const decision = await interceptor.intercept(
    { kind: "capsule_tool_call", capsule: command.capsule, tool, args: payload },
    {
      tool: `${command.capsule}__${tool}`,
      capsule: command.capsule,
      provenance: opts.provenance,
      argumentBytes: new TextEncoder().encode(JSON.stringify(payload)).length,
      answer: opts.answer,
      signal: opts.signal,
    },
  );
  if (decision.outcome !== "allowed") return refusedOutcome(decision, summary);
  return await runInInstance(
    interceptor,
    host,
    installed,
    decision,
    summary,
    async (instance) => replyText(await instance.onHook(`command:${command.name}`, payload)),
  );
}

/** The hook's `{ text }` (or a bare string; anything else as JSON). */
function replyText(value: unknown): string {
  if (typeof value === "string") return value;
  const text = (value as { text?: unknown } | null)?.text;
  if (typeof text === "string") return text;
  return JSON.stringify(value, null, 2) ?? "";
}
