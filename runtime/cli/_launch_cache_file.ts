/**
 * The trusted file of the launcher's flag cache (runtime/cli/_launch_cache.ts):
 * `$ASTRID_HOME/cache/launch-flags.json`, its entries' shape, and how it is read and written.
 *
 * The file is trusted only when it is a regular file (not a symlink) owned by this uid, with no
 * group or other permission bits, at most {@link MAX_CACHE_BYTES}, read through one handle
 * checked to be that file, in a folder (not a symlink) of this uid's that no one else can write,
 * and well-formed; anything else reads as no entries (recomputed and rewritten), never an error.
 * It is written atomically (a 0600 temp file, then rename) into `$ASTRID_HOME/cache/` (0700),
 * which no agent-side action can write. `$ASTRID_HOME` itself is never created here.
 *
 * @module
 */
import { joinPath as join } from "./_launch_args.ts";
import { type Dep, DEP_KINDS, fs } from "./_launch_deps.ts";

/** The cache file's name under `$ASTRID_HOME/cache/`. */
export const CACHE_FILE = "launch-flags.json";
/** A larger cache file is ignored. */
export const MAX_CACHE_BYTES = 1 << 20;
/** The file format's version: a file of another is ignored. */
const FORMAT = 1;

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

/** This process's uid, or null where there is none. */
export function uid(): number | null {
  try {
    return Deno.uid();
  } catch {
    return null;
  }
}

/** The entries of a cache file's text, or null when it is malformed in any way. */
function parseEntries(text: string): Entry[] | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  const file = data as { format?: unknown; entries?: unknown };
  if (file?.format !== FORMAT || !Array.isArray(file.entries)) return null;
  const str = (v: unknown) => typeof v === "string";
  for (const e of file.entries as Entry[]) {
    const h = e?.header as unknown as Record<string, unknown> | undefined;
    if (typeof h !== "object" || h === null) return null;
    if (
      !HEADER_KEYS.every((k) => k === "uid" ? h[k] === null || typeof h[k] === "number" : str(h[k]))
    ) {
      return null;
    }
    if (!Array.isArray(e.deps) || !str(e.envHash) || !Array.isArray(e.flags)) return null;
    if (
      !e.deps.every((d) =>
        Array.isArray(d) && d.length === 3 && DEP_KINDS.has(d[0]) && d.every(str)
      )
    ) {
      return null;
    }
    if (!e.flags.every((f) => str(f) && f.startsWith("--"))) return null;
  }
  return file.entries as Entry[];
}

/** The trusted entries of the cache file at `path` (none when it is absent or not trusted). */
export function readEntries(path: string): Entry[] {
  const me = uid();
  const ours = (info: Deno.FileInfo, bits: number) =>
    (me === null || info.uid === me) && (info.mode === null || (info.mode & bits) === 0);
  let file: Deno.FsFile | null = null;
  try {
    // The folder too: whoever else could write it could swap the file after these checks.
    const dir = fs.lstat(join(path, ".."));
    if (!dir.isDirectory || !ours(dir, 0o022)) return [];
    const info = fs.lstat(path);
    if (!info.isFile || info.size > MAX_CACHE_BYTES || !ours(info, 0o077)) return [];
    // Read through one handle, checked to be the file just checked.
    file = Deno.openSync(path, { read: true });
    const opened = file.statSync();
    if (opened.dev !== info.dev || opened.ino !== info.ino || opened.size !== info.size) return [];
    const bytes = new Uint8Array(opened.size);
    let at = 0;
    while (at < bytes.length) {
      const n = file.readSync(bytes.subarray(at));
      if (n === null || n === 0) return [];
      at += n;
    }
    return parseEntries(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) ?? [];
  } catch {
    return [];
  } finally {
    file?.close();
  }
}

/** True when two entries are for the same run. */
export function sameHeader(a: Header, b: Header): boolean {
  return HEADER_KEYS.every((k) => a[k] === b[k]);
}

/** Writes `entries` to the cache file at `path` atomically, dropping the last ones to fit; never throws. */
export function writeEntries(path: string, entries: readonly Entry[]): void {
  const dir = join(path, "..");
  try {
    Deno.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) return;
  }
  try {
    // Only into a real folder of this user's (not a symlink), closed to others.
    const info = fs.lstat(dir);
    const me = uid();
    if (!info.isDirectory || (me !== null && info.uid !== me)) return;
    if (info.mode !== null && (info.mode & 0o077) !== 0) Deno.chmodSync(dir, 0o700);
  } catch {
    return;
  }
  const temp = `${path}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  try {
    let text = JSON.stringify({ format: FORMAT, entries });
    let kept = entries;
    while (text.length > MAX_CACHE_BYTES && kept.length > 1) {
      kept = kept.slice(0, -1);
      text = JSON.stringify({ format: FORMAT, entries: kept });
    }
    if (text.length > MAX_CACHE_BYTES) return;
    Deno.writeTextFileSync(temp, text, { mode: 0o600, createNew: true });
    Deno.chmodSync(temp, 0o600); // the umask cannot widen it, but a mode is not trusted blindly
    Deno.renameSync(temp, path);
  } catch {
    try {
      Deno.removeSync(temp);
    } catch {
      // never written
    }
  }
}
