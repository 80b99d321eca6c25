/**
 * The terminal approval prompt: the four options, a clear description of the action, its risk
 * and, for untrusted provenance, where its arguments came from (the most relevant source once;
 * `?` shows them all).
 *
 * With a {@link PromptKeys} source (the REPL's raw terminal) every answer is one keypress:
 * `o`/`s`/`a`/`d`, or ←/→ then Enter; Esc and Ctrl-C deny. The scope question after Allow
 * Session/Always takes only a listed number (or ↑/↓ then Enter) and asks again otherwise.
 * Enter alone never decides: an answer is a key pressed after the question was shown. Without
 * one (a line-buffered terminal) the same answers are read a line at a time, just as strictly.
 *
 * @module
 */
import type {
  ApprovalAnswer,
  ApprovalChoice,
  ApprovalRequest,
  ElicitationAnswer,
  ElicitationField,
  ElicitationRequest,
  Frontend,
  Provenance,
} from "../security/approval.ts";
import type { CliIo } from "./context.ts";
import type { Key } from "./_line_editor.ts";

const KEYS: Record<string, ApprovalChoice> = {
  o: "once",
  once: "once",
  s: "session",
  session: "session",
  a: "always",
  always: "always",
  d: "deny",
  deny: "deny",
  n: "deny",
};

const CHOICES: readonly { key: string; label: string; choice: ApprovalChoice }[] = [
  { key: "o", label: "allow once", choice: "once" },
  { key: "s", label: "allow session", choice: "session" },
  { key: "a", label: "allow always", choice: "always" },
  { key: "d", label: "deny", choice: "deny" },
];

/** Tools whose output is a status line rather than outside content: the least likely origin. */
const STATUS_TOOLS = /^(?:write_file|edit_file|delete_file|file_delete)\b/;

/**
 * The untrusted sources of a provenance, deduplicated, most relevant first: the newest source
 * that brought outside content in (a read, a fetch, a command's output) before the rest, in
 * their order. `hidden` counts sources the agent had already summarised as "(+N more)".
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { provenanceSources } from "./prompt.ts";
 * deepEqual(
 *   provenanceSources({
 *     trust: "untrusted",
 *     source: "write_file b.txt; read_file a.txt; write_file b.txt (+2 more)",
 *   }),
 *   { sources: ["read_file a.txt", "write_file b.txt"], hidden: 2 },
 * );
 * ```
 */
export function provenanceSources(
  provenance: Provenance | undefined,
): { sources: string[]; hidden: number } {
  if (provenance?.trust !== "untrusted") return { sources: [], hidden: 0 };
  let text = provenance.source ?? "";
  let hidden = 0;
  const more = / \(\+(\d+) more\)$/.exec(text);
  if (more) {
    hidden = Number(more[1]);
    text = text.slice(0, more.index);
  }
  const unique = [...new Set(text.split("; ").map((s) => s.trim()).filter((s) => s !== ""))];
  const best = unique.findIndex((s) => !STATUS_TOOLS.test(s));
  if (best > 0) unique.unshift(...unique.splice(best, 1));
  return { sources: unique.length ? unique : ["an unknown source"], hidden };
}

/**
 * One short phrase for where untrusted data came from: the most relevant source and how many
 * others there are.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { provenanceSummary } from "./prompt.ts";
 * const p = { trust: "untrusted" as const, source: "read_file a.txt; bash: ls; read_file a.txt" };
 * equal(provenanceSummary(p), "read_file a.txt (+1 more)");
 * ```
 */
export function provenanceSummary(provenance: Provenance | undefined): string {
  const { sources, hidden } = provenanceSources(provenance);
  const others = sources.length - 1 + hidden;
  return `${sources[0] ?? "an unknown source"}${others > 0 ? ` (+${others} more)` : ""}`;
}

/**
 * Renders the approval request as the lines a human reads. The source of untrusted arguments
 * is named once (the "why" line does not repeat it); `full` lists every source.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { describeRequest } from "./prompt.ts";
 * const text = describeRequest({
 *   id: "1", sessionId: "s", action: {} as never, suggestions: [],
 *   info: { risk: "medium", summary: "write b.txt", resource: "file:///ws/b.txt" } as never,
 *   reason: "its arguments came from untrusted content (read_file a.txt; read_file a.txt)",
 *   provenance: { trust: "untrusted", source: "read_file a.txt; read_file a.txt" },
 * });
 * ok(text.split("read_file a.txt").length === 2);
 * ```
 */
