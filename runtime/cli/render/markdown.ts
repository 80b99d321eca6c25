/**
 * Markdown to terminal text: marked lexes (GFM: tables, task lists, strikethrough), this file
 * lays the tokens out. Paragraphs and list items are word-wrapped to the width, tables are
 * drawn by cli-table3 with columns fitted to the width, and fenced code is highlighted. With
 * colour off (NO_COLOR) the output has no escape codes at all: structure is kept with plain
 * typography (bullets, underlined headings, boxed tables, a gutter for code).
 *
 * @module
 */
import { Lexer, type Token, type Tokens } from "marked";
import Table from "cli-table3";
import { paint, stripControls, type Style } from "../markdown.ts";
import type { Highlighter } from "./highlight.ts";
import { displayWidth, wrapWords } from "./wrap.ts";

/** Options of {@link renderMarkdown}. */
export interface RenderOptions {
  /** Emit ANSI styles. */
  readonly colour: boolean;
  /** Columns to lay out to (at least 20). */
  readonly width: number;
  /** Colours fenced code (used only with colour on). */
  readonly highlight?: Highlighter | null | undefined;
  /** The source continues a code block already started: no language label. */
  readonly continued?: boolean;
}

const ENTITIES: Record<string, string> = {
  "&amp;": "&",
  "&lt;": "<",
  "&gt;": ">",
  "&quot;": '"',
  "&#39;": "'",
  "&nbsp;": " ",
};
const decode = (s: string) => s.replace(/&(?:amp|lt|gt|quot|#39|nbsp);/g, (e) => ENTITIES[e]!);

class Layout {
  readonly #o: RenderOptions;
  constructor(o: RenderOptions) {
    this.#o = o;
  }

  #p(text: string, style: Style): string {
    return paint(text, style, this.#o.colour);
  }

  inline(tokens: readonly Token[] | undefined): string {
    let out = "";
    for (const t of tokens ?? []) out += this.#inlineOne(t);
    return out;
  }

  #inlineOne(t: Token): string {
    const c = this.#o.colour;
    switch (t.type) {
      case "strong":
        return this.#p(this.inline(t.tokens), "bold");
      case "em":
        return this.#p(this.inline(t.tokens), "italic");
      case "del":
        return c ? this.#p(this.inline(t.tokens), "strike") : `~${this.inline(t.tokens)}~`;
      case "codespan":
        return c ? this.#p(decode(t.text), "cyan") : `\`${decode(t.text)}\``;
      case "br":
        return "\n";
      case "link": {
        const link = t as Tokens.Link;
        const text = this.inline(link.tokens);
        const label = this.#p(text, "underline");
        return link.href === link.text || link.href === `mailto:${link.text}`
          ? label
          : `${label} (${link.href})`;
      }
      case "image":
        return `[image: ${decode((t as Tokens.Image).text)}] (${(t as Tokens.Image).href})`;
      case "checkbox":
        return "";
      case "text":
        return "tokens" in t && t.tokens ? this.inline(t.tokens) : decode(t.text);
      case "escape":
      case "html":
        return decode(t.text);
      default:
        return "text" in t && typeof t.text === "string" ? decode(t.text) : t.raw;
    }
  }

  /** Block tokens at `width`, blank-line separated (tight lists stay tight). */
  blocks(tokens: readonly Token[], width: number, tight = false): string[] {
    const parts: string[] = [];
    for (const t of tokens) {
      const lines = this.#block(t, width, tight);
      if (lines === null) continue;
      if (parts.length > 0 && !tight) parts.push("");
      parts.push(...lines);
    }
    return parts;
  }

  #wrap(text: string, width: number): string[] {
    return text.split("\n").flatMap((l) => wrapWords(l, Math.max(1, width)).split("\n"));
  }

  #block(t: Token, width: number, tight: boolean): string[] | null {
    switch (t.type) {
      case "space":
      case "def":
      case "checkbox":
        return null;
      case "heading": {
        const h = t as Tokens.Heading;
        const text = this.inline(h.tokens);
        if (this.#o.colour) {
          const styled = paint(paint(text, "bold", true), h.depth <= 2 ? "magenta" : "bold", true);
          return this.#wrap(h.depth === 1 ? paint(styled, "underline", true) : styled, width);
        }
        const lines = this.#wrap(text, width);
        if (h.depth > 2) return lines;
        const bar = (h.depth === 1 ? "═" : "─").repeat(
          Math.min(width, Math.max(...lines.map(displayWidth))),
        );
        return [...lines, bar];
      }
      case "paragraph":
      case "text":
        return this.#wrap(
          "tokens" in t && t.tokens ? this.inline(t.tokens) : decode(t.text),
          width,
        );
      case "html":
        return this.#wrap(decode(t.text).replace(/\n+$/, ""), width);
      case "hr":
        return [this.#p("─".repeat(width), "dim")];
      case "blockquote": {
        const inner = this.blocks((t as Tokens.Blockquote).tokens, Math.max(10, width - 2));
        return inner.map((l) => `${this.#p("│", "dim")} ${l}`);
      }
      case "list":
        return this.#list(t as Tokens.List, width);
      case "code":
        return this.#code(t as Tokens.Code);
      case "table":
        return this.#table(t as Tokens.Table, width);
      default:
        return tight ? [t.raw] : this.#wrap(t.raw.replace(/\n+$/, ""), width);
    }
  }

  #list(list: Tokens.List, width: number): string[] {
    const out: string[] = [];
    const start = typeof list.start === "number" ? list.start : 1;
    const marks = list.items.map((item, i) => {
      if (item.task) return item.checked ? "☑" : "☐";
      return list.ordered ? `${start + i}.` : "•";
    });
    const markWidth = Math.max(...marks.map(displayWidth));
    list.items.forEach((item, i) => {
      const mark = marks[i]!.padEnd(markWidth);
      const indent = markWidth + 1;
      const body = this.blocks(item.tokens, Math.max(10, width - indent - 2), !item.loose);
      if (item.loose && i > 0) out.push("");
      // Lists sit two columns in, as bullets do in a reply.
      body.forEach((line, j) => {
        out.push(
          j === 0 ? `  ${mark} ${line}` : line === "" ? "" : `  ${" ".repeat(indent)}${line}`,
        );
      });
      if (body.length === 0) out.push(`  ${mark}`);
    });
    return out;
  }

  #code(code: Tokens.Code): string[] {
    const lang = (code.lang ?? "").trim().split(/\s+/)[0] ?? "";
    const text = code.text.replace(/\t/g, "    ");
    const coloured = this.#o.colour && this.#o.highlight ? this.#o.highlight(text, lang) : null;
    const body = (coloured ?? text).split("\n");
    const gutter = this.#p("│", "dim");
    const lines = body.map((l) =>
      `${gutter} ${coloured === null && this.#o.colour ? this.#p(l, "yellow") : l}`
    );
    if (this.#o.continued || lang === "") return lines;
    return [this.#p(`╭─ ${lang}`, "dim"), ...lines];
  }

  #table(table: Tokens.Table, width: number): string[] {
    const header = table.header.map((cell) => this.inline(cell.tokens));
    const rows = table.rows.map((row) => row.map((cell) => this.inline(cell.tokens)));
    const columns = header.length;
    // Natural widths (+2 padding), then shrink the widest until the table fits.
    const widths = header.map((h, i) =>
      Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ""))) + 2
    );
    const budget = Math.max(width - (columns + 1), columns * 5);
    while (widths.reduce((a, b) => a + b, 0) > budget) {
      const widest = widths.indexOf(Math.max(...widths));
      if (widths[widest]! <= 5) break;
      widths[widest]!--;
    }
    const align = (i: number) => {
      const a = table.align[i];
      return a === "center" ? "center" : a === "right" ? "right" : "left";
    };
    const cells = (row: string[]) =>
      row.map((content, i) => ({ content, hAlign: align(i) as "left" | "center" | "right" }));
    const t = new Table({
      head: header.map((h) => this.#p(h, "bold")),
      colWidths: widths,
      wordWrap: true,
      style: { head: [], border: [], "padding-left": 1, "padding-right": 1 },
    });
    for (const row of rows) t.push(cells(row.slice(0, columns)));
    return t.toString().split("\n");
  }
}

/**
 * Renders `markdown` for the terminal; every line ends with a newline. Control characters in
 * the source are dropped first.
 *
 * @example A table and a list, without colour
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { renderMarkdown } from "./markdown.ts";
 * const out = renderMarkdown("| a | b |\n|---|---|\n| 1 | 2 |\n\n- x", { colour: false, width: 40 });
 * equal(out, "┌───┬───┐\n│ a │ b │\n├───┼───┤\n│ 1 │ 2 │\n└───┴───┘\n\n  • x\n");
 * ```
 */
export function renderMarkdown(markdown: string, options: RenderOptions): string {
  const width = Math.max(20, Math.floor(options.width));
  const source = stripControls(markdown).replace(/\t/g, "    ");
  const tokens = new Lexer({ gfm: true }).lex(source);
  const lines = new Layout(options).blocks(tokens, width);
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}
