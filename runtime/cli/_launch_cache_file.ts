/**
 * The trusted file of the launcher's flag cache (runtime/cli/_launch_cache.ts):
 * `$ASTRID_HOME/cache/launch-flags.json`, its entries' shape, and how it is read and written.
 *
 * The file is read and written as runtime/config/cache_file.ts says (trusted only when no one but
 * this user could have written it; written atomically, 0600, into `$ASTRID_HOME/cache/`) and
 * must be well-formed; anything else reads as no entries (recomputed and rewritten), never an
 * error.
 *
 * Format (text lines): `astrid-launch-flags 2`; one line per entry, its header's key (the JSON
 * array of its {@link Header} fields), a tab, then the entry's JSON; `end N` with N the number of
 * entries. A run parses only the lines of its own header: a home's file holds up to 16 entries of
 * about 9 KB (each `capsule install` of another folder has its own), and a run needs one or two.
 *
 * @module
 */
import { joinPath as join } from "./_launch_args.ts";
import { readTrusted, writeTrusted } from "../config/cache_file.ts";
import { type Dep, DEP_KINDS } from "./_launch_deps.ts";

export { uid } from "../config/cache_file.ts";

/** The cache file's name under `$ASTRID_HOME/cache/`. */
export const CACHE_FILE = "launch-flags.json";
/** A larger cache file is ignored. */
export const MAX_CACHE_BYTES = 1 << 20;
/** The file's first line: a file of another format is ignored. */
const MAGIC = "astrid-launch-flags 2";

/** What a cache entry is for: every field must be equal for it to be considered. */
export interface Header {
  readonly uid: number | null;
  readonly deno: string;
  readonly repo: string;
  readonly home: string;
  readonly cwd: string;
  /** The process's own folder (`deno task` runs in the repo; `cwd` is then `INIT_CWD`). */
  readonly pwd: string;
  readonly scan: string;
}

/** One cached result: what it is for, the inputs it was computed from, and the flags. */
export interface Entry {
  readonly header: Header;
  readonly deps: readonly Dep[];
  /** The SHA-256 of the environment values the computation read, in `env` dep order. */
  readonly envHash: string;
  readonly flags: readonly string[];
}

/** The fields of a {@link Header}, all compared. */
const HEADER_KEYS = ["uid", "deno", "repo", "home", "cwd", "pwd", "scan"] as const;

/** The cache file of the `$ASTRID_HOME` at `home`. */
export function cachePath(home: string): string {
  return join(home, "cache", CACHE_FILE);
}

/** The key an entry's line starts with: its header's fields, in {@link HEADER_KEYS} order. */
function headerKey(h: Header): string {
  return JSON.stringify(HEADER_KEYS.map((k) => h[k]));
}

/**
 * The entries of a cache file's text (with `header`, only that header's), or null when the file
 * is malformed or cut short. The lines of other headers are not parsed. Each parsed entry's
 * header is checked here; the rest of an entry only when its header is a run's
 * ({@link wellFormed}).
 */
function parseEntries(text: string, header?: Header): Entry[] | null {
  const lines = text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");
  const count = lines.length - 2;
  if (lines[0] !== MAGIC || count < 0 || lines[count + 1] !== `end ${count}`) return null;
  const wanted = header === undefined ? null : `${headerKey(header)}\t`;
  const str = (v: unknown) => typeof v === "string";
  const out: Entry[] = [];
  for (const line of lines.slice(1, count + 1)) {
    const tab = line.indexOf("\t");
    if (tab < 0) return null;
    if (wanted !== null && !line.startsWith(wanted)) continue;
    let e: Entry;
    try {
      e = JSON.parse(line.slice(tab + 1));
    } catch {
      return null;
    }
    const h = e?.header as unknown as Record<string, unknown> | undefined;
    if (typeof h !== "object" || h === null) return null;
    if (
      !HEADER_KEYS.every((k) => k === "uid" ? h[k] === null || typeof h[k] === "number" : str(h[k]))
    ) {
      return null;
    }
    if (line.slice(0, tab) !== headerKey(e.header)) return null; // filed under another header
    out.push(e);
  }
  return out;
}

/** The text of a cache file holding `entries`. */
function fileText(entries: readonly Entry[]): string {
  const lines = entries.map((e) => `${headerKey(e.header)}\t${JSON.stringify(e)}`);
  return `${MAGIC}\n${lines.join("\n")}${lines.length > 0 ? "\n" : ""}end ${lines.length}\n`;
}

/** True when an entry (its header checked) is well-formed: deps, environment hash, flags. */
export function wellFormed(e: Entry): boolean {
  const str = (v: unknown) => typeof v === "string";
  return Array.isArray(e.deps) && str(e.envHash) && Array.isArray(e.flags) &&
    e.deps.every((d) =>
      Array.isArray(d) && d.length === 3 && DEP_KINDS.has(d[0]) && d.every(str)
    ) &&
    e.flags.every((f) => str(f) && f.startsWith("--"));
}

/**
 * The trusted entries of the cache file at `path` (none when it is absent, not trusted or
 * malformed); with `header`, only the entries for it.
 */
export function readEntries(path: string, header?: Header): Entry[] {
  const text = readTrusted(path, MAX_CACHE_BYTES);
  return text === null ? [] : parseEntries(text, header) ?? [];
}

/** True when two entries are for the same run. */
export function sameHeader(a: Header, b: Header): boolean {
  return HEADER_KEYS.every((k) => a[k] === b[k]);
}

/** Writes `entries` to the cache file at `path` atomically, dropping the last ones to fit; never throws. */
export function writeEntries(path: string, entries: readonly Entry[]): void {
  let text = fileText(entries);
  let kept = entries;
  while (text.length > MAX_CACHE_BYTES && kept.length > 1) {
    kept = kept.slice(0, -1);
    text = fileText(kept);
  }
  if (text.length <= MAX_CACHE_BYTES) writeTrusted(path, text);
}
