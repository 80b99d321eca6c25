/**
 * Shell command-line parsing for policy checks, with a real shell parser (mvdan/sh compiled
 * to JS), never regular expressions. Finds every simple command wherever it hides: lists,
 * pipelines, subshells, groups, `$( )`, backticks, process substitution, compound commands,
 * function bodies, `bash -c` / `eval` scripts (recursively) and `find -exec`.
 *
 * @module
 */
import { basename, wrapperChain } from "./_argv.ts";
import { findExecSpans, innerScript, isStdinPath, readsScriptFromStdin } from "./_scripts.ts";
import {
  fromGo,
  type GoNode,
  type GoParser,
  type GoPos,
  isNil,
  items,
  newGoParser,
  renderWord,
  typeOf,
} from "./_sh_ast.ts";
import { literalInput, STDIN, type Stdin, walkStdin } from "./_sh_stdin.ts";
import type { CommandDetail, ParsedCommandLine, WordKind } from "./shell_types.ts";

export type { CommandDetail, ParsedCommandLine, StdinKind, WordKind } from "./shell_types.ts";

/**
 * Longest command line accepted, in UTF-8 bytes.
 *
 * @example Longer lines fail closed
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { MAX_COMMAND_LINE_BYTES, parseCommandLine } from "./shell.ts";
 * throws(() => parseCommandLine("x".repeat(MAX_COMMAND_LINE_BYTES + 1)), SyntaxError);
 * ```
 */
export const MAX_COMMAND_LINE_BYTES = 64 * 1024;
/**
 * Deepest `bash -c` / `eval` nesting accepted.
 *
 * @example Deeper nesting fails closed
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { MAX_NESTING, parseCommandLine } from "./shell.ts";
 * throws(() => parseCommandLine("eval ".repeat(MAX_NESTING + 1) + "id"), SyntaxError);
 * ```
 */
export const MAX_NESTING = 16;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HEREDOC_OPS = new Set(["<<", "<<-"]);

/**
 * A reusable parser: reusing the underlying mvdan/sh parser is several times faster than
 * creating one per line. Not safe to share across threads; parsing is synchronous.
 *
 * @example Keep one per policy and parse many lines
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { CommandLineParser } from "./shell.ts";
 * const parser = new CommandLineParser();
 * deepEqual(parser.parse("(sudo id)").commands, [["sudo", "id"]]);
 * deepEqual(parser.parseArgv(["sh", "-c", "ls"]).commands, [["sh", "-c", "ls"], ["ls"]]);
 * ```
 */
export class CommandLineParser {
  #parser: GoParser | undefined;

