/**
 * Raw terminal input for the REPL: bytes → keys ({@link KeyParser}) and one editable, possibly
 * multi-line, input with history, reverse search and pasted blocks ({@link LineEditor}). Kept
 * apart from the REPL so both are tested without a terminal.
 *
 * @module
 */
import stringWidth from "string-width";

/** A key the REPL understands. Typed text arrives as `char`, a bracketed paste as `paste`. */
export type Key =
  | { readonly kind: "char"; readonly text: string }
  | { readonly kind: "paste"; readonly text: string }
  | { readonly kind: NamedKey };

/** Every key that is not text. */
export type NamedKey =
  | "enter"
  | "newline"
  | "tab"
  | "search"
  | "escape"
  | "cancel"
  | "backspace"
  | "delete"
  | "left"
  | "right"
  | "up"
  | "down"
  | "home"
  | "end"
  | "interrupt"
  | "eof"
  | "kill_line"
  | "kill_end"
  | "kill_word"
  | "redraw";

const CONTROL: Record<string, NamedKey> = {
  "\r": "enter",
  "\n": "enter",
  "\t": "tab",
  "\x12": "search",
  "\x07": "cancel",
  "\x7f": "backspace",
  "\x08": "backspace",
  "\x03": "interrupt",
  "\x04": "eof",
  "\x01": "home",
  "\x05": "end",
  "\x02": "left",
  "\x06": "right",
  "\x10": "up",
  "\x0e": "down",
  "\x15": "kill_line",
  "\x0b": "kill_end",
  "\x17": "kill_word",
  "\x0c": "redraw",
};

const ESCAPES: Record<string, NamedKey> = {
  A: "up",
  B: "down",
  C: "right",
  D: "left",
  H: "home",
  F: "end",
  "1~": "home",
  "7~": "home",
  "4~": "end",
  "8~": "end",
  "3~": "delete",
};

/** Bracketed paste (xterm): the terminal wraps pasted text in these when `?2004h` is on. */
export const PASTE_START = "\x1b[200~";
/** The end of a bracketed paste. */
export const PASTE_END = "\x1b[201~";

/** The longest input the editor accepts (a giant paste is cut, not held in memory). */
export const MAX_LINE_CHARS = 100_000;

/**
 * Pasted text as it is inserted: line ends become `\n`; escape sequences and other control
 * characters (but `\n` and `\t`) are removed, so a paste cannot drive the terminal or the REPL.
 */
function cleanPaste(text: string): string {
  return text
    .replace(/\r\n?/g, "\n")
    // deno-lint-ignore no-control-regex
    .replace(/\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])?/g, "")
    // deno-lint-ignore no-control-regex
    .replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, "");
}

/**
 * Turns terminal input into keys. UTF-8 and escape sequences split across reads are held back
 * until complete; a bracketed paste becomes one `paste` key however many reads it spans (its
 * newlines never act as Enter). Unknown escape sequences and other control bytes are dropped.
 * A lone ESC is only known once no more bytes follow: call {@link KeyParser.flush} after a
 * short pause in the input.
 *
 * @example Arrows, text, Ctrl-C and a paste
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { KeyParser } from "./_line_editor.ts";
 * const p = new KeyParser();
 * deepEqual(p.feed(new TextEncoder().encode("hé\x1b[")), [{ kind: "char", text: "hé" }]);
 * deepEqual(p.feed(new TextEncoder().encode("A\x03")), [{ kind: "up" }, { kind: "interrupt" }]);
 * deepEqual(p.feed(new TextEncoder().encode("\x1b[200~a\r\nb\x1b[201~")), [
 *   { kind: "paste", text: "a\nb" },
 * ]);
 * ```
 */
export class KeyParser {
  #decoder = new TextDecoder("utf-8", { fatal: false });
  #pending = "";
  /** The text of a paste in progress (capped), or null outside a paste. */
  #paste: string | null = null;
  /** The last few characters of a paste, held back because they may start its end marker. */
  #pasteTail = "";

  /** True while an incomplete escape sequence is held back (see {@link KeyParser.flush}). */
  get pending(): boolean {
    return this.#pending !== "" && this.#paste === null;
  }

