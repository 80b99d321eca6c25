/**
 * Markdown for the terminal, rendered line by line as a model streams it: headings, bold,
 * italics, inline code, fenced code blocks, lists, quotes and rules. With colour off (NO_COLOR,
 * or output that is not a terminal) it still reads well: markers become plain typography.
 *
 * Text arrives in arbitrary pieces, so {@link MarkdownStream} holds back the unfinished last
 * line and renders each line once it is complete; {@link MarkdownStream.flush} renders the rest.
 * Control characters in the model's text (other than tab and newline) are dropped, so a reply
 * cannot move the cursor or rewrite the screen.
 *
 * @module
 */

const ESC = "\x1b[";
const STYLE = {
  bold: [`${ESC}1m`, `${ESC}22m`],
  dim: [`${ESC}2m`, `${ESC}22m`],
  italic: [`${ESC}3m`, `${ESC}23m`],
  underline: [`${ESC}4m`, `${ESC}24m`],
  cyan: [`${ESC}36m`, `${ESC}39m`],
  yellow: [`${ESC}33m`, `${ESC}39m`],
  magenta: [`${ESC}35m`, `${ESC}39m`],
} as const;

/** A style name {@link paint} knows. */
export type Style = keyof typeof STYLE;

/**
 * Wraps `text` in the ANSI codes of `style` when `colour` is on.
 *
 * @example Plain when colour is off
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { paint } from "./markdown.ts";
 * equal(paint("hi", "bold", false), "hi");
 * equal(paint("hi", "bold", true), "\x1b[1mhi\x1b[22m");
 * ```
 */
export function paint(text: string, style: Style, colour: boolean): string {
  if (!colour || text === "") return text;
  const [on, off] = STYLE[style];
  return `${on}${text}${off}`;
}

/**
 * Removes terminal control characters (escape sequences, carriage returns, bells) but keeps
 * tabs and newlines.
 *
 * @example An escape sequence cannot clear the screen
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { stripControls } from "./markdown.ts";
 * equal(stripControls("a\x1b[2Jb\r\nc\td"), "a[2Jb\nc\td");
 * ```
 */
export function stripControls(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, "");
}

/**
 * Renders inline markdown: `**bold**`, `*italic*`/`_italic_`, `` `code` `` and
 * `[text](url)`. Code spans are taken first so their content is left alone.
 *
 * @example Bold and code, with and without colour
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { renderInline } from "./markdown.ts";
 * equal(renderInline("a **b** `c*d*`", false), "a b `c*d*`");
 * equal(renderInline("**b**", true), "\x1b[1mb\x1b[22m");
 * ```
 */
