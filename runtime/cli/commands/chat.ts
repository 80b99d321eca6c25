/**
 * `astrid chat [-s ID] [-p PROMPT] [--approve once|session|always|deny] [--json]`.
 *
 * With `-p` it is a one-shot, non-interactive run: it prints the model's final answer (or, with
 * `--json`, one JSON event per line) and exits. Approvals follow the non-interactive rules: an
 * action that needs a human is deferred (exit 4, ids printed) unless `--approve` answers up
 * front. `-s ID` resumes a session with its messages, allowances and budget. Ctrl-C cancels the
 * turn in progress, not the session. Without an API key it says how to configure one (exit 1).
 *
 * @module
 */
import { Command, Option } from "commander";
import { createProvider, type LlmProvider, type ModelConfig } from "../../llm/mod.ts";
import { type ApprovalChoice, PresetFrontend } from "../../security/approval.ts";
import { type AgentEvent, openAgent, type TurnResult } from "../../agent/mod.ts";
import { type CliIo, loadCliConfig, requireWorkspace, wantsJson, withRuntime } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";

const KEY_ENV: Record<ModelConfig["provider"], string> = {
  anthropic: "ANTHROPIC_API_KEY",
  openai: "OPENAI_API_KEY",
};

/**
 * How to configure a key, when none is: null when `model` has what it needs.
 *
 * @example The message names the config key and the environment variable
 * ```ts
 * import { match } from "node:assert/strict";
 * import { missingKeyHelp } from "./chat.ts";
 * const help = missingKeyHelp(
 *   { provider: "anthropic", model: "m", api_key: "", api_url: "", max_tokens: 1, temperature: 0 },
 *   "/home/u/.astrid/config.toml",
 * );
 * match(help ?? "", /ANTHROPIC_API_KEY/);
 * match(help ?? "", /api_key/);
 * ```
 */
export function missingKeyHelp(model: ModelConfig, userConfig: string): string | null {
  if (model.api_key !== "") return null;
  if (model.provider === "openai" && model.api_url !== "") return null;
  const env = KEY_ENV[model.provider];
  return [
    `Cannot start a chat: no API key is configured for the ${model.provider} provider.`,
    "Configure one in either of these ways:",
    `  1. export ${env}=<your key>`,
    `  2. add to ${userConfig}:`,
    "       [model]",
    `       provider = "${model.provider}"`,
    `       api_key = "<your key>"`,
    "(A workspace config cannot set keys. For a local OpenAI-compatible server such as Ollama,",
    ' set provider = "openai" and api_url = "http://127.0.0.1:11434/v1" instead.)',
  ].join("\n");
}

interface ChatOpts {
  session?: string;
  prompt?: string;
  approve?: ApprovalChoice;
  maxTurns?: string;
}

/**
 * Builds the `chat` command. `makeProvider` is a seam for tests; default {@link createProvider}.
 *
 * @example The command and its options
 * ```ts
 * import { equal, ok } from "node:assert/strict";
 * import { chatCommand } from "./chat.ts";
 * const io = { env: {}, cwd: "/", isTty: false, stdout() {}, stderr() {} };
 * const cmd = chatCommand(io);
 * equal(cmd.name(), "chat");
 * ok(cmd.options.some((o) => o.long === "--prompt"));
 * ```
 */
export function chatCommand(
  io: CliIo,
  makeProvider: (cfg: ModelConfig) => LlmProvider = (cfg) => createProvider(cfg),
): Command {
  return new Command("chat")
    .description("Talk to the agent (one-shot with -p; resume a session with -s)")
    .option("-s, --session <id>", "resume this session")
    .option("-p, --prompt <prompt>", "run one prompt non-interactively and print the answer")
    .addOption(
      new Option("--approve <answer>", "answer every approval up front (else they are deferred)")
        .choices(["once", "session", "always", "deny"]),
    )
    .option("--max-turns <n>", "model calls allowed in one turn", "25")
    .option("--json", "print one JSON event per line")
    .action(async (opts: ChatOpts, cmd: Command) => {
      const { config, paths } = await loadCliConfig(cmd, io);
      const help = missingKeyHelp(config.model, paths.userConfig);
      if (help) throw new CliError(help, ExitCode.Error);
      if (opts.prompt === undefined) {
        throw new CliError(
          "Cannot start the interactive chat: it is not available yet; pass -p PROMPT",
          ExitCode.Usage,
        );
      }
      const maxRounds = Number(opts.maxTurns);
      if (!Number.isSafeInteger(maxRounds) || maxRounds < 1) {
        throw new CliError(
          `Cannot use --max-turns: current value is ${opts.maxTurns}`,
          ExitCode.Usage,
        );
      }
      const provider = makeProvider(config.model);
      const json = wantsJson(cmd, io);
      await withRuntime(cmd, io, async (rt) => {
        const ws = await requireWorkspace(rt.paths);
        const emit = (event: AgentEvent | Record<string, unknown>) => {
          if (json) io.stdout(JSON.stringify(event) + "\n");
        };
        const opened = await openAgent({
          store: rt.store,
          signer: rt.key,
          audit: rt.audit,
          config: rt.config,
          workspaceRoot: ws.root,
          workspaceId: ws.id,
          provider,
          frontend: opts.approve ? new PresetFrontend({ choice: opts.approve }) : null,
          resume: opts.session,
          maxRounds,
          onEvent: (e) => {
            emit(e);
            if (!json) progress(io, e);
          },
          onSubAgentEvent: (child, e) => emit({ subAgent: child, ...e }),
        });
        const controller = new AbortController();
        const onInt = () => controller.abort();
        try {
          Deno.addSignalListener("SIGINT", onInt);
        } catch { /* no signal support (e.g. Windows tests): Ctrl-C ends the process */ }
        let result: TurnResult;
        try {
          io.stderr(`session ${opened.session.id}\n`);
          if (opened.recovered) io.stderr("the previous turn was interrupted; resuming\n");
          result = await opened.agent.run(opts.prompt!, { signal: controller.signal });
        } finally {
          try {
            Deno.removeSignalListener("SIGINT", onInt);
          } catch { /* see above */ }
          opened.close();
        }
        finish(io, result, json);
      });
    });
}

function progress(io: CliIo, e: AgentEvent): void {
  if (e.type === "tool_start") {
    const from = e.provenance.trust === "untrusted"
      ? ` (after untrusted: ${e.provenance.source})`
      : "";
    io.stderr(`→ ${e.name} ${JSON.stringify(e.args).slice(0, 200)}${from}\n`);
  } else if (e.type === "tool_end") {
    io.stderr(`← ${e.name}: ${e.detail}\n`);
  }
}

function finish(io: CliIo, result: TurnResult, json: boolean): void {
  if (!json && result.text) {
    io.stdout(result.text.endsWith("\n") ? result.text : `${result.text}\n`);
  }
  if (result.status !== "completed") {
    throw new CliError(
      `the turn ended ${result.status}${result.error ? `: ${result.error}` : ""}`,
      ExitCode.Error,
    );
  }
  if (result.deferred.length > 0) {
    if (!json) { for (const id of result.deferred) io.stdout(`${id}\n`); }
    throw new CliError(
      `deferred: ${result.deferred.length} action(s) wait for approval (astrid approvals list)`,
      ExitCode.Deferred,
    );
  }
}
