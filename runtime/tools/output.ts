/**
 * The output cap every tool result passes through.
 *
 * @module
 */

/** The default cap on a tool's output, in characters. */
export const DEFAULT_MAX_OUTPUT_CHARS = 30_000;

/** A capped text and how much was cut from it. */
export interface CappedOutput {
  /** The text, ending with a truncation marker when something was cut. */
  readonly text: string;
  /** How many characters were cut (0 when none). */
  readonly cut: number;
}

/**
 * Caps `text` at `max` characters, keeping the head and appending a marker that says how much
 * was cut. `extraCut` adds characters already dropped upstream (e.g. by a byte cap).
 *
 * @example Long output gets a marker
 * ```ts
 * import { equal, match } from "node:assert/strict";
 * import { capOutput } from "./output.ts";
 * const { text, cut } = capOutput("x".repeat(50), 10);
 * equal(cut, 40);
 * match(text, /truncated: 40 of 50 characters cut/);
 * ```
 */
export function capOutput(
  text: string,
  max: number = DEFAULT_MAX_OUTPUT_CHARS,
  extraCut = 0,
): CappedOutput {
  if (!Number.isInteger(max) || max < 1) {
    throw new RangeError(
      `Cannot cap output: max must be a positive integer, current value is ${max}`,
    );
  }
  if (text.length <= max && extraCut === 0) return { text, cut: 0 };
  const kept = text.slice(0, Math.min(max, text.length));
  const cut = text.length - kept.length + extraCut;
  const total = text.length + extraCut;
  return {
    text: `${kept}\n\n[... output truncated: ${cut} of ${total} characters cut ...]`,
    cut,
  };
}
