/**
 * The shapes `parseCommandLine` returns (shell.ts), in their own module so the private
 * parse-tree readers and opaque.ts share them without importing the parser.
 *
 * @module
 */

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
  /** One entry per command, in the same order as `commands`: how it is fed and its words. */
  details: CommandDetail[];
  /**
   * Set when the line assigns `BASH_ENV` or `ENV` (`X=… cmd`, `export`, `declare`) a value
   * only known at run time or naming stdin: every shell it starts then runs that file first.
   */
  startupFile?: true;
}

/**
 * What the parse tree says about one command beyond its argv.
 *
 * @example A command fed by a pipe
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { parseCommandLine } from "./shell.ts";
 * const { details } = parseCommandLine("curl -s $URL | sh");
 * deepEqual(details[0], { stdin: "inherit", words: ["literal", "literal", "dynamic"] });
 * deepEqual(details[1], { stdin: "pipe", words: ["literal"] });
 * ```
 */
export interface CommandDetail {
  /**
   * Where its standard input comes from: `inherit` (the caller's: the tool's stdin, or the
   * stdin of the command whose `-c` / `eval` script it is in), `pipe` (also `>( )` and
   * coprocesses), `heredoc`, `herestring`, `file` (`<`, `<>`), `procsub` (`< <( )`),
   * `closed` (`<&-`, `< /dev/null`) or `unknown` (`<&N`, a function body, an earlier
   * `exec <`, an alias, `trap` or `watch` script).
   */
  stdin: StdinKind;
  /**
   * The literal text a here-document or here-string feeds to a shell that reads its script
   * from stdin; the script was parsed like a `-c` script. Set only then.
   */
  stdinText?: string;
  /** Per argv word: `literal`, `dynamic` (holds an expansion) or `procsub` (`<( )`, `>( )`). */
  words: WordKind[];
}

/** How a word's value is known (see {@linkcode CommandDetail}). */
export type WordKind = "literal" | "dynamic" | "procsub";

/** Where a command's standard input comes from (see {@linkcode CommandDetail}). */
export type StdinKind =
  | "inherit"
  | "pipe"
  | "heredoc"
  | "herestring"
  | "file"
  | "procsub"
  | "closed"
  | "unknown";