export function describeRequest(request: ApprovalRequest, full = false): string {
  const untrusted = request.provenance?.trust === "untrusted";
  const source = request.provenance?.source;
  const reason = untrusted && source ? request.reason.replace(` (${source})`, "") : request.reason;
  const lines = [
    `Approval needed [risk: ${request.info.risk}]`,
    `  ${request.info.summary}`,
    `  resource: ${request.info.resource}`,
    `  why:      ${reason}`,
  ];
  // How long Allow Always lasts (the token TTL from [approval] always_ttl_seconds).
  if (request.alwaysTtlMs !== undefined) {
    lines.push(
      `  always:   [a] grants it for ${ttlText(request.alwaysTtlMs)} (astrid grants revoke)`,
    );
  }
  if (untrusted && !full) {
    const { sources, hidden } = provenanceSources(request.provenance);
    const more = sources.length > 1 || hidden > 0 ? " · press ? for all" : "";
    lines.push(`  source:   untrusted data from ${provenanceSummary(request.provenance)}${more}`);
  }
  if (untrusted && full) {
    const { sources, hidden } = provenanceSources(request.provenance);
    lines.push("  sources of untrusted data in the context (most relevant first):");
    sources.forEach((s, i) => lines.push(`    ${i + 1}. ${s}`));
    if (hidden > 0) lines.push(`    … and ${hidden} older`);
  }
  return lines.join("\n");
}

/**
 * A grant's lifetime in words: `1 hour`, `15 minutes`, `2 days`, `90 seconds`.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { ttlText } from "./prompt.ts";
 * equal(ttlText(3_600_000), "1 hour");
 * equal(ttlText(900_000), "15 minutes");
 * equal(ttlText(90_000), "90 seconds");
 * ```
 */
export function ttlText(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000));
  const [n, unit] = s % 86_400 === 0
    ? [s / 86_400, "day"]
    : s % 3600 === 0
    ? [s / 3600, "hour"]
    : s % 60 === 0
    ? [s / 60, "minute"]
    : [s, "second"];
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}

/** Single keypresses for the prompt (the REPL's raw terminal). */
export interface PromptKeys {
  /** The next key pressed after the question was shown; null at end of input. */
  readKey(): Promise<Key | null>;
  /** Writes prompt chrome as is (escape sequences allowed); never model-chosen text. */
  writeRaw(text: string): void;
  /** Emit ANSI styles. */
  readonly colour: boolean;
}

/** Asks on the terminal: single keys through {@link PromptKeys}, else `io.readLine`. */
export class TerminalFrontend implements Frontend {
  #io: CliIo;
  #keys: PromptKeys | undefined;
  /** Creates the prompt over the CLI's IO (and, for single keypresses, a key source). */
  constructor(io: CliIo, keys?: PromptKeys) {
    this.#io = io;
    this.#keys = keys;
  }

  /** True when a person can answer at the terminal. */
  canAsk(): boolean {
    return this.#io.isTty && (this.#keys !== undefined || this.#io.readLine !== undefined);
  }

  /** Shows the request and reads the answer; unlisted input asks again, end of input denies. */
  async ask(request: ApprovalRequest, signal: AbortSignal): Promise<ApprovalAnswer> {
    this.#io.stderr(`\n${describeRequest(request)}\n`);
    const keys = this.#keys;
    const answer = keys
      ? await this.#askKeys(keys, request, signal)
      : await this.#askLines(request, signal);
    if (answer.choice === "deny" || answer.pattern !== undefined) return answer;
    if (answer.choice !== "once" && request.suggestions.length > 1) {
      const pattern = keys
        ? await this.#pickKeys(keys, request, signal)
        : await this.#pickLines(request, signal);
      if (pattern === null) return { choice: "deny", reason: "no scope chosen at the prompt" };
      return { choice: answer.choice, pattern };
    }
    return answer;
  }

