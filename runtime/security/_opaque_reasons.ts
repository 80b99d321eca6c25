/**
 * Private: the reasons opaque.ts gives, by where a program comes from (stdin, a file
 * argument, an awk or sed text, code xargs or find splices into), and the feed xargs gives
 * the command it runs.
 *
 * @module
 */
import type { ProgramWord } from "./_awk_sed.ts";
import { isStdinPath, STDIN_FILES } from "./_scripts.ts";
import type { StdinKind, WordKind } from "./shell_types.ts";

/** A word of argv and how its value is known. */
export interface Word {
  readonly text: string;
  readonly kind: WordKind;
}
/** What feeds one wrapper level of a command. */
export interface Feed {
  readonly stdin: StdinKind;
  /** shell.ts parsed the literal here-document or here-string as the script. */
  readonly stdinParsed: boolean;
  readonly via?: "xargs" | "find";
  /** The token xargs -I or find -exec replaces with its input. */
  readonly replace?: string;
  /** xargs appends its input items as arguments. */
  readonly appends?: boolean;
  /** The line sets BASH_ENV or ENV to a file only known at run time. */
  readonly startup: boolean;
}

const SOURCES: Readonly<Partial<Record<StdinKind, string>>> = {
  pipe: "a pipe",
  heredoc: "a here-document",
  herestring: "a here-string",
  file: "a redirected file",
  procsub: "a process substitution",
  unknown: "an unknown standard input",
};

/**
 * The feed of the command xargs runs, from xargs' own options: its children read /dev/null
 * unless xargs reads its items from a file (`-a`), and `-I`/`-i`/`--replace` splice input
 * into the arguments instead of appending it.
 */
export function xargsFeed(options: readonly Word[], feed: Feed): Feed {
  let replace: string | undefined;
  let argFile = false;
  for (let i = 0; i < options.length; i++) {
    const a = options[i]!.text;
    if (a === "-I") replace = options[i + 1]?.text;
    else if (a.startsWith("-I")) replace = a.slice(2);
    else if (a === "-i" || a === "--replace") replace = "{}";
    else if (a.startsWith("-i")) replace = a.slice(2);
    else if (a.startsWith("--replace=")) replace = a.slice(10);
    else if (a.startsWith("-a") || a.startsWith("--arg-file")) argFile = true;
  }
  return {
    stdin: argFile ? feed.stdin : "closed",
    stdinParsed: false,
    startup: feed.startup,
    via: "xargs",
    ...(replace ? { replace } : { appends: true }),
  };
}

/**
 * A program read from stdin. `lang` is "shell" for bash-dialect shells (their literal stdin
 * text was parsed), else the language the policy cannot read.
 */
export function stdinReason(
  feed: Feed,
  name: string,
  what: string,
  lang: string,
): string | undefined {
  if (feed.appends) return `xargs supplies the ${what} ${name} runs`;
  const source = SOURCES[feed.stdin];
  if (source === undefined || (lang === "shell" && feed.stdinParsed)) return undefined;
  return lang === "shell"
    ? `the ${what} ${name} reads from ${source} is only known at run time`
    : `${name} runs ${lang} code from ${source}, which the policy cannot read`;
}

/** A program named as a file argument. */
export function fileReason(
  word: Word,
  feed: Feed,
  name: string,
  what: string,
  lang: string,
): string | undefined {
  if (word.kind === "procsub") {
    return `the ${what} ${name} runs comes from a process substitution, only known at run time`;
  }
  if (word.text === "-" || STDIN_FILES.has(word.text)) return stdinReason(feed, name, what, lang);
  if (isStdinPath(word.text)) {
    return `${name} reads its ${what} from a file descriptor, only known at run time`;
  }
  if (feed.via === "xargs" && feed.replace && word.text.includes(feed.replace)) {
    return `xargs supplies the ${what} ${name} runs`;
  }
  // A file named at run time may be /dev/stdin when something feeds stdin.
  if (word.kind === "dynamic" && SOURCES[feed.stdin] && !feed.stdinParsed) {
    return `the ${what} ${name} runs is named only at run time while its standard input is fed`;
  }
  return undefined;
}

/** awk programs and sed scripts: literal text the policy reads with a small scan. */
export function textReason(
  level: readonly Word[],
  programs: readonly ProgramWord[] | "missing",
  feed: Feed,
  name: string,
  what: string,
  runsCommands: (text: string) => boolean,
): string | undefined {
  if (programs === "missing") {
    return feed.appends ? `xargs supplies the ${what} ${name} runs` : undefined;
  }
  for (const { index, offset } of programs) {
    const word = level[index];
    if (word === undefined) {
      return feed.appends ? `xargs supplies the ${what} ${name} runs` : undefined;
    }
    if (word.kind !== "literal") return `the ${name} ${what} is only known at run time`;
    const text = word.text.slice(offset);
    if (runsCommands(text)) {
      return `the ${name} ${what} runs shell commands the policy cannot read`;
    }
    const reason = spliced({ text, kind: "literal" }, feed, name);
    if (reason !== undefined) return reason;
  }
  return undefined;
}

/** Code into which xargs -I or find -exec splices its input. */
export function spliced(code: Word, feed: Feed, name: string): string | undefined {
  if (feed.replace === undefined || !code.text.includes(feed.replace)) return undefined;
  return feed.via === "find"
    ? `find -exec splices file names into the code ${name} runs`
    : `xargs splices its input into the code ${name} runs`;
}
