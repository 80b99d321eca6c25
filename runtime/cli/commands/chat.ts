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
 * When a daemon runs for the home (`astrid daemon start`), the session runs in the daemon and
 * this process is one of its frontends (runtime/cli/daemon_frontend.ts): `-p` closes the session
 * there when its turn ends (it stays resumable), the REPL leaves it live for other frontends.
 * `--no-daemon` keeps the session in this process.
 *
 * @module
 */
import { Command, Option } from "commander";
import { join } from "node:path";
import {
  createProvider,
  type LlmProvider,
  type ModelConfig,
  pricingNotice,
} from "../../llm/mod.ts";
import { type ApprovalChoice, type Frontend, PresetFrontend } from "../../security/approval.ts";
import { type AgentEvent, openAgent, type OpenedAgent, type TurnResult } from "../../agent/mod.ts";
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
import type { CapsuleHost } from "../../capsule/mod.ts";
import { sessionGrantSources } from "./grants.ts";
import { firstRun, firstRunHint } from "./_first_run.ts";
import { matchId, NO_SUCH_SESSION, resolveSessionId } from "./sessions.ts";
import { SessionStore } from "../../agent/mod.ts";
// The wiring of a chat session is shared with the daemon's sessions (runtime/cli/chat_wiring.ts).
import { chatAgentOptions, type ChatBaseOptions, isCapsuleModel } from "../chat_wiring.ts";
export { subAgentLimitsFromConfig, TOOL_END_OUTPUT_CHARS } from "../chat_wiring.ts";
import type { AstridConfig, AstridPaths } from "../../config/mod.ts";
import { connectDaemon, type DaemonClient } from "../../daemon/client.ts";
import { daemonCapsuleCommands, DaemonFrontend, DaemonSessionModel } from "../daemon_frontend.ts";
import { announceDeferrals } from "../_deferral_link.ts";
import type { AuditEntry } from "../../audit/mod.ts";

const KEY_ENV: Record<"anthropic" | "openai", string> = {
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

interface ChatOpts {
  session?: string;
  prompt?: string;
  approve?: ApprovalChoice;
  maxTurns?: string;
  /** False with `--no-daemon`. */
  daemon?: boolean;
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
    .option("--no-daemon", "run the session in this process even when a daemon runs")
    .action(jsonErrors(io, async (opts: ChatOpts, cmd: Command) => {
      let { config, paths } = await loadCliConfig(cmd, io);
      // A running daemon hosts the session; this process renders it (see daemonChat below).
      if (opts.daemon !== false) {
        const client = await connectDaemon(paths.home, `cli:${Deno.pid}`).catch(() => null);
        if (client) return await daemonChat(io, client, opts, wantsJson(cmd, io), paths, config);
      }
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
        await using wiring = await chatAgentOptions(rt, ws, {
          builtIn,
          makeProvider,
          resume,
          maxRounds,
          approve: opts.approve,
          human,
        });
        const { base, host, outputs } = wiring;
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
        await announceDeferrals(io, rt.paths.home, result.deferred); // links + QR when a daemon runs
        finish(io, result, json);
      });
    }));
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

