/**
 * Loading the installed capsules. A capsule folder is used only when a verified install record
 * (install_record.ts) of the same scope and name names that very folder; then its wasm must hash
 * to the recorded hash and its manifest to the recorded manifest pin, or the capsule is broken
 * with `INTEGRITY` (the CLI exits 5 when it is called) until `astrid capsule install` is run
 * again and the human approves the changes. Anything else is ignored, with a warning that names
 * `astrid capsule install`: a folder without a record (written there by anything but the
 * human's install), a record that does not verify, a symlink. Records whose folder is gone are
 * reported too. Nothing here starts a process or a wasm instance.
 *
 * Listing reads and checks every manifest, but no wasm: each wasm is `lstat`ed and matched
 * against the fingerprint its record pins (loader.ts), then read, hashed and compiled only when
 * the capsule is called. A wasm whose fingerprint changed is hashed at once (a changed one is
 * broken, as before); {@link verifyInstalled} (`astrid capsule verify`) re-hashes them all.
 *
 * After a full check, the capsules that passed go into a signed listing cache (_list_cache.ts):
 * the next listing skips a record's signature and field checks while the record is still the
 * one the same KV commit wrote, and a manifest's read, parse and pin while the
 * `Capsule.toml` keeps its fingerprint (or else its text hashes to what passed). A capsule whose
 * manifest and wasm both keep their fingerprints is taken from the cache without the loader's
 * modules ({@link fromCache}). Any change misses the cache and is checked in full; `capsule
 * verify` never uses it.
 *
 * @module
 */
import { CapsuleError } from "./errors.ts";
import type { LoadedCapsule, ModuleCache } from "./loader.ts";
import type { CapsuleDirs, InstalledCapsule, InstallScope } from "./install.ts";
import {
  type InstallRecord,
  type InstallRecords,
  manifestHash,
  type RecordRead,
} from "./install_record.ts";
import type { ListCacheEntry } from "./_list_cache.ts";
import { checkPins, fileFingerprint, manifestFingerprint, plainFile } from "./_file_print.ts";

/** Imports a module of this folder by a computed specifier (see {@link loaderLibs}). */
const lazy = <T>(path: string): Promise<T> => import(new URL(path, import.meta.url).href);

/**
 * `load()`'s promise, made on the first call and kept (an `import()` of a loaded module still
 * costs 5–10 µs); a failure is not kept.
 */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () =>
    made ??= load().catch((e) => {
      made = undefined;
      throw e;
    });
}

/**
 * The capsule loader (with the manifest parser behind it) and the record diff, imported when a
 * capsule is checked in full or its wasm is first needed: a listing whose capsules the signed
 * cache holds, unchanged, never evaluates them. Computed specifiers: a literal `import()` makes
 * Deno build the whole graph behind it (zod, the TOML parser) when this module loads, which
 * every `tools call` and `tools list` would pay.
 */
const loaderLibs = once(() =>
  Promise.all([
    lazy<typeof import("./loader.ts")>("./loader.ts"),
    lazy<typeof import("./record_diff.ts")>("./record_diff.ts"),
  ])
);
/** The `[env]` store, imported when a scope has capsules. */
const envLib = once(() => lazy<typeof import("./env_store.ts")>("./env_store.ts"));

/**
 * The capsule folders for `$ASTRID_HOME` and (optionally) a workspace root: the same as
 * install.ts's `capsuleDirs` (a test keeps them equal), for the commands that only list what is
 * installed and so need not load the installer.
 *
 * @example User and workspace folders
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { installedDirs } from "./installed.ts";
 * equal(installedDirs("/home/a/.astrid", "/ws").workspace, "/ws/.astrid/capsules");
 * ```
 */
export function installedDirs(home: string, workspaceRoot: string | null): CapsuleDirs {
  return {
    home,
    user: `${home}/capsules`,
    workspaceRoot,
    workspace: workspaceRoot === null ? null : `${workspaceRoot}/.astrid/capsules`,
  };
}

