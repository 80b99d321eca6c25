/**
 * Shell command-line parsing for policy checks, with a real shell parser (mvdan/sh compiled
 * to JS), never regular expressions. Finds every simple command wherever it hides: lists,
 * pipelines, subshells, groups, `$( )`, backticks, process substitution, compound commands,
 * function bodies, `bash -c` / `eval` scripts (recursively) and `find -exec`.
 *
 * @module
 */
import { basename, innerScript, wrapperChain } from "./_argv.ts";
import {
  fromGo,
  type GoNode,
  type GoParser,
  type GoPos,
  isNil,
  items,
  newGoParser,
  renderWord,
  walk,
} from "./_sh_ast.ts";

/**
 * What a command line runs and where it redirects.
 *
 * @example Reading a parsed line
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { type ParsedCommandLine, parseCommandLine } from "./shell.ts";
 * const parsed: ParsedCommandLine = parseCommandLine("cat $FILE > out");
 * equal(parsed.commands[0]?.[1], "$FILE");
 * equal(parsed.dynamic, true);
 * ```
 */
export interface ParsedCommandLine {
  /** The argv of every simple command, in source order (nested scripts after their caller). */
  commands: string[][];
  /** Every redirect: operator (`>`, `>>`, `<`, `&>`, `>&`, `<<`…) and target word. */
  redirects: { op: string; target: string }[];
  /** True when some word holds an expansion (`$X`, `$(…)`, globs, braces): its value is unknown. */
  dynamic: boolean;
}

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
    const out: ParsedCommandLine = { commands: [], redirects: [], dynamic: false };
    parseInto(line, 0, out, this.#parse);
    return out;
  }

  /** Same as {@linkcode parseArgv}. */
  parseArgv(argv: readonly string[]): ParsedCommandLine {
    const out: ParsedCommandLine = { commands: [], redirects: [], dynamic: false };
    addCommand([...argv], 0, out, this.#parse);
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

function parseInto(src: string, depth: number, out: ParsedCommandLine, parse: ParseFn): void {
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
  const word = (w: GoNode): string => {
    const value = renderWord(w);
    if (value !== undefined) return fromGo(value);
    out.dynamic = true;
    return slice(w.Pos().Offset(), w.End().Offset());
  };
  const found: { argv: string[] }[] = [];
  walk(file, (type, node) => {
    if (type === "CallExpr") {
      const args = items(node.Args);
      if (args.length > 0) found.push({ argv: args.map(word) });
    } else if (type === "Redirect") {
      const target = isNil(node.Word) ? undefined : node.Word as GoNode;
      const opStart = (node.OpPos as GoPos).Offset();
      const opEnd = target ? target.Pos().Offset() : node.End().Offset();
      const op = slice(opStart, opEnd).trim();
      out.redirects.push({ op, target: target && !HEREDOC_OPS.has(op) ? word(target) : "" });
    }
  });
  for (const { argv } of found) addCommand(argv, depth, out, parse);
}

function addCommand(
  argv: string[],
  depth: number,
  out: ParsedCommandLine,
  parse: ParseFn,
): void {
  out.commands.push(argv);
  for (const level of wrapperChain(argv)) {
    const name = basename(level[0] ?? "");
    const script = innerScript(level);
    if (script !== undefined) parseInto(script, depth + 1, out, parse);
    if (name === "alias") {
      for (const a of level.slice(1)) {
        const eq = a.indexOf("=");
        if (eq > 0) parseInto(a.slice(eq + 1), depth + 1, out, parse);
      }
    }
    if (name === "find") {
      for (const sub of findExecCommands(level)) addCommand(sub, depth + 1, out, parse);
    }
  }
}

/** `find … -exec CMD ARGS… ;` (also -execdir, -ok, -okdir, `+` terminator). */
function findExecCommands(argv: readonly string[]): string[][] {
  const result: string[][] = [];
  for (let i = 1; i < argv.length; i++) {
    if (!["-exec", "-execdir", "-ok", "-okdir"].includes(argv[i]!)) continue;
    let j = i + 1;
    while (j < argv.length && argv[j] !== ";" && argv[j] !== "+") j++;
    if (j > i + 1) result.push(argv.slice(i + 1, j));
    i = j;
  }
  return result;
}
