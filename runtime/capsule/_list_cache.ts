/**
 * The listing cache (private; issue 15): what a full check of the installed capsules of one scope
 * found, so the next command need not repeat it. One entry per capsule that passed:
 *
 * - `record`: SHA-256 of its install record's stored bytes (the signed envelope, as read;
 *   `sha256:<hex>`, crypto/sha256.ts: all of a scope's records are hashed at once, natively,
 *   where the start-up's TypeScript BLAKE3 paid about 70 µs a record; a cache written with BLAKE3
 *   record digests by an earlier version simply misses once);
 * - `manifestText`: SHA-256 of its `Capsule.toml` bytes, the same way (loading one capsule
 *   outside a listing hashes no manifest);
 * - `manifest` and `warnings`: what parsing that text gave, checked against the record's
 *   manifest pin.
 *
 * While both digests match, the record's signature, its field validation, the TOML parse and
 * the manifest pin are not repeated: the bytes are those that passed them. Anything else (a
 * reinstalled capsule, an edited manifest, a new record) misses and is checked in full, and
 * `astrid capsule verify` never uses the cache.
 *
 * The cache sits next to the records (KV, `["capsule_list_cache", <scope key>]`, under
 * `$ASTRID_HOME`) and is signed with the runtime key like them: Ed25519 (RFC 8032) over
 * `canonicalBytes("capsule-list-cache", body)` (ACE-1), where `body` is the entries' JSON exactly
 * as stored. Stored as one line `<public key hex> <signature base64url>`, a newline, then `body`
 * (so the body is not escaped inside another JSON document). Verification runs before the body
 * is parsed; a cache that does not verify is ignored (a miss), never an error. An older cache replayed in its place only matches
 * the older record bytes and manifest text it was made from, which are themselves checked in full
 * when they are not the ones on disk.
 *
 * @module
 */
import {
  canonicalBytes,
  fromBase64Url,
  type Signer,
  toBase64Url,
  toHex,
  verify,
  verifyAhead,
} from "../crypto/mod.ts";
import type { Store } from "../storage/mod.ts";
import { readBlobs, writeBlob } from "./_record_parts.ts";
import type { ParsedManifest } from "./manifest.ts";

/** The ACE-1 domain of the cache's signature. */
export const LIST_CACHE_DOMAIN = "capsule-list-cache";
const PREFIX = "capsule_list_cache";

/** One capsule as a full check found it (see the module doc). */
export interface ListCacheEntry {
  readonly record: string;
  readonly manifestText: string;
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
    const text = new TextDecoder("utf-8", { fatal: true }).decode(blob);
    const at = text.indexOf("\n");
    const [key, sig] = text.slice(0, at).split(" ");
    const body = text.slice(at + 1);
    if (at < 0 || key !== toHex(signer.publicKey) || sig === undefined) return none;
    const signed = canonicalBytes(LIST_CACHE_DOMAIN, body);
    const signature = fromBase64Url(sig);
    // WebCrypto first, so the synchronous check needs no `node:crypto` (15 ms to load).
    await verifyAhead([{ publicKey: signer.publicKey, message: signed, signature }]);
    if (!verify(signer.publicKey, signed, signature)) return none;
    const entries: Record<string, ListCacheEntry> = JSON.parse(body);
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
  const body = JSON.stringify(Object.fromEntries(entries));
  const sig = signer.sign(canonicalBytes(LIST_CACHE_DOMAIN, body));
  const stored = `${toHex(signer.publicKey)} ${toBase64Url(sig)}\n${body}`;
  return await writeBlob(store, [PREFIX, scopeKey], new TextEncoder().encode(stored));
}
