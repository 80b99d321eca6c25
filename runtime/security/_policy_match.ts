/**
 * Private matchers for policy.ts: denied path globs, denied host globs, and blocked command
 * entries (argv0 plus required tokens, with option clusters and long forms normalised).
 * Everything is compiled once; matching is pure and allocation-light.
 *
 * @module
 */
import { compileResourcePattern, type ResourcePattern } from "./resource.ts";
import { basename } from "./_argv.ts";

/**
 * Device files that are harmless to name even when `/dev/**` is denied.
 *
 * @example `2>/dev/null` stays allowed
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { SAFE_DEVICES } from "./_policy_match.ts";
 * ok(SAFE_DEVICES.has("/dev/null"));
 * ```
 */
export const SAFE_DEVICES: ReadonlySet<string> = new Set([
  "/dev/null",
  "/dev/zero",
  "/dev/random",
  "/dev/urandom",
  "/dev/stdin",
  "/dev/stdout",
  "/dev/stderr",
  "/dev/tty",
]);

/**
 * Characters that make a shell word's value unknown until run time.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { EXPANSION_CHARS } from "./_policy_match.ts";
 * ok(EXPANSION_CHARS.test("$CMD") && !EXPANSION_CHARS.test("["));
 * ```
 */
export const EXPANSION_CHARS = /[$`*?{]|\[.*\]|<\(|>\(/;

/**
 * Collapses `//`, `.` and `..` lexically. `~`-prefixed paths keep `~` as their first segment.
 *
 * @example Lexical normalisation
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { normalizePath } from "./_policy_match.ts";
 * equal(normalizePath("/tmp/../etc//passwd/."), "/etc/passwd");
 * equal(normalizePath("~/a/../.ssh"), "~/.ssh");
 * ```
 */
export function normalizePath(path: string): string {
  const tilde = path.startsWith("~");
  const parts =
    (tilde ? path.slice(path.indexOf("/") === -1 ? path.length : path.indexOf("/")) : path)
      .split("/");
  const stack: string[] = [];
  for (const part of parts) {
    if (part === "" || part === ".") continue;
    if (part === "..") stack.pop();
    else stack.push(part);
  }
  const head = tilde ? path.split("/")[0]! : "";
  return tilde ? [head, ...stack].join("/") : "/" + stack.join("/");
}

/** `file://` key for a normalised path, `~` paths mapped under `/~…`. */
function pathKey(normalized: string): string {
  return normalized.startsWith("~") ? `file:///${normalized}` : `file://${normalized}`;
}

/**
 * Denied path globs.
 *
 * @example A folder glob covers the folder itself
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { PathMatcher } from "./_policy_match.ts";
 * equal(new PathMatcher(["/etc/**"]).match("/etc"), "/etc/**");
 * ```
 */
export class PathMatcher {
  #patterns: ResourcePattern[];
  #bases: string[];
  #sources: string[];

  constructor(globs: readonly string[]) {
    this.#sources = [...globs];
    this.#patterns = globs.map((g) => compileResourcePattern(pathKey(normalizeGlob(g))));
    this.#bases = globs.map((g) => {
      const n = normalizeGlob(g);
      const cut = n.search(/[*?]/);
      const literal = cut === -1 ? n : n.slice(0, cut);
      const slash = literal.lastIndexOf("/");
      return cut === -1 ? literal : slash <= 0 ? "/" : literal.slice(0, slash);
    });
  }

  /** The glob that denies `path` (absolute or `~`-prefixed, not yet normalised), if any. */
  match(path: string): string | undefined {
    const n = normalizePath(path);
    if (SAFE_DEVICES.has(n)) return undefined;
    const key = pathKey(n);
    for (let i = 0; i < this.#patterns.length; i++) {
      if (this.#patterns[i]!.test(key)) return this.#sources[i];
    }
    return undefined;
  }

  /**
   * For a path whose tail is only known at run time (`/e*c/passwd`, `/$X`): the glob that
   * might deny it, judged from its static prefix (fail closed).
   */
  matchDynamic(path: string): string | undefined {
    const cut = path.search(EXPANSION_CHARS);
    const literal = cut === -1 ? path : path.slice(0, cut);
    const slash = literal.lastIndexOf("/");
    const prefix = normalizePath(
      slash <= 0 ? (literal.startsWith("~") ? "~" : "/") : literal.slice(0, slash),
    );
    const direct = this.match(prefix);
    if (direct) return direct;
    for (let i = 0; i < this.#bases.length; i++) {
      const base = this.#bases[i]!;
      if (prefix === "/" || base === prefix || base.startsWith(prefix + "/")) {
        return this.#sources[i];
      }
    }
    return undefined;
  }
}

function normalizeGlob(glob: string): string {
  if (!glob.startsWith("/") && !glob.startsWith("~")) {
    throw new TypeError(`Cannot use denied path "${glob}": it is not absolute or ~-prefixed`);
  }
  return glob.replace(/\/+/g, "/");
}