  async #askKeys(
    keys: PromptKeys,
    request: ApprovalRequest,
    signal: AbortSignal,
  ): Promise<ApprovalAnswer> {
    let selected: number | null = null;
    const hint = "  keys: o s a d · or ←/→ then Enter · Esc denies" +
      (request.provenance?.trust === "untrusted" ? " · ? all sources" : "") + "\n";
    keys.writeRaw(hint);
    const draw = () => keys.writeRaw(`\r\x1b[K${choiceLine(selected, keys.colour)}`);
    draw();
    for (;;) {
      const key = await keys.readKey();
      if (signal.aborted) throw new Error("the prompt timed out");
      if (key === null) return this.#decided(keys, "deny", "end of input at the prompt");
      const step = key.kind === "left" || key.kind === "up"
        ? -1
        : key.kind === "right" || key.kind === "down"
        ? 1
        : 0;
      if (step !== 0) {
        selected = selected === null
          ? (step > 0 ? 0 : CHOICES.length - 1)
          : (selected + step + CHOICES.length) % CHOICES.length;
        draw();
        continue;
      }
      switch (key.kind) {
        case "escape":
          return this.#decided(keys, "deny", "Esc at the prompt");
        case "interrupt":
          return this.#decided(keys, "deny", "Ctrl-C at the prompt");
        case "eof":
          return this.#decided(keys, "deny", "end of input at the prompt");
        case "enter":
          if (selected !== null) return this.#decided(keys, CHOICES[selected]!.choice);
          break;
        case "char": {
          const ch = key.text[0]!.toLowerCase();
          if (ch === "?") {
            keys.writeRaw("\r\x1b[K");
            this.#io.stderr(`${describeRequest(request, true)}\n`);
            draw();
            continue;
          }
          const choice = ch === "n" ? "deny" : CHOICES.find((c) => c.key === ch)?.choice;
          if (choice) return this.#decided(keys, choice);
          break;
        }
        default:
          break;
      }
      keys.writeRaw("\r\x1b[K  please press o, s, a or d (or pick with ←/→ and Enter)\n");
      draw();
    }
  }

  #decided(keys: PromptKeys, choice: ApprovalChoice, reason?: string): ApprovalAnswer {
    const label = CHOICES.find((c) => c.choice === choice)!.label;
    keys.writeRaw(`\r\x1b[K  → ${label}${reason ? ` (${reason})` : ""}\n`);
    return reason ? { choice, reason } : { choice };
  }

  async #askLines(request: ApprovalRequest, signal: AbortSignal): Promise<ApprovalAnswer> {
    const io = this.#io;
    for (;;) {
      if (signal.aborted) throw new Error("the prompt timed out");
      const line = await io.readLine!(`${choiceLine(null, false)}`);
      if (line === null) return { choice: "deny", reason: "end of input at the prompt" };
      const text = line.trim().toLowerCase();
      if (text === "?") {
        io.stderr(`${describeRequest(request, true)}\n`);
        continue;
      }
      const choice = KEYS[text];
      if (choice) return { choice };
      io.stderr("  please answer o, s, a or d\n");
    }
  }

  async #pickKeys(
    keys: PromptKeys,
    request: ApprovalRequest,
    signal: AbortSignal,
  ): Promise<string | null> {
    const list = request.suggestions;
    this.#io.stderr("  apply to which?\n");
    list.forEach((s, i) => this.#io.stderr(`  [${i + 1}] ${s}\n`));
    const ask = `  press 1–${list.length} (or ↑/↓ then Enter; Esc denies) > `;
    let selected: number | null = null;
    const draw = () =>
      keys.writeRaw(`\r\x1b[K${ask}${selected === null ? "" : `[${selected + 1}]`}`);
    draw();
    for (;;) {
      const key = await keys.readKey();
      if (signal.aborted) throw new Error("the prompt timed out");
      if (key === null || key.kind === "escape" || key.kind === "interrupt" || key.kind === "eof") {
        keys.writeRaw("\r\x1b[K  → deny\n");
        return null;
      }
      if (key.kind === "up" || key.kind === "down" || key.kind === "left" || key.kind === "right") {
        const step = key.kind === "up" || key.kind === "left" ? -1 : 1;
        selected = selected === null
          ? (step > 0 ? 0 : list.length - 1)
          : (selected + step + list.length) % list.length;
        draw();
        continue;
      }
      let index: number | null = null;
      if (key.kind === "enter") index = selected;
      else if (key.kind === "char" && /^[1-9]$/.test(key.text[0]!)) {
        index = Number(key.text[0]) - 1;
      }
      if (index !== null && index < list.length) {
        keys.writeRaw(`\r\x1b[K  → [${index + 1}]\n`);
        return list[index]!;
      }
      keys.writeRaw(`\r\x1b[K  please press a number from 1 to ${list.length}\n`);
      draw();
    }
  }

  async #pickLines(request: ApprovalRequest, signal: AbortSignal): Promise<string | null> {
    const io = this.#io;
    const list = request.suggestions;
    list.forEach((s, i) => io.stderr(`  [${i + 1}] ${s}\n`));
    for (;;) {
      if (signal.aborted) throw new Error("the prompt timed out");
      const line = await io.readLine!(`  apply to which? [1-${list.length}] > `);
      if (line === null) return null;
      const text = line.trim();
      const index = /^[1-9][0-9]*$/.test(text) ? Number(text) - 1 : -1;
      if (index >= 0 && index < list.length) return list[index]!;
      io.stderr(`  please answer a number from 1 to ${list.length}\n`);
    }
  }

  /**
   * Shows a server's request for information: a URL to visit (accept or decline) or a form,
   * one field per line. An empty line takes the default; end of input cancels.
   */
  async elicit(request: ElicitationRequest, signal: AbortSignal): Promise<ElicitationAnswer> {
    const io = this.#io;
    if (!io.readLine) return { action: "cancel" };
    io.stderr(`\nMCP server ${request.from} asks: ${request.message}\n`);
    if (request.mode === "url") {
      io.stderr(`  url: ${request.url}\n`);
      const line = await io.readLine("  [a] I will open it  [d] decline > ");
      if (line === null || signal.aborted) return { action: "cancel" };
      return { action: line.trim().toLowerCase().startsWith("a") ? "accept" : "decline" };
    }
    const content: Record<string, string | number | boolean> = {};
    for (const field of request.fields) {
      for (;;) {
        if (signal.aborted) return { action: "cancel" };
        const line = await io.readLine(`  ${fieldPrompt(field)} > `);
        if (line === null) return { action: "cancel" };
        const value = parseField(field, line.trim());
        if (value === undefined && !field.required) break;
        if (value !== undefined) {
          content[field.name] = value;
          break;
        }
        io.stderr(`  ${field.name} needs a ${field.type}\n`);
      }
    }
    const ok = await io.readLine("  send these answers? [y/n] > ");
    return ok?.trim().toLowerCase().startsWith("y") ? { action: "accept", content } : {
      action: "decline",
    };
  }
}

