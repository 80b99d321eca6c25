/**
 * `astrid chat [-s ID] [-p PROMPT] [--approve once|session|always|deny] [--json]`.
 *
 * Without `-p`, on a terminal, it is the interactive REPL (runtime/cli/repl.ts): streamed,
 * markdown-rendered answers, tool calls as they run, the approval prompt, slash commands and
 * a history file at `$ASTRID_HOME/history`. With `-p` it is a one-shot, non-interactive run: it prints the model's final answer (or, with
 * `--json`, one JSON event per line) and exits. Approvals follow the non-interactive rules: an
 * action that needs a human is deferred (exit 4, ids printed) unless `--approve` answers up
 * front. `-s ID` resumes a session with its messages, allowances and budget. Ctrl-C cancels the
 * turn in progress, not the session. Without an API key it says how to configure one (exit 1).
 *
 * @module
 */
import { Command, Option } from "commander";
import { join } from "node:path";
import {
  createProvider,
  type LlmProvider,
  type ModelConfig,
  pricingFromConfig,
  pricingNotice,
} from "../../llm/mod.ts";
import { type ApprovalChoice, type Frontend, PresetFrontend } from "../../security/approval.ts";
import type { AstridConfig } from "../../config/mod.ts";
import {
  type AgentEvent,
  openAgent,
  type OpenAgentOptions,
  type OpenedAgent,
  type SubAgentLimits,
  type TurnResult,
} from "../../agent/mod.ts";
import {
  type CliIo,
  loadCliConfig,
  requireWorkspace,
  type Runtime,
  wantsJson,
  withRuntime,
} from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { capsuleReplCommands, Repl, type ReplTerminal } from "../repl.ts";
import { SessionModel } from "../_session_model.ts";
import { projectSystemPrompt } from "../../agent/project_context.ts";
import {
  capsuleSystemPrompt,
  capsuleToolRegistry,
  CompositeToolRegistry,
  DEFAULT_SYSTEM_PROMPT,
  mcpToolRegistry,
  pricedCosts,
  providerSampler,
  type ToolRegistry,
} from "../../agent/mod.ts";
import type { Gate } from "../../security/gate.ts";
import type { CapsuleHost } from "../../capsule/mod.ts";
import { openCapsuleProvider } from "../../capsule/llm_provider.ts";
import { providerCompleter } from "../../llm/complete.ts";
import { frontendElicitor, gatedSampler, type McpServerManager } from "../../mcp/mod.ts";
import { openServerManager } from "./servers.ts";
import { capsuleHost } from "./tools.ts";
import { sessionGrantSources } from "./grants.ts";
import { firstRun, firstRunHint } from "./_first_run.ts";
import { resolveSessionId } from "./sessions.ts";
import { SessionStore } from "../../agent/mod.ts";

const KEY_ENV: Record<"anthropic" | "openai", string> = {
  anthropic: "ANTHROPIC_API_KEY",
  openai: "OPENAI_API_KEY",
};

/** True when an installed capsule's `[[llm_provider]]` is the model (`capsule:<name>`). */
function isCapsuleModel(model: Pick<ModelConfig, "provider">): boolean {
  return model.provider.startsWith("capsule:");
}

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
  const provider = model.provider;
  if (model.api_key !== "" || (provider !== "anthropic" && provider !== "openai")) return null;
  if (model.provider === "openai" && model.api_url !== "") return null;
  const env = KEY_ENV[provider];
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

/**
 * The sub-agent limits from `[agent]`.
 *
 * @example Seconds become milliseconds
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { DEFAULT_CONFIG } from "../../config/mod.ts";
 * import { subAgentLimitsFromConfig } from "./chat.ts";
 * equal(subAgentLimitsFromConfig(DEFAULT_CONFIG).timeoutMs, 600_000);
 * ```
 */