/** Options for {@link listInstalled}. */
export interface ListOptions {
  readonly requireHash: boolean;
  /** The signed install records (only folders they name are used). */
  readonly records: InstallRecords;
  readonly cache?: ModuleCache | undefined;
  /** Read and hash every wasm now, whatever its fingerprint (`astrid capsule verify`). */
  readonly full?: boolean | undefined;
}

/** An installed capsule that failed its checks (changed wasm or manifest, unreadable). */
export interface BrokenCapsule {
  readonly scope: InstallScope;
  readonly name: string;
  readonly dir: string;
  readonly error: CapsuleError | Error;
}

/** A capsule folder (or a record without one) that is not used, and why. */
export interface IgnoredCapsule {
  readonly scope: InstallScope;
  readonly name: string;
  /** The folder, or null for a refused record whose folder does not exist. */
  readonly dir: string | null;
  readonly reason: string;
}

/** A verified record whose folder is gone. */
export interface MissingCapsule {
  readonly scope: InstallScope;
  readonly name: string;
  readonly dir: string;
}

/** What {@link listInstalled} found. */
export interface InstalledList {
  readonly capsules: InstalledCapsule[];
  readonly broken: BrokenCapsule[];
  readonly ignored: IgnoredCapsule[];
  readonly missing: MissingCapsule[];
  /**
   * Capsules whose install record predates wasm fingerprints: their wasm is hashed by every
   * command until they are reinstalled. (Absent: none.)
   */
  readonly unfingerprinted?: string[];
}

/**
 * Loads every installed capsule; workspace capsules shadow user ones of the same name.
 *
 * @example A folder nobody installed is ignored, with a reason
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { capsuleDirs } from "./install.ts";
 * import { listInstalled } from "./installed.ts";
 * import { testRecords } from "./_testing.ts";
 * using records = await testRecords();
 * const dirs = capsuleDirs(await Deno.makeTempDir(), null);
 * await Deno.mkdir(`${dirs.user}/evil`, { recursive: true });
 * const { capsules, ignored } = await listInstalled(dirs, { requireHash: true, records });
 * equal(capsules.length, 0);
 * equal(ignored[0]?.reason, "no install record");
 * ```
 */
