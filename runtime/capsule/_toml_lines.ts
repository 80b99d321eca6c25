/**
 * Finds the line of a key in TOML text, so manifest errors can say "line 12". It understands
 * `[table]`, `[table.sub]`, `[[array]]` headers and `key = value` lines; anything it cannot place
 * falls back to the nearest table header, then to line 1.
 *
 * @module
 */

type Segment = string | number;

const HEADER = /^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/;
const KEY = /^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*=/;

function unquote(s: string): string {
  if (s.startsWith('"') || s.startsWith("'")) return s.slice(1, -1);
  return s;
}

function headerPath(raw: string): string[] {
  const parts: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|'[^']*'|[^.\s]+)\s*(?:\.|$)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(raw)) !== null && m[0] !== "") parts.push(unquote(m[1]!));
  return parts;
}

/**
 * Returns the 1-based line of `path` (as zod reports it: table names, array indexes, keys).
 *
 * @example Keys in tables and array tables
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { lineOf } from "./_toml_lines.ts";
 * const text = '[package]\nname = "x"\n\n[[tool]]\nname = "a"\n[[tool]]\nname = "b"\nbad = 1\n';
 * equal(lineOf(text, ["package", "name"]), 2);
 * equal(lineOf(text, ["tool", 1, "bad"]), 8);
 * equal(lineOf(text, ["tool", 1]), 6);
 * ```
 */
export function lineOf(text: string, path: readonly Segment[]): number {
  const lines = text.split(/\r?\n/);
  const arrayCounts = new Map<string, number>();
  // The table the cursor is in, as a path with array indexes resolved.
  let current: Segment[] = [];
  let best = { depth: -1, line: 1 };
  const consider = (candidate: Segment[], line: number) => {
    if (candidate.length > path.length) return;
    for (let i = 0; i < candidate.length; i++) {
      if (String(candidate[i]) !== String(path[i])) return;
    }
    if (candidate.length > best.depth) best = { depth: candidate.length, line };
  };
  lines.forEach((text, index) => {
    const line = index + 1;
    const header = HEADER.exec(text);
    if (header) {
      const names = headerPath(header[2]!);
      if (header[1] === "[[") {
        const key = names.join("\u0000");
        const n = arrayCounts.get(key) ?? 0;
        arrayCounts.set(key, n + 1);
        current = [...names, n];
        consider(names, line);
      } else {
        current = names;
      }
      consider(current, line);
      return;
    }
    const key = KEY.exec(text);
    if (key) {
      consider([...current, unquote(key[1]!)], line);
    }
  });
  return best.line;
}
