/**
 * Terminal styling shared by the CLI: {@link paint} (ANSI styles, only when colour is on) and
 * {@link stripControls} (model or tool text can never move the cursor or rewrite the screen).
 * Streamed markdown itself is rendered by runtime/cli/render/ (marked, lowlight, cli-table3),
 * which the REPL imports lazily.
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
  green: [`${ESC}32m`, `${ESC}39m`],
  blue: [`${ESC}34m`, `${ESC}39m`],
  red: [`${ESC}31m`, `${ESC}39m`],
  grey: [`${ESC}90m`, `${ESC}39m`],
  strike: [`${ESC}9m`, `${ESC}29m`],
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
