/**
 * Raw terminal input for the REPL: bytes → keys ({@link KeyParser}) and one editable line with
 * history ({@link LineEditor}). Kept apart from the REPL so both are tested without a terminal.
 *
 * @module
 */

/** A key the REPL understands. Printable input (typed or pasted) arrives as `char`. */
export type Key =
  | { readonly kind: "char"; readonly text: string }
  | { readonly kind: NamedKey };

/** Every key that is not text. */
export type NamedKey =
  | "enter"
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

/**
 * Turns terminal input into keys. UTF-8 and escape sequences split across reads are held back
 * until complete; unknown escape sequences and other control bytes are dropped.
 *
 * @example Arrows, text and Ctrl-C
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { KeyParser } from "./_line_editor.ts";
 * const p = new KeyParser();
 * deepEqual(p.feed(new TextEncoder().encode("hé\x1b[")), [{ kind: "char", text: "hé" }]);
 * deepEqual(p.feed(new TextEncoder().encode("A\x03")), [{ kind: "up" }, { kind: "interrupt" }]);
 * ```
 */
export class KeyParser {
  #decoder = new TextDecoder("utf-8", { fatal: false });
  #pending = "";

  /** Parses one chunk of input. */
  feed(bytes: Uint8Array): Key[] {
    const text = this.#pending + this.#decoder.decode(bytes, { stream: true });
    this.#pending = "";
    const keys: Key[] = [];
    let chars = "";
    const emit = (key: Key) => {
      if (chars) keys.push({ kind: "char", text: chars });
      chars = "";
      keys.push(key);
    };
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (ch === "\x1b") {
        const rest = text.slice(i + 1);
        const m = /^(?:\[|O)([0-9;]*[~A-Za-z])/.exec(rest);
        if (m) {
          const kind = ESCAPES[m[1]!.replace(/^1;\d+(?=[A-Z])/, "")];
          if (kind) emit({ kind });
          i += m[0].length;
        } else if (/^(?:[[O][0-9;]*)?$/.test(rest)) {
          this.#pending = text.slice(i); // an escape sequence cut by the read: wait for the rest
          break;
        } // else a lone ESC (or Alt+key): dropped
        continue;
      }
      if (ch === "\r" && text[i + 1] === "\n") continue; // CRLF pasted: one enter
      const control = CONTROL[ch];
      if (control) emit({ kind: control });
      else if (ch >= " " && ch !== "\x7f" && !(ch >= "\x80" && ch <= "\x9f")) chars += ch;
    }
    if (chars) keys.push({ kind: "char", text: chars });
    return keys;
  }
}

/** What feeding a key to a {@link LineEditor} did. */
export type EditResult =
  | { readonly kind: "edit" }
  | { readonly kind: "submit"; readonly line: string }
  | { readonly kind: "eof" }
  | { readonly kind: "interrupt" };

/** The longest line the editor accepts (a giant paste is cut, not held in memory). */
export const MAX_LINE_CHARS = 100_000;

/**
 * One editable line: insert, delete, cursor moves, kill commands and history (up/down).
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
  #chars: string[] = [];
  #cursor = 0;
  #index: number;
  #draft: string[] = [];

  /** Creates an empty line; `history` is oldest first. */
  constructor(history: readonly string[] = []) {
    this.#history = history;
    this.#index = history.length;
  }

  /** The current text. */
  get line(): string {
    return this.#chars.join("");
  }

  /** The cursor position, in characters. */
  get cursor(): number {
    return this.#cursor;
  }

  /** Clears the line (and leaves history browsing). */
  clear(): void {
    this.#chars = [];
    this.#cursor = 0;
    this.#index = this.#history.length;
  }

  /** Applies one key. */
  feed(key: Key): EditResult {
    const c = this.#chars;
    switch (key.kind) {
      case "char": {
        const add = [...key.text].slice(0, Math.max(0, MAX_LINE_CHARS - c.length));
        c.splice(this.#cursor, 0, ...add);
        this.#cursor += add.length;
        break;
      }
      case "enter":
        return { kind: "submit", line: this.line };
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
        this.#cursor = 0;
        break;
      case "end":
        this.#cursor = c.length;
        break;
      case "kill_line":
        c.splice(0, this.#cursor);
        this.#cursor = 0;
        break;
      case "kill_end":
        c.splice(this.#cursor);
        break;
      case "kill_word": {
        let start = this.#cursor;
        while (start > 0 && c[start - 1] === " ") start--;
        while (start > 0 && c[start - 1] !== " ") start--;
        c.splice(start, this.#cursor - start);
        this.#cursor = start;
        break;
      }
      case "up":
      case "down":
        this.#browse(key.kind === "up" ? -1 : 1);
        break;
      case "redraw":
        break;
    }
    return { kind: "edit" };
  }

  #browse(step: -1 | 1): void {
    const next = this.#index + step;
    if (next < 0 || next > this.#history.length) return;
    if (this.#index === this.#history.length) this.#draft = this.#chars;
    this.#index = next;
    this.#chars = next === this.#history.length ? this.#draft : [...this.#history[next]!];
    this.#cursor = this.#chars.length;
  }

  /**
   * The escape sequence that redraws the line after `prompt` (carriage return, prompt, text,
   * clear to end of line, cursor back to its place).
   */
  render(prompt: string): string {
    const back = this.#chars.length - this.#cursor;
    return `\r${prompt}${this.line}\x1b[K${back > 0 ? `\x1b[${back}D` : ""}`;
  }
}
