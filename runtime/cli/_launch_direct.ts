/**
 * Starting the CLI without the launcher's own process (issue 15): the installed `astrid`
 * (scripts/install.ts writes it) is a small shell script that, in a folder where the launcher
 * has run before, starts the CLI straight under the permission flags the launcher last used
 * there, instead of starting the launcher (a whole Deno start-up, about 20 ms) to work them out.
 *
 * The launcher keeps those flags per folder in `$ASTRID_HOME/cache/launch-direct`
 * ({@link rememberDirect}), written like the flag cache (config/cache_file.ts). The script reads
 * them only from a regular file of its user's, accepts only `--no-prompt`, `--allow-read`,
 * `--allow-env` and `--allow-{read,write,run,net,sys}=LIST` lines, and only a block with
 * `--allow-env` (without it the CLI could not read the variable below, so could not check the
 * flags); anything else (`--allow-all`, `--deny-*`, a whole write, run or net) sends it to the
 * launcher. It hands the exact
 * list on in `ASTRID_DIRECT_FLAGS`. Nothing is trusted from that: before running anything, the
 * CLI (launch.ts) takes the variable out of its environment ({@link takeDirectFlags}) and checks
 * that the launcher's trusted flag cache holds, for this very command line, folder and
 * environment, an entry whose recorded inputs are all unchanged and whose flags are exactly
 * these. Otherwise it does what the launcher does (works the flags out, starts the CLI under
 * them) and exits with that process's status. The variable can only make the CLI do that work
 * itself; it grants nothing.
 *
 * File format (text lines): `astrid-direct 1`, then per folder, most recent first, `dir PATH`,
 * one line per flag, `end`. At most {@link MAX_FOLDERS} folders.
 *
 * @module
 */
import { readTrusted, writeTrusted } from "../config/cache_file.ts";

/** The file's name under `$ASTRID_HOME/cache/`. */
export const DIRECT_FILE = "launch-direct";
/** The environment variable the installed script hands the flags in (one per line). */
export const DIRECT_ENV = "ASTRID_DIRECT_FLAGS";
/** Folders remembered. */
export const MAX_FOLDERS = 16;
const MAGIC = "astrid-direct 1";
const MAX_BYTES = 256 << 10;

/**
 * A flag the installed script accepts (it checks the same with a shell `case`): the forms the
 * runtime's set takes (launch_flags.ts `denoFlags`). No `--deny-*` (`--deny-env` could hide the
 * variable from the check) and no whole write, run or net.
 */
const ACCEPTED = /^(--no-prompt|--allow-read|--allow-env|--allow-(read|write|run|net|sys)=.+)$/;

/** The folder → flags blocks of the file's text, or null when it is not one. */
function parse(text: string): Map<string, string[]> | null {
  const lines = text.split("\n");
  if (lines[0] !== MAGIC) return null;
  const blocks = new Map<string, string[]>();
  let dir: string | null = null;
  let flags: string[] = [];
  for (const line of lines.slice(1)) {
    if (dir === null) {
      if (line === "") continue;
      if (!line.startsWith("dir /")) return null;
      dir = line.slice(4);
      flags = [];
    } else if (line === "end") {
      blocks.set(dir, flags);
      dir = null;
    } else flags.push(line);
  }
  return dir === null ? blocks : null;
}

/**
 * Remembers `flags` as the launcher's flags for folder `cwd` of the `$ASTRID_HOME` at `home`,
 * most recent first (when they differ from what is there). Flags the installed script would not
 * accept (or without `--allow-env`), or a folder or flag holding a line break, are not
 * remembered. Never throws.
 *
 * @example Remembered for the folder
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { rememberDirect } from "./_launch_direct.ts";
 * const home = await Deno.makeTempDir();
 * rememberDirect(home, "/work/project", ["--no-prompt", "--allow-env"]);
 * const text = Deno.readTextFileSync(`${home}/cache/launch-direct`);
 * equal(text.includes("dir /work/project\n--no-prompt\n--allow-env\nend"), true);
 * await Deno.remove(home, { recursive: true });
 * ```
 */
export function rememberDirect(home: string, cwd: string, flags: readonly string[]): void {
  if (!cwd.startsWith("/") || cwd.includes("\n") || !flags.includes("--allow-env")) return;
  if (!flags.every((f) => ACCEPTED.test(f) && !f.includes("\n"))) return;
  const path = `${home}/cache/${DIRECT_FILE}`;
  const text = readTrusted(path, MAX_BYTES);
  const blocks = (text === null ? null : parse(text)) ?? new Map<string, string[]>();
  const [first] = blocks;
  if (first?.[0] === cwd && first[1].join("\n") === flags.join("\n")) return;
  blocks.delete(cwd);
  const kept = [[cwd, [...flags]] as const, ...blocks].slice(0, MAX_FOLDERS);
  const body = kept.map(([dir, f]) => [`dir ${dir}`, ...f, "end"].join("\n")).join("\n");
  writeTrusted(path, `${MAGIC}\n${body}\n`);
}

/**
 * The flags the installed script started this process under (`ASTRID_DIRECT_FLAGS`), or null;
 * the variable is removed from the environment either way, so nothing this process starts
 * inherits it.
 */
export function takeDirectFlags(): string[] | null {
  let value: string | undefined;
  try {
    value = Deno.env.get(DIRECT_ENV);
    if (value !== undefined) Deno.env.delete(DIRECT_ENV);
  } catch {
    return null; // no env permission: not started by the script
  }
  return value === undefined || value === "" ? null : value.split("\n");
}