export async function listInstalled(dirs: CapsuleDirs, opts: ListOptions): Promise<InstalledList> {
  const byName = new Map<string, InstalledCapsule>();
  const out = {
    capsules: [] as InstalledCapsule[],
    broken: [] as BrokenCapsule[],
    ignored: [] as IgnoredCapsule[],
    missing: [] as MissingCapsule[],
    unfingerprinted: [] as string[],
  };
  const scopes: [InstallScope, string | null][] = [
    ["user", dirs.user],
    ["workspace", dirs.workspace],
  ];
  // Both scopes' folders, listing caches and records are read at once (nothing below writes
  // them but each scope's own listing cache); they are then checked in order, user first.
  const listed = await Promise.all(scopes.map(async ([scope, root]) => {
    if (root === null) return null;
    // The signed listing cache (_list_cache.ts): never for a full check (`capsule verify`).
    const cache = opts.full
      ? Promise.resolve(new Map<string, ListCacheEntry>())
      : opts.records.listCache(scope, dirs.workspaceRoot);
    const reading = Promise.all([
      opts.records.list(scope, dirs.workspaceRoot, undefined, cache),
      cache,
    ]);
    reading.catch(() => {}); // awaited below, after the folder's own failure
    // The folder is listed while the store is read; a scope with folders needs the env store,
    // which then loads meanwhile too.
    const folders = entries(root);
    if (folders.size > 0) envLib().catch(() => {});
    const [reads, cached] = await reading;
    return { scope, root, folders, cache: cached, reads };
  }));
  for (const scoped of listed) {
    if (scoped === null) continue;
    const { scope, root, folders, cache, reads } = scoped;
    const names = [...new Set([...folders.keys(), ...reads.keys()])].sort();
    const passed = new Map<string, ListCacheEntry>();
    if (names.length === 0 && cache.size === 0) continue; // nothing installed in this scope
    const { envFileExists, envFolder, envFolderNames, readEnvFileSync } = await envLib();
    // The scope's env files, listed once: only those present are checked (see envFolderNames).
    const envDir = envFolder(dirs.home, scope === "user" ? null : dirs.workspaceRoot);
    const envNames = envFolderNames(envDir);
    // A plain folder (not a symlink) in a canonical scope folder is canonical as named.
    const canonical = isCanonical(root);
    // Each capsule of the scope is checked at once (their file reads overlap), then the results
    // are taken in name order.
    const checked = await Promise.all(names.map(async (name) => {
      const found = resolve(
        scope,
        `${root}/${name}`,
        folders.get(name),
        reads.get(name),
        canonical,
      );
      if ("ignored" in found || "missing" in found) return { name, found };
      const { record, dir } = found;
      try {
        const read = reads.get(name);
        const hit = cache.get(name);
        const cached = read?.ok && hit?.stamp === read.stamp ? hit : undefined;
        const envPath = `${envDir}/${name}.json`; // env_store.ts envFilePath
        // The stored values are read when first used (a call, `capsule info`): listing checks
        // only that their file, when there is one, is one they can be read from.
        if (envNames === null || envNames.has(`${name}.json`)) envFileExists(envPath);
        let env: Readonly<Record<string, string>> | undefined;
        const unchanged = cached && !opts.full ? fromCache(dir, record, opts, cached) : null;
        const loaded = unchanged ?? await loadRecorded(dir, record, opts, cached);
        if (unchanged) passed.set(name, cached!);
        else if (read?.ok && loaded.manifestText) {
          const entry = cached?.manifestText === loaded.manifestText
            ? { ...cached, manifestStat: loaded.manifestStat ?? null }
            : cacheable(record, read.stamp, loaded);
          if (entry) passed.set(name, entry);
        }
        const installed: InstalledCapsule = {
          scope,
          loaded,
          record,
          envPath,
          get env() {
            return env ??= readEnvFileSync(envPath);
          },
        };
        return { name, found, installed };
      } catch (error) {
        return { name, found, error: error as Error };
      }
    }));
    for (const { name, found, installed, error } of checked) {
      if ("ignored" in found) {
        out.ignored.push(found.ignored);
        continue;
      }
      if ("missing" in found) {
        out.missing.push(found.missing);
        continue;
      }
      if (found.record.wasmHash !== null && found.record.wasmFingerprint === undefined) {
        out.unfingerprinted.push(`${scope}:${name}`);
      }
      if (installed) byName.set(name, installed);
      else {
        out.broken.push({ scope, name, dir: found.dir, error: error! });
        byName.delete(name); // a broken workspace install still shadows the user one: fail closed
      }
    }
    if (!opts.full && !sameEntries(cache, passed)) {
      // Best effort: a cache the store refuses only means the next command checks in full.
      await opts.records.saveListCache(scope, dirs.workspaceRoot, passed).catch(() => false);
    }
  }
  out.capsules.push(...byName.values());
  return out;
}

type Resolved =
  | { readonly record: InstallRecord; readonly dir: string }
  | { readonly ignored: IgnoredCapsule }
  | { readonly missing: MissingCapsule };

/** Matches a folder (its lstat kind) with its record read. */
function resolve(
  scope: InstallScope,
  dir: string,
  kind: "dir" | "symlink" | undefined,
  read: RecordRead | undefined,
  canonicalRoot: boolean,
): Resolved {
  const name = dir.slice(dir.lastIndexOf("/") + 1);
  const ignore = (reason: string, at: string | null = dir): Resolved => ({
    ignored: { scope, name, dir: at, reason },
  });
  if (!read) return ignore("no install record");
  if (!read.ok) return ignore(`its install record is refused: ${read.reason}`, kind ? dir : null);
  if (!kind) return { missing: { scope, name, dir: read.record.dir } };
  if (kind === "symlink") return ignore("it is a symlink");
  let real: string | null = canonicalRoot ? dir : null;
  try {
    real ??= Deno.realPathSync(dir);
  } catch { /* gone since it was listed: ignored below */ }
  if (real !== read.record.dir) {
    return ignore(`its install record names another folder (${read.record.dir})`);
  }
  return { record: read.record, dir: real };
}