export function subAgentLimitsFromConfig(config: AstridConfig): SubAgentLimits {
  return {
    maxConcurrency: config.agent.max_concurrency,
    maxDepth: config.agent.max_depth,
    timeoutMs: config.agent.task_timeout_seconds * 1000,
    perTaskUsd: config.agent.task_budget_usd,
  };
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
      new Option(
        "--approve <answer>",
        "answer every approval up front (else: asked in the REPL, deferred with -p)",
      )
        .choices(["once", "session", "always", "deny"]),
    )
    .option("--max-turns <n>", "model calls allowed in one turn (default: [agent] max_rounds)")
    .option("--json", "print one JSON event per line")
    .action(jsonErrors(io, async (opts: ChatOpts, cmd: Command) => {
      let { config, paths } = await loadCliConfig(cmd, io);
      // First run (no user config, no key): offer to create the config on a terminal.
      if (missingKeyHelp(config.model, paths.userConfig) && await firstRun(io, paths.userConfig)) {
        ({ config, paths } = await loadCliConfig(cmd, io));
      }
      const help = missingKeyHelp(config.model, paths.userConfig);
      if (help) {
        const hint = await firstRunHint(config.model.provider, paths.userConfig);
        throw new CliError(hint ?? help, ExitCode.Error);
      }
      const interactive = opts.prompt === undefined;
      if (interactive && !io.isTty) {
        throw new CliError(
          "Cannot start the interactive chat: stdin is not a terminal; pass -p PROMPT",
          ExitCode.Usage,
        );
      }
      const maxRounds = Number(opts.maxTurns ?? config.agent.max_rounds);
      if (!Number.isSafeInteger(maxRounds) || maxRounds < 1) {
        throw new CliError(
          `Cannot use --max-turns: current value is ${opts.maxTurns}`,
          ExitCode.Usage,
        );
      }
      // [model] provider = "capsule:<name>" is built once the installed capsules are known.
      const builtIn = isCapsuleModel(config.model) ? null : makeProvider(config.model);
      // How the model is priced, once per session: $0 on a local endpoint, or a default price.
      const priced = pricingNotice(config);
      if (priced) io.stderr(`${priced.level}: ${priced.message}\n`);
      const json = wantsJson(cmd, io);
      await withRuntime(cmd, io, async (rt) => {
        const ws = await requireWorkspace(rt.paths);
        // `-s` takes a unique prefix too; an unknown id is "no such session" (exit 1).
        const resume = opts.session === undefined
          ? undefined
          : await resolveSessionId(new SessionStore(rt.store), opts.session);
        const human: { frontend: Frontend | null } = { frontend: null };
        const installed = await capsuleHost(rt, ws.root);
        // Capsule model wiring: a capsule provider (bound to the session's gate in extraTools)
        // and the session's model for capsules' `llm-complete` calls.
        const capsuleModel = builtIn ? null : openCapsuleProvider(installed, rt.config.model);
        // `/model NAME` switches a built-in provider's model for the session (priced, audited).
        const provider = builtIn
          ? new SessionModel({
            initial: builtIn,
            make: (model) => makeProvider({ ...rt.config.model, model }),
            pricing: pricingFromConfig(rt.config),
            configured: rt.config.model.model,
          })
          : capsuleModel!.provider;
        const host: CapsuleHost = {
          ...installed,
          llm: providerCompleter(provider, pricingFromConfig(rt.config)),
        };
        await using external = externalTools(rt, provider, opts.approve, human, host);
        const outputs = toolOutputs();
        const base = {
          store: rt.store,
          signer: rt.key,
          audit: rt.audit,
          config: rt.config,
          workspaceRoot: ws.root,
          workspaceId: ws.id,
          walls: rt.walls,
          provider,
          resume,
          maxRounds,
          pricing: provider instanceof SessionModel
            ? provider.pricing
            : pricingFromConfig(rt.config),
          subAgents: subAgentLimitsFromConfig(rt.config),
          extraTools: (builtin: ToolRegistry, gate: Gate) => {
            capsuleModel?.bind(gate.interceptor);
            return external.attach(builtin, gate).then((r) => outputs.wrap(r));
          },
          // Session facts and AGENTS.md / CLAUDE.md (runtime/agent/project_context.ts), then
          // installed capsules' context files and skills (runtime/agent/capsule_context.ts).
          system: await capsuleSystemPrompt(
            await projectSystemPrompt(
              DEFAULT_SYSTEM_PROMPT,
              { workspaceRoot: ws.root, mode: rt.config.workspace.mode },
              { onWarning: (m) => io.stderr(`warning: ${m}\n`) },
            ),
            host.capsules,
            { onWarning: (m) => io.stderr(`warning: ${m}\n`) },
          ),
        };
        if (interactive) {
          await interactiveChat(rt, base, opts.approve, human, host);
          return;
        }
        const emit = (event: AgentEvent | Record<string, unknown>) => {
          if (json) io.stdout(JSON.stringify(outputs.attach(event)) + "\n");
        };
        const opened = await openAgent({
          ...base,
          frontend: opts.approve ? new PresetFrontend({ choice: opts.approve }) : null,
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
          warnRejected(io, opened);
          if (opened.recovered) io.stderr("the previous turn was interrupted; resuming\n");
          result = await opened.agent.run(opts.prompt!, { signal: controller.signal });
        } finally {
          try {
            Deno.removeSignalListener("SIGINT", onInt);
          } catch { /* see above */ }
          await opened.close();
        }
        finish(io, result, json);
      });
    }));
}

