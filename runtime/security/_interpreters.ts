/**
 * Private: how interpreters take their program on the command line (inline code, a file, a
 * module, or their standard input), and command runners (`uv run`, `npx`), for opaque.ts.
 * Shells whose scripts are parsed as bash are not here (see _scripts.ts `shellProgram`); awk
 * and sed are in _awk_sed.ts.
 *
 * @module
 */

/** How one interpreter's command line names its program. */
export interface InterpreterSpec {
  /** The language, for reasons ("Python"). */
  readonly lang: string;
  /** Short options whose value is inline code (`c` for `python -c`). */
  readonly code?: string;
  /** Long options whose value is inline code (`--eval`). */
  readonly codeLong?: readonly string[];
  /** Short options taking a value, attached or as the next argument. */
  readonly value?: string;
  /** Short options whose value is the rest of the cluster only (`perl -i.bak`). */
  readonly attached?: string;
  /** Long options taking the next argument when written without `=`. */
  readonly valueLong?: readonly string[];
  /** Short options naming the program file or module (`php -f`, `python -m`). */
  readonly program?: string;
  /** Long options naming the program file (`R --file`). */
  readonly programLong?: readonly string[];
  /** Modules that run code from their arguments or stdin (`python -m timeit`). */
  readonly modules?: Readonly<Record<string, "inline" | "stdin">>;
  /** Options are whole words matched case-insensitively (PowerShell's `-Command`). */
  readonly words?: boolean;
  /** Subcommands (`deno eval`): `inline`, `none` (runs no code from argv or stdin) or a spec. */
  readonly subcommands?: Readonly<Record<string, "inline" | "none" | InterpreterSpec>>;
  /** With no program named: reads it from stdin (default) or does nothing (`none`). */
  readonly bare?: "stdin" | "none";
}

/** Where an interpreter takes its program. */
export type ProgramSource =
  | { readonly from: "inline"; readonly flag: string }
  | { readonly from: "file"; readonly index: number }
  | { readonly from: "stdin" }
  | { readonly from: "none" };

const PYTHON: InterpreterSpec = {
  lang: "Python",
  code: "c",
  value: "WXQ",
  valueLong: ["--check-hash-based-pycs"],
  program: "m",
  modules: { timeit: "inline", code: "stdin" },
};
const NODE: InterpreterSpec = {
  lang: "JavaScript",
  code: "ep",
  codeLong: ["--eval", "--print"],
  value: "rC",
  valueLong: ["--require", "--import", "--loader", "--experimental-loader", "--input-type"],
};
const DENO_RUN: InterpreterSpec = {
  lang: "JavaScript",
  value: "cL",
  valueLong: ["--config", "--import-map", "--lock", "--cert", "--location", "--seed", "--ext"],
  bare: "none",
};
const shellLike = (lang: string, code = "c", codeLong: string[] = []): InterpreterSpec => ({
  lang,
  code,
  codeLong,
});

const INTERPRETERS: Readonly<Record<string, InterpreterSpec>> = {
  python: PYTHON,
  pypy: PYTHON,
  // -l and -0 take digits only, so `-lne` still reaches -e; -i takes the rest (`-pi.bak`).
  perl: { lang: "Perl", code: "eE", value: "IMm", attached: "ixCDdFV" },
  ruby: { lang: "Ruby", code: "e", value: "CEFIr", attached: "iTWxK" },
  irb: { lang: "Ruby" },
  node: NODE,
  nodejs: NODE,
  "ts-node": NODE,
  tsx: NODE,
  bun: {
    lang: "JavaScript",
    code: "ep",
    codeLong: ["--eval", "--print"],
    value: "r",
    subcommands: { run: { lang: "JavaScript", bare: "none" } },
    bare: "none",
  },
  deno: {
    lang: "JavaScript",
    subcommands: {
      eval: "inline",
      run: DENO_RUN,
      repl: { lang: "JavaScript", codeLong: ["--eval"], programLong: ["--eval-file"] },
    },
  },
  php: { lang: "PHP", code: "rBRE", value: "cdzt", program: "fF" },
  lua: { lang: "Lua", code: "e", value: "l" },
  luajit: { lang: "Lua", code: "e", value: "lj" },
  Rscript: { lang: "R", code: "e" },
  R: { lang: "R", code: "e", program: "f", programLong: ["--file"] },
  osascript: { lang: "AppleScript", code: "e", value: "ls" },
  tclsh: { lang: "Tcl" },
  wish: { lang: "Tcl" },
  expect: { lang: "Expect", code: "c", program: "f" },
  julia: { lang: "Julia", code: "eE", codeLong: ["--eval", "--print"], value: "JLpt" },
  elixir: { lang: "Elixir", code: "e", codeLong: ["--eval"], value: "r" },
  guile: { lang: "Scheme", code: "c", program: "l" },
  racket: { lang: "Racket", code: "e", codeLong: ["--eval"] },
  sbcl: { lang: "Lisp", codeLong: ["--eval"] },
  jshell: { lang: "Java" },
  fish: shellLike("fish", "cC", ["--command", "--init-command"]),
  csh: shellLike("csh"),
  tcsh: shellLike("csh"),
  elvish: shellLike("Elvish"),
  nu: shellLike("Nushell", "c", ["--commands"]),
  xonsh: shellLike("xonsh"),
  pwsh: {
    lang: "PowerShell",
    words: true,
    codeLong: ["-c", "-command", "-e", "-ec", "-encodedcommand"],
    programLong: ["-f", "-file"],
    valueLong: ["-executionpolicy", "-ex", "-ep", "-workingdirectory", "-wd", "-configurationname"],
  },
};

