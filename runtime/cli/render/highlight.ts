/**
 * Syntax highlighting for fenced code blocks: lowlight (highlight.js grammars, the `common`
 * set of about 37 languages) tokenises, and each token class maps to one ANSI colour.
 *
 * @module
 */
import { common, createLowlight } from "lowlight";
import { paint, type Style } from "../markdown.ts";

/** Highlights `code` written in `lang`; null when the language is unknown. */
export type Highlighter = (code: string, lang: string) => string | null;

/** highlight.js token classes (without `hljs-`) and their colours. */
const THEME: Readonly<Record<string, Style>> = {
  keyword: "magenta",
  built_in: "cyan",
  type: "cyan",
  literal: "yellow",
  number: "yellow",
  string: "green",
  regexp: "red",
  symbol: "yellow",
  comment: "grey",
  doc: "grey",
  meta: "grey",
  title: "blue",
  "title.function_": "blue",
  "title.class_": "cyan",
  attr: "cyan",
  attribute: "cyan",
  property: "cyan",
  tag: "blue",
  name: "blue",
  section: "bold",
  strong: "bold",
  emphasis: "italic",
  addition: "green",
  deletion: "red",
  variable: "red",
  "template-variable": "red",
  subst: "red",
  params: "yellow",
};

interface HastText {
  type: "text";
  value: string;
}
interface HastElement {
  type: "element";
  properties?: { className?: unknown };
  children: HastNode[];
}
type HastNode = HastText | HastElement | { type: string; children?: HastNode[] };

function styleOf(node: HastElement): Style | undefined {
  const names = Array.isArray(node.properties?.className) ? node.properties.className : [];
  for (const name of names) {
    const key = String(name).replace(/^hljs-/, "");
    const style = THEME[key] ?? THEME[key.split(".")[0] ?? ""];
    if (style) return style;
  }
  return undefined;
}

/** ANSI for a node; styles are applied per line so every line can stand on its own. */
function toAnsi(node: HastNode, inherited: Style | undefined): string {
  if (node.type === "text") {
    const value = (node as HastText).value;
    if (!inherited) return value;
    return value.split("\n").map((l) => paint(l, inherited, true)).join("\n");
  }
  const style = node.type === "element" ? styleOf(node as HastElement) ?? inherited : inherited;
  return ((node as { children?: HastNode[] }).children ?? []).map((c) => toAnsi(c, style)).join(
    "",
  );
}

/**
 * Builds the highlighter (lowlight's common languages, with their aliases: `ts`, `sh`, `py`…).
 *
 * @example Keywords and strings are coloured; an unknown language is left alone
 * ```ts
 * import { equal, ok } from "node:assert/strict";
 * import { createHighlighter } from "./highlight.ts";
 * const hl = createHighlighter();
 * ok(hl('const a = "x";', "ts")?.includes("\x1b[35mconst\x1b[39m"));
 * equal(hl("x", "no-such-language"), null);
 * ```
 */
export function createHighlighter(): Highlighter {
  const lowlight = createLowlight(common);
  return (code, lang) => {
    const name = lang.toLowerCase();
    if (name === "" || !lowlight.registered(name)) return null;
    try {
      return toAnsi(lowlight.highlight(name, code) as HastNode, undefined);
    } catch {
      return null; // a grammar that throws on odd input: show the code plain
    }
  };
}
