/**
 * Private: the program texts of awk and sed command lines, and whether a literal one starts
 * processes, for opaque.ts.
 *
 * awk and sed programs are literal text the policy could read, so a literal program stays
 * transparent unless it can run shell commands: awk's `system()`, `print | "cmd"`,
 * `"cmd" | getline`, `|&` and gawk's `@load`; GNU sed's `e` command and the `e` flag of `s`.
 * The scan errs towards "runs commands" (a `|` in a `print` statement's regex is enough), so a
 * false match costs a prompt, never a silent pass.
 *
 * @module
 */

/** A program text: `argv[index]`, or the part of it after `offset` (`--source=…`). */
export interface ProgramWord {
  readonly index: number;
  readonly offset: number;
}

/** awk implementations. */
export const AWKS: ReadonlySet<string> = new Set(["awk", "gawk", "mawk", "nawk", "original-awk"]);
/** sed implementations. */
export const SEDS: ReadonlySet<string> = new Set(["sed", "gsed"]);

const AWK_EXEC = /\bsystem\s*\(|\|\s*&?\s*getline\b|\|&|\bprintf?\b[^;{}\n]*\||@load\b/;
const SED_E_COMMAND = /(?:^|[;\n{}!\d$/])\s*e(?:[\s;}]|$)/;
const SED_E_FLAG = /s([^\\\n])(?:\\.|(?!\1)[^\\])*\1(?:\\.|(?!\1)[^\\])*\1[gpiImM\d]*e/;

/**
 * The program words of an awk command line: `-e`/`--source` texts, else its first operand;
 * none when it runs `-f` files only. `missing` when it names no program at all.
 *
 * @example The program is the first operand after the options
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { awkPrograms } from "./_awk_sed.ts";
 * deepEqual(awkPrograms(["awk", "-F", ":", "{print $1}", "/etc/passwd"]), [{ index: 3, offset: 0 }]);
 * deepEqual(awkPrograms(["awk", "-f", "prog.awk", "data"]), []);
 * ```
 */
export function awkPrograms(argv: readonly string[]): ProgramWord[] | "missing" {
  return programWords(argv, {
    code: "e",
    codeLong: ["--source"],
    file: "fE",
    fileLong: ["--file", "--exec"],
    value: "vFilW",
    valueLong: ["--assign", "--field-separator", "--include", "--load"],
  });
}

/**
 * The script words of a sed command line (`-e`, `--expression`, else the first operand);
 * none when it runs `-f` files only or with `--sandbox` (no `e`, `r` or `w` commands).
 *
 * @example Several -e scripts
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { sedScripts } from "./_awk_sed.ts";
 * deepEqual(sedScripts(["sed", "-n", "-e", "1p", "--expression=2p", "f"]), [
 *   { index: 3, offset: 0 },
 *   { index: 4, offset: 13 },
 * ]);
 * ```
 */
export function sedScripts(argv: readonly string[]): ProgramWord[] | "missing" {
  if (argv.includes("--sandbox")) return [];
  return programWords(argv, {
    code: "e",
    codeLong: ["--expression"],
    file: "f",
    fileLong: ["--file"],
    value: "l",
    valueLong: ["--line-length"],
    attached: "i",
  });
}

/**
 * True when a literal awk program can start processes.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { awkRunsCommands } from "./_awk_sed.ts";
 * equal(awkRunsCommands(`BEGIN { system("id") }`), true);
 * equal(awkRunsCommands(`{ print $1 > "out" }`), false);
 * ```
 */
export function awkRunsCommands(program: string): boolean {
  return AWK_EXEC.test(program);
}

/**
 * True when a literal sed script may use GNU sed's `e` command or `s///e` flag.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { sedRunsCommands } from "./_awk_sed.ts";
 * equal(sedRunsCommands("s/.*\/date/e"), true);
 * equal(sedRunsCommands("1e id"), true);
 * equal(sedRunsCommands("s/e/E/g"), false);
 * ```
 */
export function sedRunsCommands(script: string): boolean {
  return SED_E_COMMAND.test(script) || SED_E_FLAG.test(script);
}

interface ProgramOptions {
  readonly code: string;
  readonly codeLong: readonly string[];
  readonly file: string;
  readonly fileLong: readonly string[];
  readonly value: string;
  readonly valueLong: readonly string[];
  readonly attached?: string;
}

function programWords(argv: readonly string[], o: ProgramOptions): ProgramWord[] | "missing" {
  const found: ProgramWord[] = [];
  let files = false;
  let i = 1;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      i++;
      break;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const key = eq === -1 ? a : a.slice(0, eq);
      const takesNext = eq === -1 &&
        (o.codeLong.includes(key) || o.fileLong.includes(key) || o.valueLong.includes(key));
      if (o.codeLong.includes(key)) found.push({ index: takesNext ? i + 1 : i, offset: eq + 1 });
      if (o.fileLong.includes(key)) files = true;
      if (takesNext) i++;
      continue;
    }
    if (a.startsWith("-") && a.length > 1) {
      for (let k = 1; k < a.length; k++) {
        const ch = a[k]!;
        const attached = k + 1 < a.length;
        if (o.code.includes(ch)) {
          found.push(attached ? { index: i, offset: k + 1 } : { index: i + 1, offset: 0 });
        }
        if (o.file.includes(ch)) files = true;
        if (o.code.includes(ch) || o.file.includes(ch) || o.value.includes(ch)) {
          if (!attached) i++;
          break;
        }
        if (o.attached?.includes(ch)) break;
      }
      continue;
    }
    break;
  }
  if (found.length > 0 || files) return found;
  return i < argv.length ? [{ index: i, offset: 0 }] : "missing";
}
