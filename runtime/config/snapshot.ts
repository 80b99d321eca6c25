/**
 * The configuration as last loaded, kept in `$ASTRID_HOME/cache/config-snapshot.json` so that a
 * command whose configuration did not change skips the loader (issue 15): the loader validates
 * with zod and parses TOML, about 25 ms of module loading and schema building on every command,
 * against about 1 ms to check and read a snapshot.
 *
 * A snapshot is used only when everything the loader's result depends on is unchanged:
 * - the three config files: their exact bytes (SHA-256), read again on every run, so an edit
 *   that keeps the size and puts the mtime back is still seen; a file appearing or going away;
 * - the paths the loader was given (`$ASTRID_HOME`, the workspace and its config file);
 * - the environment the loader read, recorded while it ran: the value of every variable it read
 *   and, since it enumerates the environment for `ASTRID_*` overrides, the names of all of them;
 * - the loader's own code (the identity of every module in this folder, `deno.lock`,
 *   `deno.json`) and the Deno version.
 * Anything else, or a snapshot that is missing, malformed or untrusted (cache_file.ts), loads
 * the configuration as before and writes a new snapshot. A configuration that fails to load is
 * never stored, so its error is reported on every run, as before.
 *
 * Secrets: a value the loader read from the environment (an API key in `ANTHROPIC_API_KEY`, a
 * token in a URL) is never written to disk. Each string of the result equal to such a value is
 * stored as a reference to the variable and put back from the environment on use (whose values
 * must be the same for the snapshot to be used at all); a result that holds such a value inside
 * a longer string (or a warning that quotes one) is not stored. Values that come from the config
 * files themselves are stored as they are: the snapshot lives beside `$ASTRID_HOME/config.toml`
 * and `keys/`, 0600, where no agent-side action can read or write.
 *
 * It imports no zod and no TOML parser: the loader is passed in, and loaded only on a miss.
 *
 * @module
 */
import { readTrusted, writeTrusted } from "./cache_file.ts";
import { MAX_CONFIG_BYTES } from "./defaults.ts";
import type { LoadedConfig } from "./load.ts";
import type { AstridPaths } from "./paths.ts";

/** The snapshot file's name under `$ASTRID_HOME/cache/`. */
export const SNAPSHOT_FILE = "config-snapshot.json";
/** A larger snapshot file is ignored. */
const MAX_SNAPSHOT_BYTES = 4 << 20;
/** Snapshots kept (one per workspace, config contents and environment). */
const MAX_ENTRIES = 8;
/** The file format's version: a file of another is ignored. */
const FORMAT = 1;
/** How a string that came from the environment is stored: this prefix and the variable's name. */
const ENV_MARK = "\u0000env:";
/** An environment value this long or longer must not appear inside a longer stored string. */
const MIN_QUOTED = 4;

type Env = Record<string, string | undefined>;

/** The configuration loader (load.ts `loadConfig`), called on a miss. */
export type ConfigLoader = (paths: AstridPaths, env: Env) => Promise<LoadedConfig>;

/** A loaded configuration, and whether it came from the snapshot. */
export interface SnapshotResult {
  readonly loaded: LoadedConfig;
  /** `snapshot`: reused; `loaded`: loaded and stored; `uncached`: loaded, not storable. */
  readonly source: "snapshot" | "loaded" | "uncached";
}

interface Entry {
  /** SHA-256 over the code, the paths and the config files' bytes. */
  readonly key: string;
  /** The environment variables the loader read, in order. */
  readonly envNames: readonly string[];
  /** Whether the loader enumerated the environment (then the set of names counts too). */
  readonly envKeys: boolean;
  /** SHA-256 over those variables' values (and the sorted names when enumerated). */
  readonly envHash: string;
  /** The result as JSON, environment values replaced by references. */
  readonly loaded: string;
}

const HERE = new URL("./", import.meta.url);

async function sha256(text: string | Uint8Array): Promise<string> {
  const data = typeof text === "string" ? new TextEncoder().encode(text) : text;
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>))
    .toHex();
}

