/**
 * Private: the shell source a command runs (`bash -c`, `eval`, `trap`, `watch`) and where a
 * shell takes its script from (`-c`, a file, or its standard input). Shared by shell.ts and
 * opaque.ts.
 *
 * @module
 */
import { basename } from "./_argv.ts";

/** Shells whose scripts are parsed as bash (busybox only as `busybox sh …`). */
const SHELLS = new Set([
  "bash",
  "sh",
  "dash",
  "zsh",
  "ksh",
  "ksh93",
  "mksh",
  "lksh",
  "pdksh",
  "ash",
  "rbash",
  "yash",
  "posh",
  "busybox",
]);

/**
 * The shell source a command runs itself: the script of `bash -c SCRIPT` (any option
 * cluster holding `c`, such as `-lc`), the joined arguments of `eval` and `watch`, or the
 * handler of `trap`.
 *
 * @example Scripts a shell runs itself
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { innerScript } from "./_scripts.ts";
 * equal(innerScript(["bash", "-lc", "sudo id"]), "sudo id");
 * equal(innerScript(["eval", "sudo", "id"]), "sudo id");
 * ```
 */
export function innerScript(argv: readonly string[]): string | undefined {
  const name = argv[0] === undefined ? "" : basename(argv[0]);
  if (name === "eval") return argv.length > 1 ? argv.slice(1).join(" ") : undefined;
  if (name === "trap") return argv.slice(1).find((a) => !a.startsWith("-"));
  if (name === "watch") {
    // watch runs its joined arguments with `sh -c`; -n/--interval take a value.
    let i = 1;
    while (i < argv.length && argv[i]!.startsWith("-")) {
      i += argv[i] === "-n" || argv[i] === "--interval" ? 2 : 1;
    }
    return i < argv.length ? argv.slice(i).join(" ") : undefined;
  }
  const program = shellProgram(argv);
  return program?.from === "inline" ? argv[program.index] : undefined;
}

/**
 * Where a bash-dialect shell takes its script: `inline` (`-c`: `argv[index]`, which may be
 * missing), a `file` (`argv[index]`), or `stdin` (`-s`, `-`, or no script argument).
 * Undefined when argv0 is not such a shell.
 *
 * @example The three sources
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { shellProgram } from "./_scripts.ts";
 * deepEqual(shellProgram(["bash", "-o", "pipefail", "-c", "ls"]), { from: "inline", index: 4 });
 * deepEqual(shellProgram(["sh", "build.sh"]), { from: "file", index: 1 });
 * deepEqual(shellProgram(["/bin/bash", "-s", "--", "x"]), { from: "stdin" });
 * deepEqual(shellProgram(["python3"]), undefined);
 * ```
 */
export function shellProgram(argv: readonly string[]): ShellProgram | undefined {
  const name = argv[0] === undefined ? "" : basename(argv[0]);
  if (!SHELLS.has(name)) return undefined;
  let i = 1;
  if (name === "busybox") { // busybox sh …
    const applet = basename(argv[1] ?? "");
    if (!SHELLS.has(applet) || applet === "busybox") return undefined;
    i = 2;
  }
  let inline = false;
  let stdin = false;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--" || a === "-") {
      i++;
      break;
    }
    if (a.startsWith("--")) {
      if (a === "--rcfile" || a === "--init-file") i++;
      continue;
    }
    if ((a.startsWith("-") || a.startsWith("+")) && a.length > 1) {
      const flags = a.slice(1);
      if (flags.includes("c")) inline = true;
      if (flags.includes("s")) stdin = true;
      if (/[oO]/.test(flags)) i++;
      continue;
    }
    break;
  }
  if (inline) return { from: "inline", index: i };
  return stdin || i >= argv.length ? { from: "stdin" } : { from: "file", index: i };
}

/** Where a shell takes its script (see {@linkcode shellProgram}). */
export type ShellProgram =
  | { readonly from: "inline" | "file"; readonly index: number }
  | { readonly from: "stdin" };

/** Files that name the standard input when given as a script. */
export const STDIN_FILES: ReadonlySet<string> = new Set([
  "/dev/stdin",
  "/dev/fd/0",
  "/proc/self/fd/0",
]);

/**
 * True for a path that reads a file descriptor rather than a file: `/dev/stdin`,
 * `/dev/fd/N`, `/proc/self/fd/N`.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { isStdinPath } from "./_scripts.ts";
 * equal(isStdinPath("/dev/fd/3"), true);
 * equal(isStdinPath("./env.sh"), false);
 * ```
 */
export function isStdinPath(path: string): boolean {
  return STDIN_FILES.has(path) || /^\/(?:dev|proc\/self)\/fd\/\d+$/.test(path);
}

/**
 * True when the command runs a shell script read from its standard input: a shell with no
 * script (or `-s`), or `/dev/stdin` given to a shell, `source` or `.`.
 *
 * @example Shells fed by stdin
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { readsScriptFromStdin } from "./_scripts.ts";
 * equal(readsScriptFromStdin(["sh"]), true);
 * equal(readsScriptFromStdin([".", "/dev/stdin"]), true);
 * equal(readsScriptFromStdin(["bash", "-c", "ls"]), false);
 * ```
 */
export function readsScriptFromStdin(argv: readonly string[]): boolean {
  const name = argv[0] === undefined ? "" : basename(argv[0]);
  if (name === "source" || name === ".") {
    return STDIN_FILES.has(argv[argv[1] === "--" ? 2 : 1] ?? "");
  }
  const program = shellProgram(argv);
  if (program === undefined || program.from === "inline") return false;
  return program.from === "stdin" || STDIN_FILES.has(argv[program.index] ?? "");
}

/**
 * The commands of `find … -exec CMD ARGS… ;` (also `-execdir`, `-ok`, `-okdir`, and the `+`
 * terminator), as `[start, end)` spans of argv.
 *
 * @example Two -exec commands
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { findExecSpans } from "./_scripts.ts";
 * deepEqual(findExecSpans(["find", ".", "-exec", "rm", "{}", ";", "-ok", "ls", "+"]), [[3, 5], [7, 8]]);
 * ```
 */
export function findExecSpans(argv: readonly string[]): [number, number][] {
  const result: [number, number][] = [];
  for (let i = 1; i < argv.length; i++) {
    if (!["-exec", "-execdir", "-ok", "-okdir"].includes(argv[i]!)) continue;
    let j = i + 1;
    while (j < argv.length && argv[j] !== ";" && argv[j] !== "+") j++;
    if (j > i + 1) result.push([i + 1, j]);
    i = j;
  }
  return result;
}
