/**
 * Private: the shape of a capability token, its strict parser and the resource-pattern checks
 * that tokens.ts and token_store.ts share. Nothing here verifies a signature.
 *
 * @module
 */
import { fromBase64Url, toBase64Url } from "../crypto/encoding.ts";
import { type Permission, PERMISSIONS } from "./action.ts";

/** A signed capability token (ARCHITECTURE.md, "Token"). */
export interface CapabilityToken {
  /** Format version; always 1. */
  v: 1;
  /** A lowercase UUID. */
  id: string;
  /** A glob over a resource URI (resource.ts syntax). */
  resource: string;
  /** Granted permissions, sorted by UTF-16 code units, unique, non-empty. */
  permissions: Permission[];
  /** Milliseconds since the epoch. */
  issuedAt: number;
  /** Milliseconds since the epoch; strictly after `issuedAt`. */
  expiresAt: number;
  /** Whether the token lives for one session or is persisted. */
  scope: "session" | "persistent";
  /** Lowercase hex of the issuer's raw Ed25519 public key. */
  issuer: string;
  /** Session id, agent id or workspace id the token is granted to. */
  subject: string;
  /** Sequence number of the audit entry that created it. */
  auditId: number | null;
  /** True when the token may be consumed once only. */
  singleUse: boolean;
  /** Id of the token this one was attenuated from. */
  parent: string | null;
  /** Unpadded base64url Ed25519 signature over `canonicalBytes("token", token without sig)`. */
  sig: string;
}

/** Every field of a token, in the order they are checked. */
export const TOKEN_FIELDS = [
  "v",
  "id",
  "resource",
  "permissions",
  "issuedAt",
  "expiresAt",
  "scope",
  "issuer",
  "subject",
  "auditId",
  "singleUse",
  "parent",
  "sig",
] as const;

/** Longest resource pattern a token may carry. */
export const MAX_RESOURCE_LENGTH = 2048;
/** Longest subject a token may carry. */
export const MAX_SUBJECT_LENGTH = 256;
/** Clock skew tolerated on `issuedAt`. */
export const CLOCK_SKEW_MS = 2000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX_KEY = /^[0-9a-f]{64}$/;
const SIG = /^[A-Za-z0-9_-]{86}$/;
// deno-lint-ignore no-control-regex -- rejecting control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const SCHEME = /^([a-z][a-z0-9+.-]{0,31}):\/\//;
const PERMISSION_SET: ReadonlySet<string> = new Set(PERMISSIONS);

/** True when `id` is a lowercase UUID. */
export function isTokenId(id: unknown): id is string {
  return typeof id === "string" && UUID.test(id);
}

/**
 * True when a resource (or pattern) has a dot segment. Every scheme rejects `..` between `/`
 * (and, for `exec://`, between spaces); all but `exec://` also reject `.`. `%2e` counts as a
 * dot, since `new URL()` would resolve it.
 */
export function hasDotSegment(resource: string): boolean {
  const exec = resource.startsWith("exec://");
  const body = resource.slice(resource.indexOf("://") + 3);
  for (const segment of body.split(exec ? /[/ ]/ : "/")) {
    const s = segment.length <= 6 ? segment.replace(/%2e/gi, ".") : segment;
    if (s === ".." || (!exec && s === ".")) return true;
  }
  return false;
}

/** Returns why `resource` cannot be a token's resource pattern, or null when it can. */
export function resourceProblem(resource: unknown): string | null {
  if (typeof resource !== "string") return `it is a ${typeof resource}, not a string`;
  if (resource.length === 0 || resource.length > MAX_RESOURCE_LENGTH) {
    return `its length ${resource.length} is outside 1..${MAX_RESOURCE_LENGTH}`;
  }
  if (CONTROL.test(resource)) return "it holds a control character";
  if (!resource.isWellFormed()) return "it holds a lone surrogate";
  const scheme = SCHEME.exec(resource);
  if (!scheme) return "it does not start with a lowercase scheme and ://";
  if (scheme[1] !== "exec" && resource.includes("\\")) return "it holds a backslash";
  if (hasDotSegment(resource)) return "it has a . or .. segment";
  return null;
}

/** Sorts and de-duplicates permissions; returns null when one is unknown or none is given. */
export function normalisePermissions(permissions: unknown): Permission[] | null {
  if (!Array.isArray(permissions) || permissions.length === 0) return null;
  if (permissions.length > PERMISSIONS.length * 4) return null;
  const set = new Set<Permission>();
  for (const p of permissions) {
    if (typeof p !== "string" || !PERMISSION_SET.has(p)) return null;
    set.add(p as Permission);
  }
  return [...set].sort();
}

/**
 * The characters every match of `pattern` starts with: everything before the first `*` or
 * `?`, minus the `/` of a trailing `/**` (which also matches the folder itself).
 */
