/**
 * Private: a fast reader for mvdan-sh syntax trees, used by shell.ts.
 *
 * @module
 */
// mvdan-sh is gopherjs output without types. Its public wrappers (syntax.Walk, NodeType and
// wrapped nodes) cost about 20 µs per node, so we read the underlying gopherjs objects of the
// pinned 0.10.1 build directly: a node's `constructor.string` is its Go type ("*syntax.Lit"),
// nil pointers are `constructor.nil`, slices are {$array, $offset, $length}, and Go strings
// are byte strings (one char per UTF-8 byte). shell_test.ts pins this behaviour.
/** A source position (byte offset via `Offset()`). */
export interface GoPos {
  Offset(): number;
}
/** Any gopherjs syntax node. */
export interface GoNode {
  constructor: { string?: string; nil?: unknown };
  Pos(): GoPos;
  End(): GoPos;
  [field: string]: unknown;
}
/** A gopherjs slice. */
export interface GoSlice {
  $array: unknown[];
  $offset: number;
  $length: number;
}
/** The mvdan/sh parser. Reusable; `Parse` resets it. */
export interface GoParser {
  Parse(src: string, name: string): { __internal_object__: GoNode };
}
/**
 * mvdan-sh's `syntax` namespace, loaded on first use: evaluating the package is the largest
 * single cost of the runtime's module graph, and most commands never parse a shell line. It is
 * CommonJS, so a synchronous `require` from this file's folder finds it in the project's
 * node_modules (`nodeModulesDir: auto`, which installs every package of deno.json's imports; the
 * runtime's read grant covers it). No literal `import("mvdan-sh")` anywhere: Deno would prepare
 * the package whenever this file loads (about 3 ms of every command that screens an action).
 */