/**
 * The listing-cache entry of a capsule that passed its checks now, when its parsed manifest
 * survives the JSON the cache is stored as (its pin unchanged); else none.
 */
function cacheable(
  record: InstallRecord,
  stamp: string,
  loaded: LoadedCapsule,
): ListCacheEntry | undefined {
  const parsed = { manifest: loaded.manifest, warnings: [...loaded.warnings] };
  try {
    const copy = JSON.parse(JSON.stringify(parsed));
    if (manifestHash(copy.manifest) !== record.manifestHash) return undefined;
    return {
      stamp,
      manifestText: loaded.manifestText!,
      manifestStat: loaded.manifestStat ?? null,
      parsed: copy,
    };
  } catch {
    return undefined;
  }
}

/** True when two caches hold the same stamps, digests and fingerprints for the same names. */
function sameEntries(
  a: ReadonlyMap<string, ListCacheEntry>,
  b: ReadonlyMap<string, ListCacheEntry>,
): boolean {
  if (a.size !== b.size) return false;
  for (const [name, e] of a) {
    const f = b.get(name);
    if (
      f?.stamp !== e.stamp || f.manifestText !== e.manifestText ||
      f.manifestStat !== e.manifestStat
    ) {
      return false;
    }
  }
  return true;
}

/**
 * Loads `dir` and checks it against `record`: wasm first, then the manifest pin. With `cached`
 * (the signed listing cache's entry for these very record bytes), a manifest whose text still
 * hashes to the cached one is taken from the cache: its parse and pin were checked when the
 * entry was made.
 */
async function loadRecorded(
  dir: string,
  record: InstallRecord,
  opts: ListOptions,
  cached?: ListCacheEntry,
): Promise<LoadedCapsule> {
  const name = record.name;
  const again = reinstallHint(dir, record);
  const changed = sinceInstall(dir, record);
  const [{ loadCapsule }, { pinnedSpec, specDiff }] = await loaderLibs();
  let loaded: LoadedCapsule;
  try {
    loaded = await loadCapsule(dir, {
      requireHash: opts.requireHash,
      cache: opts.cache,
      pinnedWasm: record.wasmHash,
      defer: opts.full ? undefined : { fingerprint: record.wasmFingerprint },
      known: cached,
      manifestDigest: true,
      canonical: true,
    });
  } catch (e) {
    throw changed(e);
  }
  const wasm = loaded.wasm;
  if (wasm) {
    const module = () => wasm.module().catch((e) => Promise.reject(changed(e)));
    loaded = { ...loaded, wasm: { ...wasm, module } };
  }
  if (cached && loaded.manifestText === cached.manifestText) return loaded;
  const actual = manifestHash(loaded.manifest);
  if (loaded.manifest.package.name !== name || actual !== record.manifestHash) {
    const changes = specDiff(record, pinnedSpec(loaded.manifest, loaded.wasm?.hash ?? null))
      .map((c) => `${c.sign} ${c.what}`);
    const what = loaded.manifest.package.name !== name
      ? `its manifest now names ${loaded.manifest.package.name}`
      : changes.length > 0
      ? `its capabilities changed since install (${changes.join("; ")})`
      : `its manifest changed since install (no capability changed; manifest hash ${actual}, ` +
        `the install record pins ${record.manifestHash})`;
    throw new CapsuleError("INTEGRITY", `Cannot load capsule ${name}: ${what}; ${again}`);
  }
  return loaded;
}

