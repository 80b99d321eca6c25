/**
 * The interactive `astrid chat` loop over a raw-mode terminal: a line editor with history,
 * streamed answers rendered as markdown, tool calls shown as they start and finish, the
 * approval prompt (through {@link TerminalFrontend}), slash commands, and Ctrl-C / Ctrl-D.
 *
 * Keys are read by one loop for the whole session. While a turn runs, Ctrl-C cancels the turn
 * (the agent refunds its reservations; the session stays) and other keys are dropped, so
 * nothing typed ahead can answer a later approval prompt. At an empty prompt, Ctrl-C asks for a
 * second press to exit; Ctrl-D exits.
 *
 * Installed capsules' `[[command]]`s are slash commands too (runtime/capsule/commands.ts): a
 * prompt command sends its expanded template as the user's turn, a wasm command prints the
 * `text` its `command:<name>` hook returns. Built-in names win; a clash is `/capsule:name`.
 *
 * @module
 */
import type { AgentEvent, OpenedAgent, TurnResult } from "../agent/mod.ts";
import type { AuditEntry, AuditListOptions } from "../audit/mod.ts";
import type { Frontend } from "../security/approval.ts";
import {
  type CapsuleHost,
  type CommandRun,
  findSlashCommand,
  runCapsuleCommand,
  type SlashCommand,
  slashCommands,
} from "../capsule/mod.ts";
import type { ApprovalAnswer } from "../security/approval.ts";
import type { SecurityInterceptor } from "../security/interceptor.ts";
import type { CliIo } from "./context.ts";
import { type Key, KeyParser, LineEditor } from "./_line_editor.ts";
import { MarkdownStream, paint, stripControls } from "./markdown.ts";
import { TerminalFrontend } from "./prompt.ts";

/** The terminal the REPL drives. The caller puts it in raw mode and restores it. */
export interface ReplTerminal {
  /** Raw bytes typed by the user. The REPL cancels it when it ends. */
  readonly input: ReadableStream<Uint8Array>;
  /** Writes to the screen. */
  write(text: string): void;
  /** Emit ANSI styles. */
  readonly colour: boolean;
  /** Columns, for rules and wrapping (default 80). */
  readonly columns?: number;
}

/** What the REPL shows and where it keeps history. */
export interface ReplOptions {
  readonly terminal: ReplTerminal;
  /** `$ASTRID_HOME/history`, or null to keep no history file. */
  readonly historyFile: string | null;
  /** How many history lines to load and keep (default 500). */
  readonly historySize?: number;
}

/** What {@link Repl.run} works on. */
export interface ReplSession {
  readonly opened: OpenedAgent;
  readonly audit: { list(opts: AuditListOptions): Promise<AuditEntry[]> };
  readonly model: {
    readonly provider: string;
    readonly model: string;
    readonly max_tokens: number;
    readonly temperature: number;
  };
  /** Installed capsules' commands (default none). */
  readonly capsuleCommands?: ReplCapsuleCommands | undefined;
}

/** Capsule commands as the REPL offers them (built by the caller over the session's gate). */
export interface ReplCapsuleCommands {
  /** Named collision-safe against {@link BUILTIN_SLASH_COMMANDS}. */
  readonly list: readonly SlashCommand[];
  /** Finds `/word` (its slash name or `capsule:name`). */
  find(word: string): SlashCommand | undefined;
  /** Expands a prompt command, or runs a wasm command through the interceptor. */
  run(command: SlashCommand, args: string, signal: AbortSignal): Promise<CommandRun>;
}

/**
 * The commands of the capsules in `host`, run through the session's `interceptor` (with the
 * `--approve` answer, if any). Capsules whose commands cannot be read are reported to `onWarning`.
 *
 * @example No capsules, no commands
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { capsuleReplCommands } from "./repl.ts";
 * const cmds = await capsuleReplCommands({} as never, { capsules: [] } as never);
 * equal(cmds.list.length, 0);
 * ```
 */
export async function capsuleReplCommands(
  interceptor: SecurityInterceptor,
  host: CapsuleHost,
  answer?: ApprovalAnswer,
  onWarning?: (message: string) => void,
): Promise<ReplCapsuleCommands> {
  const { commands, warnings } = await slashCommands(host.capsules, BUILTIN_SLASH_COMMANDS);
  for (const w of warnings) onWarning?.(w);
  return {
    list: commands,
    find: (word) => findSlashCommand(commands, word),
    run: (command, args, signal) =>
      runCapsuleCommand(interceptor, host, command, args, { answer, signal }),
  };
}

