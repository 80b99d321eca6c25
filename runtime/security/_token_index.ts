/**
 * Private: the in-memory index behind `TokenStore.findCovering()`. Tokens are grouped by
 * subject, then by a bucket key: the pattern's literal prefix (everything before the first
 * wildcard) cut after its last `/` or space. Every resource a pattern matches starts with that
 * key, except that `P/**` also matches `P` itself; so a lookup visits the buckets named by the
 * resource's own separators plus `resource + "/"`, compares the one character after the key
 * (a cheap reject), and only then runs the precompiled pattern.
 *
 * @module
 */
import { type Permission, PERMISSIONS } from "./action.ts";
import { compileResourcePattern, type ResourcePattern } from "./resource.ts";
import { type CapabilityToken, CLOCK_SKEW_MS, hasDotSegment, matchPrefix } from "./_token_codec.ts";

interface Entry {
  readonly token: CapabilityToken;
  readonly pattern: ResourcePattern;
  readonly mask: number;
  readonly bucket: string;
  /** The character every match has right after the bucket key, or -1 when unknown. */
  readonly next: number;
}

const BIT = new Map<Permission, number>(PERMISSIONS.map((p, i) => [p, 1 << i]));
const SLASH = 47;
const SPACE = 32;

/** The bucket key of a pattern: its literal prefix cut after the last `/` or space. */
export function bucketOf(pattern: string): string {
  const star = pattern.search(/[*?]/);
  const prefix = star < 0 ? pattern : pattern.slice(0, star);
  const cut = Math.max(prefix.lastIndexOf("/"), prefix.lastIndexOf(" "));
  return prefix.slice(0, cut + 1);
}

/** Tokens indexed by subject and bucket, with permissions as a bit mask. */
export class TokenIndex {
  #bySubject = new Map<string, Map<string, Entry[]>>();
  #byId = new Map<string, Entry>();

  /** The indexed token with this id. */
  get(id: string): CapabilityToken | undefined {
    return this.#byId.get(id)?.token;
  }

  /** Every indexed token. */
  tokens(): CapabilityToken[] {
    return [...this.#byId.values()].map((e) => e.token);
  }

  /** Indexes a verified token (replacing nothing: ids are unique). */
  insert(token: CapabilityToken): void {
    let mask = 0;
    for (const p of token.permissions) mask |= BIT.get(p) ?? 0;
    const bucket = bucketOf(token.resource);
    const prefix = matchPrefix(token.resource);
    const entry: Entry = {
      token,
      pattern: compileResourcePattern(token.resource),
      mask,
      bucket,
      next: prefix.length > bucket.length ? prefix.charCodeAt(bucket.length) : -1,
    };
    this.#byId.set(token.id, entry);
    let buckets = this.#bySubject.get(token.subject);
    if (buckets === undefined) this.#bySubject.set(token.subject, buckets = new Map());
    const list = buckets.get(entry.bucket);
    if (list === undefined) buckets.set(entry.bucket, [entry]);
    else list.push(entry);
  }

  /** Drops a token from the index. */
  remove(id: string): void {
    const entry = this.#byId.get(id);
    if (entry === undefined) return;
    this.#byId.delete(id);
    const buckets = this.#bySubject.get(entry.token.subject);
    const list = buckets?.get(entry.bucket);
    if (buckets === undefined || list === undefined) return;
    const kept = list.filter((e) => e !== entry);
    if (kept.length > 0) buckets.set(entry.bucket, kept);
    else buckets.delete(entry.bucket);
    if (buckets.size === 0) this.#bySubject.delete(entry.token.subject);
  }

  /**
   * The first live token covering any resource, preferring multi-use tokens. `usable` is
   * asked last, only for a token that is in its window and matches.
   */
  find(
    resources: readonly string[],
    permission: Permission,
    subjects: readonly string[],
    now: number,
    usable: (token: CapabilityToken) => boolean,
  ): CapabilityToken | null {
    const bit = BIT.get(permission);
    if (bit === undefined) return null;
    let fallback: CapabilityToken | null = null;
    for (const subject of subjects) {
      const buckets = this.#bySubject.get(subject);
      if (buckets === undefined) continue;
      for (const resource of resources) {
        if (typeof resource !== "string" || hasDotSegment(resource)) continue;
        for (let i = 0; i <= resource.length; i++) {
          const c = resource.charCodeAt(i);
          if (c !== SLASH && c !== SPACE && i < resource.length) continue;
          const key = i < resource.length ? resource.slice(0, i + 1) : `${resource}/`;
          const list = buckets.get(key);
          if (list === undefined) continue;
          const next = resource.charCodeAt(i + 1);
          for (const e of list) {
            if (e.next !== -1 && e.next !== next) continue;
            const t = e.token;
            if ((e.mask & bit) === 0 || now >= t.expiresAt || now < t.issuedAt - CLOCK_SKEW_MS) {
              continue;
            }
            if (!e.pattern.test(resource) || !usable(t)) continue;
            if (!t.singleUse) return t;
            fallback ??= t;
          }
        }
      }
    }
    return fallback;
  }
}
