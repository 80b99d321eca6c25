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
 * _launch_inputs.ts, launch_flags.ts and this file, plus launch.ts, deno.json and deno.lock), so
 * an edit of the code recomputes too.
 *
 * The cache file is trusted only when it is a regular file (not a symlink) owned by this uid,
 * with no group or other permission bits, at most {@link MAX_CACHE_BYTES}, read through one
 * handle checked to be that file, in a folder (not a symlink) of this uid's that no one else can
 * write, and well-formed; anything else is ignored (recomputed and rewritten), never an error.
 * It is written atomically (a 0600 temp file, then rename) into `$ASTRID_HOME/cache/` (0700),
 * which no agent-side action can write. `$ASTRID_HOME` itself is never created here. The module
 * imports only the argument scanner: no node: module (node:path alone costs 4 ms), no zod, no
 * TOML parser.
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

/** The cache file's name under `$ASTRID_HOME/cache/`. */
export const CACHE_FILE = "launch-flags.json";
/** A larger cache file is ignored. */
export const MAX_CACHE_BYTES = 1 << 20;
/** Entries kept (one per command line shape, folder and environment). */
const MAX_ENTRIES = 16;
/** Entries kept for one command line shape and folder (other environments). */
const PER_HEADER = 4;
const FORMAT = 1;
/** A dep whose value is not known yet (no recorded value can be a lone NUL). */
const PENDING = "\0";

type Env = Readonly<Record<string, string | undefined>>;

/** One recorded input: a kind, a path or name, and what it was (a fingerprint or hash). */
type Dep = readonly [kind: DepKind, subject: string, value: string];
type DepKind =
  | "stat"
  | "kvfile"
  | "lstat"
  | "real"
  | "dir"
  | "bytes"
  | "text"
  | "kv"
  | "envkeys"
  | "env";

/** What a cache entry is for: every field must be equal for it to be considered. */
interface Header {
  readonly uid: number | null;
  readonly deno: string;
  readonly repo: string;
  readonly home: string;
  readonly cwd: string;
  /** The process's own folder (`deno task` runs in the repo; `cwd` is then `INIT_CWD`). */
  readonly pwd: string;
  readonly scan: string;
}

interface Entry {
  readonly header: Header;
  readonly deps: readonly Dep[];
  /** The SHA-256 of the environment values the computation read, in `env` dep order. */
  readonly envHash: string;
  readonly flags: readonly string[];
}

/** The computation the cache stands for: launch.ts passes `launchPermissions` + `denoFlags`. */
export type ComputeFlags = (env: Env) => Promise<string[]>;

