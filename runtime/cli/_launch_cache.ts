/**
 * The launcher's cache of computed permission flags (issue 15), in
 * `$ASTRID_HOME/cache/launch-flags.json`. Computing the flags loads the configuration loader
 * (zod, smol-toml), reads the config files, lists capsule folders and resolves executables on
 * PATH: 30–45 ms on every command. A cached result is reused only when every input that produced
 * it is unchanged, checked with cheap system calls and without loading any of that.
 *
 * The inputs are recorded while computing, not listed by hand: {@link cachedFlags} runs the
 * computation with the `Deno` functions that read the file system wrapped, and with the
 * environment record behind a proxy, and keeps what each call returned:
 * - `stat`/`lstat`: the result's type, device, inode, mode and owner, and for a non-directory
 *   its size, mtime and ctime (a directory's entries are recorded when it is listed);
 * - `realPath`: the resolved path; a directory listing: its entries' names and types;
 * - a file read (`readFile`, `readTextFile`, or `open` read to its end): the SHA-256 of the exact
 *   bytes or text the computation received, so an edit that keeps the size and puts the mtime
 *   back is still seen;
 * - a KV store's `list({ prefix })` (the install records): each key and versionstamp (which
 *   change with every write of the entry); the store's file then counts by identity only, since
 *   every command writes to it;
 * - an environment variable read: whether it is set, and its value (a SHA-256 over the values is
 *   stored, not the values: they hold API keys); enumerating the environment: the names;
 * - a failure of any of these: the error's name (a missing file is an input too).
 * Anything else that reads the system (`Deno.Command`, `Deno.openSync`, `Deno.env`, a file read
 * partly, …) makes the result uncacheable: it is used for this run and not stored. Each entry is
 * further keyed by the uid, `Deno.execPath()` (and its file's identity), the repo,
 * `$ASTRID_HOME`, the user's folder and the scanned command line (runtime/cli/_launch_args.ts),
 * and records the identity of the computation's source files (the relative imports reachable from
 * _launch_inputs.ts, launch_flags.ts and this file, so the cache's own modules too, plus launch.ts,
 * deno.json and deno.lock), so an edit of the code recomputes too.
 *
 * The cache file is trusted only when it is a regular file (not a symlink) owned by this uid,
 * with no group or other permission bits, at most {@link MAX_CACHE_BYTES}, read through one
 * handle checked to be that file, in a folder (not a symlink) of this uid's that no one else can
 * write, and well-formed; anything else is ignored (recomputed and rewritten), never an error.
 * It is written atomically (a 0600 temp file, then rename) into `$ASTRID_HOME/cache/` (0700),
 * which no agent-side action can write. `$ASTRID_HOME` itself is never created here. The module
 * and its own modules import only the argument scanner: no node: module (node:path alone costs
 * 4 ms), no zod, no TOML parser.
 *
 * Layout: this file chooses between a cached, a computed and an uncached result (the entry's
 * key, the check of its recorded inputs); _launch_record.ts records a computation's inputs;
 * _launch_deps.ts says what an input is and what it is now; _launch_cache_file.ts reads and
 * writes the trusted cache file.
 *
 * Of the command line, an entry keeps only the scan's result (the command's words, and the paths
 * and hosts its arguments name), never a prompt or a tool's JSON arguments.
 *
 * @module
 */
import {
  joinPath as join,
  resolvePath as resolve,
  scanArgs,
  type ScannedArgs,
} from "./_launch_args.ts";
import {
  cachePath,
  type Entry,
  type Header,
  readEntries,
  sameHeader,
  uid,
  wellFormed,
  writeEntries,
} from "./_launch_cache_file.ts";
import { current, type Dep, type Env, fs, kvListing, sha256 } from "./_launch_deps.ts";
import { type ComputeFlags, record } from "./_launch_record.ts";

export { CACHE_FILE, cachePath, MAX_CACHE_BYTES } from "./_launch_cache_file.ts";
export type { ComputeFlags } from "./_launch_record.ts";

