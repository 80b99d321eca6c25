/**
 * A file that mirrors which keys of one KV prefix exist and their versionstamps, next to a
 * local store (`<store>-listings/<prefix>.json`), so that a process can tell that nothing under
 * the prefix changed without opening the store (Deno KV's open costs 4–5 ms). The launcher's
 * cached flags depend on the capsule install records this way (runtime/cli/_launch_deps.ts).
 *
 * The invariant: **while the mirror file exists, it equals the store's listing.** Every writer of
 * the prefix goes through {@link mirroredWrite}, which, holding an exclusive lock on the folder,
 * deletes the mirror, commits, lists the prefix again and only then writes the mirror (0600,
 * atomically by rename). A writer that dies between the commit and the new mirror leaves none,
 * and readers then open the store, as without a mirror. {@link readMirror} trusts only a
 * regular file of this user, mode 0600, in a folder of this user; anything else reads as no
 * mirror. A writer that does not keep the mirror (an older Astrid) can leave it stale until the
 * next install or removal.
 *
 * @module
 */

/** The largest mirror read (a listing of 1,000 records is about 100 KB). */
const MAX_MIRROR_BYTES = 4 << 20;
const SIMPLE = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A listing's recorded form: the prefix, then each key with its versionstamp, in store order.
 * Throws for key parts JSON cannot hold exactly.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { listingValue } from "./listing_mirror.ts";
 * equal(listingValue(["p"], [[["p", "a"], "01"]]), '[["p"],[[["p","a"],"01"]]]');
 * ```
 */
export function listingValue(prefix: Deno.KvKey, seen: readonly [Deno.KvKey, string][]): string {
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

/** The mirror file of `prefix` for the store at `location`, or null for a prefix it cannot name. */
export function mirrorPath(location: string, prefix: Deno.KvKey): string | null {
  if (
    prefix.length !== 1 || typeof prefix[0] !== "string" || !SIMPLE.test(prefix[0]) ||
    !location.startsWith("/")
  ) {
    return null;
  }
  return `${location}-listings/${prefix[0]}.json`;
}

/**
 * The mirrored listing of `prefix` in the store at `location`, or null when there is no mirror
 * this user can trust (then the store itself must be listed).
 *
 * @example No mirror yet
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { readMirror } from "./listing_mirror.ts";
 * equal(readMirror(`${await Deno.makeTempDir()}/state.kv`, ["capsule_install"]), null);
 * ```
 */
export function readMirror(location: string, prefix: Deno.KvKey): string | null {
  const path = mirrorPath(location, prefix);
  if (path === null) return null;
  try {
    const uid = Deno.uid();
    const dir = Deno.lstatSync(path.slice(0, path.lastIndexOf("/")));
    const info = Deno.lstatSync(path);
    const ownedPrivate = (i: Deno.FileInfo, mask: number) =>
      (uid === null || i.uid === uid) && i.mode !== null && (i.mode & mask) === 0;
    if (!dir.isDirectory || !ownedPrivate(dir, 0o022)) return null;
    if (!info.isFile || !ownedPrivate(info, 0o077) || info.size > MAX_MIRROR_BYTES) return null;
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/** What {@link mirroredWrite} needs of a store: listing a prefix. */
export interface Listable {
  list(selector: Deno.KvListSelector): AsyncIterable<Deno.KvEntry<unknown>>;
}

/**
 * Runs `write` (a change under `prefix` in `store`, a local KV file at `location`) keeping the
 * mirror's invariant (see the module doc): under the folder's lock, the mirror is deleted, `write`
 * runs, and the mirror is written again from a fresh listing. `write`'s result or error is
 * returned; a mirror that cannot be kept is left absent (readers then open the store).
 *
 * @example The mirror follows a write
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openStore } from "./mod.ts";
 * import { listingValue, mirroredWrite, readMirror } from "./listing_mirror.ts";
 * const location = `${await Deno.makeTempDir()}/state.kv`;
 * using store = await openStore(location);
 * const res = await mirroredWrite(store, location, ["recs"], () => store.set(["recs", "a"], 1));
 * equal(readMirror(location, ["recs"]), listingValue(["recs"], [[["recs", "a"], res.versionstamp]]));
 * ```
 */
export async function mirroredWrite<T>(
  store: Listable,
  location: string,
  prefix: Deno.KvKey,
  write: () => Promise<T>,
): Promise<T> {
  const path = mirrorPath(location, prefix);
  if (path === null) return await write();
  const dir = path.slice(0, path.lastIndexOf("/"));
  let lock: Deno.FsFile | null = null;
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    lock = await Deno.open(`${dir}/.lock`, { read: true, write: true, create: true, mode: 0o600 });
    await lock.lock(true);
  } catch {
    lock?.close();
    lock = null; // no lock: no mirror is kept (the old one goes below)
  }
  try {
    Deno.removeSync(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      lock?.close();
      throw new Error(
        `Cannot change ${String(prefix[0])}: its listing mirror ${path} cannot be removed`,
        {
          cause: err,
        },
      );
    }
  }
  try {
    const result = await write();
    if (lock !== null) await writeMirror(store, path, prefix);
    return result;
  } finally {
    lock?.close(); // closing releases the lock
  }
}

async function writeMirror(store: Listable, path: string, prefix: Deno.KvKey): Promise<void> {
  const tmp = `${path}.${Deno.pid}.tmp`;
  try {
    const seen: [Deno.KvKey, string][] = [];
    for await (const e of store.list({ prefix })) seen.push([e.key, e.versionstamp]);
    Deno.writeTextFileSync(tmp, listingValue(prefix, seen), { mode: 0o600 });
    Deno.chmodSync(tmp, 0o600);
    Deno.renameSync(tmp, path);
  } catch {
    try {
      Deno.removeSync(tmp);
    } catch {
      // nothing was written
    }
  }
}