export function renderInline(line: string, colour: boolean): string {
  const parts = line.split(/(`[^`]+`)/);
  return parts.map((part, i) => {
    if (i % 2 === 1) return colour ? paint(part.slice(1, -1), "cyan", true) : part;
    return part
      .replace(/\*\*(?=\S)(.+?)(?<=\S)\*\*/g, (_, t: string) => paint(t, "bold", colour))
      .replace(/__(?=\S)(.+?)(?<=\S)__/g, (_, t: string) => paint(t, "bold", colour))
      .replace(
        /(^|[^\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?!\w)/g,
        (_, pre: string, t: string) => pre + paint(t, "italic", colour),
      )
      .replace(
        /(^|[^\w])_(?=\S)([^_]+?)(?<=\S)_(?!\w)/g,
        (_, pre: string, t: string) => pre + paint(t, "italic", colour),
      )
      .replace(
        /\[([^\]]+)\]\(([^)\s]+)\)/g,
        (_, t: string, url: string) => `${paint(t, "underline", colour)} (${url})`,
      );
  }).join("");
}

/** Options of {@link MarkdownStream}. */
export interface MarkdownOptions {
  /** Emit ANSI styles (false: plain typography only). */
  readonly colour: boolean;
  /** Width used for rules and heading underlines (default 60). */
  readonly width?: number;
}

/**
 * Renders streamed markdown line by line.
 *
 * @example Feed pieces, flush at the end
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { MarkdownStream } from "./markdown.ts";
 * const md = new MarkdownStream({ colour: false });
 * let out = md.push("# Ti");
 * out += md.push("tle\n- one\n- **two**");
 * out += md.flush();
 * equal(out, "Title\n═════\n  • one\n  • two\n");
 * ```
 */
export class MarkdownStream {
  #colour: boolean;
  #width: number;
  #pending = "";
  #fence: string | null = null;

  /** Creates a renderer. */
  constructor(options: MarkdownOptions) {
    this.#colour = options.colour;
    this.#width = Math.max(10, Math.min(options.width ?? 60, 200));
  }

  /** True while inside a fenced code block. */
  get inCode(): boolean {
    return this.#fence !== null;
  }

  /** Adds a piece of text; returns the rendering of every line it completed. */
  push(text: string): string {
    this.#pending += stripControls(text);
    const cut = this.#pending.lastIndexOf("\n");
    if (cut < 0) return "";
    const lines = this.#pending.slice(0, cut).split("\n");
    this.#pending = this.#pending.slice(cut + 1);
    return lines.map((l) => this.#line(l)).join("");
  }

  /** Renders what is left (an unfinished last line) and resets for the next message. */
  flush(): string {
    const rest = this.#pending;
    this.#pending = "";
    const out = rest === "" ? "" : this.#line(rest);
    this.#fence = null;
    return out;
  }

  #line(raw: string): string {
    const c = this.#colour;
    const line = raw.replace(/\s+$/, "");
    const fence = /^\s*(```+|~~~+)\s*([\w+#.-]*)/.exec(line);
    if (this.#fence !== null) {
      if (fence && fence[1]!.startsWith(this.#fence) && fence[2] === "") {
        this.#fence = null;
        return `${paint("  └────", "dim", c)}\n`;
      }
      return `${paint("  │ ", "dim", c)}${paint(raw.replace(/\s+$/, ""), "yellow", c)}\n`;
    }
    if (fence) {
      this.#fence = fence[1]!;
      return `${paint(`  ┌──── ${fence[2] || "code"}`, "dim", c)}\n`;
    }
    const heading = /^(#{1,6})\s+(.*?)\s*#*$/.exec(line);
    if (heading) {
      const level = heading[1]!.length;
      const text = renderInline(heading[2]!, false);
      if (c) {
        return `${paint(paint(text, "bold", true), level <= 2 ? "underline" : "magenta", true)}\n`;
      }
      if (level <= 2) {
        const bar = (level === 1 ? "═" : "─").repeat(Math.min(text.length, this.#width));
        return `${text}\n${bar}\n`;
      }
      return `${text}\n`;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      return `${paint("─".repeat(this.#width), "dim", c)}\n`;
    }
    const bullet = /^(\s*)[-*+]\s+(.*)$/.exec(line);
    if (bullet) {
      const depth = Math.min(Math.floor(bullet[1]!.length / 2), 6);
      const task = /^\[([ xX])\]\s+(.*)$/.exec(bullet[2]!);
      const mark = task ? (task[1] === " " ? "☐" : "☑") : depth % 2 === 0 ? "•" : "◦";
      const body = task ? task[2]! : bullet[2]!;
      return `${"  ".repeat(depth + 1)}${mark} ${renderInline(body, c)}\n`;
    }
    const numbered = /^(\s*)(\d{1,9})[.)]\s+(.*)$/.exec(line);
    if (numbered) {
      const depth = Math.min(Math.floor(numbered[1]!.length / 2), 6);
      return `${"  ".repeat(depth + 1)}${numbered[2]}. ${renderInline(numbered[3]!, c)}\n`;
    }
    const quote = /^\s*>\s?(.*)$/.exec(line);
    if (quote) return `${paint("  ┃ ", "dim", c)}${paint(renderInline(quote[1]!, c), "dim", c)}\n`;
    return `${renderInline(line, c)}\n`;
  }
}