const SHORT_ALIASES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  rm: { "-R": "-r" },
};
const LONG_ALIASES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  rm: { "--recursive": "-r", "--force": "-f" },
  chmod: { "--recursive": "-R" },
  chown: { "--recursive": "-R" },
};

/**
 * The normalised tokens of a command's arguments: option clusters split (`-rf` → `-r`,
 * `-f`), long forms mapped, root-like paths (`//`, `/.`, `/*`) reduced to `/`, chmod modes
 * reduced (`0777`, `a+rwx` → `777`).
 *
 * @example Spellings collapse to one token set
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { commandTokens } from "./_policy_match.ts";
 * deepEqual([...commandTokens("rm", ["--recursive", "-f", "/*"])], ["-r", "-f", "/*", "/"]);
 * ```
 */
export function commandTokens(name: string, args: readonly string[]): Set<string> {
  const out = new Set<string>();
  let options = true;
  for (const a of args) {
    if (options && a === "--") {
      options = false;
    } else if (options && a.startsWith("--")) {
      const key = a.split("=")[0]!;
      out.add(LONG_ALIASES[name]?.[key] ?? key);
    } else if (options && a.length > 1 && a.startsWith("-") && !/^-\d+$/.test(a)) {
      for (const ch of a.slice(1)) out.add(SHORT_ALIASES[name]?.[`-${ch}`] ?? `-${ch}`);
    } else {
      for (const form of operandForms(name, a)) out.add(form);
    }
  }
  return out;
}

function operandForms(name: string, a: string): string[] {
  const forms = [a];
  if (a.startsWith("/")) {
    const n = normalizePath(a);
    forms.push(n);
    if (/\/\*+$/.test(a)) forms.push(normalizePath(a.replace(/\/\*+$/, "")));
  }
  if (name === "chmod") {
    const octal = /^0*([0-7]{1,4})$/.exec(a);
    if (octal) forms.push(octal[1]!, octal[1]!.slice(-3));
    const sym = /^([ugoa]*)[+=]rwx$/.exec(a);
    if (sym && (sym[1] === "" || sym[1]!.includes("a") || /^(?=.*u)(?=.*g)(?=.*o)/.test(sym[1]!))) {
      forms.push("777");
    }
  }
  return forms;
}

/** Characters a shell reads literally in an unquoted word (no quote, expansion, glob or operator). */
const LITERAL_WORD = /^[A-Za-z0-9_./+,:@%-]+$/;
/** Words the shell parser reads as syntax or as a declaration, not as a command's argv. */
const SHELL_KEYWORDS = new Set([
  "case",
  "coproc",
  "declare",
  "do",
  "done",
  "elif",
  "else",
  "esac",
  "export",
  "fi",
  "for",
  "function",
  "if",
  "in",
  "let",
  "local",
  "nameref",
  "readonly",
  "select",
  "then",
  "time",
  "typeset",
  "until",
  "while",
]);

/**
 * The argv of a blocked-command entry made only of plain words (letters, digits and
 * `_ . / + , : @ % -`, separated by spaces or tabs, none a shell keyword), which is exactly what
 * the shell parser reads from it; undefined for anything else, which the caller gives to the
 * real parser. Spares loading the shell parser for the usual entries (`sudo`, `rm -rf /`).
 *
 * @example Plain words split; anything the shell would interpret is left to the parser
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { plainArgv } from "./_policy_match.ts";
 * deepEqual(plainArgv("rm -rf /"), ["rm", "-rf", "/"]);
 * equal(plainArgv("sudo 'x"), undefined);
 * equal(plainArgv("time sudo"), undefined);
 * ```
 */
export function plainArgv(entry: string): string[] | undefined {
  const words = entry.split(/[ \t]+/).filter((w) => w !== "");
  if (words.length === 0) return undefined;
  for (const w of words) {
    if (!LITERAL_WORD.test(w) || SHELL_KEYWORDS.has(w)) return undefined;
  }
  return words;
}

/**
 * One blocked-command entry, parsed once.
 *
 * @example Flag order and spelling do not matter
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { BlockedCommand } from "./_policy_match.ts";
 * ok(new BlockedCommand("rm -rf /", ["rm", "-rf", "/"]).matches(["rm", "-f", "-r", "//"]));
 * ```
 */
export class BlockedCommand {
  readonly source: string;
  #name: string;
  #tokens: string[];

  constructor(source: string, argv: readonly string[]) {
    if (argv.length === 0 || argv[0] === "") {
      throw new TypeError(`Cannot use blocked command "${source}": it names no command`);
    }
    this.source = source;
    this.#name = basename(argv[0]!);
    this.#tokens = [...commandTokens(this.#name, argv.slice(1))];
  }

  /** True when `argv` runs this command with every required token. */
  matches(argv: readonly string[]): boolean {
    const name = basename(argv[0] ?? "");
    if (name !== this.#name && !name.startsWith(this.#name + ".")) return false;
    if (this.#tokens.length === 0) return true;
    const have = commandTokens(this.#name, argv.slice(1));
    return this.#tokens.every((t) => have.has(t));
  }
}