/** How to review the changes of a capsule that no longer matches its install `record`. */
function reinstallHint(dir: string, record: InstallRecord): string {
  return `reinstall it with \`astrid capsule install ${dir}` +
    `${record.scope === "workspace" ? " --scope workspace" : ""}\` to review the changes`;
}

/**
 * Whatever no longer loads changed since install: an integrity failure, with the way back (an
 * engine failure stays one).
 */
function sinceInstall(dir: string, record: InstallRecord): (e: unknown) => Error {
  const name = record.name;
  return (e) => {
    if (!(e instanceof CapsuleError) || e.code === "ENGINE") return e as Error;
    const what = e.code === "MANIFEST"
      ? `Cannot load capsule ${name}: its Capsule.toml changed since install and no longer ` +
        `parses (${e.message})`
      : e.code === "NOT_FOUND"
      ? `Cannot load capsule ${name}: a file changed since install is missing (${e.message})`
      : e.message;
    return new CapsuleError("INTEGRITY", `${what}; ${reinstallHint(dir, record)}`);
  };
}

/**
 * The capsule in `dir` as the listing cache's entry `cached` holds it, when nothing it was made
 * from changed: its `Capsule.toml` keeps the fingerprint it had when it passed, and its wasm is
 * a regular file with the fingerprint its install record pins, under pins that agree. What the
 * loader makes of the same (loadRecorded with `cached`), without loading it: the wasm's module
 * loads it when first needed. Null when anything differs: the loader then checks the capsule in
 * full, and says what changed.
 */
function fromCache(
  dir: string,
  record: InstallRecord,
  opts: ListOptions,
  cached: ListCacheEntry,
): LoadedCapsule | null {
  const { manifestText, manifestStat } = cached;
  if (manifestStat === null) return null;
  try {
    if (manifestFingerprint(Deno.statSync(`${dir}/Capsule.toml`)) !== manifestStat) return null;
    const { manifest, warnings } = cached.parsed;
    const known = { dir, manifest, warnings, manifestText, manifestStat };
    const component = manifest.component;
    if (!component) return { ...known, wasm: null };
    const pinned = record.wasmHash;
    if (pinned === null || record.wasmFingerprint === undefined) return null;
    const path = `${dir}/${component.entrypoint}`;
    const info = plainFile(record.name, path);
    checkPins(manifest, pinned, opts.requireHash);
    if (fileFingerprint(info) !== record.wasmFingerprint) return null;
    const changed = sinceInstall(dir, record);
    const module = once(async () => {
      const [{ deferredModule }] = await loaderLibs();
      return deferredModule(manifest, dir, {
        requireHash: opts.requireHash,
        cache: opts.cache,
        pinnedWasm: pinned,
      });
    });
    return {
      ...known,
      wasm: {
        path,
        hash: pinned,
        bytes: info.size,
        module: () => module().then((load) => load()).catch((e) => Promise.reject(changed(e))),
      },
    };
  } catch {
    return null; // what is wrong, the full check says
  }
}

/** True when `path` is its own canonical path (no symlink, `.` or `..` on the way). */
function isCanonical(path: string): boolean {
  try {
    return Deno.realPathSync(path) === path;
  } catch {
    return false;
  }
}

/**
 * The capsule-like entries of a scope folder: plain folders and symlinks, by name. Read
 * synchronously (one system call for a folder of 50, where the asynchronous listing costs a trip
 * to Deno's I/O thread and back per batch), while the store's reads are under way.
 */