/** The identity of the loader's code, or null when it is not on a local disk. */
function codeIdentity(): string | null {
  if (HERE.protocol !== "file:") return null;
  const dir = decodeURIComponent(HERE.pathname);
  try {
    const names = [...Deno.readDirSync(dir)].map((e) => e.name)
      .filter((n) => n.endsWith(".ts") && !n.endsWith("_test.ts")).sort();
    const files = [...names.map((n) => dir + n), `${dir}../../deno.lock`, `${dir}../../deno.json`];
    return JSON.stringify([
      Deno.version.deno,
      ...files.map((f) => {
        const i = Deno.lstatSync(f);
        return [f, i.dev, i.ino, i.size, i.mtime?.getTime(), i.ctime?.getTime()].join(":");
      }),
    ]);
  } catch {
    return null;
  }
}

/** A config file's bytes; null when it does not exist; undefined when it cannot be snapshotted. */
async function fileBytes(path: string | null): Promise<Uint8Array | null | undefined> {
  if (path === null) return null;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    return err instanceof Deno.errors.NotFound ? null : undefined;
  }
  try {
    const info = await file.stat();
    if (!info.isFile || info.size > MAX_CONFIG_BYTES) return undefined;
    const bytes = new Uint8Array(info.size);
    let at = 0;
    while (at < bytes.length) {
      const n = await file.read(bytes.subarray(at));
      if (n === null) return undefined; // shrank meanwhile
      at += n;
    }
    const extra = await file.read(new Uint8Array(1));
    return extra === null ? bytes : undefined; // grew meanwhile
  } catch {
    return undefined;
  } finally {
    file.close();
  }
}

/** The key of the loader's inputs other than the environment, or null when there is none. */
async function inputsKey(paths: AstridPaths): Promise<string | null> {
  const code = codeIdentity();
  if (code === null) return null;
  const files = [paths.systemConfig, paths.userConfig, paths.workspaceConfig];
  const hashes: string[] = [];
  for (const bytes of await Promise.all(files.map(fileBytes))) {
    if (bytes === undefined) return null;
    hashes.push(bytes === null ? "-" : await sha256(bytes));
  }
  return await sha256(JSON.stringify([
    FORMAT,
    code,
    paths.home,
    paths.workspaceRoot,
    files,
    hashes,
  ]));
}

/** The hash of what the environment gave the loader. */
function envHash(env: Env, names: readonly string[], keys: boolean): Promise<string> {
  const values = names.map((n) => env[n] ?? null);
  return sha256(JSON.stringify([values, keys ? Object.keys(env).sort() : null]));
}

/** `env` behind a proxy that records the variables read and whether it was enumerated. */
function recording(env: Env): { env: Env; names: string[]; keys: () => boolean } {
  const names: string[] = [];
  let keys = false;
  const note = (p: string | symbol) => {
    if (typeof p === "string" && !names.includes(p)) names.push(p);
  };
  const proxy = new Proxy(env, {
    get: (t, p, r) => (note(p), Reflect.get(t, p, r)),
    has: (t, p) => (note(p), Reflect.has(t, p)),
    ownKeys: (t) => ((keys = true), Reflect.ownKeys(t)),
  });
  return { env: proxy, names, keys: () => keys };
}

/**
 * `loaded` as JSON with every string equal to a value in `secrets` (value → variable) stored
 * as a reference, or null when it cannot be stored exactly or would quote a secret.
 */
function encode(loaded: LoadedConfig, secrets: ReadonlyMap<string, string>): string | null {
  const quoted = [...secrets.keys()].filter((v) => v.length >= MIN_QUOTED);
  const safeString = (s: string) =>
    !s.startsWith("\u0000") && (secrets.has(s) || !quoted.some((v) => s.includes(v)));
  const safe = (value: unknown, depth: number): boolean => {
    if (depth > 32) return false;
    if (value === null || typeof value === "boolean") return true;
    if (typeof value === "number") return Number.isFinite(value);
    if (typeof value === "string") return safeString(value);
    if (Array.isArray(value)) return value.every((v) => safe(v, depth + 1));
    if (typeof value !== "object") return false;
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return false;
    return Object.entries(value).every(([k, v]) =>
      !quoted.some((s) => k.includes(s)) && v !== undefined && safe(v, depth + 1)
    );
  };
  if (!safe(loaded, 0)) return null;
  return JSON.stringify(
    loaded,
    (_k, v) => typeof v === "string" && secrets.has(v) ? ENV_MARK + secrets.get(v) : v,
  );
}

