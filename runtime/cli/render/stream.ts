/**
 * Streams a model's markdown to a terminal token by token.
 *
 * Finished blocks (a paragraph closed by a blank line, a heading, a closed code fence, a table
 * that ended) are printed rendered and stay. The block still being written is a *live region*
 * at the bottom: its complete lines rendered, and its unfinished line as plain text, word-wrapped
 * as it arrives (a word that no longer fits is moved to the next row whole). Each completed line
 * redraws the live region (cursor up, clear to the end of the screen, draw), so a table grows
 * row by row and a code block is highlighted line by line; at the block's end it is drawn one
 * last time and left alone. A live region that would grow taller than `maxLiveRows` is
 * committed as it is, so it never scrolls out of reach of the cursor.
 *
 * {@link StreamRenderer.resize} re-flows the live region at a new width (on SIGWINCH); what
 * was already committed stays as the terminal itself re-flows it.
 *
 * @module
 */
import { stripControls } from "../markdown.ts";
import type { Highlighter } from "./highlight.ts";
import { renderMarkdown } from "./markdown.ts";
import { displayWidth, screenRows } from "./wrap.ts";

/** Options of {@link StreamRenderer}. */
export interface StreamOptions {
  /** Emit ANSI styles (false: plain text; cursor movement is still used for the live region). */
  readonly colour: boolean;
  /** Terminal columns. */
  readonly columns: number;
  /** Colours fenced code when colour is on. */
  readonly highlight?: Highlighter | null | undefined;
  /** The live region's height limit in rows (default 20). */
  readonly maxLiveRows?: number;
  /** The widest layout, however wide the terminal (default 120). */
  readonly maxWidth?: number;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const HEADING = /^ {0,3}#{1,6}(\s|$)/;

/**
 * Turns text deltas into terminal output.
 *
 * @example A paragraph streams plain, then is rendered when it ends
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { StreamRenderer } from "./stream.ts";
 * const r = new StreamRenderer({ colour: false, columns: 40 });
 * equal(r.push("Hello **wor"), "Hello **wor");
 * const out = r.push("ld**\n\n") + r.flush();
 * equal(out.endsWith("Hello world\n"), true);
 * ```
 */
export class StreamRenderer {
  #o: StreamOptions;
  #columns: number;
  /** Complete source lines of the block being written. */
  #lines: string[] = [];
  /** Its unfinished line (source). */
  #partial = "";
  /** The open fence marker of the block, if it is a code block. */
  #fence: string | null = null;
  /** The block continues a code block committed in parts (no second language label). */
  #continued = false;
  /** Drawn for the live region: rendered complete lines, then the laid-out partial line. */
  #drawnRendered = "";
  #drawnPartial = "";
  #col = 0;
  /** Display columns of the word at the end of the partial line (since its last space). */
  #word = "";
  /** A block was committed in this message (the next one starts after a blank line). */
  #committed = false;
  /** The current block has put something on screen (its separator is out). */
  #open = false;

  /** Creates a renderer for one terminal. */
  constructor(options: StreamOptions) {
    this.#o = options;
    this.#columns = Math.max(20, options.columns);
  }

