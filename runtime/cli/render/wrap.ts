/**
 * Measuring and word-wrapping terminal text (ANSI styles allowed): words are never broken
 * mid-way; only a single word wider than the whole line is left to overflow it.
 *
 * @module
 */
import stringWidth from "string-width";
import wrapAnsi from "wrap-ansi";

/**
 * Columns `text` takes on screen (ANSI styles take none; wide characters take two).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { displayWidth } from "./wrap.ts";
 * equal(displayWidth("\x1b[1mab\x1b[22m日"), 4);
 * ```
 */
export function displayWidth(text: string): number {
  return stringWidth(text);
}

/**
 * Word-wraps every line of `text` to `width` columns, at spaces only.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { wrapWords } from "./wrap.ts";
 * equal(wrapWords("the quick brown fox", 10), "the quick\nbrown fox");
 * ```
 */
export function wrapWords(text: string, width: number): string {
  if (width < 1) throw new RangeError(`Cannot wrap text: current width is ${width}`);
  return wrapAnsi(text, width, { hard: false, trim: true, wordWrap: true });
}

/**
 * The terminal rows `text` occupies on a screen `columns` wide, counting a line wider than the
 * screen as the rows the terminal wraps it into. The last line counts even when empty (it is
 * the row the cursor is on).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { screenRows } from "./wrap.ts";
 * equal(screenRows("ab\n", 80), 2);
 * equal(screenRows("x".repeat(100), 40), 3);
 * ```
 */
export function screenRows(text: string, columns: number): number {
  let rows = 0;
  for (const line of text.split("\n")) {
    rows += Math.max(1, Math.ceil(displayWidth(line) / Math.max(1, columns)));
  }
  return rows;
}