/** Entries kept (one per command line shape, folder and environment). */
const MAX_ENTRIES = 16;
/** Entries kept for one command line shape and folder (other environments). */
const PER_HEADER = 4;

/** How the flags of this run were obtained. */
export interface CachedFlags {
  readonly flags: string[];
  /** `cached`: reused; `computed`: computed and stored; `uncached`: computed, not storable. */
  readonly source: "cached" | "computed" | "uncached";
  /** The `$ASTRID_HOME` the flags are cached in (not for an `uncached` result). */
  readonly home?: string;
}

const REPO = decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(/\/$/, "");

/**
 * `$ASTRID_HOME` as the runtime resolves it (runtime/config/paths.ts), or null when it cannot be
 * (then nothing is cached).
 */
function homeOf(env: Env, cwd: string): string | null {
  if (env.ASTRID_HOME) return resolve(cwd, env.ASTRID_HOME);
  const user = env.HOME ?? env.USERPROFILE;
  return user && user.startsWith("/") ? join(user, ".astrid") : null;
}

/** True when every recorded input still is what it was. */
async function holds(entry: Entry, env: Env): Promise<boolean> {
  // The environment first: it costs no system call.
  const values: string[] = [];
  for (const [kind, subject, value] of entry.deps) {
    if (kind === "env") {
      if ((env[subject] === undefined ? "0" : "1") !== value) return false;
      values.push(env[subject] ?? "");
    } else if (kind === "envkeys" && Object.keys(env).sort().join("\0") !== value) return false;
  }
  const contents = [sha256(JSON.stringify(values)).then((h) => h === entry.envHash)];
  for (const [kind, subject, value] of entry.deps) {
    if (kind === "env" || kind === "envkeys") continue;
    if (kind === "kv") {
      let prefix: Deno.KvKey;
      try {
        prefix = JSON.parse(value)[0];
        if (!Array.isArray(prefix)) return false;
      } catch {
        return false;
      }
      contents.push(kvListing(subject, prefix).then((now) => now === value, () => false));
      continue;
    }
    const now = current(kind, subject);
    if ("value" in now) {
      if (now.value !== value) return false;
      continue;
    }
    contents.push(sha256(now.data).then((h) => h === value));
  }
  return (await Promise.all(contents)).every(Boolean);
}

/** The relative imports (static and dynamic) of the TypeScript files reachable from `roots`. */
function sourceFiles(roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const queue = [...roots];
  const spec = /(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+\.ts)["']/g;
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    let text: string;
    try {
      text = fs.readTextFile(file);
    } catch {
      continue; // recorded as missing: its stat dep says so
    }
    for (const m of text.matchAll(spec)) queue.push(resolve(file, "..", m[1]!));
  }
  return [...seen].sort();
}

/** The identity of the computation's own code and of the Deno binary. */
function codeDeps(): Dep[] {
  const roots = ["_launch_inputs.ts", "launch_flags.ts", "_launch_cache.ts", "launch.ts"]
    .map((f) => join(REPO, "runtime/cli", f));
  // launch.ts's imports are the runtime itself (main.ts): only the file is recorded.
  const files = [
    ...sourceFiles(roots.slice(0, 3)),
    roots[3]!,
    join(REPO, "deno.json"),
    join(REPO, "deno.lock"),
    Deno.execPath(),
  ];
  return files.map((f): Dep => {
    const now = current("stat", f);
    return ["stat", f, "value" in now ? now.value : "!unknown"];
  });
}

/** The cache entry's key for `astrid …args` in `cwd`, or null when the run cannot be cached. */
function headerOf(args: readonly string[], env: Env, cwd: string): Header | null {
  const home = homeOf(env, cwd);
  let scan: ScannedArgs | null = null;
  try {
    scan = scanArgs(args, cwd, (p) => {
      try {
        return fs.stat(p).isFile;
      } catch {
        return false;
      }
    });
  } catch {
    scan = null;
  }
  let pwd: string | null = null;
  try {
    pwd = Deno.cwd();
  } catch {
    pwd = null; // the process's folder was removed
  }
  if (home === null || pwd === null || scan === null || scan.kind !== "runtime") return null;
  return {
    uid: uid(),
    deno: Deno.execPath(),
    repo: REPO,
    home,
    cwd,
    pwd,
    scan: JSON.stringify(scan),
  };
}