/**
 * The REPL's own slash commands (without `/`): capsule commands never shadow them.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { BUILTIN_SLASH_COMMANDS } from "./repl.ts";
 * ok(BUILTIN_SLASH_COMMANDS.includes("help"));
 * ```
 */
export const BUILTIN_SLASH_COMMANDS: readonly string[] = [
  "help",
  "session",
  "budget",
  "allowances",
  "audit",
  "model",
  "exit",
  "quit",
];

const HELP = [
  "/help          this list",
  "/session       the session id, model, workspace and turns",
  "/budget        spend and what is left of the session budget",
  "/allowances    what this session may do without asking",
  "/audit [N]     the last N audit entries of this session (default 10)",
  "/model         the provider and model in use",
  "/exit          leave (Ctrl-D too); resume later with astrid chat -s ID",
  "Ctrl-C cancels a running turn; at an empty prompt, press it twice to leave.",
].join("\n");

const usd = (n: number) => `$${n.toFixed(n !== 0 && n < 0.01 ? 4 : 2)}`;

function shortArgs(args: unknown, width: number): string {
  let text: string;
  if (args && typeof args === "object" && !Array.isArray(args)) {
    text = Object.entries(args as Record<string, unknown>)
      .map(([k, v]) => `${k}=${typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v)}`)
      .join(" ");
  } else text = JSON.stringify(args) ?? "";
  text = stripControls(text.replace(/\s+/g, " "));
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/**
 * The REPL. Build it first, hand {@link Repl.frontend} to `openAgent` (and {@link Repl.onEvent}
 * as its event hook), then call {@link Repl.run} with the opened agent.
 *
 * @example Drive it with scripted keys
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { Repl } from "./repl.ts";
 * const bytes = new TextEncoder().encode("/help\r\x04");
 * let screen = "";
 * const repl = new Repl({
 *   terminal: { input: ReadableStream.from([bytes]), write: (s) => { screen += s; }, colour: false },
 *   historyFile: null,
 * });
 * const session = { id: "s1", header: { title: "", workspaceRoot: "/ws", turnCount: 0 }, messages: [], turns: [] };
 * // A REPL only needs the parts of an opened agent its commands read.
 * await repl.run({
 *   opened: { session, agent: {}, gate: {} } as never,
 *   audit: { list: () => Promise.resolve([]) },
 *   model: { provider: "anthropic", model: "m", max_tokens: 1, temperature: 1 },
 * });
 * ok(screen.includes("/budget"));
 * ```
 */
export class Repl {
  #t: ReplTerminal;
  #historyFile: string | null;
  #historySize: number;
  #history: string[] = [];
  #parser = new KeyParser();
  #typeahead: Key[] = [];
  #waiter: ((key: Key | null) => void) | null = null;
  #ended = false;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #turn: AbortController | null = null;
  #prompting = false;
  #md: MarkdownStream;

  /** Creates the REPL (nothing is read until {@link Repl.run}). */
  constructor(options: ReplOptions) {
    this.#t = options.terminal;
    this.#historyFile = options.historyFile;
    this.#historySize = options.historySize ?? 500;
    this.#md = new MarkdownStream({
      colour: options.terminal.colour,
      width: Math.min(options.terminal.columns ?? 80, 100) - 4,
    });
  }

  /** The approval prompt, asking through this REPL's line editor. */
  frontend(base: CliIo): Frontend {
    const prompt = new TerminalFrontend({
      ...base,
      isTty: true,
      // The request quotes model-chosen arguments: no escape sequence reaches the terminal.
      stdout: (s) => this.#write(stripControls(s)),
      stderr: (s) => this.#write(stripControls(s)),
      readLine: (text) => this.#promptLine(text),
    });
    return {
      canAsk: () => prompt.canAsk(),
      ask: (request, signal) => {
        // When the broker stops waiting (timeout, cancelled turn), close the open prompt so
        // later keys go back to the REPL instead of to a question nobody awaits.
        const close = () => {
          if (!this.#prompting) return;
          this.#write(
            paint("\n(no answer in time: the action is not run)\n", "dim", this.#t.colour),
          );
          this.#release(null);
        };
        signal.addEventListener("abort", close, { once: true });
        return prompt.ask(request, signal).finally(() =>
          signal.removeEventListener("abort", close)
        );
      },
      elicit: (request, signal) => prompt.elicit(request, signal),
    };
  }

  /** The agent event hook: streamed text and tool calls. */
  onEvent(event: AgentEvent): void {
    const c = this.#t.colour;
    switch (event.type) {
      case "text":
        this.#write(this.#md.push(event.text));
        break;
      case "tool_start": {
        this.#write(this.#md.flush());
        const from = event.provenance.trust === "untrusted"
          ? paint(` (after untrusted data from ${event.provenance.source ?? "?"})`, "yellow", c)
          : "";
        const args = shortArgs(event.args, Math.max(20, (this.#t.columns ?? 80) - 30));
        this.#write(`${paint(`  ⚙ ${event.name}`, "cyan", c)} ${paint(args, "dim", c)}${from}\n`);
        break;
      }
      case "tool_end": {
        const ok = event.status === "ok" && event.detail === "ok";
        const mark = ok ? paint("✓", "cyan", c) : paint("✗", "yellow", c);
        this.#write(`  ${mark} ${event.name}: ${stripControls(event.detail)}\n`);
        break;
      }
      case "turn_start":
      case "turn_end":
        break;
    }
  }

  /** A sub-agent's event, shown indented under the `task` call. */
  onSubAgentEvent(childId: string, event: AgentEvent): void {
    if (event.type === "tool_start") {
      const args = shortArgs(event.args, 60);
      this.#write(
        paint(`    ↳ [${childId.slice(0, 8)}] ${event.name} ${args}\n`, "dim", this.#t.colour),
      );
    }
  }

  /** Runs until /exit, Ctrl-D, a double Ctrl-C or the end of input. */
  async run(session: ReplSession): Promise<void> {
    await this.#loadHistory();
    const pump = this.#pump();
    const c = this.#t.colour;
    const { opened } = session;
    this.#write(
      `${paint("astrid chat", "bold", c)} · session ${opened.session.id} · ` +
        `${session.model.provider}/${session.model.model} · /help for commands\n`,
    );
    try {
      let armed = false;
      for (;;) {
        const got = await this.#readLine(paint("› ", "bold", c), true);
        if (got === null) break;
        if (got === "interrupt") {
          if (armed) break;
          armed = true;
          this.#write(paint("(press Ctrl-C again to leave, or Ctrl-D)\n", "dim", c));
          continue;
        }
        armed = false;
        const line = got.trim();
        if (line === "") continue;
        await this.#remember(line);
        if (line.startsWith("/")) {
          if (await this.#command(line, session) === "exit") break;
          continue;
        }
        await this.#runTurn(line, session);
      }
    } finally {
      this.#ended = true;
      await this.#reader?.cancel().catch(() => {});
      await pump;
      this.#write(
        `\nsession ${opened.session.id} saved; resume with: astrid chat -s ${opened.session.id}\n`,
      );
    }
  }

  async #runTurn(prompt: string, session: ReplSession): Promise<void> {
    const c = this.#t.colour;
    const controller = new AbortController();
    this.#turn = controller;
    this.#typeahead = [];
    let result: TurnResult | null = null;
    try {
      result = await session.opened.agent.run(prompt, { signal: controller.signal });
    } catch (err) {
      this.#write(`${paint("error:", "yellow", c)} ${(err as Error).message}\n`);
    } finally {
      this.#turn = null;
      this.#write(this.#md.flush());
    }
    if (!result) return;
    const facts = [
      `${usd(result.costUsd)}`,
      `${result.rounds} model call${result.rounds === 1 ? "" : "s"}`,
    ];
    if (result.status !== "completed") {
      const why = result.status === "cancelled" ? "turn cancelled" : `turn ${result.status}`;
      this.#write(
        `${paint(why, "yellow", c)}${
          result.error && result.status !== "cancelled" ? `: ${result.error}` : ""
        }\n`,
      );
    }
    for (const id of result.deferred) {
      this.#write(`  queued for approval: ${id} (astrid approvals approve ${id})\n`);
    }
    this.#write(paint(`· ${facts.join(" · ")}\n`, "dim", c));
  }

  async #command(line: string, s: ReplSession): Promise<"exit" | void> {
    const [name, arg] = line.split(/\s+/, 2);
    const { opened } = s;
    const out = (text: string) => this.#write(`${text}\n`);
    const word = (name ?? "").slice(1);
    const capsuleCommand = BUILTIN_SLASH_COMMANDS.includes(word)
      ? undefined
      : s.capsuleCommands?.find(word);
    if (capsuleCommand) {
      const args = line.slice(line.indexOf(name!) + name!.length).trim();
      return await this.#capsuleCommand(capsuleCommand, args, s);
    }
    switch (name) {
      case "/help": {
        out(HELP);
        const list = s.capsuleCommands?.list ?? [];
        if (list.length > 0) out("Capsule commands:");
        for (const c of list) {
          const what = stripControls(c.description || `(${c.kind} command)`);
          out(`/${stripControls(c.slash).padEnd(13)} ${what}  [${stripControls(c.capsule)}]`);
        }
        return;
      }
      case "/exit":
      case "/quit":
        return "exit";
      case "/session": {
        const h = opened.session.header;
        out(`session    ${opened.session.id}`);
        if (h.title) out(`title      ${stripControls(h.title)}`);
        out(`model      ${h.provider}/${h.model}`);
        out(`workspace  ${h.workspaceRoot}`);
        out(
          `turns      ${opened.session.turns.length}, messages ${opened.session.messages.length}`,
        );
        return;
      }
      case "/budget": {
        const b = opened.gate.budget.state();
        const spentHere = opened.session.turns.reduce((sum, t) => sum + t.costUsd, 0);
        out(`spent      ${usd(b.spentUsd)} of ${usd(b.limitUsd)} (${usd(b.remainingUsd)} left)`);
        if (b.reservedUsd > 0) out(`reserved   ${usd(b.reservedUsd)}`);
        out(`turns      ${usd(spentHere)} on model calls in this session's turns`);
        return;
      }
      case "/allowances": {
        const list = opened.gate.allowances.list();
        if (list.length === 0) return out("no session allowances yet (answer [s] at a prompt)");
        for (const a of list) out(`${a.permission.padEnd(8)} ${stripControls(a.pattern)}`);
        return;
      }
      case "/audit": {
        const n = Number.parseInt(arg ?? "10", 10);
        const limit = Number.isSafeInteger(n) && n > 0 ? Math.min(n, 200) : 10;
        const entries = await s.audit.list({ sessionId: opened.session.id, reverse: true, limit });
        if (entries.length === 0) return out("no audit entries for this session yet");
        for (const e of entries.reverse()) {
          const summary = stripControls(e.action.summary).slice(0, 70);
          out(
            `#${e.seq} ${e.decision.padEnd(8)} ${summary}  ${
              paint(e.proof, "dim", this.#t.colour)
            }`,
          );
        }
        return;
      }
      case "/model":
        out(`provider   ${s.model.provider}`);
        out(`model      ${s.model.model}`);
        out(`max tokens ${s.model.max_tokens}, temperature ${s.model.temperature}`);
        return out("(change it with [model] in config or ASTRID_MODEL_MODEL, then resume with -s)");
      default:
        return out(`unknown command ${stripControls(name ?? "")}; /help lists them`);
    }
  }

  /** A capsule command: a prompt command becomes the turn; a wasm command prints its text. */
  async #capsuleCommand(command: SlashCommand, args: string, s: ReplSession): Promise<void> {
    const c = this.#t.colour;
    const controller = new AbortController();
    this.#turn = controller;
    let run: CommandRun;
    try {
      run = await s.capsuleCommands!.run(command, args, controller.signal);
    } catch (err) {
      this.#write(`${paint("error:", "yellow", c)} ${stripControls((err as Error).message)}\n`);
      return;
    } finally {
      this.#turn = null;
    }
    if (run.kind === "prompt") return await this.#runTurn(run.prompt, s);
    const o = run.outcome;
    if (o.status === "ok") {
      const text = stripControls(o.result.output);
      this.#write(text.endsWith("\n") || text === "" ? text : `${text}\n`);
    } else if (o.status === "deferred") {
      this.#write(`  queued for approval: ${o.id} (run /${command.slash} again once approved)\n`);
    } else if (o.status === "denied") {
      this.#write(`${paint("denied:", "yellow", c)} ${stripControls(o.reason)}\n`);
    } else {
      this.#write(`${paint("error:", "yellow", c)} ${o.code}: ${stripControls(o.message)}\n`);
    }
  }

  /** Reads one line; null at end of input or Ctrl-D, "interrupt" on Ctrl-C. */
  async #readLine(prompt: string, history: boolean): Promise<string | null | "interrupt"> {
    const editor = new LineEditor(history ? this.#history : []);
    this.#write(editor.render(prompt));
    for (;;) {
      const key = await this.#nextKey();
      if (key === null) {
        this.#write("\n");
        return null;
      }
      const r = editor.feed(key);
      if (r.kind === "edit") {
        this.#write(editor.render(prompt));
        continue;
      }
      this.#write(r.kind === "interrupt" ? "^C\n" : "\n");
      if (r.kind === "submit") return r.line;
      if (r.kind === "eof") return null;
      if (editor.line !== "" && history) return ""; // Ctrl-C on a typed line just clears it
      return "interrupt";
    }
  }

  /** The approval prompt's line: typeahead is discarded; Ctrl-C denies and cancels the turn. */
  async #promptLine(prompt: string): Promise<string | null> {
    this.#write(this.#md.flush());
    this.#typeahead = [];
    this.#prompting = true;
    let got: string | null | "interrupt";
    try {
      got = await this.#readLine(prompt, false);
    } finally {
      this.#prompting = false;
    }
    if (got === "interrupt") {
      // Deny first (null is "end of input": the prompt denies), then cancel the turn.
      const turn = this.#turn;
      setTimeout(() => turn?.abort(), 0);
      return null;
    }
    return got;
  }

  #nextKey(): Promise<Key | null> {
    const key = this.#typeahead.shift();
    if (key) return Promise.resolve(key);
    if (this.#ended) return Promise.resolve(null);
    this.#release(null); // at most one reader: an abandoned one sees the end of input
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  /** Hands `key` to the waiting reader, if any; true when there was one. */
  #release(key: Key | null): boolean {
    const waiter = this.#waiter;
    if (!waiter) return false;
    this.#waiter = null;
    waiter(key);
    return true;
  }

  #deliver(key: Key | null): void {
    if (this.#release(key) || key === null) return;
    if (this.#turn && !this.#prompting) {
      if (key.kind === "interrupt") {
        this.#write(paint("^C cancelling the turn…\n", "dim", this.#t.colour));
        this.#turn.abort();
      }
      return; // dropped: nothing typed during a turn may answer a later prompt
    }
    this.#typeahead.push(key);
  }

  async #pump(): Promise<void> {
    this.#reader = this.#t.input.getReader();
    try {
      for (;;) {
        const { done, value } = await this.#reader.read();
        if (done) break;
        for (const key of this.#parser.feed(value)) this.#deliver(key);
      }
    } catch {
      /* cancelled or the terminal went away: treated as end of input */
    } finally {
      this.#ended = true;
      this.#deliver(null);
      this.#reader.releaseLock();
    }
  }

  #write(text: string): void {
    if (text === "") return;
    // Raw mode may turn off output post-processing: always send CR LF.
    this.#t.write(text.replace(/\r?\n/g, "\r\n"));
  }

  async #loadHistory(): Promise<void> {
    if (!this.#historyFile) return;
    try {
      const lines = (await Deno.readTextFile(this.#historyFile)).split("\n").filter((l) => l);
      this.#history = lines.slice(-this.#historySize);
      if (lines.length > 2 * this.#historySize) {
        await Deno.writeTextFile(this.#historyFile, this.#history.join("\n") + "\n", {
          mode: 0o600,
        });
      }
    } catch { /* no history yet, or unreadable: start empty */ }
  }

  async #remember(line: string): Promise<void> {
    if (this.#history.at(-1) !== line) this.#history.push(line);
    if (this.#history.length > this.#historySize) this.#history.shift();
    if (!this.#historyFile) return;
    try {
      await Deno.writeTextFile(this.#historyFile, `${line}\n`, { append: true, mode: 0o600 });
    } catch { /* history is a convenience; a read-only home must not end the chat */ }
  }
}
