/**
 * The inputs the launcher's flag cache records (runtime/cli/_launch_cache.ts): what a recorded
 * input (a {@link Dep}) is, how each kind is fingerprinted or hashed, and what it is now
 * ({@link current}, {@link kvListing}). Both the recorder (_launch_record.ts) and the check of a
 * cached entry (_launch_cache.ts) use these, so an input is always seen the same way.
 *
 * {@link fs} holds the `Deno` read functions captured when this module is loaded, before any
 * recording wraps them: the cache's own reads are never recorded as the computation's.
 *
 * It imports only runtime/storage/listing_mirror.ts, which imports nothing (the launcher stays
 * import-light). The check of a cached entry runs before any recording starts, so the mirror's
 * own reads are never recorded either.
 *
 * @module
 */
import { listingValue, readMirror } from "../storage/listing_mirror.ts";

/** The environment a computation sees (`Deno.env.toObject()` at start-up). */
export type Env = Readonly<Record<string, string | undefined>>;

/** One recorded input: a kind, a path or name, and what it was (a fingerprint or hash). */
export type Dep = readonly [kind: DepKind, subject: string, value: string];
export type DepKind =
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

/** Every dep kind (a cache entry naming another is malformed). */
export const DEP_KINDS = new Set<string>([
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

// The originals, captured before any recording wraps them.
export const fs = {
  stat: Deno.statSync,
  lstat: Deno.lstatSync,
  realPath: Deno.realPathSync,
  readDir: Deno.readDirSync,
  readFile: Deno.readFileSync,
  readTextFile: Deno.readTextFileSync,
};

/** The fingerprint of a stat result: its identity, and for a non-directory its size and times. */
export function fingerprint(info: Deno.FileInfo): string {
  const type = info.isFile ? "f" : info.isDirectory ? "d" : info.isSymlink ? "l" : "o";
  const id = [type, info.dev, info.ino, info.mode, info.uid, info.gid];
  if (info.isDirectory) return id.join(":");
  return [...id, info.size, info.mtime?.getTime(), info.ctime?.getTime()].join(":");
}

/** A KV store file's identity: its content is recorded by its entries' versionstamps. */
export function identity(info: Deno.FileInfo): string {
  return [info.isFile ? "f" : "o", info.dev, info.ino, info.uid].join(":");
}

/**
 * What listing `prefix` in the KV store at `path` gives: each key and its versionstamp. Read from
 * the prefix's listing mirror when it has one (runtime/storage/listing_mirror.ts: while it
 * exists it equals the store's listing), which spares opening the store.
 */
export async function kvListing(path: string, prefix: Deno.KvKey): Promise<string> {
  // Deno.openKv creates a missing store: only an existing one is opened.
  if (!fs.stat(path).isFile) return "!NotAFile";
  const mirrored = readMirror(path, prefix);
  if (mirrored !== null) return mirrored;
  const kv = await Deno.openKv(path);
  try {
    const seen: [Deno.KvKey, string][] = [];
    for await (const e of kv.list({ prefix })) seen.push([e.key, e.versionstamp]);
    return kvValue(prefix, seen);
  } finally {
    kv.close();
  }
}

/** A listing's recorded form (the mirror's); throws for keys JSON cannot hold exactly. */
export const kvValue = listingValue;

/** A failure's recorded value: `!` and the error's name. */
export function errorName(err: unknown): string {
  return `!${err instanceof Error ? err.name : "Error"}`;
}

/** The hex SHA-256 of `data` (text as UTF-8). */
export async function sha256(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A directory listing's recorded value: each entry's type and name, sorted. */
export function listing(entries: Iterable<Deno.DirEntry>): string {
  return [...entries]
    .map((e) => `${e.isFile ? "f" : e.isDirectory ? "d" : e.isSymlink ? "l" : "o"}:${e.name}`)
    .sort()
    .join("\0");
}

/** What one dep is now: its value, or (a file's content) the data its value is the hash of. */
export function current(
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
