/**
 * The interactive `astrid chat` loop over a raw-mode terminal: a line editor with history,
 * streamed answers rendered as markdown, tool calls shown as they start and finish, the
 * approval prompt (through {@link TerminalFrontend}), slash commands, and Ctrl-C / Ctrl-D.
 *
 * Keys are read by one loop for the whole session and go to one of two queues. Keys typed while
 * a turn runs wait for the chat's next prompt (type-ahead is kept, never dropped); an approval
 * prompt reads only the keys pressed after it was shown, and what is left after its answer goes
 * back to the chat. Ctrl-C during a turn cancels it (the agent refunds its reservations; the
 * session stays). At an empty prompt, Ctrl-C asks for a second press to exit; Ctrl-D exits.
 *
 * Input: bracketed paste is turned on for the session, so a multi-line paste is one block
 * (`[pasted N lines]`, sent in full) and never submits mid-way; Alt-Enter or a trailing `\`
 * starts another line; Tab completes slash commands (built-in and capsule) and workspace file
 * paths; Ctrl-R searches history.
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
import { join, resolve, sep } from "node:path";
import type { CliIo } from "./context.ts";
import { completeFrom, type Key, KeyParser, LineEditor } from "./_line_editor.ts";
import { paint, stripControls } from "./markdown.ts";
import type { StreamRenderer } from "./render/stream.ts";
import type { SessionModel } from "./_session_model.ts";
import type { AuditSink } from "../security/interceptor.ts";
import { type PromptKeys, provenanceSummary, TerminalFrontend } from "./prompt.ts";
import { type GrantSources, permissionsCommand } from "./commands/grants.ts";

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
  /** What `/permissions` lists and revokes (runtime/cli/commands/grants.ts); absent: none. */
  readonly grants?: GrantSources | undefined;
  /** The switchable session model and where `/model NAME` is audited (default: no switching). */
  readonly models?: { readonly model: SessionModel; readonly audit: AuditSink } | undefined;
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
  "permissions",
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
  "/permissions [revoke ID]  grants (tokens, allowances, rules); revoke one",
  "/model [NAME]  the model in use and the priced ones; NAME switches this session to it",
  "/exit          leave (Ctrl-D too); resume later with astrid chat -s ID",
  "Ctrl-C cancels a running turn; at an empty prompt, press it twice to leave.",
  "Tab completes commands and file paths; Ctrl-R searches history; Alt-Enter or a trailing \\",
  "adds a line; a multi-line paste stays one message ([pasted N lines]).",
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
  /** Keys for the chat's own prompt, typed-ahead ones included. */
  #chat = new KeyQueue();
  /** Keys for the approval (or elicitation) prompt on screen, if any. */
  #prompt: KeyQueue | null = null;
  /** Prompts are shown one at a time. */
  #promptLock: Promise<unknown> = Promise.resolve();
  /** Ctrl-C was pressed at a prompt: the turn is cancelled once the prompt has denied. */
  #cancelAfterPrompt = false;
  #ended = false;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #turn: AbortController | null = null;
  #session: ReplSession | null = null;
  /** Streamed markdown (runtime/cli/render/, loaded when {@link Repl.run} starts). */
  #md: StreamRenderer | null = null;

  /** Creates the REPL (nothing is read until {@link Repl.run}). */
  constructor(options: ReplOptions) {
    this.#t = options.terminal;
    this.#historyFile = options.historyFile;
    this.#historySize = options.historySize ?? 500;
  }

  /** The terminal is now `columns` wide (SIGWINCH): the answer being streamed re-flows. */
  resize(columns: number): void {
    if (this.#md) this.#write(this.#md.resize(columns));
  }

  /** Ends the streamed block on screen; the cursor goes to the start of a line. */
  #flushText(): void {
    if (this.#md) this.#write(this.#md.flush());
  }

  /** The approval prompt: single keypresses, read only after the question is shown. */
  frontend(base: CliIo): Frontend {
    const keys: PromptKeys = {
      readKey: async () => {
        const key = await (this.#prompt?.next() ?? Promise.resolve(null));
        if (key?.kind === "interrupt") this.#cancelAfterPrompt = true;
        return key;
      },
      writeRaw: (s) => this.#write(s),
      colour: this.#t.colour,
    };
    const prompt = new TerminalFrontend({
      ...base,
      isTty: true,
      // The request quotes model-chosen arguments: no escape sequence reaches the terminal.
      stdout: (s) => this.#write(stripControls(s)),
      stderr: (s) => this.#write(stripControls(s)),
      readLine: (text) => this.#promptLine(text),
    }, keys);
    return {
      canAsk: () => prompt.canAsk(),
      ask: (request, signal) => this.#withPrompt(signal, () => prompt.ask(request, signal)),
      elicit: (request, signal) => this.#withPrompt(signal, () => prompt.elicit(request, signal)),
    };
  }

  /**
   * Runs one prompt at a time. Keys pressed from now until it ends are its own; keys typed
   * before stay in the chat's queue, and keys left after its answer go back there.
   */
  #withPrompt<T>(signal: AbortSignal, ask: () => Promise<T>): Promise<T> {
    const c = this.#t.colour;
    const run = async () => {
      this.#flushText();
      const queue = new KeyQueue();
      this.#prompt = queue;
      this.#cancelAfterPrompt = false;
      if (this.#chat.size > 0) {
        this.#write(paint("(what you typed for the chat is kept for after this turn)\n", "dim", c));
      }
      // When the broker stops waiting (timeout, cancelled turn), close the open prompt so
      // later keys go back to the REPL instead of to a question nobody awaits.
      const close = () => {
        if (this.#prompt !== queue) return;
        this.#write(paint("\n(no answer in time: the action is not run)\n", "dim", c));
        queue.end();
      };
      signal.addEventListener("abort", close, { once: true });
      if (signal.aborted || this.#ended) queue.end();
      try {
        return await ask();
      } finally {
        signal.removeEventListener("abort", close);
        this.#prompt = null;
        for (const key of queue.take()) this.#deliver(key);
        if (this.#cancelAfterPrompt) {
          const turn = this.#turn;
          setTimeout(() => turn?.abort(), 0); // after the prompt's deny is recorded
        }
      }
    };
    const result = this.#promptLock.then(run, run);
    this.#promptLock = result.catch(() => {});
    return result;
  }

  /** The agent event hook: streamed text and tool calls. */
  onEvent(event: AgentEvent): void {
    const c = this.#t.colour;
    switch (event.type) {
      case "text":
        this.#write(this.#md ? this.#md.push(event.text) : stripControls(event.text));
        break;
      case "tool_start": {
        this.#flushText();
        const from = event.provenance.trust === "untrusted"
          ? paint(
            ` (after untrusted data from ${provenanceSummary(event.provenance)})`,
            "yellow",
            c,
          )
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
    // The markdown libraries load only for the interactive chat (CLI start-up stays fast).
    const [render] = await Promise.all([import("./render/mod.ts"), this.#loadHistory()]);
    this.#md = render.terminalRenderer({
      colour: this.#t.colour,
      columns: this.#t.columns ?? 80,
    });
    this.#session = session;
    const pump = this.#pump();
    const c = this.#t.colour;
    const { opened } = session;
    this.#write(
      `${paint("astrid chat", "bold", c)} · session ${opened.session.id} · ` +
        `${session.model.provider}/${session.model.model} · /help for commands\n`,
    );
    this.#write(BRACKETED_PASTE_ON);
    try {
      let armed = false;
      for (;;) {
        const got = await this.#readLine(paint("› ", "bold", c), this.#chat, true);
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
      this.#write(BRACKETED_PASTE_OFF);
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
    let result: TurnResult | null = null;
    try {
      result = await session.opened.agent.run(prompt, { signal: controller.signal });
    } catch (err) {
      this.#write(`${paint("error:", "yellow", c)} ${(err as Error).message}\n`);
    } finally {
      this.#turn = null;
      this.#flushText();
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
      case "/permissions": {
        const rest = line.trim().slice("/permissions".length);
        for (const text of await permissionsCommand(rest, s.grants)) out(text);
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
        return await this.#model(arg, s, out);
      default:
        return out(`unknown command ${stripControls(name ?? "")}; /help lists them`);
    }
  }

  /** `/model`: what is in use and what is priced; `/model NAME` switches (priced, audited). */
  async #model(arg: string | undefined, s: ReplSession, out: (text: string) => void) {
    const c = this.#t.colour;
    const m = s.models?.model;
    if (arg) {
      if (!m) return out("this session's model cannot be switched here; set [model] in config");
      try {
        const price = await m.switchTo(arg, {
          audit: s.models!.audit,
          sessionId: s.opened.session.id,
        });
        return out(
          `model      now ${m.model} (${usd(price.input_per_mtok)} in, ` +
            `${usd(price.output_per_mtok)} out per Mtok) for this session; audited`,
        );
      } catch (err) {
        return out(`${paint("error:", "yellow", c)} ${stripControls((err as Error).message)}`);
      }
    }
    out(`provider   ${m?.name ?? s.model.provider}`);
    const now = m?.model ?? s.model.model;
    out(
      `model      ${now}${
        now === s.model.model ? " (from config)" : ` (config: ${s.model.model})`
      }`,
    );
    out(`max tokens ${s.model.max_tokens}, temperature ${s.model.temperature}`);
    if (!m) return;
    out("priced     (USD per million tokens, in / out; [pricing] in config adds more)");
    for (const p of m.priced()) {
      const mark = p.current ? paint("●", "cyan", c) : " ";
      out(
        `  ${mark} ${p.model.padEnd(24)} ${usd(p.price.input_per_mtok).padStart(7)} / ${
          usd(p.price.output_per_mtok)
        }`,
      );
    }
    out("/model NAME switches this session (same provider and key)");
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

  /**
   * Reads one input from `queue`; null at end of input or Ctrl-D, "interrupt" on Ctrl-C. The
   * chat's own input (`main`) has history, search, completion and more lines.
   */
  async #readLine(
    prompt: string,
    queue: KeyQueue,
    main: boolean,
  ): Promise<string | null | "interrupt"> {
    const editor = new LineEditor(main ? this.#history : [], { multiline: main });
    const draw = () => this.#write(editor.render(prompt, this.#t.columns ?? 80));
    draw();
    for (;;) {
      const key = await queue.next();
      if (key === null) {
        this.#write(editor.finish());
        return null;
      }
      const r = editor.feed(key);
      if (r.kind === "edit" || r.kind === "complete") {
        if (r.kind === "complete" && main) await this.#complete(editor);
        draw();
        continue;
      }
      if (r.kind === "submit") draw(); // the cursor at the end, then below
      this.#write(`${r.kind === "interrupt" ? "^C" : ""}${editor.finish()}`);
      if (r.kind === "submit") return r.line;
      if (r.kind === "eof") return null;
      if (editor.line !== "" && main) return ""; // Ctrl-C on a typed line just clears it
      return "interrupt";
    }
  }

  /** Tab: completes the word before the cursor, or lists the choices when it cannot. */
  async #complete(editor: LineEditor): Promise<void> {
    const at = editor.wordBeforeCursor();
    if (!at) return;
    const commands = at.first && at.word.startsWith("/");
    const candidates = commands ? this.#commandNames() : await this.#paths(at.word);
    const { text, matches } = completeFrom(at.word, candidates);
    if (matches.length === 1) {
      const done = matches[0]!;
      return editor.replaceBeforeCursor(at.start, done.endsWith("/") ? done : `${done} `);
    }
    if (text.length > at.word.length) return editor.replaceBeforeCursor(at.start, text);
    if (matches.length < 2) return;
    const shown = matches.slice(0, 60);
    const width = Math.max(...shown.map((m) => m.length)) + 2;
    const perRow = Math.max(1, Math.floor((this.#t.columns ?? 80) / width));
    const rows: string[] = [];
    for (let i = 0; i < shown.length; i += perRow) {
      rows.push(shown.slice(i, i + perRow).map((m) => m.padEnd(width)).join("").trimEnd());
    }
    if (matches.length > shown.length) rows.push(`… and ${matches.length - shown.length} more`);
    this.#write(`${editor.finish()}${rows.join("\n")}\n`);
  }

  #commandNames(): string[] {
    const capsules = this.#session?.capsuleCommands?.list ?? [];
    return [...BUILTIN_SLASH_COMMANDS, ...capsules.map((c) => c.slash)].map((n) => `/${n}`);
  }

  /**
   * Workspace paths that start with `word` (relative to the workspace root; folders end in
   * `/`). Nothing outside the workspace is listed, and names with control characters are
   * skipped (they would reach the terminal).
   */
  async #paths(word: string): Promise<string[]> {
    const root = this.#session?.opened.session.header.workspaceRoot;
    if (!root) return [];
    const dirPart = word.slice(0, word.lastIndexOf("/") + 1);
    const base = word.slice(dirPart.length);
    const dir = resolve(root, dirPart || ".");
    const inside = (p: string, r: string) => p === r || p.startsWith(r.endsWith(sep) ? r : r + sep);
    if (!inside(dir, root)) return [];
    const [realDir, realRoot] = await Promise.all([
      Deno.realPath(dir).catch(() => null),
      Deno.realPath(root).catch(() => root),
    ]);
    if (realDir === null || !inside(realDir, realRoot)) return [];
    const out: string[] = [];
    try {
      for await (const e of Deno.readDir(dir)) {
        if (!e.name.startsWith(base) || (e.name.startsWith(".") && !base.startsWith("."))) continue;
        // deno-lint-ignore no-control-regex
        if (/[\x00-\x1f\x7f-\x9f]/.test(e.name)) continue;
        const isDir = e.isDirectory ||
          (e.isSymlink &&
            await Deno.stat(join(dir, e.name)).then((s) => s.isDirectory, () => false));
        out.push(`${dirPart}${e.name}${isDir ? "/" : ""}`);
        if (out.length >= 1000) break;
      }
    } catch { /* unreadable folder: nothing to offer */ }
    return out;
  }

  /** An elicitation prompt's line, read from the open prompt's keys; Ctrl-C cancels the turn. */
  async #promptLine(prompt: string): Promise<string | null> {
    const queue = this.#prompt;
    if (!queue) return null;
    const got = await this.#readLine(prompt, queue, false);
    if (got === "interrupt") {
      this.#cancelAfterPrompt = true;
      return null;
    }
    return got;
  }

  /** Routes a key: to the open prompt, else Ctrl-C to a running turn, else to the chat. */
  #deliver(key: Key | null): void {
    if (key === null) {
      this.#prompt?.end();
      this.#chat.end();
      return;
    }
    if (this.#prompt) return this.#prompt.push(key);
    if (this.#turn && key.kind === "interrupt") {
      this.#flushText();
      this.#write(paint("^C cancelling the turn…\n", "dim", this.#t.colour));
      this.#turn.abort();
      return;
    }
    this.#chat.push(key); // during a turn: type-ahead, shown at the chat's next prompt
  }

  async #pump(): Promise<void> {
    this.#reader = this.#t.input.getReader();
    let escape: ReturnType<typeof setTimeout> | undefined;
    try {
      for (;;) {
        const { done, value } = await this.#reader.read();
        if (done) break;
        clearTimeout(escape);
        for (const key of this.#parser.feed(value)) this.#deliver(key);
        if (this.#parser.pending) {
          // A lone ESC is the Escape key only if nothing follows it soon.
          escape = setTimeout(() => this.#parser.flush().forEach((k) => this.#deliver(k)), 50);
        }
      }
    } catch {
      /* cancelled or the terminal went away: treated as end of input */
    } finally {
      clearTimeout(escape);
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
      this.#history = lines.slice(-this.#historySize).map(decodeHistory);
      if (lines.length > 2 * this.#historySize) {
        const kept = this.#history.map(encodeHistory).join("\n");
        await Deno.writeTextFile(this.#historyFile, kept + "\n", { mode: 0o600 });
      }
    } catch { /* no history yet, or unreadable: start empty */ }
  }

  async #remember(line: string): Promise<void> {
    if (line.length > MAX_HISTORY_CHARS) return; // a giant paste is not worth recalling
    if (this.#history.at(-1) !== line) this.#history.push(line);
    if (this.#history.length > this.#historySize) this.#history.shift();
    if (!this.#historyFile) return;
    try {
      const entry = `${encodeHistory(line)}\n`;
      await Deno.writeTextFile(this.#historyFile, entry, { append: true, mode: 0o600 });
    } catch { /* history is a convenience; a read-only home must not end the chat */ }
  }
}

const BRACKETED_PASTE_ON = "\x1b[?2004h";
const BRACKETED_PASTE_OFF = "\x1b[?2004l";
/** Keys held for the chat while a turn runs (a paste is one key). */
const MAX_QUEUED_KEYS = 4096;
/** Longer inputs are sent but not kept in history. */
const MAX_HISTORY_CHARS = 20_000;

/**
 * One history entry per file line: an entry with a newline (or one that starts with `"`) is
 * stored as a JSON string, so multi-line inputs come back whole and plain lines stay readable.
 */
function encodeHistory(line: string): string {
  return line.includes("\n") || line.startsWith('"') ? JSON.stringify(line) : line;
}

function decodeHistory(stored: string): string {
  if (!stored.startsWith('"')) return stored;
  try {
    const value: unknown = JSON.parse(stored);
    return typeof value === "string" ? value : stored;
  } catch {
    return stored;
  }
}

/** Keys waiting for one reader. */
class KeyQueue {
  #keys: Key[] = [];
  #waiter: ((key: Key | null) => void) | null = null;
  #ended = false;

  get size(): number {
    return this.#keys.length;
  }

  push(key: Key): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    if (waiter) waiter(key);
    else if (this.#keys.length < MAX_QUEUED_KEYS) this.#keys.push(key);
  }

  next(): Promise<Key | null> {
    const key = this.#keys.shift();
    if (key) return Promise.resolve(key);
    if (this.#ended) return Promise.resolve(null);
    this.#waiter?.(null); // at most one reader: an abandoned one sees the end of input
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  end(): void {
    this.#ended = true;
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.(null);
  }

  take(): Key[] {
    return this.#keys.splice(0);
  }
}
