/**
 * Byte blobs stored as numbered parts under a KV key prefix (private): Deno KV caps a value at
 * 64 KiB, and an install record with a big MCP server's tool list is larger. A blob is written
 * in one atomic commit (its parts, and the deletion of parts an earlier, longer blob left); a
 * read that finds a gap, a foreign value or a count mismatch returns why instead of bytes.
 *
 * Layout: `[...prefix, name, i]` = `{ n, data }` for `i` in `0..n-1`.
 *
 * @module
 */
import { MAX_MUTATIONS_PER_COMMIT, type Store } from "../storage/mod.ts";

const PART_BYTES = 60_000;
/**
 * Deno KV refuses a commit whose keys and values total more than 819,200 bytes; a blob that
 * leaves less than this margin for keys and encoding is refused before the commit is tried.
 */
const MAX_BLOB_BYTES = 800_000;

interface Part {
  readonly n: number;
  readonly data: Uint8Array;
}

/** A stored blob: its bytes (or why they are refused) and the versionstamps of its parts. */
export interface StampedBlob {
  readonly bytes: Uint8Array | string;
  /**
   * The versionstamps of its parts in index order, joined by `,`: the KV commit that wrote
   * these very bytes (any rewrite, even of the same bytes, gives another).
   */
  readonly stamp: string;
}

/**
 * Every blob under `scope` (or only the one named `only`), by name: the bytes, or why they are
 * refused.
 */
export async function readBlobs(
  store: Store,
  scope: Deno.KvKey,
  only?: string,
): Promise<Map<string, Uint8Array | string>> {
  const stamped = await readStampedBlobs(store, scope, only);
  return new Map([...stamped].map(([name, blob]) => [name, blob.bytes]));
}

/** {@link readBlobs}, with each blob's {@link StampedBlob.stamp}. */
export async function readStampedBlobs(
  store: Store,
  scope: Deno.KvKey,
  only?: string,
): Promise<Map<string, StampedBlob>> {
  const at = scope.length;
  const parts = new Map<string, Map<number, unknown>>();
  const stamps = new Map<string, Map<number, string>>();
  for await (const e of store.list({ prefix: only === undefined ? scope : [...scope, only] })) {
    const name = e.key[at];
    const index = e.key[at + 1];
    if (typeof name !== "string") continue;
    const i = typeof index === "number" && e.key.length === at + 2 ? index : -1;
    const byIndex = parts.get(name) ?? new Map<number, unknown>();
    byIndex.set(i, e.value);
    parts.set(name, byIndex);
    const stampOf = stamps.get(name) ?? new Map<number, string>();
    stampOf.set(i, e.versionstamp);
    stamps.set(name, stampOf);
  }
  return new Map(
    [...parts].map(([name, byIndex]) => {
      const stamp = [...stamps.get(name)!].sort(([a], [b]) => a - b).map(([, v]) => v).join(",");
      return [name, { bytes: join(byIndex), stamp }];
    }),
  );
}

/** Replaces the blob at `base` with `bytes`; false when it is too large or the commit fails. */
export async function writeBlob(
  store: Store,
  base: Deno.KvKey,
  bytes: Uint8Array,
): Promise<boolean> {
  if (bytes.length > MAX_BLOB_BYTES) return false;
  const n = Math.max(1, Math.ceil(bytes.length / PART_BYTES));
  const stale: Deno.KvKey[] = [];
  for await (const e of store.list({ prefix: base })) {
    const i = e.key[base.length];
    if (typeof i !== "number" || i >= n || e.key.length !== base.length + 1) stale.push(e.key);
  }
  if (n + stale.length > MAX_MUTATIONS_PER_COMMIT) return false;
  const op = store.atomic();
  for (let i = 0; i < n; i++) {
    op.set(
      [...base, i],
      { n, data: bytes.slice(i * PART_BYTES, (i + 1) * PART_BYTES) } satisfies Part,
    );
  }
  for (const key of stale) op.delete(key);
  try {
    return (await op.commit()).ok;
  } catch {
    return false; // refused by the store (e.g. over its size limit): nothing was written
  }
}

/** Deletes the blob at `base`; true when there was one. */
export async function deleteBlob(store: Store, base: Deno.KvKey): Promise<boolean> {
  const keys: Deno.KvKey[] = [];
  for await (const e of store.list({ prefix: base })) keys.push(e.key);
  for (const key of keys) await store.delete(key);
  return keys.length > 0;
}

/** Joins stored parts in order; a gap, a foreign value or a count mismatch is a reason. */
function join(byIndex: Map<number, unknown>): Uint8Array | string {
  const n = (byIndex.get(0) as Partial<Part> | undefined)?.n;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || byIndex.size !== n) {
    return "its stored parts are incomplete";
  }
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const part = byIndex.get(i) as Partial<Part> | undefined;
    if (part?.n !== n || !(part.data instanceof Uint8Array)) {
      return "its stored parts are incomplete";
    }
    chunks.push(part.data);
  }
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
