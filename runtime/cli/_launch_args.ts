/**
 * What the launcher needs from the command line, read without the command tree (which would
 * load every command's module): which command runs, `--workspace`, and the paths its
 * arguments name for reading or writing (`init DIR`, `audit export -o FILE`, …). The scan
 * mirrors commander's rules for the options that matter; a path it misses is simply not
 * granted, and the command then fails with `NotCapable` (closed, never open).
 *
 * It imports nothing (node:path alone costs the launcher about 4 ms at start-up): the POSIX
 * path helpers it needs ({@link resolvePath}, {@link dirnameOf}, {@link joinPath}) are here.
 *
 * @module
 */

/** `path` with `.`, `..`, repeated and trailing slashes resolved (node:path's `normalize`, less the trailing slash). */
function normalize(path: string): string {
  const absolute = path.startsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out.at(-1) !== "..") out.pop();
      else if (!absolute) out.push("..");
    } else out.push(part);
  }
  const joined = out.join("/");
  return absolute ? `/${joined}` : joined === "" ? "." : joined;
}

/**
 * The absolute path of `paths` resolved right to left, as node:path's POSIX `resolve`
 * (the process's folder when none is absolute).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { resolvePath } from "./_launch_args.ts";
 * equal(resolvePath("/u/proj", "../x/./y/"), "/u/x/y");
 * equal(resolvePath("/u/proj", "/etc//a"), "/etc/a");
 * ```
 */
export function resolvePath(...paths: string[]): string {
  let path = "";
  for (let i = paths.length - 1; i >= 0 && !path.startsWith("/"); i--) {
    if (paths[i] !== "") path = path === "" ? paths[i]! : `${paths[i]}/${path}`;
  }
  if (!path.startsWith("/")) path = `${Deno.cwd()}/${path}`;
  return normalize(path);
}

/**
 * The parent folder of `path` (as node:path's POSIX `dirname`).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { dirnameOf } from "./_launch_args.ts";
 * equal(dirnameOf("/a/b/"), "/a");
 * equal(dirnameOf("/a"), "/");
 * ```
 */
export function dirnameOf(path: string): string {
  if (path === "") return ".";
  let end = -1;
  let trailing = true; // still in the trailing slashes
  for (let i = path.length - 1; i >= 1; i--) {
    if (path[i] !== "/") trailing = false;
    else if (!trailing) {
      end = i;
      break;
    }
  }
  if (end === -1) return path.startsWith("/") ? "/" : ".";
  return path.startsWith("/") && end === 1 ? "//" : path.slice(0, end);
}

/**
 * `paths` joined with `/` and normalized (as node:path's POSIX `join`, without a trailing slash).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { joinPath } from "./_launch_args.ts";
 * equal(joinPath("/h", ".astrid", "cache"), "/h/.astrid/cache");
 * ```
 */
export function joinPath(...paths: string[]): string {
  const joined = paths.filter((p) => p !== "").join("/");
  return joined === "" ? "." : normalize(joined);
}

/** How an argument is used (`listen`: an address the command binds, granted as a net host). */
type Use = "read" | "write" | "folder" | "value" | "variadic" | "listen";

interface Spec {
  /** What each positional argument is; `cwd` marks one that defaults to the current folder. */
  readonly positional?: readonly ({ readonly use: Use | null; readonly cwd?: true })[];
  /** Options that take a value, and what the value is. */
  readonly options?: Readonly<Record<string, Use>>;
}

/** The commands whose arguments name paths, by their words. */
const SPECS: Readonly<Record<string, Spec>> = {
  "init": { positional: [{ use: "write", cwd: true }] },
  "config validate": { positional: [{ use: "read" }] },
  "audit export": { options: { "-o": "write", "--output": "write" } },
  "audit verify": { options: { "--file": "read", "--key": "value" } },
  "capsule install": {
    positional: [{ use: "folder" }],
    options: { "--scope": "value", "--env": "variadic" },
  },
  "capsule compile": {
    positional: [{ use: "folder" }],
    options: { "-o": "write", "--out": "write" },
  },
  "capsule new": { positional: [{ use: null }, { use: "write" }] },
  "capsule call": { positional: [{ use: "folder" }], options: { "--env": "variadic" } },
  "demo": { options: { "--keep": "write" } },
  "mcp serve": { options: { "--token-file": "read", "--listen": "listen", "--tools": "variadic" } },
  "daemon run": {
    options: { "--listen": "listen", "--port": "value", "--public-url": "value", "--log": "write" },
  },
  "daemon start": { options: { "--listen": "listen", "--port": "value", "--public-url": "value" } },
};

/** The commands that run the capsule toolchain instead of the runtime. */
const TOOLCHAIN = new Set(["capsule compile", "capsule new"]);