/**
 * The spec of an interpreter named by a command's basename: exact, or with a version suffix
 * (`python3.12`, `perl5.36`, `lua5.4`, `pypy3`), or undefined.
 *
 * @example Versioned names
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { interpreterOf } from "./_interpreters.ts";
 * equal(interpreterOf("python3.12")?.lang, "Python");
 * equal(interpreterOf("npm"), undefined);
 * ```
 */
export function interpreterOf(name: string): InterpreterSpec | undefined {
  const key = name === "powershell" ? "pwsh" : name;
  if (Object.hasOwn(INTERPRETERS, key)) return INTERPRETERS[key];
  const bare = key.replace(/-?\d+(\.\d+)*$/, "");
  return bare !== key && Object.hasOwn(INTERPRETERS, bare) ? INTERPRETERS[bare] : undefined;
}

/**
 * Where an interpreter's command line (argv0 included) takes its program.
 *
 * @example Inline code, a file, stdin
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { interpreterOf, programSource } from "./_interpreters.ts";
 * const perl = interpreterOf("perl")!;
 * deepEqual(programSource(["perl", "-i.bak", "-pe", "s/a/b/", "f"], perl), { from: "inline", flag: "-e" });
 * deepEqual(programSource(["perl", "-w", "x.pl"], perl), { from: "file", index: 2 });
 * deepEqual(programSource(["perl", "-"], perl), { from: "stdin" });
 * ```
 */
export function programSource(argv: readonly string[], spec: InterpreterSpec): ProgramSource {
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-") return { from: "stdin" };
    if (a === "--") return i + 1 < argv.length ? { from: "file", index: i + 1 } : bare(spec);
    if (spec.words) {
      const key = a.toLowerCase();
      if (spec.codeLong?.includes(key)) return { from: "inline", flag: a };
      if (spec.programLong?.includes(key)) return { from: "file", index: i + 1 };
      if (key.startsWith("-")) {
        if (spec.valueLong?.includes(key)) i++;
        continue;
      }
      return { from: "file", index: i };
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const key = eq === -1 ? a : a.slice(0, eq);
      if (spec.codeLong?.includes(key)) return { from: "inline", flag: key };
      if (spec.programLong?.includes(key)) return { from: "file", index: eq === -1 ? i + 1 : i };
      if (eq === -1 && spec.valueLong?.includes(key)) i++;
      continue;
    }
    if (a.startsWith("-") && a.length > 1) {
      for (let k = 1; k < a.length; k++) {
        const ch = a[k]!;
        const attached = k + 1 < a.length;
        if (spec.code?.includes(ch)) return { from: "inline", flag: `-${ch}` };
        if (spec.program?.includes(ch)) {
          const target = attached ? a.slice(k + 1) : argv[i + 1] ?? "";
          const effect = ch === "m" ? spec.modules?.[target] : undefined;
          if (effect === "inline") return { from: "inline", flag: `-m ${target}` };
          if (effect === "stdin") return { from: "stdin" };
          return ch === "m" ? { from: "none" } : { from: "file", index: attached ? i : i + 1 };
        }
        if (spec.value?.includes(ch)) {
          if (!attached) i++;
          break;
        }
        if (spec.attached?.includes(ch)) break;
      }
      continue;
    }
    const sub = spec.subcommands;
    if (sub && Object.hasOwn(sub, a)) {
      const next = sub[a]!;
      if (next === "inline") return { from: "inline", flag: a };
      if (next === "none") return { from: "none" };
      const inner = programSource(argv.slice(i), next);
      return inner.from === "file" ? { from: "file", index: inner.index + i } : inner;
    }
    if (sub && !/[./]/.test(a)) return { from: "none" }; // another subcommand (deno test)
    return { from: "file", index: i };
  }
  return bare(spec);
}

function bare(spec: InterpreterSpec): ProgramSource {
  return spec.bare === "none" ? { from: "none" } : { from: "stdin" };
}

/** Tools that run a command in an environment they prepare: `uv run CMD`, `npx CMD`, …. */
const RUNNERS: Readonly<Record<string, readonly string[]>> = {
  npx: [],
  bunx: [],
  pnpx: [],
  uvx: [],
  uv: ["run"],
  poetry: ["run"],
  pipenv: ["run"],
  pdm: ["run"],
  hatch: ["run"],
  rye: ["run"],
  pixi: ["run", "exec"],
  conda: ["run"],
  mamba: ["run"],
  micromamba: ["run"],
  bundle: ["exec"],
  npm: ["exec", "x"],
  pnpm: ["exec", "dlx"],
  yarn: ["exec", "dlx", "node"],
  deno: ["x"],
};

/**
 * True for a command-runner invocation (`uv run …`, `npx …`, `bundle exec …`, `deno x …`):
 * the command it runs is one of its later words, after options of its own.
 *
 * @example Runners and their subcommands
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { isRunner } from "./_interpreters.ts";
 * equal(isRunner(["uv", "run", "python", "-c", "1"]), true);
 * equal(isRunner(["uv", "pip", "install", "x"]), false);
 * equal(isRunner(["npx", "tsx", "x.ts"]), true);
 * ```
 */
export function isRunner(argv: readonly string[]): boolean {
  const name = argv[0]?.slice(argv[0].lastIndexOf("/") + 1) ?? "";
  if (!Object.hasOwn(RUNNERS, name)) return false;
  const subcommands = RUNNERS[name]!;
  return subcommands.length === 0 || subcommands.includes(argv[1] ?? "");
}