  /** Same as {@linkcode parseCommandLine}. */
  parse(line: string): ParsedCommandLine {
    if (typeof line !== "string") {
      throw new TypeError(`Cannot parse command: current value is ${typeof line}, not a string`);
    }
    const out: ParsedCommandLine = { commands: [], redirects: [], dynamic: false, details: [] };
    parseInto(line, 0, out, this.#parse, STDIN.inherit);
    return out;
  }

  /** Same as {@linkcode parseArgv}. */
  parseArgv(argv: readonly string[]): ParsedCommandLine {
    const out: ParsedCommandLine = { commands: [], redirects: [], dynamic: false, details: [] };
    addCommand([...argv], argv.map(() => "literal"), STDIN.inherit, 0, out, this.#parse);
    return out;
  }

  #parse = (src: string): GoNode => {
    this.#parser ??= newGoParser();
    try {
      return this.#parser.Parse(src, "command").__internal_object__;
    } catch (e) {
      this.#parser = undefined; // start clean after a failure
      throw e;
    }
  };
}

/**
 * Parses a shell command line (bash dialect). Throws `SyntaxError` ("Cannot parse command: …")
 * when the line does not parse, is over 64 KiB, or nests `-c` / `eval` deeper than 16 levels.
 *
 * @example Hidden commands are found
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { parseCommandLine } from "./shell.ts";
 * const parsed = parseCommandLine(`echo ok && bash -c "s'u'do id" > /tmp/out`);
 * deepEqual(parsed.commands, [["echo", "ok"], ["bash", "-c", "s'u'do id"], ["sudo", "id"]]);
 * deepEqual(parsed.redirects, [{ op: ">", target: "/tmp/out" }]);
 * ```
 */
export function parseCommandLine(line: string): ParsedCommandLine {
  return new CommandLineParser().parse(line);
}

/**
 * Expands one argv as a command would run it: the argv itself, then the commands of any
 * `bash -c` / `eval` script it carries (through wrappers such as `env` or `xargs`).
 *
 * @example A wrapped shell script is expanded
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { parseArgv } from "./shell.ts";
 * deepEqual(parseArgv(["env", "sh", "-c", "sudo id"]).commands, [
 *   ["env", "sh", "-c", "sudo id"],
 *   ["sudo", "id"],
 * ]);
 * ```
 */
export function parseArgv(argv: readonly string[]): ParsedCommandLine {
  return new CommandLineParser().parseArgv(argv);
}

type ParseFn = (src: string) => GoNode;

function parseInto(
  src: string,
  depth: number,
  out: ParsedCommandLine,
  parse: ParseFn,
  stdin: Stdin,
): void {
  if (depth > MAX_NESTING) {
    throw new SyntaxError(
      `Cannot parse command: current nesting is over ${MAX_NESTING} levels of -c or eval`,
    );
  }
  const bytes = encoder.encode(src);
  if (bytes.length > MAX_COMMAND_LINE_BYTES) {
    throw new SyntaxError(
      `Cannot parse command: current length is ${bytes.length} bytes, over ${MAX_COMMAND_LINE_BYTES}`,
    );
  }
  let file: GoNode;
  try {
    file = parse(src);
  } catch (e) {
    const detail = (e as { Error?: () => string }).Error?.() ?? String(e);
    throw new SyntaxError(`Cannot parse command: ${detail}`);
  }
  const slice = (start: number, end: number) => decoder.decode(bytes.subarray(start, end));
  let lastKind: WordKind = "literal"; // the kind of the word last rendered
  const word = (w: GoNode): string => {
    const value = renderWord(w);
    lastKind = "literal";
    if (value !== undefined) return fromGo(value);
    out.dynamic = true;
    lastKind = items(w.Parts).some((p) => typeOf(p) === "ProcSubst") ? "procsub" : "dynamic";
    return slice(w.Pos().Offset(), w.End().Offset());
  };
  const found: { argv: string[]; words: WordKind[]; stdin: Stdin }[] = [];
  let execMovesStdin = false;
  walkStdin(file, stdin, (type, node, current) => {
    if (type === "CallExpr") {
      const args = items(node.Args);
      if (args.length === 0) return;
      const argv: string[] = [];
      const words: WordKind[] = [];
      for (const a of args) {
        argv.push(word(a));
        words.push(lastKind);
      }
      found.push({ argv, words, stdin: current });
      // `exec < f` moves the stdin of every later command.
      if (argv.length === 1 && argv[0] === "exec" && current !== stdin) execMovesStdin = true;
    } else if (type === "Assign" && isStartupAssign(node)) {
      out.startupFile = true;
    } else if (type === "Redirect") {
      const target = isNil(node.Word) ? undefined : node.Word as GoNode;
      const opStart = (node.OpPos as GoPos).Offset();
      const opEnd = target ? target.Pos().Offset() : node.End().Offset();
      const op = slice(opStart, opEnd).trim();
      out.redirects.push({ op, target: target && !HEREDOC_OPS.has(op) ? word(target) : "" });
    }
  });
  for (const c of found) {
    const fed = execMovesStdin && c.stdin === stdin ? STDIN.unknown : c.stdin;
    addCommand(c.argv, c.words, fed, depth, out, parse);
  }
}

function addCommand(
  argv: string[],
  words: WordKind[],
  stdin: Stdin,
  depth: number,
  out: ParsedCommandLine,
  parse: ParseFn,
): void {
  const detail: CommandDetail = { stdin: stdin.kind, words };
  out.commands.push(argv);
  out.details.push(detail);
  // Nested scripts read the same stdin, but not the text that fed this command's script.
  const inherited = stdin.redirect === undefined ? stdin : STDIN[stdin.kind];
  for (const level of wrapperChain(argv)) {
    const name = basename(level[0] ?? "");
    const script = innerScript(level);
    if (script !== undefined) {
      const fed = name === "trap" || name === "watch" ? STDIN.unknown : inherited;
      parseInto(script, depth + 1, out, parse, fed);
    } else if (detail.stdinText === undefined && readsScriptFromStdin(level)) {
      const text = literalInput(stdin);
      if (text !== undefined && parseStdinScript(text, depth + 1, out, parse, inherited)) {
        detail.stdinText = text;
      }
    }
    if (name === "alias") {
      for (const a of level.slice(1)) {
        const eq = a.indexOf("=");
        if (eq > 0) parseInto(a.slice(eq + 1), depth + 1, out, parse, STDIN.unknown);
      }
    }
    if (name === "find") {
      const offset = argv.length - level.length; // find's words are a suffix of argv
      for (const [start, end] of findExecSpans(level)) {
        const sub = level.slice(start, end);
        const kinds = sub.map((_, k): WordKind => words[offset + start + k] ?? "literal");
        addCommand(sub, kinds, inherited, depth + 1, out, parse);
      }
    }
  }
}

/**
 * Parses the literal script a shell reads from a here-document or here-string. Such text is
 * input, not part of the line: when it does not parse, the line still does, and the shell
 * stays unparsed (opaque.ts then treats it as code the policy cannot read).
 */
function parseStdinScript(
  text: string,
  depth: number,
  out: ParsedCommandLine,
  parse: ParseFn,
  stdin: Stdin,
): boolean {
  const sub: ParsedCommandLine = { commands: [], redirects: [], dynamic: false, details: [] };
  try {
    parseInto(text, depth, sub, parse, stdin);
  } catch (e) {
    if (e instanceof SyntaxError) return false;
    throw e;
  }
  out.commands.push(...sub.commands);
  out.redirects.push(...sub.redirects);
  out.details.push(...sub.details);
  out.dynamic ||= sub.dynamic;
  if (sub.startupFile) out.startupFile = true;
  return true;
}

/** `BASH_ENV=…` or `ENV=…` with a value the policy cannot read as a plain file. */
function isStartupAssign(assign: GoNode): boolean {
  const name = isNil(assign.Name) ? "" : (assign.Name as GoNode).Value;
  if (name !== "BASH_ENV" && name !== "ENV") return false;
  if (isNil(assign.Value)) return true; // `export BASH_ENV`: inherited, unknown
  const value = renderWord(assign.Value as GoNode);
  return value === undefined || isStdinPath(value);
}