/** The REPL on the process's terminal: raw mode for its lifetime, restored on every exit path. */
async function interactiveChat(
  rt: Runtime,
  base: ChatBaseOptions,
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

// --- `chat` attached to a running daemon ------------------------------------------------------

/**
 * `chat` when a daemon runs: the session is created (or resumed) in the daemon and this process
 * is one of its frontends (runtime/cli/daemon_frontend.ts). `-p` prints what it prints without
 * a daemon (and exits the same way); the REPL draws the daemon's events and asks its approvals.
 */
async function daemonChat(
  io: CliIo,
  client: DaemonClient,
  opts: ChatOpts,
  json: boolean,
  paths: AstridPaths,
  config: AstridConfig,
): Promise<void> {
  const interactive = opts.prompt === undefined;
  try {
    if (interactive && !io.isTty) {
      throw new CliError(
        "Cannot start the interactive chat: stdin is not a terminal; pass -p PROMPT",
        ExitCode.Usage,
      );
    }
    // --max-turns reaches the daemon session (sessions.create / sessions.resume `maxTurns`).
    const maxTurns = opts.maxTurns === undefined ? undefined : Number(opts.maxTurns);
    if (maxTurns !== undefined && (!Number.isSafeInteger(maxTurns) || maxTurns < 1)) {
      throw new CliError(
        `Cannot use --max-turns: current value is ${opts.maxTurns}`,
        ExitCode.Usage,
      );
    }
    const sessionId = await daemonSession(client, opts.session, paths, maxTurns);
    const asker = opts.approve ? new PresetFrontend({ choice: opts.approve }) : null;
    if (interactive) return await daemonRepl(io, client, sessionId, asker, paths, config);
    const frontend = new DaemonFrontend({
      client,
      sessionId,
      id: `cli:${Deno.pid}`,
      asker,
      say: (line) => io.stderr(`${line}\n`),
      render: (e) => json ? io.stdout(JSON.stringify(e) + "\n") : progress(io, e),
    });
    const stop = await frontend.attach();
    const controller = new AbortController();
    const onInt = () => controller.abort();
    try {
      Deno.addSignalListener("SIGINT", onInt);
    } catch { /* no signal support: Ctrl-C ends the process */ }
    let result: TurnResult;
    try {
      io.stderr(`session ${sessionId} (in the daemon at ${client.info.url})\n`);
      result = await frontend.run(opts.prompt!, { signal: controller.signal });
    } finally {
      try {
        Deno.removeSignalListener("SIGINT", onInt);
      } catch { /* see above */ }
      stop();
      // A one-shot leaves the session resumable (chat -s ID), not loaded in the daemon.
      await client.call("sessions.close", { sessionId }).catch(() => {});
    }
    if (json) io.stdout(JSON.stringify({ type: "turn_end", result }) + "\n");
    await announceDeferrals(io, paths.home, result.deferred); // one-time links + QR codes
    finish(io, result, json);
  } catch (err) {
    const rpc = err as { code?: unknown; message?: string };
    if (typeof rpc.code === "number") {
      throw new CliError(rpc.message ?? String(err), ExitCode.Error);
    }
    throw err;
  } finally {
    client.close();
  }
}

/** The daemon session of `-s ID` (resumed there), or a new one in this workspace. */
async function daemonSession(
  client: DaemonClient,
  given: string | undefined,
  paths: AstridPaths,
  maxTurns: number | undefined,
): Promise<string> {
  const limit = maxTurns === undefined ? {} : { maxTurns };
  if (given !== undefined) {
    const rows = await client.call<{ id: string }[]>("sessions.list", { all: true });
    const id = matchId(given, rows.map((r) => r.id), "session");
    if (id === null) throw new CliError(`${given}: ${NO_SUCH_SESSION}`, ExitCode.Error);
    return (await client.call<{ sessionId: string }>("sessions.resume", {
      sessionId: id,
      ...limit,
    })).sessionId;
  }
  const ws = await requireWorkspace(paths);
  return (await client.call<{ sessionId: string }>("sessions.create", {
    workspace: ws.root,
    ...limit,
  })).sessionId;
}

/** The REPL over a daemon session: the agent, session and budget it reads are remote views. */
async function daemonRepl(
  io: CliIo,
  client: DaemonClient,
  sessionId: string,
  preset: Frontend | null,
  paths: AstridPaths,
  config: AstridConfig,
): Promise<void> {
  const terminal: ReplTerminal = {
    input: Deno.stdin.readable,
    write: (s) => io.stdout(s),
    colour: io.env.NO_COLOR === undefined && Deno.stdout.isTerminal(),
    columns: columns(),
  };
  const repl = new Repl({ terminal, historyFile: join(paths.home, "history") });
  const frontend = new DaemonFrontend({
    client,
    sessionId,
    id: `cli:${Deno.pid}`,
    asker: preset ?? repl.frontend(io),
    say: (line) => terminal.write(`${line}\r\n`),
    render: (e) => repl.onEvent(e),
  });
  const stop = await frontend.attach();
  type Shown = { session: { title: string; workspace: string }; turns: { costUsd: number }[] };
  let shown = await client.call<Shown>("sessions.show", { sessionId });
  // /model and /allowances read the daemon session (sessions.model, allowances.list), /audit
  // the daemon's audit log (audit.list); refreshed after each turn.
  const model = await DaemonSessionModel.open(client, sessionId);
  type Allowance = { permission: string; pattern: string };
  const readAllowances = async () =>
    (await client.call<{ resource: string; permissions: string[] }[]>("allowances.list", {
      sessionId,
    }).catch(() => [])).flatMap((g) =>
      g.permissions.map((permission) => ({ permission, pattern: g.resource }))
    );
  let allowances: Allowance[] = await readAllowances();
  // Capsule slash commands run in the daemon through the session's interceptor (commands.*);
  // a prompt command comes back expanded and goes out as a turn through `opened.agent.run`.
  const capsuleCommands = await daemonCapsuleCommands(client, sessionId);
  const limitUsd = config.budget.session_usd;
  const session = {
    id: sessionId,
    get header() {
      return {
        title: shown.session.title,
        provider: config.model.provider,
        model: `${model.model} (in the daemon)`,
        workspaceRoot: shown.session.workspace,
      };
    },
    get turns() {
      return shown.turns;
    },
    messages: [],
  };
  const spent = () => shown.turns.reduce((sum, t) => sum + t.costUsd, 0);
  const opened = {
    session,
    agent: {
      run: async (prompt: string, o: { signal?: AbortSignal }) => {
        try {
          return await frontend.run(prompt, o);
        } finally {
          shown = await client.call<Shown>("sessions.show", { sessionId }).catch(() => shown);
          await model.refresh();
          allowances = await readAllowances();
        }
      },
    },
    gate: {
      budget: {
        state: () => ({
          spentUsd: spent(),
          limitUsd,
          remainingUsd: Math.max(0, limitUsd - spent()),
          reservedUsd: 0,
        }),
      },
      allowances: { list: () => allowances, rejected: [] },
    },
  };
  Deno.stdin.setRaw(true);
  const onResize = () => repl.resize(columns());
  try {
    Deno.addSignalListener("SIGWINCH", onResize);
  } catch { /* no SIGWINCH on this platform: the width stays */ }
  try {
    await repl.run({
      // The REPL reads only these parts of an opened agent; the session lives in the daemon.
      opened: opened as unknown as OpenedAgent,
      audit: {
        // The REPL asks newest first; audit.list answers oldest first.
        list: async (o: { limit?: number }) =>
          (await client.call<AuditEntry[]>("audit.list", {
            session: sessionId,
            limit: o.limit ?? 10,
          })).reverse(),
      },
      model: config.model,
      capsuleCommands,
      ...(model.switchable
        ? {
          models: {
            model: model as unknown as SessionModel,
            // Never called: the daemon audits the switch (sessions.model).
            audit: { append: () => Promise.reject(new Error("audited in the daemon")) },
          },
        }
        : {}),
    });
  } finally {
    try {
      Deno.removeSignalListener("SIGWINCH", onResize);
    } catch { /* see above */ }
    Deno.stdin.setRaw(false);
    stop();
  }
}
