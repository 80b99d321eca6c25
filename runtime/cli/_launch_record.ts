/**
 * The recorder of the launcher's flag cache (runtime/cli/_launch_cache.ts): {@link record} runs
 * the flag computation with the `Deno` functions that read the file system wrapped and the
 * environment record behind a proxy, keeps what each call returned (as the deps of
 * _launch_deps.ts), and restores every original when the computation ends, even when it throws.
 * Anything it cannot record (a write, `Deno.Command`, `Deno.openSync`, `Deno.env`, a file read
 * partly, a relative path, …) makes the result unrecordable: the caller uses it for this run and
 * does not store it.
 *
 * @module
 */
import {
  type Dep,
  type DepKind,
  type Env,
  errorName,
  fingerprint,
  fs,
  kvValue,
  listing,
  sha256,
} from "./_launch_deps.ts";

/** A dep whose value is not known yet (no recorded value can be a lone NUL). */
const PENDING = "\0";

/** The computation the cache stands for: launch.ts passes `launchPermissions` + `denoFlags`. */
export type ComputeFlags = (env: Env) => Promise<string[]>;

/**
 * Runs `compute` with the file system reads and the environment recorded. Returns its flags and
 * the recorded inputs, or null inputs when something it did cannot be recorded.
 */
export async function record(
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
  let namesRecorded = false;
  const proxy = new Proxy(env as Record<string, string | undefined>, {
    get: (t, n) => (typeof n === "string" && readEnv(n), Reflect.get(t, n)),
    has: (t, n) => (typeof n === "string" && readEnv(n), Reflect.has(t, n)),
    getOwnPropertyDescriptor: (t, n) => {
      const found = Reflect.getOwnPropertyDescriptor(t, n);
      if (typeof n !== "string") return found;
      // Once the names are recorded, a present variable's descriptor says nothing new until its
      // value is read: `Object.keys` asks for every one, and must not make every value an input
      // (a changed `OLDPWD` would then recompute the flags). Its value is read through a getter.
      if (!namesRecorded || found === undefined) {
        readEnv(n);
        return found;
      }
      return {
        configurable: true,
        enumerable: found.enumerable ?? true,
        get: () => (readEnv(n), Reflect.get(t, n)),
      };
    },
    ownKeys: (t) => {
      add("envkeys", "", Object.keys(t).sort().join("\0"));
      namesRecorded = true;
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
