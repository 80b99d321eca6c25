/**
 * One-time approval links (`/a/<code>`): each answers exactly one approval, once. A link dies
 * when it is used, when its approval is settled (by anyone), or at its expiry, whichever comes
 * first. It carries no session: it grants that one answer and nothing else.
 *
 * Codes live in the daemon's memory, keyed by their SHA-256; a restart kills every link (the
 * approval itself stays in the deferred queue).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { randomSecret } from "./sessions.ts";

/** The default lifetime of a link (`[daemon] link_ttl_seconds`). */
export const DEFAULT_LINK_TTL_MS = 15 * 60 * 1000;
/** The longest lifetime a caller may ask for (a day). */
export const MAX_LINK_TTL_MS = 24 * 60 * 60 * 1000;
const MAX_CODE_CHARS = 128;

/** A live link. */
export interface ApprovalLink {
  readonly approvalId: string;
  readonly expiresAt: number;
  /** The CSRF token bound to this code (a hidden field of its form). */
  readonly csrf: string;
}

const digest = (code: string) => createHash("sha256").update(code).digest("hex");

/**
 * The live links.
 *
 * @example A link is used once
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { LinkStore } from "./links.ts";
 * const links = new LinkStore();
 * const { code } = links.mint("appr-1", 60_000);
 * equal(links.peek(code)?.approvalId, "appr-1");
 * equal(links.take(code)?.approvalId, "appr-1");
 * equal(links.take(code), null);
 * ```
 */
export class LinkStore {
  #links = new Map<string, ApprovalLink>();
  #now: () => number;

  /** Creates an empty store; `now` is injectable for expiry tests. */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Mints a code for `approvalId` that lives `ttlMs` (1 ms .. {@link MAX_LINK_TTL_MS}). */
  mint(approvalId: string, ttlMs: number): { code: string; expiresAt: number } {
    if (!approvalId) throw new TypeError("Cannot mint a link: the approval id is empty");
    if (!Number.isFinite(ttlMs) || ttlMs <= 0 || ttlMs > MAX_LINK_TTL_MS) {
      throw new RangeError(
        `Cannot mint a link: ttl must be in (0, ${MAX_LINK_TTL_MS}] ms, current value is ${ttlMs}`,
      );
    }
    this.#sweep();
    const code = randomSecret();
    const expiresAt = this.#now() + ttlMs;
    this.#links.set(digest(code), { approvalId, expiresAt, csrf: randomSecret() });
    return { code, expiresAt };
  }

  /** The live link `code` names, without using it; null when unknown or expired. */
  peek(code: string): ApprovalLink | null {
    if (!code || code.length > MAX_CODE_CHARS) return null;
    const key = digest(code);
    const link = this.#links.get(key);
    if (!link) return null;
    if (link.expiresAt <= this.#now()) {
      this.#links.delete(key);
      return null;
    }
    return link;
  }

  /** Uses the link `code` names: it is gone afterwards. Null when unknown or expired. */
  take(code: string): ApprovalLink | null {
    const link = this.peek(code);
    if (link) this.#links.delete(digest(code));
    return link;
  }

  /** Kills every link of `approvalId` (it was settled). */
  settle(approvalId: string): void {
    for (const [k, l] of this.#links) if (l.approvalId === approvalId) this.#links.delete(k);
  }

  /** How many links are live. */
  get size(): number {
    this.#sweep();
    return this.#links.size;
  }

  /** Forgets every link. */
  clear(): void {
    this.#links.clear();
  }

  #sweep(): void {
    const now = this.#now();
    for (const [k, l] of this.#links) if (l.expiresAt <= now) this.#links.delete(k);
  }
}