let syntax: GoSyntax | undefined;
interface GoSyntax {
  NewParser(): GoParser;
}
function loadSyntax(): GoSyntax {
  if (syntax) return syntax;
  // node:module is taken when first needed: importing it costs the start-up of every command.
  // The global `process`, not an import of node:process: importing it at start-up switched on
  // Deno's Node compatibility layer (about 10 ms) for every command that loads this file.
  const host = globalThis as unknown as { process: { getBuiltinModule(id: string): unknown } };
  const { createRequire } = host.process.getBuiltinModule(
    "node:module",
  ) as typeof import("node:module");
  syntax = (createRequire(import.meta.url)("mvdan-sh") as { syntax: GoSyntax }).syntax;
  return syntax;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A new mvdan/sh parser (bash dialect). Its `Parse` returns a wrapper; read
 * `__internal_object__` to get the GoNode this file walks.
 *
 * @example Parse and walk
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { newGoParser, walk } from "./_sh_ast.ts";
 * const file = newGoParser().Parse("a | b", "x").__internal_object__;
 * const seen: string[] = [];
 * walk(file, (type) => void (type === "CallExpr" && seen.push(type)));
 * deepEqual(seen, ["CallExpr", "CallExpr"]);
 * ```
 */
export function newGoParser(): GoParser {
  return loadSyntax().NewParser();
}

/**
 * True for a Go nil pointer (or anything that is not a node).
 *
 * @example An absent redirect word is nil
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { isNil } from "./_sh_ast.ts";
 * ok(isNil(null));
 * ```
 */
export function isNil(v: unknown): boolean {
  if (v === null || v === undefined || typeof v !== "object") return true;
  return v === (v as GoNode).constructor?.nil;
}

/** True for a Go slice ({@linkcode items} reads it). */
export function isSlice(v: unknown): v is GoSlice {
  return typeof v === "object" && v !== null && "$array" in v;
}

/**
 * The elements of a Go slice.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { items, newGoParser } from "./_sh_ast.ts";
 * equal(items(newGoParser().Parse("a; b", "x").__internal_object__.Stmts).length, 2);
 * ```
 */
export function items(v: unknown): GoNode[] {
  if (!isSlice(v)) return [];
  return v.$array.slice(v.$offset, v.$offset + v.$length) as GoNode[];
}

/**
 * The Go type of a syntax node without its package (`"CallExpr"`), or "" for other values.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { newGoParser, typeOf } from "./_sh_ast.ts";
 * equal(typeOf(newGoParser().Parse("ls", "x").__internal_object__), "File");
 * ```
 */
export function typeOf(node: GoNode): string {
  const name = node.constructor?.string ?? "";
  return name.startsWith("*syntax.") ? name.slice(8) : "";
}

/**
 * Visits every syntax node below `node`, parents before children, in field order.
 *
 * @example Commands inside `$( )` are visited
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { newGoParser, walk } from "./_sh_ast.ts";
 * let calls = 0;
 * walk(newGoParser().Parse("echo $(id)", "x").__internal_object__, (t) => {
 *   if (t === "CallExpr") calls++;
 * });
 * equal(calls, 2);
 * ```
 */
export function walk(node: GoNode, visit: (type: string, node: GoNode) => void): void {
  const type = typeOf(node);
  if (type !== "") visit(type, node);
  for (const key in node) {
    if (key[0] === "$") continue;
    const value = node[key];
    if (isSlice(value)) {
      for (const item of items(value)) if (!isNil(item) && typeOf(item) !== "") walk(item, visit);
    } else if (!isNil(value) && typeOf(value as GoNode) !== "") {
      walk(value as GoNode, visit);
    }
  }
}

/**
 * Go byte string → JS string.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { fromGo } from "./_sh_ast.ts";
 * equal(fromGo("\u00c3\u00a9"), "é");
 * ```
 */
export function fromGo(s: string): string {
  if (!/[\u0080-\u00ff]/.test(s)) return s;
  return decoder.decode(Uint8Array.from(s, (c) => c.charCodeAt(0)));
}

/** JS string → Go byte string. */
function toGo(s: string): string {
  return String.fromCharCode(...encoder.encode(s));
}

/**
 * The literal value of a word (as a Go byte string), or undefined when it holds an expansion.
 *
 * @example Quotes and escapes are removed; expansions give undefined
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { items, newGoParser, renderWord, walk } from "./_sh_ast.ts";
 * const words: (string | undefined)[] = [];
 * walk(newGoParser().Parse(`s"u"\\do $X`, "x").__internal_object__, (t, n) => {
 *   if (t === "CallExpr") for (const w of items(n.Args)) words.push(renderWord(w));
 * });
 * equal(words[0], "sudo");
 * equal(words[1], undefined);
 * ```
 */
export function renderWord(w: GoNode): string | undefined {
  let text = "";
  for (const part of items(w.Parts)) {
    const type = typeOf(part);
    if (type === "Lit") {
      const raw = part.Value as string;
      // Unquoted glob or brace-expansion characters make the word's value unknown.
      const bare = raw.replace(/\\./gs, "");
      if (/[*?]|\[.*\]|\{.*(,|\.\.).*\}/s.test(bare)) return undefined;
      text += raw.replace(/\\(\n|.)/gs, (_m, c: string) => c === "\n" ? "" : c);
    } else if (type === "SglQuoted") {
      text += part.Dollar ? decodeAnsiC(part.Value as string) : part.Value as string;
    } else if (type === "DblQuoted") {
      for (const inner of items(part.Parts)) {
        if (typeOf(inner) !== "Lit") return undefined;
        text += (inner.Value as string).replace(
          /\\([$`"\\\n])/g,
          (_m, c: string) => c === "\n" ? "" : c,
        );
      }
    } else {
      return undefined;
    }
  }
  return text;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: "\x07",
  b: "\b",
  e: "\x1b",
  E: "\x1b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\\": "\\",
  "'": "'",
  '"': '"',
  "?": "?",
};

/** Decodes bash `$'…'` (ANSI-C) quoting so `$'\x73udo'` reads as `sudo` (Go byte strings). */
function decodeAnsiC(s: string): string {
  return s.replace(
    /\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}|[0-7]{1,3}|c.|.)/gs,
    (_m, e: string) => {
      const head = e[0]!;
      if (head === "x" || head === "u" || head === "U") {
        const cp = parseInt(e.slice(1), 16);
        if (head === "x") return String.fromCharCode(cp);
        return cp <= 0x10ffff ? toGo(String.fromCodePoint(cp)) : "";
      }
      if (/[0-7]/.test(head)) return String.fromCharCode(parseInt(e, 8) & 0xff);
      if (head === "c" && e.length === 2) return String.fromCharCode(e.charCodeAt(1) & 0x1f);
      return SIMPLE_ESCAPES[head] ?? `\\${e}`;
    },
  );
}