/** `[o] allow once  [s] allow session  [a] allow always  [d] deny > `, the pick marked. */
function choiceLine(selected: number | null, colour: boolean): string {
  const parts = CHOICES.map((c, i) => {
    const text = `[${c.key}] ${c.label}`;
    if (i !== selected) return ` ${text} `;
    return colour ? `\x1b[7m ${text} \x1b[0m` : `>${text}<`;
  });
  return ` ${parts.join("")}> `;
}

function fieldPrompt(f: ElicitationField): string {
  const parts = [f.title ?? f.name];
  if (f.choices) parts.push(`(${f.choices.join("/")})`);
  if (f.default !== undefined) parts.push(`[${f.default}]`);
  if (!f.required) parts.push("(optional)");
  return parts.join(" ");
}

function parseField(f: ElicitationField, text: string): string | number | boolean | undefined {
  if (text === "") return f.default;
  if (f.choices && !f.choices.includes(text)) return undefined;
  switch (f.type) {
    case "boolean":
      return /^(y|yes|true)$/i.test(text) ? true : /^(n|no|false)$/i.test(text) ? false : undefined;
    case "number":
    case "integer": {
      const n = Number(text);
      if (!Number.isFinite(n) || (f.type === "integer" && !Number.isInteger(n))) return undefined;
      return n;
    }
    default:
      return text;
  }
}