/** How the flags of this run were obtained. */
export interface CachedFlags {
  readonly flags: string[];
  /** `cached`: reused; `computed`: computed and stored; `uncached`: computed, not storable. */
  readonly source: "cached" | "computed" | "uncached";
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

/** The cache file of the `$ASTRID_HOME` at `home`. */
export function cachePath(home: string): string {
  return join(home, "cache", CACHE_FILE);
}

function uid(): number | null {
  try {
    return Deno.uid();
  } catch {
    return null;
  }
}

function fingerprint(info: Deno.FileInfo): string {
  const type = info.isFile ? "f" : info.isDirectory ? "d" : info.isSymlink ? "l" : "o";
  const id = [type, info.dev, info.ino, info.mode, info.uid, info.gid];
  if (info.isDirectory) return id.join(":");
  return [...id, info.size, info.mtime?.getTime(), info.ctime?.getTime()].join(":");
}

/** A KV store file's identity: its content is recorded by its entries' versionstamps. */
function identity(info: Deno.FileInfo): string {
  return [info.isFile ? "f" : "o", info.dev, info.ino, info.uid].join(":");
}

/** What listing `prefix` in the KV store at `path` gave: each key and its versionstamp. */
async function kvListing(path: string, prefix: Deno.KvKey): Promise<string> {
  // Deno.openKv creates a missing store: only an existing one is opened.
  if (!fs.stat(path).isFile) return "!NotAFile";
  const kv = await Deno.openKv(path);
  try {
    const seen: [Deno.KvKey, string][] = [];
    for await (const e of kv.list({ prefix })) seen.push([e.key, e.versionstamp]);
    return kvValue(prefix, seen);
  } finally {
    kv.close();
  }
}

/** A listing's recorded form; throws for keys JSON cannot hold exactly. */
function kvValue(prefix: Deno.KvKey, seen: readonly [Deno.KvKey, string][]): string {
  for (const key of [prefix, ...seen.map(([k]) => k)]) {
    if (
      !key.every((part) =>
        typeof part === "string" || typeof part === "boolean" || Number.isFinite(part)
      )
    ) {
      throw new TypeError("a KV key part JSON cannot hold");
    }
  }
  return JSON.stringify([prefix, seen]);
}

function errorName(err: unknown): string {
  return `!${err instanceof Error ? err.name : "Error"}`;
}

async function sha256(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function listing(entries: Iterable<Deno.DirEntry>): string {
  return [...entries]
    .map((e) => `${e.isFile ? "f" : e.isDirectory ? "d" : e.isSymlink ? "l" : "o"}:${e.name}`)
    .sort()
    .join("\0");
}

// The originals, captured before any recording wraps them.
const fs = {
  stat: Deno.statSync,
  lstat: Deno.lstatSync,
  realPath: Deno.realPathSync,
  readDir: Deno.readDirSync,
  readFile: Deno.readFileSync,
  readTextFile: Deno.readTextFileSync,
};

/** What one dep is now: its value, or (a file's content) the data its value is the hash of. */
function current(
  kind: DepKind,
  subject: string,
): { value: string } | { data: Uint8Array | string } {
  try {
    switch (kind) {
      case "stat":
        return { value: fingerprint(fs.stat(subject)) };
      case "lstat":
        return { value: fingerprint(fs.lstat(subject)) };
      case "real":
        return { value: fs.realPath(subject) };
      case "dir":
        return { value: listing(fs.readDir(subject)) };
      case "bytes":
        return { data: fs.readFile(subject) };
      case "text":
        return { data: fs.readTextFile(subject) };
      case "kvfile":
        return { value: identity(fs.stat(subject)) };
      default:
        return { value: "!unknown" };
    }
  } catch (err) {
    return { value: errorName(err) };
  }
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

const HEADER_KEYS = ["uid", "deno", "repo", "home", "cwd", "pwd", "scan"] as const;
const DEP_KINDS = new Set<string>([
  "stat",
  "kvfile",
  "lstat",
  "real",
  "dir",
  "bytes",
  "text",
  "kv",
  "envkeys",
  "env",
]);

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
function readEntries(path: string): Entry[] {
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

function sameHeader(a: Header, b: Header): boolean {
  return HEADER_KEYS.every((k) => a[k] === b[k]);
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

/**
 * Runs `compute` with the file system reads and the environment recorded. Returns its flags and
 * the recorded inputs, or null inputs when something it did cannot be recorded.
 */
async function record(
  compute: ComputeFlags,
  env: Env,
): Promise<{ flags: string[]; deps: Dep[] | null; envValues: string[] }> {
  const deps: Dep[] = [];
  const envValues: string[] = [];
  let recordable = true;
  const pending: Promise<void>[] = [];
  const add = (kind: DepKind, subject: string, value: string) => deps.push([kind, subject, value]);
  const addHashed = (kind: DepKind, subject: string, data: Uint8Array | string) => {
    const at = deps.push([kind, subject, PENDING]) - 1;
    pending.push(sha256(data).then((h) => void (deps[at] = [kind, subject, h])));
  };
  const closers: (() => void)[] = [];
  const envSeen = new Set<string>();
  const readEnv = (name: string) => {
    if (envSeen.has(name)) return;
    envSeen.add(name);
    add("env", name, env[name] === undefined ? "0" : "1");
    envValues.push(env[name] ?? "");
  };
  const proxy = new Proxy(env as Record<string, string | undefined>, {
    get: (t, n) => (typeof n === "string" && readEnv(n), Reflect.get(t, n)),
    has: (t, n) => (typeof n === "string" && readEnv(n), Reflect.has(t, n)),
    getOwnPropertyDescriptor: (t, n) => (
      typeof n === "string" && readEnv(n), Reflect.getOwnPropertyDescriptor(t, n)
    ),
    ownKeys: (t) => {
      add("envkeys", "", Object.keys(t).sort().join("\0"));
      return Reflect.ownKeys(t);
    },
    set: (t, n, v) => (recordable = false, Reflect.set(t, n, v)),
    defineProperty: (t, n, d) => (recordable = false, Reflect.defineProperty(t, n, d)),
    deleteProperty: (t, n) => (recordable = false, Reflect.deleteProperty(t, n)),
  });

  const D = Deno as unknown as Record<string, unknown>;
  // The original property descriptors (some, like the unstable `openKv`, are getters).
  const saved = new Map<string, PropertyDescriptor>();
  const wrap = (name: string, fn: (orig: (...a: unknown[]) => unknown) => unknown) => {
    const descriptor = Object.getOwnPropertyDescriptor(Deno, name);
    const orig = D[name] as ((...a: unknown[]) => unknown) | undefined;
    if (descriptor === undefined || typeof orig !== "function") return;
    saved.set(name, descriptor);
    Object.defineProperty(Deno, name, {
      value: fn(orig.bind(Deno)),
      writable: true,
      enumerable: descriptor.enumerable ?? true,
      configurable: true,
    });
  };
  const pathOf = (p: unknown) => p instanceof URL ? decodeURIComponent(p.pathname) : String(p);
  const statLike =
    (kind: "stat" | "lstat", sync: boolean) => (orig: (...a: unknown[]) => unknown) =>
      sync
        ? (p: unknown) => {
          try {
            const info = orig(p) as Deno.FileInfo;
            add(kind, pathOf(p), fingerprint(info));
            return info;
          } catch (err) {
            add(kind, pathOf(p), errorName(err));
            throw err;
          }
        }
        : async (p: unknown) => {
          try {
            const info = await (orig(p) as Promise<Deno.FileInfo>);
            add(kind, pathOf(p), fingerprint(info));
            return info;
          } catch (err) {
            add(kind, pathOf(p), errorName(err));
            throw err;
          }
        };
  const keep = (kind: DepKind, p: unknown, r: unknown) => {
    const path = pathOf(p);
    if (kind === "bytes" || kind === "text") addHashed(kind, path, r as Uint8Array | string);
    else if (kind === "dir") add(kind, path, listing(r as Deno.DirEntry[]));
    else add(kind, path, String(r));
    return r;
  };
  const fail = (kind: DepKind, p: unknown, err: unknown): never => {
    add(kind, pathOf(p), errorName(err));
    throw err;
  };
  const syncly = (kind: DepKind, p: unknown, run: () => unknown) => {
    let r: unknown;
    try {
      r = run();
    } catch (err) {
      return fail(kind, p, err);
    }
    return keep(kind, p, r);
  };
  const asyncly = async (kind: DepKind, p: unknown, run: () => Promise<unknown>) => {
    let r: unknown;
    try {
      r = await run();
    } catch (err) {
      return fail(kind, p, err);
    }
    return keep(kind, p, r);
  };
  wrap("statSync", statLike("stat", true));
  wrap("stat", statLike("stat", false));
  wrap("lstatSync", statLike("lstat", true));
  wrap("lstat", statLike("lstat", false));
  const calls = [
    ["realPath", "real"],
    ["readFile", "bytes"],
    ["readTextFile", "text"],
  ] as const;
  for (const [name, kind] of calls) {
    wrap(`${name}Sync`, (orig) => (...a: unknown[]) => syncly(kind, a[0], () => orig(...a)));
    wrap(
      name,
      (orig) => (...a: unknown[]) => asyncly(kind, a[0], () => orig(...a) as Promise<unknown>),
    );
  }
  wrap(
    "readDirSync",
    (orig) => (p: unknown) =>
      (syncly("dir", p, () => [...(orig(p) as Iterable<Deno.DirEntry>)]) as Deno.DirEntry[])[
        Symbol.iterator
      ](),
  );
  wrap("readDir", (orig) => (p: unknown) => {
    const all = asyncly("dir", p, async () => {
      const list: Deno.DirEntry[] = [];
      for await (const e of orig(p) as AsyncIterable<Deno.DirEntry>) list.push(e);
      return list;
    }) as Promise<Deno.DirEntry[]>;
    return (async function* () {
      yield* await all;
    })();
  });
  // Deno.open: the bytes read through the handle are hashed; a handle not read to its end (or
  // used otherwise than read/stat/close) leaves an input unrecorded, so the result is not stored.
  wrap("open", (orig) => async (p: unknown, o?: { write?: boolean; append?: boolean }) => {
    const path = pathOf(p);
    if (o?.write || o?.append) recordable = false;
    let file: Deno.FsFile;
    try {
      file = await (orig(p, o) as Promise<Deno.FsFile>);
    } catch (err) {
      add("bytes", path, errorName(err));
      throw err;
    }
    try {
      add("stat", path, fingerprint(fs.stat(path)));
    } catch (err) {
      add("stat", path, errorName(err));
    }
    const chunks: Uint8Array[] = [];
    let ended = false;
    const at = deps.push(["bytes", path, PENDING]) - 1;
    const finish = () => {
      if (!ended && chunks.length > 0) recordable = false;
      if (!ended) {
        // Only stat'ed, never read: its stat fingerprint (type, size, times) is the input.
        deps[at] = ["stat", path, deps[at - 1]![2]];
        return;
      }
      pending.push(sha256(concat(chunks)).then((h) => void (deps[at] = ["bytes", path, h])));
    };
    let finished = false;
    const once = () => {
      if (!finished) finished = true, finish();
    };
    closers.push(once);
    return new Proxy(file, {
      get(t, n) {
        if (n === "read") {
          return async (buf: Uint8Array) => {
            const n = await t.read(buf);
            if (n === null) ended = true;
            else chunks.push(buf.slice(0, n));
            return n;
          };
        }
        if (n === "close" || n === Symbol.dispose) {
          return () => (once(), t.close());
        }
        // `then`: the proxy is returned from an async function, which looks for it.
        if (!["stat", "statSync", "rid", "then"].includes(n as string)) recordable = false;
        const v = Reflect.get(t, n, t);
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
  });
  // Deno.openKv: what each `list({ prefix })` returned (keys and versionstamps, which change
  // with every write of an entry); the store's file then counts by identity only (every command
  // writes to it). Any other use of the store leaves an input unrecorded.
  const kvPaths = new Set<string>();
  wrap("openKv", (orig) => async (p: unknown) => {
    if (typeof p !== "string") recordable = false;
    const path = String(p);
    const kv = await (orig(p) as Promise<Deno.Kv>);
    kvPaths.add(path);
    return new Proxy(kv, {
      get(t, n) {
        if (n === "list") {
          return (selector: Deno.KvListSelector, options?: Deno.KvListOptions) => {
            const prefix = (selector as { prefix?: Deno.KvKey }).prefix;
            if (Object.keys(selector).length !== 1 || !Array.isArray(prefix)) recordable = false;
            if (options !== undefined && Object.keys(options).length > 0) recordable = false;
            const at = deps.push(["kv", path, PENDING]) - 1;
            const seen: [Deno.KvKey, string][] = [];
            const inner = t.list(selector, options);
            return (async function* () {
              for await (const e of inner) {
                seen.push([e.key, e.versionstamp]);
                yield e;
              }
              try {
                deps[at] = ["kv", path, kvValue(prefix ?? [], seen)];
              } catch {
                recordable = false;
              }
            })();
          };
        }
        if (n !== "close" && n !== Symbol.dispose && n !== "then") recordable = false;
        const v = Reflect.get(t, n, t);
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
  });
  for (
    const name of [
      "openSync",
      "readLink",
      "readLinkSync",
      "cwd",
      "hostname",
      "osRelease",
      "networkInterfaces",
      "loadavg",
      "systemMemoryInfo",
      "gid",
      "uid",
    ]
  ) {
    wrap(name, (orig) => (...a: unknown[]) => (recordable = false, orig(...a)));
  }
  wrap("Command", (orig) =>
    function (...a: unknown[]) {
      recordable = false;
      return Reflect.construct(orig as unknown as new (...a: unknown[]) => object, a);
    });
  const envApi = Deno.env as unknown as Record<string, unknown>;
  const envSaved = new Map<string, unknown>();
  for (const name of ["get", "has", "toObject"]) {
    const orig = envApi[name] as (...a: unknown[]) => unknown;
    envSaved.set(name, orig);
    envApi[name] = (...a: unknown[]) => (recordable = false, orig.apply(Deno.env, a));
  }
  let flags: string[];
  try {
    flags = await compute(proxy);
  } finally {
    for (const [name, descriptor] of saved) Object.defineProperty(Deno, name, descriptor);
    for (const [name, orig] of envSaved) envApi[name] = orig;
  }
  for (const close of closers) close();
  await Promise.all(pending);
  if (deps.some(([, , v]) => v === PENDING)) recordable = false;
  // A relative path would be checked against another folder later: not recordable.
  if (deps.some(([k, p]) => k !== "env" && k !== "envkeys" && !p.startsWith("/"))) {
    recordable = false;
  }
  for (const [i, [kind, subject, value]] of deps.entries()) {
    if (kind !== "stat" || !kvPaths.has(subject) || value.startsWith("!")) continue;
    // The identity fields of the fingerprint the computation saw (type, dev, ino, uid).
    const [type, dev, ino, , owner] = value.split(":");
    deps[i] = ["kvfile", subject, [type === "f" ? "f" : "o", dev, ino, owner].join(":")];
  }
  return { flags, deps: recordable ? deps : null, envValues };
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) out.set(c, at), at += c.length;
  return out;
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

function writeEntries(path: string, entries: readonly Entry[]): void {
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
  if (home === null || pwd === null || scan === null || scan.kind !== "runtime") {
    return { flags: await compute(env), source: "uncached" };
  }
  const header: Header = {
    uid: uid(),
    deno: Deno.execPath(),
    repo: REPO,
    home,
    cwd,
    pwd,
    scan: JSON.stringify(scan),
  };
  const path = cachePath(home);
  const entries = readEntries(path);
  for (const entry of entries) {
    if (sameHeader(entry.header, header) && await holds(entry, env)) {
      return { flags: [...entry.flags], source: "cached" };
    }
  }
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
  const same = entries.filter((e) => sameHeader(e.header, header)).slice(0, PER_HEADER - 1);
  const others = entries.filter((e) => !sameHeader(e.header, header));
  writeEntries(path, [entry, ...same, ...others].slice(0, MAX_ENTRIES));
  return { flags, source: "computed" };
}