/** The result stored in `text`, references put back from `env`; null when malformed. */
function decode(text: string, env: Env): LoadedConfig | null {
  try {
    const loaded = JSON.parse(
      text,
      (_k, v) =>
        typeof v === "string" && v.startsWith(ENV_MARK) ? env[v.slice(ENV_MARK.length)] : v,
    ) as LoadedConfig;
    const ok = typeof loaded?.config === "object" && loaded.config !== null &&
      Array.isArray(loaded.layers) && Array.isArray(loaded.warnings) &&
      loaded.warnings.every((w) => typeof w === "string");
    return ok ? loaded : null;
  } catch {
    return null;
  }
}

function readEntries(path: string): Entry[] {
  const text = readTrusted(path, MAX_SNAPSHOT_BYTES);
  if (text === null) return [];
  try {
    const file = JSON.parse(text) as { format?: unknown; entries?: unknown };
    if (file?.format !== FORMAT || !Array.isArray(file.entries)) return [];
    const str = (v: unknown) => typeof v === "string";
    return (file.entries as Entry[]).filter((e) =>
      str(e?.key) && str(e.envHash) && str(e.loaded) && typeof e.envKeys === "boolean" &&
      Array.isArray(e.envNames) && e.envNames.every(str)
    );
  } catch {
    return [];
  }
}

/**
 * The configuration for `paths` and `env`: from the snapshot when nothing it depends on changed,
 * else from `load` (stored for the next run when it can be). `load`'s errors propagate; the
 * snapshot's own failures only make it load.
 *
 * @example Loaded once, then reused while nothing changes
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { loadConfig, resolvePaths } from "./mod.ts";
 * import { loadConfigCached } from "./snapshot.ts";
 * const home = await Deno.makeTempDir();
 * const env = { ASTRID_HOME: home, ASTRID_BUDGET_SESSION_USD: "2" };
 * const paths = await resolvePaths({ env, cwd: home, systemConfig: `${home}/none.toml` });
 * equal((await loadConfigCached(paths, env, loadConfig)).source, "loaded");
 * const again = await loadConfigCached(paths, env, loadConfig);
 * equal(again.source, "snapshot");
 * equal(again.loaded.config.budget.session_usd, 2);
 * await Deno.remove(home, { recursive: true });
 * ```
 */
export async function loadConfigCached(
  paths: AstridPaths,
  env: Env,
  load: ConfigLoader,
): Promise<SnapshotResult> {
  const file = `${paths.home}/cache/${SNAPSHOT_FILE}`;
  const key = await inputsKey(paths);
  const entries = key === null ? [] : readEntries(file);
  for (const entry of entries) {
    if (entry.key !== key) continue;
    if (await envHash(env, entry.envNames, entry.envKeys) !== entry.envHash) continue;
    const loaded = decode(entry.loaded, env);
    if (loaded !== null) return { loaded, source: "snapshot" };
  }
  const seen = recording(env);
  const loaded = await load(paths, seen.env);
  // The files are read again: one edited while the loader ran must not be stored as its result.
  if (key === null || await inputsKey(paths) !== key) return { loaded, source: "uncached" };
  const secrets = new Map<string, string>();
  for (const name of seen.names) {
    const value = env[name];
    if (value && !secrets.has(value)) secrets.set(value, name);
  }
  const text = encode(loaded, secrets);
  if (text === null) return { loaded, source: "uncached" };
  const entry: Entry = {
    key,
    envNames: seen.names,
    envKeys: seen.keys(),
    envHash: await envHash(env, seen.names, seen.keys()),
    loaded: text,
  };
  const others = entries.filter((e) => e.key !== key || e.envHash !== entry.envHash);
  let kept = [entry, ...others].slice(0, MAX_ENTRIES);
  let json = JSON.stringify({ format: FORMAT, entries: kept });
  while (json.length > MAX_SNAPSHOT_BYTES && kept.length > 1) {
    kept = kept.slice(0, -1);
    json = JSON.stringify({ format: FORMAT, entries: kept });
  }
  if (json.length > MAX_SNAPSHOT_BYTES || !writeTrusted(file, json)) {
    return { loaded, source: "uncached" };
  }
  return { loaded, source: "loaded" };
}
