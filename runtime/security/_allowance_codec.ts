/**
 * Private: the signed form of a session allowance, its strict parser, signing, and
 * verification in the fixed order (CONVENTIONS §11). allowances.ts re-exports the public parts.
 *
 * An allowance's signature is Ed25519 (RFC 8032 §5.1) over
 * `canonicalBytes("session-allowance", body)` (ACE-1, runtime/crypto/canonical.ts), where `body`
 * is the allowance without `sig`:
 *
 * ```
 * { v: 1, id, sessionId, pattern, permission, createdAt, issuer }
 * ```
 *
 * The domain keeps an allowance signature from ever passing as a token's or a checkpoint's.
 * Binding `sessionId` and `id` into the signed bytes means a record copied under another
 * session (or another id) no longer matches its key, and is refused as `RETARGETED`.
 *
 * @module
 */
import { canonicalBytes } from "../crypto/canonical.ts";
import { fromBase64Url, fromHex, toBase64Url, toHex } from "../crypto/encoding.ts";
import { type Signer, verify } from "../crypto/ed25519.ts";
import { type Permission, PERMISSIONS } from "./action.ts";

/** A standing "allow for this session" grant, signed by the runtime's key. */
export interface Allowance {
  /** Format version; always 1. */
  readonly v: 1;
  /** A lowercase UUID; also the last part of its KV key. */
  readonly id: string;
  /** The session it belongs to; also the middle part of its KV key. */
  readonly sessionId: string;
  /** A glob over resource URIs (resource.ts syntax). */
  readonly pattern: string;
  readonly permission: Permission;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  /** Lowercase hex of the signer's raw Ed25519 public key. */
  readonly issuer: string;
  /** Unpadded base64url Ed25519 signature over the allowance without `sig`. */
  readonly sig: string;
}

/** Why a stored allowance was refused. */
export type AllowanceCode = "MALFORMED" | "UNTRUSTED_ISSUER" | "FORGED" | "RETARGETED";

/** The outcome of {@link verifyAllowance}. */
export type AllowanceCheck =
  | { readonly ok: true; readonly allowance: Allowance }
  | { readonly ok: false; readonly code: AllowanceCode; readonly reason: string };

/** The signing domain of allowances (ACE-1). */
export const ALLOWANCE_DOMAIN = "session-allowance";
/** Longest pattern an allowance may carry. */
export const MAX_PATTERN_LENGTH = 16_384;
/** Longest session id an allowance may name. */
export const MAX_SESSION_ID_LENGTH = 256;

const FIELDS = ["v", "id", "sessionId", "pattern", "permission", "createdAt", "issuer", "sig"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX_KEY = /^[0-9a-f]{64}$/;
const SIG = /^[A-Za-z0-9_-]{86}$/;
// deno-lint-ignore no-control-regex -- rejecting control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const PERMISSION_SET: ReadonlySet<string> = new Set(PERMISSIONS);

function refuse(code: AllowanceCode, reason: string): AllowanceCheck {
  return { ok: false, code, reason };
}

/** Returns why `sessionId` cannot name a session, or null. */
export function sessionIdProblem(sessionId: unknown): string | null {
  if (typeof sessionId !== "string") return `it is a ${typeof sessionId}`;
  if (sessionId.length === 0 || sessionId.length > MAX_SESSION_ID_LENGTH) {
    return `its length ${sessionId.length} is outside 1..${MAX_SESSION_ID_LENGTH}`;
  }
  if (CONTROL.test(sessionId) || !sessionId.isWellFormed()) return "it holds a control character";
  return null;
}

/** Returns why `pattern` cannot be an allowance's pattern, or null. */
export function patternProblem(pattern: unknown): string | null {
  if (typeof pattern !== "string") return `it is a ${typeof pattern}`;
  if (pattern.length === 0 || pattern.length > MAX_PATTERN_LENGTH) {
    return `its length ${pattern.length} is outside 1..${MAX_PATTERN_LENGTH}`;
  }
  if (!pattern.isWellFormed()) return "it holds a lone surrogate";
  if (!/^[a-z][a-z0-9+.-]{0,31}:\/\//.test(pattern)) return "it has no lowercase scheme and ://";
  return null;
}

/**
 * Strictly parses an untrusted value: a plain object with exactly the allowance's fields,
 * each of the right type and size, read once into a fresh frozen copy.
 */
export function parseAllowance(value: unknown): Allowance | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "Cannot accept allowance: it is not an object";
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    return "Cannot accept allowance: it is not a plain object";
  }
  const keys = Reflect.ownKeys(value);
  if (keys.length !== FIELDS.length || keys.some((k) => !FIELDS.includes(k as string))) {
    return `Cannot accept allowance: its fields are not exactly ${FIELDS.join(", ")}`;
  }
  const raw = { ...(value as Record<string, unknown>) };
  const { v, id, sessionId, pattern, permission, createdAt, issuer, sig } = raw;
  const bad = (field: string, why: string) => `Cannot accept allowance: field "${field}" ${why}`;
  if (v !== 1) return bad("v", "is not 1");
  if (typeof id !== "string" || !UUID.test(id)) return bad("id", "is not a lowercase UUID");
  const sessionWhy = sessionIdProblem(sessionId);
  if (sessionWhy !== null) return bad("sessionId", sessionWhy);
  const patternWhy = patternProblem(pattern);
  if (patternWhy !== null) return bad("pattern", patternWhy);
  if (typeof permission !== "string" || !PERMISSION_SET.has(permission)) {
    return bad("permission", "is not a known permission");
  }
  if (typeof createdAt !== "number" || !Number.isSafeInteger(createdAt) || createdAt < 0) {
    return bad("createdAt", "is not a non-negative safe integer");
  }
  if (typeof issuer !== "string" || !HEX_KEY.test(issuer)) {
    return bad("issuer", "is not 64 lowercase hex digits");
  }
  if (typeof sig !== "string" || !SIG.test(sig) || toBase64Url(fromBase64Url(sig)) !== sig) {
    return bad("sig", "is not the canonical base64url of 64 bytes");
  }
  return Object.freeze({
    v,
    id,
    sessionId: sessionId as string,
    pattern: pattern as string,
    permission: permission as Permission,
    createdAt,
    issuer,
    sig,
  });
}