/** How much of a tool's output a `--json` `tool_end` event carries. */
export const TOOL_END_OUTPUT_CHARS = 4000;

/**
 * Remembers each tool call's output (calls run one at a time) so that `--json` `tool_end`
 * events carry it, capped at {@link TOOL_END_OUTPUT_CHARS}.
 */
function toolOutputs() {
  let last: { name: string; output: string } | null = null;
  return {
    wrap: (registry: ToolRegistry): ToolRegistry => ({
      definitions: () => registry.definitions(),
      call: async (name, args, callOpts) => {
        const outcome = await registry.call(name, args, callOpts);
        if (outcome.status === "ok") last = { name, output: outcome.result.output };
        else last = null;
        return outcome;
      },
    }),
    attach: (event: AgentEvent | Record<string, unknown>) => {
      if (event.type !== "tool_end" || last === null || last.name !== event.name) return event;
      const { output } = last;
      last = null;
      const truncated = output.length > TOOL_END_OUTPUT_CHARS;
      return {
        ...event,
        output: truncated ? output.slice(0, TOOL_END_OUTPUT_CHARS) : output,
        ...(truncated ? { outputTruncated: output.length } : {}),
      };
    },
  };
}

/**
 * With `-p` and `--json`, an error is also a JSON event on stdout (`{"type":"error",...}`)
 * before it leaves through the CLI's error path.
 */
function jsonErrors<A extends [ChatOpts, Command]>(
  io: CliIo,
  action: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async function chatWithJsonErrors(...args: A) {
    try {
      await action(...args);
    } catch (err) {
      const [opts, cmd] = args;
      if (opts.prompt !== undefined && wantsJson(cmd, io)) {
        const exitCode = err instanceof CliError ? err.exitCode : ExitCode.Error;
        const code = (err as { code?: unknown }).code;
        io.stdout(
          JSON.stringify({
            type: "error",
            message: (err as Error).message ?? String(err),
            exitCode,
            ...(typeof code === "string" ? { code } : {}),
          }) + "\n",
        );
      }
      throw err;
    }
  };
}

type BaseOptions = Omit<OpenAgentOptions, "frontend" | "onEvent" | "onSubAgentEvent">;