/** What the launcher learns from the command line. */
export interface ScannedArgs {
  /**
   * `print`: only `--version` or `--help`, which need no permissions; `toolchain`: `capsule
   * compile` / `capsule new`; `runtime`: everything else.
   */
  readonly kind: "print" | "runtime" | "toolchain";
  /** The command's words (`["capsule", "compile"]`). */
  readonly command: readonly string[];
  /** `--workspace DIR`, as written (relative to the user's folder). */
  readonly workspace: string | undefined;
  /** Absolute paths the arguments name for reading (a folder, or a file's folder). */
  readonly read: readonly string[];
  /** Absolute paths the arguments name for writing. */
  readonly write: readonly string[];
  /** Registry hosts (`host[:port]`) of the `oci://` references among the arguments. */
  readonly net: readonly string[];
  /** `capsule call DIR`: the uninstalled capsule folder, whose `net` hosts it may reach. */
  readonly capsuleDir?: string;
  /** `capsule compile DIR [-o OUT]` / `capsule new NAME [DIR]`: the project and output. */
  readonly toolchain?: { readonly project: string; readonly out: string };
}

const PRINT_ONLY = new Set(["-V", "--version", "-h", "--help"]);

function specOf(words: readonly string[]): [string, Spec] | undefined {
  for (let n = Math.min(words.length, 2); n > 0; n--) {
    const key = words.slice(0, n).join(" ");
    const spec = SPECS[key];
    if (spec) return [key, spec];
  }
  return undefined;
}

/**
 * Reads `args` (without the program name) as the `astrid` command tree would, resolving paths
 * against `cwd` (the user's folder). `isFile` tells a file from a folder for `capsule install
 * PATH/Capsule.toml` (the folder is granted).
 *
 * @example Paths named by the arguments
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { scanArgs } from "./_launch_args.ts";
 * const scan = scanArgs(["--workspace", "ws", "audit", "export", "-o", "out.jsonl"], "/u");
 * equal(scan.workspace, "ws");
 * deepEqual(scan.write, ["/u/out.jsonl"]);
 * equal(scanArgs(["--version"], "/u").kind, "print");
 * equal(scanArgs(["capsule", "compile", "cap"], "/u").toolchain?.out, "/u/cap/dist");
 * ```
 */
export function scanArgs(
  args: readonly string[],
  cwd: string,
  isFile: (path: string) => boolean = () => false,
): ScannedArgs {
  if (args.length === 1 && PRINT_ONLY.has(args[0]!)) {
    return { kind: "print", command: [], workspace: undefined, read: [], write: [], net: [] };
  }
  const words: string[] = [];
  const values: { use: Use; value: string }[] = [];
  let workspace: string | undefined;
  let rest = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (rest || arg === "-" || !arg.startsWith("-")) {
      words.push(arg);
      continue;
    }
    if (arg === "--") {
      rest = true;
      continue;
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg.startsWith("--") ? arg : arg.slice(0, 2);
    const inline = eq > 0
      ? arg.slice(eq + 1)
      : !arg.startsWith("--") && arg.length > 2
      ? arg.slice(2)
      : undefined;
    if (name === "-w" || name === "--workspace") {
      // An optional value: the next word when it is not an option (as commander reads it).
      if (inline !== undefined) workspace = inline;
      else if (i + 1 < args.length && !args[i + 1]!.startsWith("-")) workspace = args[++i]!;
      continue;
    }
    const use = specOf(words)?.[1].options?.[name];
    if (use === undefined) continue; // a flag, or an option whose value names no path
    if (use === "variadic") {
      if (inline !== undefined) values.push({ use: "value", value: inline });
      while (i + 1 < args.length && !args[i + 1]!.startsWith("-")) i++;
      continue;
    }
    const value = inline ?? args[++i];
    if (value !== undefined) values.push({ use, value });
  }

  const found = specOf(words);
  const key = found?.[0] ?? "";
  const spec = found?.[1] ?? {};
  const positionals = words.slice(key === "" ? 0 : key.split(" ").length);
  (spec.positional ?? []).forEach((p, n) => {
    const value = positionals[n] ?? (p.cwd ? "." : undefined);
    if (p.use !== null && value !== undefined) values.push({ use: p.use, value });
  });
  const read: string[] = [];
  const write: string[] = [];
  for (const { use, value } of values) {
    const path = resolvePath(cwd, value);
    if (use === "write") write.push(path);
    else if (use === "read") read.push(path);
    else if (use === "folder") read.push(isFile(path) ? dirnameOf(path) : path);
  }
  const command = key === "" ? words.slice(0, 1) : key.split(" ");
  const listen = values.flatMap((v) => v.use === "listen" ? [v.value.toLowerCase()] : []);
  const net = [
    ...new Set([...[...words, ...values.map((v) => v.value)].flatMap(ociHost), ...listen]),
  ];
  if (!TOOLCHAIN.has(key)) {
    const called = key === "capsule call" && read[0] !== undefined ? { capsuleDir: read[0] } : {};
    return { kind: "runtime", command, workspace, read, write, net, ...called };
  }
  const project = key === "capsule new"
    ? write[0] ?? resolvePath(cwd, positionals[0] ?? ".")
    : read[0] ?? resolvePath(cwd);
  const out = key === "capsule new" ? project : write[0] ?? `${project}/dist`;
  return {
    kind: "toolchain",
    command,
    workspace,
    read,
    write,
    net,
    toolchain: { project, out },
  };
}

/** `host[:port]` of an `oci://host[:port]/…` reference (none for anything else). */
function ociHost(word: string): string[] {
  const m = /^oci:\/\/([^/\s?#@]+)/i.exec(word);
  return m ? [m[1]!.toLowerCase()] : [];
}
