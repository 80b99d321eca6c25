/**
 * Private argv helpers shared by shell.ts and policy.ts: basenames, command wrappers
 * (`env`, `nice`, `xargs`, …) and the script argument of `bash -c` / `eval`.
 *
 * @module
 */

/** How a wrapper command takes its options before the wrapped command. */
interface WrapperSpec {
  /** Short options that consume a value (`-n 5` or `-n5`). */
  readonly shortWithValue: string;
  /** Long options that consume the next argument when written without `=`. */
  readonly longWithValue: readonly string[];
  /** Skip `NAME=value` words before the command (env). */
  readonly assignments?: boolean;
  /** Positional arguments before the command (timeout's DURATION). */
  readonly positional?: number;
}

const WRAPPERS: Readonly<Record<string, WrapperSpec>> = {
  env: {
    shortWithValue: "uCSP",
    longWithValue: ["--unset", "--chdir", "--split-string", "--default-signal"],
    assignments: true,
  },
  command: { shortWithValue: "", longWithValue: [] },
  builtin: { shortWithValue: "", longWithValue: [] },
  exec: { shortWithValue: "a", longWithValue: [] },
  nice: { shortWithValue: "n", longWithValue: ["--adjustment"] },
  nohup: { shortWithValue: "", longWithValue: [] },
  timeout: {
    shortWithValue: "ks",
    longWithValue: ["--kill-after", "--signal"],
    positional: 1,
  },
  time: { shortWithValue: "fo", longWithValue: ["--format", "--output"] },
  stdbuf: { shortWithValue: "ioe", longWithValue: ["--input", "--output", "--error"] },
  ionice: { shortWithValue: "cnp", longWithValue: ["--class", "--classdata", "--pid"] },
  xargs: {
    shortWithValue: "adEILnPs",
    longWithValue: [
      "--arg-file",
      "--delimiter",
      "--eof",
      "--replace",
      "--max-lines",
      "--max-args",
      "--max-procs",
      "--max-chars",
      "--process-slot-var",
    ],
  },
  doas: { shortWithValue: "uC", longWithValue: [] },
};

const SHELLS = new Set(["bash", "sh", "dash", "zsh", "ksh", "mksh", "ash", "rbash", "busybox"]);

/**
 * The last `/`-separated component of a command name.
 *
 * @example A path's program name
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { basename } from "./_argv.ts";
 * equal(basename("/usr/bin/sudo"), "sudo");
 * ```
 */
export function basename(name: string): string {
  const trimmed = name.replace(/\/+$/, "");
  const i = trimmed.lastIndexOf("/");
  return i === -1 ? trimmed : trimmed.slice(i + 1);
}

/**
 * The command a wrapper runs (`env X=1 sudo id` → `["sudo", "id"]`), or undefined when argv0
 * is not a wrapper or wraps nothing.
 *
 * @example Wrappers give up their command
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { unwrapCommand } from "./_argv.ts";
 * deepEqual(unwrapCommand(["nice", "-n", "5", "sudo", "id"]), ["sudo", "id"]);
 * deepEqual(unwrapCommand(["ls"]), undefined);
 * ```
 */
export function unwrapCommand(argv: readonly string[]): string[] | undefined {
  const name = argv[0] === undefined ? "" : basename(argv[0]);
  const spec = WRAPPERS[name];
  if (!spec) return undefined;
  let i = 1;
  let split: string[] = [];
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === "--") {
      i++;
      break;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const key = eq === -1 ? a : a.slice(0, eq);
      if (name === "env" && key === "--split-string") {
        split = splitWords(eq === -1 ? argv[i + 1] ?? "" : a.slice(eq + 1));
      }
      i += eq === -1 && spec.longWithValue.includes(key) ? 2 : 1;
      continue;
    }
    if (a.length > 1 && a.startsWith("-")) {
      let consumed = 1;
      for (let k = 1; k < a.length; k++) {
        if (spec.shortWithValue.includes(a[k]!)) {
          const value = k + 1 < a.length ? a.slice(k + 1) : argv[i + 1] ?? "";
          if (k + 1 === a.length) consumed = 2;
          if (name === "env" && a[k] === "S") split = splitWords(value);
          break;
        }
      }
      i += consumed;
      continue;
    }
    if (a === "-" && name === "env") {
      i++;
      continue;
    }
    break;
  }
  if (spec.assignments) {
    while (i < argv.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[i]!)) i++;
  }
  i += spec.positional ?? 0;
  const inner = [...split, ...argv.slice(i)];
  return inner.length > 0 ? inner : undefined;
}

/**
 * The argv at every wrapper level, outermost first: `env nice sudo id` gives three entries.
 *
 * @example Every level, outermost first
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { wrapperChain } from "./_argv.ts";
 * deepEqual(wrapperChain(["nohup", "ls"]), [["nohup", "ls"], ["ls"]]);
 * ```
 */
export function wrapperChain(argv: readonly string[]): string[][] {
  const chain: string[][] = [[...argv]];
  let current: string[] | undefined = [...argv];
  // Each unwrap drops at least argv0, so this ends; the bound is a second guard.
  for (let n = 0; n < 64; n++) {
    current = unwrapCommand(current);
    if (!current) break;
    chain.push(current);
  }
  return chain;
}

/**
 * The shell source a command runs itself: the script of `bash -c SCRIPT` (any option
 * cluster holding `c`, such as `-lc`), the joined arguments of `eval` and `watch`, or the
 * handler of `trap`.
 *
 * @example Scripts a shell runs itself
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { innerScript } from "./_argv.ts";
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
  if (!SHELLS.has(name)) return undefined;
  let i = 1;
  // busybox sh -c …
  if (name === "busybox") {
    if (!SHELLS.has(basename(argv[1] ?? ""))) return undefined;
    i = 2;
  }
  let hasC = false;
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
      if (a.slice(1).includes("c")) hasC = true;
      if (/[oO]/.test(a.slice(1))) i++;
      continue;
    }
    break;
  }
  return hasC ? argv[i] : undefined;
}

/** Splits `env -S` strings on blanks (its quoting rules are a small subset of the shell's). */
function splitWords(s: string): string[] {
  return s.split(/[ \t\n]+/).filter((w) => w.length > 0).map((w) => w.replace(/^['"]|['"]$/g, ""));
}
