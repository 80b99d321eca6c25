/**
 * Markdown for the terminal, streamed: {@link StreamRenderer} (token by token, word-wrapped,
 * re-flowed on resize), {@link renderMarkdown} (a whole document: tables, highlighted code)
 * and the helpers they share. Built on marked, lowlight, cli-table3, string-width and
 * wrap-ansi; the REPL imports this folder lazily, so other commands never load them.
 *
 * @example A renderer for an 80-column terminal without colour
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { terminalRenderer } from "./mod.ts";
 * const r = terminalRenderer({ colour: false, columns: 80 });
 * equal(r.push("**hi**") + r.flush(), "**hi**\r\x1b[Jhi\n");
 * ```
 *
 * @module
 */
import { createHighlighter } from "./highlight.ts";
import { StreamRenderer } from "./stream.ts";

export { createHighlighter, type Highlighter } from "./highlight.ts";
export { renderMarkdown, type RenderOptions } from "./markdown.ts";
export { type StreamOptions, StreamRenderer } from "./stream.ts";
export { displayWidth, screenRows, wrapWords } from "./wrap.ts";

/**
 * A {@link StreamRenderer} with syntax highlighting, for a terminal `columns` wide.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { terminalRenderer } from "./mod.ts";
 * const r = terminalRenderer({ colour: true, columns: 60 });
 * ok((r.push("~~~js\nlet x = 1;\n~~~\n") + r.flush()).includes("\x1b[35mlet"));
 * ```
 */
export function terminalRenderer(
  options: { readonly colour: boolean; readonly columns: number; readonly maxLiveRows?: number },
): StreamRenderer {
  return new StreamRenderer({ ...options, highlight: createHighlighter() });
}
