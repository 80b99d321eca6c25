/**
 * Loop and call guards for a snippet: acorn parses the snippet as the body of an async function,
 * and a call to the guard is inserted at the top of every loop body and every function body. The
 * guard counts iterations and checks the clock every 1024 of them; once tripped it throws on
 * every later call, so a `try`/`catch` inside a loop cannot swallow it.
 *
 * This is a convenience that stops runaway snippets early with a clear error. The wall is the
 * engine's CPU deadline, which no JavaScript can catch.
 *
 * @module
 */
import { parse } from "acorn";

interface Node {
  type: string;
  start: number;
  end: number;
  body?: Node | Node[];
  [key: string]: unknown;
}

const LOOPS = new Set([
  "ForStatement",
  "ForInStatement",
  "ForOfStatement",
  "WhileStatement",
  "DoWhileStatement",
]);
const FUNCTIONS = new Set([
  "FunctionDeclaration",
  "FunctionExpression",
  "ArrowFunctionExpression",
]);

/** The snippet's source wrapped in the async function the capsule runs. */
export const PREFIX = "(async function () {\n";
const SUFFIX = "\n})";

/**
 * Instruments `code`: returns the source of an async function expression whose body is the
 * snippet, with `guard()` calls inserted.
 *
 * @param code the snippet (may `return` and `await`)
 * @param guard the guard's identifier (unguessable, bound by the caller)
 * @returns the instrumented function expression's source
 * @throws SyntaxError when the snippet does not parse
 *
 * @example
 * ```ts ignore
 * instrument("while (true) {}", "g"); // "(async function () {\nwhile (true) {g();}\n})"
 * ```
 */
export function instrument(code: string, guard: string): string {
  const source = `${PREFIX}${code}${SUFFIX}`;
  let ast: Node;
  try {
    ast = parse(source, {
      ecmaVersion: 2022,
      sourceType: "script",
    }) as unknown as Node;
  } catch (e) {
    const m = (e as Error).message.replace(
      /\((\d+):(\d+)\)$/,
      (_, l, c) => `(${l - 1}:${c})`,
    );
    throw new SyntaxError(`Cannot parse the snippet: ${m}`);
  }
  // Insertions as [offset, text], applied from the end.
  const edits: [number, string][] = [];
  const call = `${guard}();`;
  const at = (body: Node) => {
    if (body.type === "BlockStatement") edits.push([body.start + 1, call]);
    else {
      edits.push([body.start, `{${call}`]);
      edits.push([body.end, "}"]);
    }
  };
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) visit(n);
      return;
    }
    if (
      !node || typeof node !== "object" ||
      typeof (node as Node).type !== "string"
    ) return;
    const n = node as Node;
    if (LOOPS.has(n.type) && n.body && !Array.isArray(n.body)) at(n.body);
    if (FUNCTIONS.has(n.type) && n.body && !Array.isArray(n.body)) {
      if (n.body.type === "BlockStatement") {
        edits.push([n.body.start + 1, call]);
      } else {
        // An expression-bodied arrow: `(a) => x` becomes `(a) => (g(), x)`.
        edits.push([n.body.start, `(${guard}(), `]);
        edits.push([n.body.end, ")"]);
      }
    }
    for (const [key, value] of Object.entries(n)) {
      if (key !== "type" && key !== "start" && key !== "end") visit(value);
    }
  };
  visit(ast);
  // Stable order: later offsets first; at one offset, closing text before opening text.
  edits.sort((a, b) => b[0] - a[0]);
  let out = source;
  for (const [offset, text] of edits) {
    out = out.slice(0, offset) + text + out.slice(offset);
  }
  return out;
}