export function matchPrefix(pattern: string): string {
  const star = pattern.search(/[*?]/);
  if (star < 0) return pattern;
  const prefix = pattern.slice(0, star);
  const exec = pattern.startsWith("exec://");
  if (!exec && prefix.endsWith("/") && /^\*{2,}$/.test(pattern.slice(star))) {
    return prefix.slice(0, -1);
  }
  return prefix;
}

/** True when `pattern` holds a glob wildcard. */
export function hasWildcard(pattern: string): boolean {
  return /[*?]/.test(pattern);
}

type Parsed = { ok: true; token: CapabilityToken } | { ok: false; reason: string };

function fail(field: string, why: string): Parsed {
  return { ok: false, reason: `Cannot accept token: field "${field}" ${why}` };
}

function isSafeTime(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

/**
 * Strictly parses an untrusted value into a fresh token: a plain object with exactly the
 * token's fields, each of the right type and size. Reads every field once (getters included),
 * so the returned copy cannot change under the caller.
 */
export function parseToken(value: unknown): Parsed {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, reason: `Cannot accept token: it is ${describe(value)}, not an object` };
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    return { ok: false, reason: "Cannot accept token: it is not a plain object" };
  }
  const keys = Reflect.ownKeys(value);
  if (keys.length !== TOKEN_FIELDS.length) {
    return {
      ok: false,
      reason: `Cannot accept token: it has ${keys.length} fields, expected ${TOKEN_FIELDS.length}`,
    };
  }
  const raw: Record<string, unknown> = {};
  for (const key of keys) {
    if (typeof key !== "string" || !(TOKEN_FIELDS as readonly string[]).includes(key)) {
      return { ok: false, reason: `Cannot accept token: unknown field ${String(key)}` };
    }
    raw[key] = (value as Record<string, unknown>)[key];
  }
  const { v, id, resource, permissions, issuedAt, expiresAt, scope } = raw;
  const { issuer, subject, auditId, singleUse, parent, sig } = raw;
  if (v !== 1) return fail("v", `is ${describe(v)}, expected 1`);
  if (!isTokenId(id)) return fail("id", "is not a lowercase UUID");
  const resourceWhy = resourceProblem(resource);
  if (resourceWhy !== null) return fail("resource", resourceWhy);
  const perms = normalisePermissions(permissions);
  if (
    perms === null || !Array.isArray(permissions) || perms.length !== permissions.length ||
    perms.some((p, i) => p !== permissions[i])
  ) {
    return fail("permissions", "is not a sorted, unique, non-empty list of known permissions");
  }
  if (!isSafeTime(issuedAt)) return fail("issuedAt", "is not a non-negative safe integer");
  if (!isSafeTime(expiresAt) || expiresAt <= issuedAt) {
    return fail("expiresAt", "is not a safe integer after issuedAt");
  }
  if (scope !== "session" && scope !== "persistent") {
    return fail("scope", `is ${describe(scope)}, expected "session" or "persistent"`);
  }
  if (typeof issuer !== "string" || !HEX_KEY.test(issuer)) {
    return fail("issuer", "is not 64 lowercase hex digits");
  }
  if (
    typeof subject !== "string" || subject.length === 0 ||
    subject.length > MAX_SUBJECT_LENGTH || CONTROL.test(subject) || !subject.isWellFormed()
  ) {
    return fail("subject", `is not a string of 1..${MAX_SUBJECT_LENGTH} printable characters`);
  }
  if (auditId !== null && !isSafeTime(auditId)) {
    return fail("auditId", "is neither null nor a non-negative safe integer");
  }
  if (typeof singleUse !== "boolean") return fail("singleUse", "is not a boolean");
  if (parent !== null && !isTokenId(parent)) return fail("parent", "is neither null nor a UUID");
  if (parent === id) return fail("parent", "names the token itself");
  if (typeof sig !== "string" || !SIG.test(sig) || toBase64Url(fromBase64Url(sig)) !== sig) {
    return fail("sig", "is not the canonical base64url of 64 bytes");
  }
  const token: CapabilityToken = {
    v,
    id,
    resource: resource as string,
    permissions: perms,
    issuedAt,
    expiresAt,
    scope,
    issuer,
    subject,
    auditId,
    singleUse,
    parent,
    sig,
  };
  return { ok: true, token };
}

/** The signed part of a token: every field but `sig`. */
export function tokenBody(token: CapabilityToken): Omit<CapabilityToken, "sig"> {
  const { sig: _sig, ...body } = token;
  return body;
}

/** Freezes a token and its permission list. */
export function freezeToken(token: CapabilityToken): CapabilityToken {
  Object.freeze(token.permissions);
  return Object.freeze(token);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return value.length > 40 ? "a long string" : JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return `a ${typeof value}`;
}
