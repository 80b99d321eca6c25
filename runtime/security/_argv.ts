/**
 * Private argv helpers shared by shell.ts, opaque.ts and policy.ts: basenames and command
 * wrappers (`env`, `nice`, `xargs`, `sudo`, …). Scripts a command runs are in _scripts.ts.
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
      // --eof[=S] and --replace[=S] take their value only after `=`.
      "--arg-file",
      "--delimiter",
      "--max-lines",
      "--max-args",
      "--max-procs",
      "--max-chars",
      "--process-slot-var",
    ],
  },
  doas: { shortWithValue: "uC", longWithValue: [] },
  sudo: {
    shortWithValue: "CDghpRrTtUu",
    longWithValue: [
      "--close-from",
      "--chdir",
      "--group",
      "--host",
      "--prompt",
      "--chroot",
      "--role",
      "--command-timeout",
      "--type",
      "--other-user",
      "--user",
    ],
  },
  setsid: { shortWithValue: "", longWithValue: [] },
  // taskset [-a] [-c] MASK|LIST COMMAND…
  taskset: { shortWithValue: "", longWithValue: [], positional: 1 },
};

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
 * Where a wrapper's command starts: `argv.slice(start)`, after the words `env -S` splits out
 * of `argv[splitFrom]`. Undefined when argv0 is not a wrapper or wraps nothing.
 *
 * @example The span of a wrapped command
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { unwrapSpan } from "./_argv.ts";
 * deepEqual(unwrapSpan(["nice", "-n", "5", "id"]), { start: 3, split: [], splitFrom: -1 });
 * deepEqual(unwrapSpan(["env", "-S", "sh -c", "ls"]), { start: 3, split: ["sh", "-c"], splitFrom: 2 });
 * ```
 */
export function unwrapSpan(
  argv: readonly string[],
): { start: number; split: string[]; splitFrom: number } | undefined {
  const name = argv[0] === undefined ? "" : basename(argv[0]);
  const spec = WRAPPERS[name];
  if (!spec) return undefined;
  let i = 1;
  let split: string[] = [];
  let splitFrom = -1;
  const splitAt = (value: string, at: number) => {
    split = splitWords(value);
    splitFrom = at;
  };
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
        if (eq === -1) splitAt(argv[i + 1] ?? "", i + 1);
        else splitAt(a.slice(eq + 1), i);
      }
      i += eq === -1 && spec.longWithValue.includes(key) ? 2 : 1;
      continue;
    }
    if (a.length > 1 && a.startsWith("-")) {
      let consumed = 1;
      for (let k = 1; k < a.length; k++) {
        if (spec.shortWithValue.includes(a[k]!)) {
          const attached = k + 1 < a.length;
          if (!attached) consumed = 2;
          if (name === "env" && a[k] === "S") {
            splitAt(attached ? a.slice(k + 1) : argv[i + 1] ?? "", attached ? i : i + 1);
          }
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
  if (split.length === 0 && i >= argv.length) return undefined;
  return { start: Math.min(i, argv.length), split, splitFrom };
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
  const span = unwrapSpan(argv);
  return span && [...span.split, ...argv.slice(span.start)];
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

/** Splits `env -S` strings on blanks (its quoting rules are a small subset of the shell's). */
function splitWords(s: string): string[] {
  return s.split(/[ \t\n]+/).filter((w) => w.length > 0).map((w) => w.replace(/^['"]|['"]$/g, ""));
}