  /** Parses one chunk of input. */
  feed(bytes: Uint8Array): Key[] {
    let text = this.#pending + this.#decoder.decode(bytes, { stream: true });
    this.#pending = "";
    const keys: Key[] = [];
    let chars = "";
    const flushChars = () => {
      if (chars) keys.push({ kind: "char", text: chars });
      chars = "";
    };
    const emit = (key: Key) => {
      flushChars();
      keys.push(key);
    };
    for (let i = 0; i < text.length; i++) {
      if (this.#paste !== null) {
        const rest = this.#pasteTail + text.slice(i);
        const end = rest.indexOf(PASTE_END);
        const body = end < 0 ? rest.slice(0, Math.max(0, rest.length - PASTE_END.length)) : rest;
        this.#paste = (this.#paste + (end < 0 ? body : rest.slice(0, end)))
          .slice(0, MAX_LINE_CHARS * 2); // cleaned and capped again by the editor
        if (end < 0) {
          this.#pasteTail = rest.slice(body.length);
          break;
        }
        const pasted = cleanPaste(this.#paste);
        this.#paste = null;
        this.#pasteTail = "";
        if (pasted) emit({ kind: "paste", text: pasted });
        text = rest.slice(end + PASTE_END.length);
        i = -1;
        continue;
      }
      const ch = text[i]!;
      if (ch === "\x1b") {
        const rest = text.slice(i + 1);
        const m = /^(?:\[|O)([0-9;]*[~A-Za-z])/.exec(rest);
        if (m) {
          i += m[0].length;
          if (m[1] === "200~") {
            flushChars();
            this.#paste = "";
            continue;
          }
          const kind = ESCAPES[m[1]!.replace(/^1;\d+(?=[A-Z])/, "")];
          if (kind) emit({ kind });
        } else if (/^(?:[[O][0-9;]*)?$/.test(rest)) {
          this.#pending = text.slice(i); // an escape sequence cut by the read: wait for the rest
          break;
        } else if (rest[0] === "\r" || rest[0] === "\n") {
          emit({ kind: "newline" }); // Alt-Enter
          i++;
        } else emit({ kind: "escape" }); // a lone ESC (or Alt+key: the key follows as typed)
        continue;
      }
      if (ch === "\r" && text[i + 1] === "\n") continue; // CRLF: one enter
      const control = CONTROL[ch];
      if (control) emit({ kind: control });
      else if (ch >= " " && ch !== "\x7f" && !(ch >= "\x80" && ch <= "\x9f")) chars += ch;
    }
    flushChars();
    return keys;
  }

  /** Ends a held-back escape sequence after a pause: a lone ESC is the Escape key. */
  flush(): Key[] {
    if (!this.pending) return [];
    this.#pending = "";
    return [{ kind: "escape" }];
  }
}

/**
 * The longest common start of `prefix`'s completions among `candidates`, and the matches
 * (sorted). With no match, `text` is `prefix`.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { completeFrom } from "./_line_editor.ts";
 * deepEqual(completeFrom("/h", ["/help", "/history", "/exit"]), {
 *   text: "/h",
 *   matches: ["/help", "/history"],
 * });
 * deepEqual(completeFrom("/hel", ["/help", "/exit"]), { text: "/help", matches: ["/help"] });
 * ```
 */
export function completeFrom(
  prefix: string,
  candidates: readonly string[],
): { text: string; matches: string[] } {
  const matches = [...new Set(candidates.filter((c) => c.startsWith(prefix)))].sort();
  if (matches.length === 0) return { text: prefix, matches };
  let common = matches[0]!;
  for (const m of matches) {
    let n = 0;
    while (n < common.length && n < m.length && common[n] === m[n]) n++;
    common = common.slice(0, n);
  }
  return { text: common, matches };
}

/** What feeding a key to a {@link LineEditor} did. `complete` asks the caller for a Tab. */
export type EditResult =
  | { readonly kind: "edit" }
  | { readonly kind: "complete" }
  | { readonly kind: "submit"; readonly line: string }
  | { readonly kind: "eof" }
  | { readonly kind: "interrupt" };

/** A pasted block: shown as one marker, sent in full, deleted as one. */
interface Pasted {
  readonly paste: string;
  readonly lines: number;
}
type Cell = string | Pasted;

/** History entries longer than this many lines come back as a pasted block. */
const BLOCK_LINES = 5;

/** Options of a {@link LineEditor}. */
export interface LineEditorOptions {
  /** Alt-Enter, a trailing `\` and multi-line pastes make more lines (default true). */
  readonly multiline?: boolean;
}

interface Search {
  query: string;
  /** The history index of the shown match, or -1. */
  index: number;
  failed: boolean;
  readonly saved: Cell[];
  readonly savedCursor: number;
}

/**
 * The input being typed: insert, delete, cursor moves, kill commands, history (up/down),
 * reverse search (Ctrl-R), more lines (Alt-Enter or a trailing `\`) and pasted blocks.
 *
 * @example Type, move, edit, submit
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { LineEditor } from "./_line_editor.ts";
 * const ed = new LineEditor(["earlier"]);
 * ed.feed({ kind: "char", text: "hllo" });
 * ed.feed({ kind: "home" });
 * ed.feed({ kind: "right" });
 * ed.feed({ kind: "char", text: "e" });
 * deepEqual(ed.feed({ kind: "enter" }), { kind: "submit", line: "hello" });
 * ed.feed({ kind: "up" });
 * deepEqual(ed.feed({ kind: "enter" }), { kind: "submit", line: "earlier" });
 * ```
 */
export class LineEditor {
  #history: readonly string[];
  #multiline: boolean;
  #cells: Cell[] = [];
  #cursor = 0;
  #index: number;
  #draft: Cell[] = [];
  #search: Search | null = null;
  /** The screen row of the cursor, counted from the first row of the last render. */
  #row = 0;
  /** The last row of the last render, counted the same way. */
  #lastRow = 0;

  /** Creates an empty input; `history` is oldest first. */
  constructor(history: readonly string[] = [], options: LineEditorOptions = {}) {
    this.#history = history;
    this.#index = history.length;
    this.#multiline = options.multiline ?? true;
  }

  /** The current text, pasted blocks in full. */
  get line(): string {
    return this.#cells.map((c) => typeof c === "string" ? c : c.paste).join("");
  }

  /** The cursor position, in characters (a pasted block counts as one). */
  get cursor(): number {
    return this.#cursor;
  }

  /** True during a reverse search (Ctrl-R). */
  get searching(): boolean {
    return this.#search !== null;
  }

  /** Clears the input (and leaves history browsing and search). */
  clear(): void {
    this.#cells = [];
    this.#cursor = 0;
    this.#index = this.#history.length;
    this.#search = null;
  }

  /** Applies one key. */
  feed(key: Key): EditResult {
    if (this.#search) {
      const r = this.#feedSearch(this.#search, key);
      if (r) return r;
    }
    const c = this.#cells;
    switch (key.kind) {
      case "char":
        this.#insert([...key.text]);
        break;
      case "paste":
        this.#paste(key.text);
        break;
      case "enter":
        if (this.#multiline && c.at(-1) === "\\") {
          c.splice(c.length - 1, 1, "\n");
          this.#cursor = c.length;
          break;
        }
        this.#cursor = c.length;
        return { kind: "submit", line: this.line };
      case "newline":
        if (this.#multiline) this.#insert(["\n"]);
        break;
      case "tab":
        return { kind: "complete" };
      case "search":
        this.#search = {
          query: "",
          index: -1,
          failed: false,
          saved: [...c],
          savedCursor: this.#cursor,
        };
        break;
      case "interrupt":
        return { kind: "interrupt" };
      case "eof":
        if (c.length === 0) return { kind: "eof" };
        if (this.#cursor < c.length) c.splice(this.#cursor, 1);
        break;
      case "backspace":
        if (this.#cursor > 0) c.splice(--this.#cursor, 1);
        break;
      case "delete":
        if (this.#cursor < c.length) c.splice(this.#cursor, 1);
        break;
      case "left":
        this.#cursor = Math.max(0, this.#cursor - 1);
        break;
      case "right":
        this.#cursor = Math.min(c.length, this.#cursor + 1);
        break;
      case "home":
        this.#cursor = this.#lineStart(this.#cursor);
        break;
      case "end":
        this.#cursor = this.#lineEnd(this.#cursor);
        break;
      case "kill_line": {
        const start = this.#lineStart(this.#cursor);
        c.splice(start, this.#cursor - start);
        this.#cursor = start;
        break;
      }
      case "kill_end":
        c.splice(this.#cursor, this.#lineEnd(this.#cursor) - this.#cursor);
        break;
      case "kill_word": {
        let start = this.#cursor;
        while (start > 0 && (c[start - 1] === " " || c[start - 1] === "\n")) start--;
        while (start > 0 && c[start - 1] !== " " && c[start - 1] !== "\n") start--;
        c.splice(start, this.#cursor - start);
        this.#cursor = start;
        break;
      }
      case "up":
      case "down":
        if (!this.#moveRow(key.kind === "up" ? -1 : 1)) this.#browse(key.kind === "up" ? -1 : 1);
        break;
      case "escape":
      case "cancel":
      case "redraw":
        break;
    }
    return { kind: "edit" };
  }

  /**
   * The word before the cursor (back to a space or line start) and where it starts, for Tab
   * completion; null when it holds a pasted block.
   */
  wordBeforeCursor(): { start: number; word: string; first: boolean } | null {
    let start = this.#cursor;
    while (start > 0 && this.#cells[start - 1] !== " " && this.#cells[start - 1] !== "\n") start--;
    const cells = this.#cells.slice(start, this.#cursor);
    if (cells.some((c) => typeof c !== "string")) return null;
    const first = this.#cells.slice(0, start).every((c) => c === " ");
    return { start, word: cells.join(""), first };
  }

  /** Replaces the text from `start` to the cursor with `text` (Tab completion). */
  replaceBeforeCursor(start: number, text: string): void {
    if (start < 0 || start > this.#cursor) throw new RangeError(`Cannot replace from ${start}`);
    const add = [...text];
    this.#cells.splice(start, this.#cursor - start, ...add);
    this.#cursor = start + add.length;
  }

  #insert(chars: Cell[]): void {
    const room = Math.max(0, MAX_LINE_CHARS - this.#size());
    const add = chars.slice(0, room);
    this.#cells.splice(this.#cursor, 0, ...add);
    this.#cursor += add.length;
  }

  #size(): number {
    return this.#cells.reduce((n, c) => n + (typeof c === "string" ? c.length : c.paste.length), 0);
  }

  #paste(text: string): void {
    if (!this.#multiline) return this.#insert([...text.replace(/\s*\n\s*/g, " ")]);
    if (!text.includes("\n")) return this.#insert([...text]);
    const paste = text.slice(0, Math.max(0, MAX_LINE_CHARS - this.#size()));
    if (paste === "") return;
    this.#insert([{ paste, lines: paste.replace(/\n$/, "").split("\n").length }]);
  }

  #lineStart(at: number): number {
    while (at > 0 && this.#cells[at - 1] !== "\n") at--;
    return at;
  }

  #lineEnd(at: number): number {
    while (at < this.#cells.length && this.#cells[at] !== "\n") at++;
    return at;
  }

  /** Moves the cursor one line up or down inside multi-line input; false on the edge. */
  #moveRow(step: -1 | 1): boolean {
    const start = this.#lineStart(this.#cursor);
    const column = this.#cursor - start;
    if (step < 0) {
      if (start === 0) return false;
      const prev = this.#lineStart(start - 1);
      this.#cursor = Math.min(prev + column, start - 1);
    } else {
      const end = this.#lineEnd(this.#cursor);
      if (end === this.#cells.length) return false;
      this.#cursor = Math.min(end + 1 + column, this.#lineEnd(end + 1));
    }
    return true;
  }

  #browse(step: -1 | 1): void {
    const next = this.#index + step;
    if (next < 0 || next > this.#history.length) return;
    if (this.#index === this.#history.length) this.#draft = this.#cells;
    this.#index = next;
    this.#cells = next === this.#history.length ? this.#draft : this.#fromHistory(next);
    this.#cursor = this.#cells.length;
  }

  #fromHistory(index: number): Cell[] {
    const text = this.#history[index]!;
    const lines = text.split("\n").length;
    return lines > BLOCK_LINES ? [{ paste: text, lines }] : [...text];
  }

  /** Handles a key during reverse search; undefined when the key ends the search and edits. */
  #feedSearch(s: Search, key: Key): EditResult | undefined {
    const newest = this.#history.length - 1;
    switch (key.kind) {
      case "char":
      case "paste":
        s.query += key.text.split("\n")[0]!;
        this.#find(s, s.index < 0 ? newest : s.index, false);
        return { kind: "edit" };
      case "search":
        if (s.query !== "") this.#find(s, s.index < 0 ? newest : s.index - 1, true);
        return { kind: "edit" };
      case "backspace":
        s.query = [...s.query].slice(0, -1).join("");
        s.index = -1;
        this.#find(s, newest, false);
        return { kind: "edit" };
      case "escape":
      case "cancel":
      case "interrupt":
        this.#cells = s.saved;
        this.#cursor = s.savedCursor;
        this.#search = null;
        return { kind: "edit" };
      default:
        this.#search = null; // any other key takes the match and then acts on it
        return undefined;
    }
  }

  /**
   * Shows the newest history entry at or before `from` that contains the query (with
   * `skipSame`, one that differs from the entry shown now).
   */
  #find(s: Search, from: number, skipSame: boolean): void {
    const shown = s.index >= 0 ? this.#history[s.index] : undefined;
    for (let i = from; i >= 0; i--) {
      const entry = this.#history[i]!;
      if (!entry.includes(s.query) || (skipSame && entry === shown)) continue;
      s.index = i;
      s.failed = false;
      this.#cells = this.#fromHistory(i);
      const block = this.#cells.length === 1 && typeof this.#cells[0] !== "string";
      this.#cursor = block ? 1 : [...entry.slice(0, entry.indexOf(s.query))].length;
      return;
    }
    s.failed = s.query !== "";
  }

  /**
   * The escape sequence that redraws the input after `prompt` in a terminal `columns` wide:
   * back to the first row of the last render, clear below, the prompt and text wrapped by hand
   * (continuation lines start with `… `), then the cursor to its place. Pasted blocks show as
   * `[pasted N lines]`.
   */
  render(prompt: string, columns = 80): string {
    const width = Math.max(10, columns);
    const search = this.#search;
    const head = search
      ? `(${search.failed ? "failed " : ""}reverse-i-search)'${search.query}': `
      : prompt;
    const rows: string[] = [];
    let row = head;
    let col = stringWidth(head);
    while (col > width) { // a prompt wider than the terminal: hard to edit, but not garbled
      rows.push("");
      col -= width;
    }
    let at: [number, number] | null = null;
    const place = (): [number, number] => {
      if (col >= width) {
        rows.push(row);
        row = "";
        col = 0;
      }
      return [rows.length, col];
    };
    for (let i = 0; i < this.#cells.length; i++) {
      const cell = this.#cells[i]!;
      if (i === this.#cursor) at = place();
      if (cell === "\n") {
        rows.push(row);
        row = "… ";
        col = 2;
        continue;
      }
      const shown = typeof cell === "string"
        ? (cell === "\t" ? " " : cell)
        : `[pasted ${cell.lines} line${cell.lines === 1 ? "" : "s"}]`;
      const w = stringWidth(shown);
      if (col + w > width && col > 0) {
        rows.push(row);
        row = "";
        col = 0;
      }
      row += shown;
      col += w;
    }
    const [crow, ccol] = at ?? place();
    rows.push(row);
    const last = rows.length - 1;
    const up = this.#row > 0 ? `\x1b[${this.#row}A` : "";
    this.#row = crow;
    this.#lastRow = last;
    const back = last - crow > 0 ? `\x1b[${last - crow}A` : "";
    return `${up}\r\x1b[J${rows.join("\r\n")}${back}\r${ccol > 0 ? `\x1b[${ccol}C` : ""}`;
  }

  /**
   * Moves below the last render (the line that follows starts on a fresh row); the next
   * {@link LineEditor.render} starts where the cursor then is.
   */
  finish(): string {
    const down = this.#lastRow - this.#row;
    this.#row = 0;
    this.#lastRow = 0;
    return `${down > 0 ? `\x1b[${down}B` : ""}\r\n`;
  }
}
