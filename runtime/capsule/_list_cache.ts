/**
 * The listing cache (private; issue 15): what a full check of the installed capsules of one scope
 * found, so the next command need not repeat it. One entry per capsule that passed:
 *
 * - `stamp`: the versionstamps of its stored install record (_record_parts.ts `StampedBlob`):
 *   the KV commit that wrote the record bytes that passed;
 * - `manifestText`: SHA-256 of its `Capsule.toml` bytes (`sha256:<hex>`, crypto/sha256.ts:
 *   a scope's manifests are hashed at once, natively), and `manifestStat`, the file's
 *   fingerprint (loader.ts `fileFingerprint`: device, inode, size, mtime, ctime) taken before
 *   that text was read, or null while its ctime was under 2 s old (loader.ts `STABLE_MS`: Deno
 *   gives ctime in whole seconds, and a later write in the same second would keep it);
 * - `parsed`: what parsing that text gave, checked against the record's manifest pin.
 *
 * While the record's stamp is unchanged, its signature and fields are not checked again (its
 * filing still is); while the manifest's fingerprint (or else the digest of its text) matches,
 * it is neither read nor parsed, nor checked against the pin again: these are the bytes that
 * passed.
 * Anything else (a reinstalled capsule, an edited manifest, a new record) misses and is checked
 * in full, and `astrid capsule verify` never uses the cache. What the fingerprint trades: a
 * rewrite of `Capsule.toml` that keeps its size, inode, mtime and ctime (only root forges a
 * ctime) is not seen by listing (`capsule verify` sees it); the capsule then keeps the parse
 * that passed, never the rewritten text.
 *
 * The cache sits next to the records (KV, `["capsule_list_cache", <scope key>]`, under
 * `$ASTRID_HOME`) and is signed with the runtime key like them: Ed25519 (RFC 8032) over
 * `canonicalBytes("capsule-list-cache-v2", { body: "sha256:<hex>" })` (ACE-1), the SHA-256 of
 * `body`, the entries' JSON exactly as stored (hashed natively: a signature over the body itself
 * was checked on a JSON-escaped and a hex copy of it). Stored as one line
 * `<public key hex> <signature base64url>`, a newline, then `body` (so the body is not escaped
 * inside another JSON document). Verification runs before the body is decoded or parsed; a
 * cache that does not verify is ignored (a miss), never an error. An older cache replayed in its
 * place only matches the older record commits and manifest files it was made from, which are
 * themselves checked in full when they are not the ones in the store and on disk.
 *
 * @module
 */
import {
  canonicalBytes,
  fromBase64Url,
  sha256Tagged,
  type Signer,
  toBase64Url,
  toHex,
  verify,
  verifyAhead,
} from "../crypto/mod.ts";
import type { Store } from "../storage/mod.ts";
import { readBlobs, writeBlob } from "./_record_parts.ts";
import type { ParsedManifest } from "./manifest.ts";

/** The ACE-1 domain of the cache's signature (an earlier format's cache does not verify). */
export const LIST_CACHE_DOMAIN = "capsule-list-cache-v2";
const PREFIX = "capsule_list_cache";

/** One capsule as a full check found it (see the module doc). */
export interface ListCacheEntry {
  readonly stamp: string;
  readonly manifestText: string;
  readonly manifestStat: string | null;
  readonly parsed: ParsedManifest;
}

/**
 * The verified cache of a scope (empty when there is none, or it does not verify).
 *
 * @example An empty store has no cache
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { readListCache } from "./_list_cache.ts";
 * using store = await openStore(":memory:");
 * equal((await readListCache(store, signerFromSeed(generateSeed()), "user")).size, 0);
 * ```
 */
export async function readListCache(
  store: Store,
  signer: Signer,
  scopeKey: string,
): Promise<Map<string, ListCacheEntry>> {
  const none = new Map<string, ListCacheEntry>();
  const blob = (await readBlobs(store, [PREFIX], scopeKey)).get(scopeKey);
  if (!(blob instanceof Uint8Array)) return none;
  try {
    const at = blob.indexOf(0x0a);
    if (at < 0) return none;
    const decoder = new TextDecoder("utf-8", { fatal: true });
    const [key, sig] = decoder.decode(blob.subarray(0, at)).split(" ");
    if (key !== toHex(signer.publicKey) || sig === undefined) return none;
    const bodyBytes = blob.subarray(at + 1);
    const signed = statement(await sha256Tagged(bodyBytes));
    const signature = fromBase64Url(sig);
    // WebCrypto first, so the synchronous check needs no `node:crypto` (15 ms to load).
    await verifyAhead([{ publicKey: signer.publicKey, message: signed, signature }]);
    if (!verify(signer.publicKey, signed, signature)) return none;
    const entries: Record<string, ListCacheEntry> = JSON.parse(decoder.decode(bodyBytes));
    return new Map(Object.entries(entries));
  } catch {
    return none;
  }
}

/**
 * Signs and stores `entries` as the cache of a scope (replacing any earlier one); false when the
 * store refused it (the next command then checks in full again).
 */
export async function writeListCache(
  store: Store,
  signer: Signer,
  scopeKey: string,
  entries: ReadonlyMap<string, ListCacheEntry>,
): Promise<boolean> {
  const body = new TextEncoder().encode(JSON.stringify(Object.fromEntries(entries)));
  const sig = signer.sign(statement(await sha256Tagged(body)));
  const head = new TextEncoder().encode(`${toHex(signer.publicKey)} ${toBase64Url(sig)}\n`);
  const stored = new Uint8Array(head.length + body.length);
  stored.set(head);
  stored.set(body, head.length);
  return await writeBlob(store, [PREFIX, scopeKey], stored);
}

/** What the cache's signature covers: the SHA-256 of its body's bytes (see the module doc). */
function statement(bodyDigest: string): Uint8Array {
  return canonicalBytes(LIST_CACHE_DOMAIN, { body: bodyDigest });
}
