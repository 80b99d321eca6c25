/**
 * RPC methods `commands.list` and `commands.run`: the installed capsules' `[[command]]`s of a
 * daemon session (OpenClaw `registerCommand`), as the REPL offers them without a daemon
 * (runtime/capsule/commands.ts, runtime/cli/repl.ts `capsuleReplCommands`).
 *
 * - `commands.list` names them as `slashCommands` does for the session's capsule host (the one
 *   its tools come from, fixed when the session opened): a command named like a built-in REPL
 *   command, or offered by two capsules, is only `capsule:name`.
 * - `commands.run` runs one in the daemon through THAT session's interceptor, so its policy,
 *   budget, grants, approvals and audit apply: an approval it needs is offered to every attached
 *   frontend, and deferred when nobody can answer. Its answer is what `runCapsuleCommand`
 *   returns. A prompt command is only expanded (`{ kind: "prompt", prompt }`), never run as a
 *   turn here: the caller sends the prompt as its next turn (`sessions.send`), so a command's
 *   turn takes the same path as a typed one.
 *
 * A session that is not live is resumed first (as `sessions.model`). An unknown session is
 * `NotFound` (-32004), an ended one `Conflict` (-32009), an unknown command `InvalidParams`
 * (-32602, data `{ code: "UNKNOWN_COMMAND" }`).
 *
 * @module
 */
import type { MethodGroup } from "./mod.ts";
import {
  type DaemonContext,
  type JsonSchema,
  RpcError,
  RpcErrorCode,
  type RpcMethod,
} from "../types.ts";
import { SessionHost } from "../session_host.ts";
import type { SlashCommand } from "../../capsule/commands.ts";

const text = (description: string) => ({ type: "string", description });

const SESSION_ID = {
  type: "string",
  minLength: 1,
  maxLength: 200,
  description: "The session's id (from sessions.create or sessions.list).",
} as const;

/** One row of `commands.list`. */
export interface CommandRow {
  /** What it answers to, without `/`: `name`, or `capsule:name` when the name is taken. */
  readonly slash: string;
  readonly capsule: string;
  /** The command's own name in its capsule. */
  readonly command: string;
  readonly description: string;
  /** `prompt`: expands into a turn; `wasm`: runs the capsule's `command:<name>` hook. */
  readonly kind: "prompt" | "wasm";
}

const ROW: JsonSchema = {
  type: "object",
  additionalProperties: false,
  required: ["slash", "capsule", "command", "description", "kind"],
  properties: {
    slash: text("what it answers to, without /: name, or capsule:name when the name is taken"),
    capsule: text("the capsule that offers it"),
    command: text("its name in the capsule"),
    description: text("what it does (may be empty)"),
    kind: {
      enum: ["prompt", "wasm"],
      description: "prompt: expands into a turn; wasm: runs the capsule's command hook",
    },
  },
};

const OUTCOME: JsonSchema = {
  type: "object",
  description: "The wasm command's outcome, as a tool call's (runtime/tools/invoke.ts)",
  required: ["status"],
  properties: {
    status: { enum: ["ok", "denied", "deferred", "error"], description: "how it ended" },
    result: {
      type: "object",
      description: "ok: `output` is the text the command returned",
      required: ["output", "isError"],
      properties: {
        output: text("the command's text"),
        isError: { type: "boolean", description: "true when it failed" },
      },
    },
    id: text("deferred: the queued approval's id (run the command again once approved)"),
    reason: text("denied or deferred: why"),
    code: text("denied or error: the code"),
    message: text("error: what went wrong"),
    summary: text("denied or deferred: what was asked"),
  },
};

const hostOf = (ctx: DaemonContext): SessionHost => SessionHost.of(ctx);

/** The session's commands, named against the REPL's built-ins; warnings go to the daemon log. */
async function sessionCommands(ctx: DaemonContext, sessionId: string) {
  const scope = await hostOf(ctx).commandScope(sessionId);
  // Loaded on first use, as the session's own modules are (session_host.ts).
  const { slashCommands } = await import("../../capsule/commands.ts");
  const { BUILTIN_SLASH_COMMANDS } = await import("../../cli/repl.ts");
  const { commands, warnings } = await slashCommands(scope.host.capsules, BUILTIN_SLASH_COMMANDS);
  for (const w of warnings) ctx.rt.io.stderr(`warning: session ${sessionId}: ${w}\n`);
  return { scope, commands };
}

function row(c: SlashCommand): CommandRow {
  return {
    slash: c.slash,
    capsule: c.capsule,
    command: c.name,
    description: c.description,
    kind: c.kind,
  };
}

const list: RpcMethod = {
  name: "commands.list",
  summary: "The capsule slash commands of a session (as the REPL's /help lists them)",
  params: {
    type: "object",
    additionalProperties: false,
    required: ["sessionId"],
    properties: { sessionId: SESSION_ID },
  },
  result: { type: "array", items: ROW, description: "in capsule order" },
  async handler(params: { sessionId: string }, call) {
    return (await sessionCommands(call.daemon, params.sessionId)).commands.map(row);
  },
};

const run: RpcMethod = {
  name: "commands.run",
  summary: "Run a capsule slash command through the session's interceptor (a prompt one expands)",
  params: {
    type: "object",
    additionalProperties: false,
    required: ["sessionId", "slash"],
    properties: {
      sessionId: SESSION_ID,
      slash: {
        type: "string",
        minLength: 1,
        maxLength: 200,
        description: "the command: its slash name or capsule:name, with or without the /",
      },
      args: {
        type: "string",
        maxLength: 65_536,
        description: "the text after the command (default empty)",
      },
    },
  },
  result: {
    type: "object",
    additionalProperties: false,
    required: ["kind"],
    properties: {
      kind: {
        enum: ["prompt", "outcome"],
        description: "prompt: send `prompt` as the next turn (sessions.send); outcome: a wasm run",
      },
      prompt: text("prompt: the expanded template"),
      outcome: OUTCOME,
    },
  },
  async handler(params: { sessionId: string; slash: string; args?: string }, call) {
    const ctx = call.daemon;
    const { scope, commands } = await sessionCommands(ctx, params.sessionId);
    const { findSlashCommand, runCapsuleCommand } = await import("../../capsule/commands.ts");
    const word = params.slash.startsWith("/") ? params.slash.slice(1) : params.slash;
    const command = findSlashCommand(commands, word);
    if (!command) {
      throw new RpcError(
        RpcErrorCode.InvalidParams,
        `Cannot run /${word}: session ${params.sessionId} has no such capsule command ` +
          "(commands.list names them)",
        { code: "UNKNOWN_COMMAND" },
      );
    }
    // The call's signal aborts an approval still waiting when the caller disconnects.
    return await runCapsuleCommand(scope.interceptor, scope.host, command, params.args ?? "", {
      signal: call.signal,
    });
  },
};

/** The capsule command methods. */
export const group: MethodGroup = { methods: [list, run] };
