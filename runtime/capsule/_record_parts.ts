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
  // A listing returns a blob's parts one after the other, in index order: each blob is
  // gathered while they come (a part filed under an odd key counts as index -1, which makes the
  // blob incomplete).
  const parts = new Map<string, [index: number, value: unknown, stamp: string][]>();
  for await (const e of store.list({ prefix: only === undefined ? scope : [...scope, only] })) {
    const name = e.key[at];
    const index = e.key[at + 1];
    if (typeof name !== "string") continue;
    const i = typeof index === "number" && e.key.length === at + 2 ? index : -1;
    const seen = parts.get(name);
    if (seen) seen.push([i, e.value, e.versionstamp]);
    else parts.set(name, [[i, e.value, e.versionstamp]]);
  }
  const out = new Map<string, StampedBlob>();
  for (const [name, seen] of parts) {
    if (seen.some(([i], k) => k > 0 && i < seen[k - 1]![0])) seen.sort(([a], [b]) => a - b);
    const stamp = seen.length === 1 ? seen[0]![2] : seen.map(([, , v]) => v).join(",");
    out.set(name, { bytes: join(seen), stamp });
  }
  return out;
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

/**
 * Joins stored parts (in index order); a gap, a repeated or foreign part or a count mismatch is
 * a reason. A blob of one part is its part's bytes, not a copy.
 */
function join(
  parts: readonly [index: number, value: unknown, stamp: string][],
): Uint8Array | string {
  const incomplete = "its stored parts are incomplete";
  const n = (parts[0]?.[0] === 0 ? parts[0][1] as Partial<Part> : undefined)?.n;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || parts.length !== n) {
    return incomplete;
  }
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const [index, value] = parts[i]!;
    const part = value as Partial<Part> | undefined;
    if (index !== i || part?.n !== n || !(part.data instanceof Uint8Array)) return incomplete;
    chunks.push(part.data);
  }
  if (n === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