/** The REPL on the process's terminal: raw mode for its lifetime, restored on every exit path. */
async function interactiveChat(
  rt: Runtime,
  base: BaseOptions,
  approve: ApprovalChoice | undefined,
  human: { frontend: Frontend | null },
  host: CapsuleHost,
): Promise<void> {
  const io = rt.io;
  const terminal: ReplTerminal = {
    input: Deno.stdin.readable,
    write: (s) => io.stdout(s),
    colour: io.env.NO_COLOR === undefined && Deno.stdout.isTerminal(),
    columns: columns(),
  };
  const repl = new Repl({ terminal, historyFile: join(rt.paths.home, "history") });
  const frontend: Frontend = approve ? new PresetFrontend({ choice: approve }) : repl.frontend(io);
  // MCP servers' elicitation goes to the person at the terminal (never to a preset answer).
  human.frontend = repl.frontend(io);
  const opened = await openAgent({
    ...base,
    frontend,
    onEvent: (e) => repl.onEvent(e),
    onSubAgentEvent: (child, e) => repl.onSubAgentEvent(child, e),
  });
  warnRejected(io, opened);
  if (opened.recovered) {
    io.stdout("the previous turn was interrupted; its finished rounds are kept\n");
  }
  // In raw mode Ctrl-C arrives as a key (0x03), which the REPL turns into a cancelled turn.
  Deno.stdin.setRaw(true);
  // A resized terminal re-flows the answer being streamed.
  const onResize = () => repl.resize(columns());
  try {
    Deno.addSignalListener("SIGWINCH", onResize);
  } catch { /* no SIGWINCH on this platform: the width stays */ }
  try {
    await repl.run({
      opened,
      audit: rt.audit,
      model: rt.config.model,
      models: base.provider instanceof SessionModel
        ? { model: base.provider, audit: rt.audit }
        : undefined,
      capsuleCommands: await capsuleReplCommands(
        opened.gate.interceptor,
        host,
        approve ? { choice: approve } : undefined,
        (m) => io.stderr(`warning: ${m}\n`),
      ),
      // `/permissions` lists and revokes grants over this session's live stores.
      grants: sessionGrantSources(rt, {
        sessionId: opened.session.id,
        tokens: opened.gate.tokens,
        allowances: opened.gate.allowances,
      }),
    });
  } finally {
    try {
      Deno.removeSignalListener("SIGWINCH", onResize);
    } catch { /* see above */ }
    Deno.stdin.setRaw(false);
    await opened.close();
  }
}

/**
 * MCP servers' and installed capsules' tools for the agent, through the session's interceptor.
 * MCP sampling requests are answered by the session's model, each one gated and budgeted.
 */
function externalTools(
  rt: Runtime,
  provider: LlmProvider,
  approve: ApprovalChoice | undefined,
  human: { readonly frontend: Frontend | null },
  host: CapsuleHost,
) {
  const workspaceRoot = host.workspaceRoot;
  let manager: McpServerManager | null = null;
  const answer = approve ? { choice: approve } : undefined;
  const warn = (m: string) => rt.io.stderr(`warning: ${m}\n`);
  return {
    attach: async (builtin: ToolRegistry, gate: Gate): Promise<ToolRegistry> => {
      const costs = pricedCosts(
        provider.model,
        provider instanceof SessionModel ? provider.pricing : pricingFromConfig(rt.config),
        rt.config.model.max_tokens,
      );
      manager = openServerManager(rt.config, {
        env: rt.io.env,
        cwd: rt.io.cwd,
        workspaceRoot,
        walls: rt.walls,
        sampler: gatedSampler(gate.interceptor, providerSampler(provider, gate.budget, costs), {
          answer,
        }),
        elicitor: frontendElicitor(human.frontend),
      });
      const limit = rt.config.tools.output_limit_chars;
      const mcp = await mcpToolRegistry(gate.interceptor, manager, {
        answer,
        outputLimitChars: limit,
        onWarning: warn,
      });
      const capsules = await capsuleToolRegistry(
        gate.interceptor,
        host,
        { answer, outputLimitChars: limit, onWarning: warn },
      );
      return new CompositeToolRegistry([builtin, mcp, capsules]);
    },
    async [Symbol.asyncDispose]() {
      await manager?.close();
    },
  };
}

function columns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 80;
  }
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

/** Session allowances whose signature did not verify are ignored; say so (also audited). */
function warnRejected(io: CliIo, opened: OpenedAgent): void {
  for (const r of opened.gate.allowances.rejected) {
    io.stderr(`warning: session allowance ${r.key} ignored (${r.code}): ${r.reason}\n`);
  }
}