  /** The width blocks are laid out to. */
  get width(): number {
    return Math.min(this.#columns - 1, this.#o.maxWidth ?? 120);
  }

  /** Adds a piece of the model's text; returns what to write to the terminal. */
  push(delta: string): string {
    const text = stripControls(delta).replace(/\t/g, "    ");
    let out = "";
    const pieces = text.split("\n");
    pieces.forEach((piece, i) => {
      if (i > 0) out += this.#completeLine();
      if (piece !== "") out += this.#appendPartial(piece);
    });
    return out;
  }

  /** Ends the message: commits the live region; the cursor ends at the start of a line. */
  flush(): string {
    let out = "";
    if (this.#partial !== "") {
      this.#lines.push(this.#partial);
      this.#partial = "";
    }
    if (this.#lines.length > 0) out += this.#commit();
    else out += this.#erase();
    this.#fence = null;
    this.#continued = false;
    this.#committed = false;
    this.#open = false;
    return out;
  }

  /** The terminal is now `columns` wide: re-draws the live region to fit it. */
  resize(columns: number): string {
    const next = Math.max(20, columns);
    if (next === this.#columns) return "";
    const erase = this.#erase(next);
    this.#columns = next;
    return erase + this.#redraw() + this.#relayPartial();
  }

  #appendPartial(piece: string): string {
    let out = this.#separator();
    this.#partial += piece;
    const limit = this.#columns - 1;
    for (const ch of piece) {
      const w = displayWidth(ch);
      if (ch === " ") {
        this.#word = "";
        if (this.#col + 1 > limit) {
          out += this.#newRow();
          continue;
        }
        out += ch;
        this.#drawnPartial += ch;
        this.#col += 1;
        continue;
      }
      if (this.#col + w > limit && this.#fence === null) {
        const word = this.#word;
        const wordWidth = displayWidth(word);
        if (word !== "" && wordWidth < this.#col && wordWidth + w <= limit) {
          // Move the word begun on this row to the next one, whole.
          out += `\x1b[${wordWidth}D\x1b[K`;
          this.#drawnPartial = this.#drawnPartial.slice(0, -word.length);
          out += this.#newRow() + word;
          this.#drawnPartial += word;
          this.#col = wordWidth;
        } else {
          out += this.#newRow();
        }
      }
      out += ch;
      this.#drawnPartial += ch;
      this.#col += w;
      this.#word += ch;
    }
    return out;
  }

  #newRow(): string {
    this.#drawnPartial += "\n";
    this.#col = 0;
    return "\n";
  }

  #separator(): string {
    if (this.#open) return "";
    this.#open = true;
    return this.#committed ? "\n" : "";
  }

  #completeLine(): string {
    const line = this.#partial;
    this.#partial = "";
    if (this.#fence !== null) {
      this.#lines.push(line);
      const close = FENCE.exec(line);
      if (
        close && close[1]![0] === this.#fence[0] && close[1]!.length >= this.#fence.length &&
        line.trim() === close[1]
      ) {
        return this.#commit();
      }
      return this.#grow();
    }
    if (line.trim() === "") {
      return this.#lines.length > 0 ? this.#commit() : this.#erase();
    }
    const fence = FENCE.exec(line);
    if (fence || HEADING.test(line)) {
      let out = "";
      if (this.#lines.length > 0) out += this.#commit();
      else out += this.#erase();
      out += this.#separator();
      this.#lines.push(line);
      if (fence) {
        this.#fence = fence[1]!;
        return out + this.#redraw();
      }
      return out + this.#commit();
    }
    this.#lines.push(line);
    return this.#grow();
  }

  /** Redraws the live region with a new complete line; commits it when it grows too tall. */
  #grow(): string {
    const out = this.#erase() + this.#redraw();
    const max = this.#o.maxLiveRows ?? 20;
    if (screenRows(this.#drawnRendered, this.#columns) - 1 < max) return out;
    return out + this.#commit(false);
  }

  #render(): string {
    let source = this.#lines.join("\n");
    if (this.#continued && this.#fence !== null) source = `${this.#fence}\n${source}`;
    return renderMarkdown(source, {
      colour: this.#o.colour,
      width: this.width,
      highlight: this.#o.highlight,
      continued: this.#continued,
    });
  }

  #redraw(): string {
    const text = this.#lines.length > 0 ? this.#render() : "";
    this.#drawnRendered = text;
    this.#drawnPartial = "";
    this.#col = 0;
    this.#word = "";
    return text;
  }

  /** Lays the unfinished line out again (after a redraw that cleared it). */
  #relayPartial(): string {
    const partial = this.#partial;
    this.#partial = "";
    return partial === "" ? "" : this.#appendPartial(partial);
  }

  /** Clears the live region; the cursor ends where it began. */
  #erase(columns = this.#columns): string {
    const drawn = this.#drawnRendered + this.#drawnPartial;
    this.#drawnRendered = "";
    this.#drawnPartial = "";
    this.#col = 0;
    this.#word = "";
    if (drawn === "") return "";
    const up = screenRows(drawn, columns) - 1;
    return `\r${up > 0 ? `\x1b[${up}A` : ""}\x1b[J`;
  }

  /**
   * Draws the block for good. With `final` false (the region grew too tall) the block goes on
   * after it: a code block keeps its fence open and continues without a second label.
   */
  #commit(final = true): string {
    let out = this.#drawnRendered === "" ? this.#erase() + this.#redraw() : "";
    // Already drawn from the same lines: keep what is on screen unless there is a partial.
    if (out === "" && this.#drawnPartial !== "") out = this.#erase() + this.#redraw();
    const fence = this.#fence;
    this.#lines = [];
    this.#drawnRendered = "";
    this.#drawnPartial = "";
    this.#col = 0;
    this.#word = "";
    this.#committed = true;
    if (final) {
      this.#fence = null;
      this.#continued = false;
      this.#open = false;
    } else {
      this.#continued = fence !== null;
    }
    return out;
  }
}