function entries(root: string): Map<string, "dir" | "symlink"> {
  const out = new Map<string, "dir" | "symlink">();
  try {
    for (const e of Deno.readDirSync(root)) {
      if (e.name.startsWith(".")) continue;
      if (e.isDirectory) out.set(e.name, "dir");
      else if (e.isSymlink) out.set(e.name, "symlink");
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return out;
    throw e;
  }
  return out;
}

/**
 * One warning line per ignored folder, refused record and missing folder; each says what to
 * run. (Broken capsules are reported by the caller, with their error.)
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { installWarnings } from "./installed.ts";
 * deepEqual(
 *   installWarnings({
 *     capsules: [], broken: [], missing: [],
 *     ignored: [{ scope: "workspace", name: "evil", dir: "/ws/.astrid/capsules/evil", reason: "no install record" }],
 *   }),
 *   ["ignoring capsule folder /ws/.astrid/capsules/evil: it was not installed with " +
 *     "`astrid capsule install` (no install record)"],
 * );
 * ```
 */
export function installWarnings(list: InstalledList): string[] {
  const out: string[] = [];
  for (const i of list.ignored) {
    out.push(
      i.dir === null
        ? `ignoring the install record of capsule ${i.name} (${i.scope}): ${i.reason}; ` +
          "reinstall it with `astrid capsule install` or forget it with " +
          `\`astrid capsule remove ${i.name}\``
        : `ignoring capsule folder ${i.dir}: it was not installed with \`astrid capsule install\`` +
          ` (${i.reason})`,
    );
  }
  for (const n of list.unfingerprinted ?? []) {
    const [scope, name] = n.split(":");
    out.push(
      `capsule ${name} (${scope}) was installed by an older Astrid: its install record pins no ` +
        "wasm fingerprint, so every command reads and hashes its wasm; reinstall it with " +
        `\`astrid capsule install\`${scope === "workspace" ? " --scope workspace" : ""} to ` +
        "load it only when called",
    );
  }
  for (const m of list.missing) {
    out.push(
      `capsule ${m.name} (${m.scope}) was installed in ${m.dir}, which is gone: reinstall it with ` +
        `\`astrid capsule install\` or forget it with \`astrid capsule remove ${m.name}\``,
    );
  }
  return out;
}

/** One capsule as {@link verifyInstalled} found it. */
export interface VerifiedCapsule {
  readonly scope: InstallScope;
  readonly name: string;
  readonly dir: string;
  /** The recorded wasm hash (null: a static capsule). */
  readonly wasmHash: string | null;
  /** Null when every file matches its install record, else why not. */
  readonly error: CapsuleError | Error | null;
}

/**
 * Re-reads and re-hashes every installed capsule (manifest and wasm, ignoring fingerprints) and
 * compiles each wasm: what `astrid capsule verify` reports. Ignored folders and missing ones are
 * in `list` (with {@link installWarnings}).
 *
 * @example A static capsule verifies
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { capsuleDirs } from "./install.ts";
 * import { verifyInstalled } from "./installed.ts";
 * import { testInstall, testRecords } from "./_testing.ts";
 * using records = await testRecords();
 * const src = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${src}/Capsule.toml`, '[package]\nname = "docs"\nversion = "1"\n');
 * const dirs = capsuleDirs(await Deno.makeTempDir(), null);
 * await testInstall(dirs, src, records);
 * const { capsules } = await verifyInstalled(dirs, { requireHash: true, records });
 * equal(capsules[0]?.error, null);
 * ```
 */
export async function verifyInstalled(
  dirs: CapsuleDirs,
  opts: ListOptions,
): Promise<{ capsules: VerifiedCapsule[]; list: InstalledList }> {
  const list = await listInstalled(dirs, { ...opts, full: true });
  const out: VerifiedCapsule[] = [];
  for (const c of list.capsules) {
    let error: Error | null = null;
    try {
      await c.loaded.wasm?.module();
    } catch (e) {
      error = e as Error;
    }
    out.push({
      scope: c.scope,
      name: c.record.name,
      dir: c.loaded.dir,
      wasmHash: c.record.wasmHash,
      error,
    });
  }
  for (const b of list.broken) {
    const wasmHash = null;
    out.push({ scope: b.scope, name: b.name, dir: b.dir, wasmHash, error: b.error });
  }
  out.sort((a, b) => a.name.localeCompare(b.name) || a.scope.localeCompare(b.scope));
  return { capsules: out, list };
}
