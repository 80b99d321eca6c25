/**
 * Browser sessions of the web inbox: one-time login codes (`astrid daemon open`) exchanged for
 * an HttpOnly, SameSite=Strict cookie, and the per-session CSRF token the pages carry.
 *
 * Everything lives in the daemon's memory: a restart signs every browser out (the user runs
 * `astrid daemon open` again). Secrets are 32 random bytes; the session map is keyed by the
 * SHA-256 of the cookie, so the cookie value itself is never kept.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { toBase64Url as encodeBase64Url } from "../crypto/mod.ts";

/** The session cookie's name. */
export const SESSION_COOKIE = "astrid_web";
/** How long a login code lives. */
export const LOGIN_TTL_MS = 2 * 60 * 1000;
/** A session ends after this long without a request. */
export const SESSION_IDLE_MS = 12 * 60 * 60 * 1000;
/** Longest secret accepted from a request (a longer one cannot be ours). */
const MAX_SECRET_CHARS = 128;

/**
 * 32 random bytes, base64url (43 characters).
 *
 * @example A fresh secret each call
 * ```ts
 * import { equal, notEqual } from "node:assert/strict";
 * import { randomSecret } from "./sessions.ts";
 * equal(randomSecret().length, 43);
 * notEqual(randomSecret(), randomSecret());
 * ```
 */
export function randomSecret(): string {
  return encodeBase64Url(crypto.getRandomValues(new Uint8Array(32)));
}

const digest = (secret: string) => createHash("sha256").update(secret).digest("hex");

/**
 * Compares two strings in time that depends only on their lengths.
 *
 * @example Usage
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { sameSecret } from "./sessions.ts";
 * ok(sameSecret("a", "a") && !sameSecret("a", "b"));
 * ```
 */
export function sameSecret(a: string, b: string): boolean {
  const [x, y] = [new TextEncoder().encode(a), new TextEncoder().encode(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}

/** One signed-in browser. */
export interface BrowserSession {
  /** Public id (`web:<id>` names the client); not the cookie. */
  readonly id: string;
  /** Sent in the page's `<meta name="csrf-token">` and required on state-changing requests. */
  readonly csrf: string;
  readonly createdAt: number;
  lastSeen: number;
}

/**
 * Login codes and the sessions they open. `now` is injectable so expiry is tested without
 * waiting.
 *
 * @example A login code opens one session, once
 * ```ts
 * import { equal, notEqual } from "node:assert/strict";
 * import { BrowserSessions } from "./sessions.ts";
 * const sessions = new BrowserSessions();
 * const code = sessions.mintLogin().code;
 * const opened = sessions.redeemLogin(code);
 * notEqual(opened, null);
 * equal(sessions.redeemLogin(code), null);
 * equal(sessions.get(opened!.cookie)?.id, opened!.session.id);
 * ```
 */
export class BrowserSessions {
  #codes = new Map<string, number>();
  #sessions = new Map<string, BrowserSession>();
  #now: () => number;

  /** Creates an empty store. */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** A new single-use login code, valid for {@link LOGIN_TTL_MS}. */
  mintLogin(): { code: string; expiresAt: number } {
    this.#sweep();
    const code = randomSecret();
    const expiresAt = this.#now() + LOGIN_TTL_MS;
    this.#codes.set(digest(code), expiresAt);
    return { code, expiresAt };
  }

  /** Consumes `code` and opens a session; null when unknown, used or expired. */
  redeemLogin(code: string): { cookie: string; session: BrowserSession } | null {
    if (code.length === 0 || code.length > MAX_SECRET_CHARS) return null;
    const key = digest(code);
    const expiresAt = this.#codes.get(key);
    this.#codes.delete(key); // single use, even when it turns out expired
    if (expiresAt === undefined || expiresAt <= this.#now()) return null;
    const cookie = randomSecret();
    const now = this.#now();
    const session: BrowserSession = {
      id: encodeBase64Url(crypto.getRandomValues(new Uint8Array(9))),
      csrf: randomSecret(),
      createdAt: now,
      lastSeen: now,
    };
    this.#sessions.set(digest(cookie), session);
    return { cookie, session };
  }

  /** The live session `cookie` names (and marks it seen), or null. */
  get(cookie: string | undefined): BrowserSession | null {
    if (!cookie || cookie.length > MAX_SECRET_CHARS) return null;
    const key = digest(cookie);
    const session = this.#sessions.get(key);
    if (!session) return null;
    if (this.#now() - session.lastSeen >= SESSION_IDLE_MS) {
      this.#sessions.delete(key);
      return null;
    }
    session.lastSeen = this.#now();
    return session;
  }

  /** Ends the session `cookie` names. */
  end(cookie: string | undefined): void {
    if (cookie && cookie.length <= MAX_SECRET_CHARS) this.#sessions.delete(digest(cookie));
  }

  /** Forgets everything (daemon shutdown). */
  clear(): void {
    this.#codes.clear();
    this.#sessions.clear();
  }

  #sweep(): void {
    const now = this.#now();
    for (const [k, at] of this.#codes) if (at <= now) this.#codes.delete(k);
    for (const [k, s] of this.#sessions) {
      if (now - s.lastSeen >= SESSION_IDLE_MS) this.#sessions.delete(k);
    }
  }
}

/**
 * The `Set-Cookie` value for a session: HttpOnly, SameSite=Strict, Path=/, `Secure` over https,
 * and a Max-Age of the idle limit (the server enforces the idle limit itself).
 *
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { sessionCookie } from "./sessions.ts";
 * equal(
 *   sessionCookie("v", false),
 *   "astrid_web=v; Max-Age=43200; Path=/; HttpOnly; SameSite=Strict",
 * );
 * ```
 */
export function sessionCookie(value: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Max-Age=${SESSION_IDLE_MS / 1000}; Path=/; HttpOnly; ` +
    `SameSite=Strict${secure ? "; Secure" : ""}`;
}

/**
 * The `Set-Cookie` value that clears the session cookie.
 *
 * @example Usage
 * ```ts
 * import { match } from "node:assert/strict";
 * import { clearedCookie } from "./sessions.ts";
 * match(clearedCookie(false), /^astrid_web=; Max-Age=0;/);
 * ```
 */
export function clearedCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict${
    secure ? "; Secure" : ""
  }`;
}

/**
 * The session cookie's value in a `Cookie` header, or undefined.
 *
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { readSessionCookie } from "./sessions.ts";
 * equal(readSessionCookie("a=1; astrid_web=v"), "v");
 * ```
 */
export function readSessionCookie(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}