/** The signed bytes of an allowance: ACE-1 of every field but `sig`. */
export function allowanceBytes(a: Omit<Allowance, "sig">): Uint8Array {
  const { v, id, sessionId, pattern, permission, createdAt, issuer } = a;
  return canonicalBytes(ALLOWANCE_DOMAIN, {
    v,
    id,
    sessionId,
    pattern,
    permission,
    createdAt,
    issuer,
  });
}

/**
 * Signs a new allowance. Throws `TypeError` for a bad session id, pattern or permission.
 *
 * @example Sign, then verify under the same key and session
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { generateSeed, signerFromSeed, toHex } from "../crypto/mod.ts";
 * import { signAllowance, verifyAllowance } from "./_allowance_codec.ts";
 * const signer = signerFromSeed(generateSeed());
 * const a = signAllowance(signer, { sessionId: "s1", pattern: "exec://git status", permission: "execute" });
 * const check = verifyAllowance(a, { sessionId: "s1", id: a.id, issuer: toHex(signer.publicKey) });
 * equal(check.ok, true);
 * ```
 */
export function signAllowance(
  signer: Signer,
  fields: { sessionId: string; pattern: string; permission: Permission; now?: number },
): Allowance {
  const body = {
    v: 1 as const,
    id: crypto.randomUUID(),
    sessionId: fields.sessionId,
    pattern: fields.pattern,
    permission: fields.permission,
    createdAt: fields.now ?? Date.now(),
    issuer: toHex(signer.publicKey),
  };
  const sig = toBase64Url(signer.sign(allowanceBytes(body)));
  const parsed = parseAllowance({ ...body, sig });
  if (typeof parsed === "string") throw new TypeError(parsed.replace("accept", "sign"));
  return parsed;
}

/**
 * Verifies a stored allowance in the fixed order: parse (`MALFORMED`), trusted issuer
 * (`UNTRUSTED_ISSUER`), signature (`FORGED`), and only then its binding to the key it was
 * read from (`RETARGETED`: another session's or another id's record). Never throws.
 *
 * @example A valid record copied under another session is refused
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { generateSeed, signerFromSeed, toHex } from "../crypto/mod.ts";
 * import { signAllowance, verifyAllowance } from "./_allowance_codec.ts";
 * const signer = signerFromSeed(generateSeed());
 * const issuer = toHex(signer.publicKey);
 * const a = signAllowance(signer, { sessionId: "s1", pattern: "exec://**", permission: "execute" });
 * const moved = verifyAllowance(a, { sessionId: "s2", id: a.id, issuer });
 * equal(moved.ok ? "" : moved.code, "RETARGETED");
 * const edited = verifyAllowance({ ...a, sessionId: "s2" }, { sessionId: "s2", id: a.id, issuer });
 * equal(edited.ok ? "" : edited.code, "FORGED");
 * ```
 */
export function verifyAllowance(
  value: unknown,
  expect: { readonly sessionId: string; readonly id: unknown; readonly issuer: string },
): AllowanceCheck {
  const a = parseAllowance(value);
  if (typeof a === "string") return refuse("MALFORMED", a);
  if (a.issuer !== expect.issuer) {
    return refuse("UNTRUSTED_ISSUER", `Cannot trust allowance ${a.id}: issuer ${a.issuer}`);
  }
  let message: Uint8Array;
  try {
    message = allowanceBytes(a);
  } catch (err) {
    return refuse("MALFORMED", `Cannot encode allowance ${a.id}: ${(err as Error).message}`);
  }
  if (!verify(fromHex(a.issuer), message, fromBase64Url(a.sig))) {
    return refuse("FORGED", `Cannot trust allowance ${a.id}: its signature does not verify`);
  }
  if (a.sessionId !== expect.sessionId || a.id !== expect.id) {
    return refuse(
      "RETARGETED",
      `Cannot use allowance ${a.id}: it was signed for session ${a.sessionId}, ` +
        `current key is session ${expect.sessionId}, id ${String(expect.id)}`,
    );
  }
  return { ok: true, allowance: a };
}