/** The cached entry for `header` whose recorded inputs all still hold (only its lines are read). */
async function lookup(header: Header, env: Env): Promise<Entry | null> {
  for (const entry of readEntries(cachePath(header.home), header)) {
    if (!sameHeader(entry.header, header) || !wellFormed(entry)) continue;
    if (await holds(entry, env)) return entry;
  }
  return null;
}

/**
 * The cached flags of `astrid …args` in `cwd` with `env` when every input recorded with them is
 * unchanged, else null (nothing is computed). What a process started straight under flags it
 * was handed (launch.ts, the installed `astrid`) checks them against.
 *
 * @example Nothing cached yet
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { lookupFlags } from "./_launch_cache.ts";
 * const home = await Deno.makeTempDir();
 * equal(await lookupFlags(["audit", "list"], { ASTRID_HOME: home }, "/"), null);
 * await Deno.remove(home, { recursive: true });
 * ```
 */
export async function lookupFlags(
  args: readonly string[],
  env: Env,
  cwd: string,
): Promise<string[] | null> {
  const header = headerOf(args, env, cwd);
  if (header === null) return null;
  const hit = await lookup(header, env);
  return hit === null ? null : [...hit.flags];
}

/**
 * The flags of `astrid …args` in `cwd` with `env`: from the cache when every input recorded
 * with them is unchanged, else from `compute` (recorded and stored when it can be). Never
 * throws for the cache's sake; `compute`'s errors propagate.
 *
 * @example Computed once, then reused while nothing changes
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { cachedFlags } from "./_launch_cache.ts";
 * const home = await Deno.makeTempDir();
 * const env = { ASTRID_HOME: home };
 * const compute = async () => ["--no-prompt", `--allow-write=${Deno.statSync(home).isDirectory}`];
 * equal((await cachedFlags(["audit", "list"], env, "/", compute)).source, "computed");
 * equal((await cachedFlags(["audit", "list"], env, "/", compute)).source, "cached");
 * await Deno.remove(home, { recursive: true });
 * ```
 */
export async function cachedFlags(
  args: readonly string[],
  env: Env,
  cwd: string,
  compute: ComputeFlags,
): Promise<CachedFlags> {
  const header = headerOf(args, env, cwd);
  if (header === null) return { flags: await compute(env), source: "uncached" };
  const home = header.home;
  const path = cachePath(home);
  const hit = await lookup(header, env);
  if (hit !== null) return { flags: [...hit.flags], source: "cached", home };
  const code = codeDeps();
  const { flags, deps, envValues } = await record(compute, env);
  if (deps === null) return { flags, source: "uncached" };
  let homeIsDir = false;
  try {
    homeIsDir = fs.lstat(home).isDirectory || fs.stat(home).isDirectory;
  } catch {
    homeIsDir = false;
  }
  if (!homeIsDir) return { flags, source: "uncached" };
  // The same input seen twice (a PATH folder probed for two commands) is checked once.
  const seen = new Set<string>();
  const unique = [...code, ...deps].filter((d) => {
    const key = JSON.stringify(d);
    return !seen.has(key) && seen.add(key);
  });
  const entry: Entry = {
    header,
    deps: unique,
    envHash: await sha256(JSON.stringify(envValues)),
    flags,
  };
  // Up to PER_HEADER entries of one command line shape (e.g. with and without ASTRID_PROFILE).
  const entries = readEntries(path);
  const same = entries.filter((e) => sameHeader(e.header, header) && wellFormed(e))
    .slice(0, PER_HEADER - 1);
  const others = entries.filter((e) => !sameHeader(e.header, header));
  writeEntries(path, [entry, ...same, ...others].slice(0, MAX_ENTRIES));
  return { flags, source: "computed", home };
}
