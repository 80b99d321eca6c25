/**
 * Private: where each command's standard input comes from, read from mvdan-sh syntax trees
 * (see _sh_ast.ts), and the literal text of here-documents and here-strings. Used by shell.ts.
 *
 * @module
 */
import { fromGo, type GoNode, isNil, isSlice, items, renderWord, typeOf } from "./_sh_ast.ts";
import type { StdinKind } from "./shell_types.ts";

/** A command's stdin; for a here-document or here-string, the redirect that feeds it. */
export interface Stdin {
  readonly kind: StdinKind;
  readonly redirect?: GoNode;
}

/** Shared stdin values (identity marks "unchanged since the root"). */
export const STDIN = {
  inherit: { kind: "inherit" },
  pipe: { kind: "pipe" },
  heredoc: { kind: "heredoc" },
  herestring: { kind: "herestring" },
  file: { kind: "file" },
  procsub: { kind: "procsub" },
  closed: { kind: "closed" },
  unknown: { kind: "unknown" },
} as const satisfies Record<StdinKind, Stdin>;

// mvdan/sh 0.10.1 token numbers (syntax/tokens.go), pinned by shell_test.ts.
const OP_PIPE = 12; // |
const OP_PIPE_ALL = 13; // |&
const OP_RDR_IN = 56; // <
const OP_RDR_IN_OUT = 57; // <>
const OP_DPL_IN = 58; // <&
const OP_HDOC = 61; // <<
const OP_DASH_HDOC = 62; // <<-
const OP_WORD_HDOC = 63; // <<<
const OP_PROC_OUT = 67; // >(

/**
 * {@linkcode walk}, also telling each node the standard input of the commands below it:
 * the right side of a pipe reads the pipe, a statement's `<`, `<<`, `<<<` or `<&` replace it,
 * `>( )` reads what is written to it, a function body's and a coprocess's are unknown or a
 * pipe. Commands in `$( )` and `<( )` keep the current one.
 *
 * @example The right side of a pipe reads the pipe
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { newGoParser } from "./_sh_ast.ts";
 * import { STDIN, walkStdin } from "./_sh_stdin.ts";
 * const kinds: string[] = [];
 * walkStdin(newGoParser().Parse("a | b; c <<< x", "x").__internal_object__, STDIN.inherit, (t, _n, s) => {
 *   if (t === "CallExpr") kinds.push(s.kind);
 * });
 * deepEqual(kinds, ["inherit", "pipe", "herestring"]);
 * ```
 */
export function walkStdin(
  node: GoNode,
  stdin: Stdin,
  visit: (type: string, node: GoNode, stdin: Stdin) => void,
): void {
  const type = typeOf(node);
  if (type === "Pos") return;
  if (type !== "") visit(type, node, stdin);
  let inner = stdin;
  let piped: unknown;
  if (type === "Stmt") inner = node.Coprocess ? STDIN.pipe : redirectedStdin(node, stdin);
  else if (type === "BinaryCmd" && (node.Op === OP_PIPE || node.Op === OP_PIPE_ALL)) piped = node.Y;
  else if (type === "ProcSubst" && node.Op === OP_PROC_OUT) inner = STDIN.pipe;
  else if (type === "CoprocClause") inner = STDIN.pipe;
  else if (type === "FuncDecl") inner = STDIN.unknown;
  for (const key in node) {
    if (key[0] === "$") continue;
    const value = node[key];
    if (isSlice(value)) {
      for (const item of items(value)) {
        if (!isNil(item) && typeOf(item) !== "") walkStdin(item, inner, visit);
      }
    } else if (!isNil(value) && typeOf(value as GoNode) !== "") {
      walkStdin(value as GoNode, value === piped ? STDIN.pipe : inner, visit);
    }
  }
}

/** A statement's stdin after its own redirects of fd 0 (the last one wins). */
function redirectedStdin(stmt: GoNode, stdin: Stdin): Stdin {
  let result = stdin;
  for (const r of items(stmt.Redirs)) {
    if (!isNil(r.N) && (r.N as GoNode).Value !== "0") continue;
    const op = r.Op;
    if (op === OP_RDR_IN || op === OP_RDR_IN_OUT) {
      const word = r.Word as GoNode;
      if (items(word.Parts).some((p) => typeOf(p) === "ProcSubst")) result = STDIN.procsub;
      else result = renderWord(word) === "/dev/null" ? STDIN.closed : STDIN.file;
    } else if (op === OP_DPL_IN) {
      const target = renderWord(r.Word as GoNode);
      if (target === "-") result = STDIN.closed;
      else if (target !== "0") result = STDIN.unknown;
    } else if (op === OP_HDOC || op === OP_DASH_HDOC) {
      result = { kind: "heredoc", redirect: r };
    } else if (op === OP_WORD_HDOC) {
      result = { kind: "herestring", redirect: r };
    }
  }
  return result;
}

/**
 * The text a here-document or here-string feeds, when it holds no expansion (a JS string,
 * with the newline bash adds to a here-string); undefined otherwise.
 *
 * @example A quoted here-document is literal
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { newGoParser } from "./_sh_ast.ts";
 * import { literalInput, STDIN, type Stdin, walkStdin } from "./_sh_stdin.ts";
 * let text: string | undefined;
 * walkStdin(newGoParser().Parse("sh <<'E'\nls $X\nE", "x").__internal_object__, STDIN.inherit, (t, _n, s: Stdin) => {
 *   if (t === "CallExpr") text = literalInput(s);
 * });
 * equal(text, "ls $X\n");
 * ```
 */
export function literalInput(stdin: Stdin): string | undefined {
  const r = stdin.redirect;
  if (r === undefined) return undefined;
  if (stdin.kind === "herestring") {
    const value = renderWord(r.Word as GoNode);
    return value === undefined ? undefined : `${fromGo(value)}\n`;
  }
  if (isNil(r.Hdoc)) return "";
  const parts = items((r.Hdoc as GoNode).Parts);
  if (parts.some((p) => typeOf(p) !== "Lit")) return undefined;
  const raw = parts.map((p) => p.Value as string).join("");
  const quoted = items((r.Word as GoNode).Parts).some((p) =>
    typeOf(p) !== "Lit" || (p.Value as string).includes("\\")
  );
  return fromGo(
    quoted ? raw : raw.replace(/\\([$`\\\n])/g, (_m, c: string) => c === "\n" ? "" : c),
  );
}
