/**
 * Signed capability tokens: minting, verification in a fixed order, and attenuation.
 *
 * A token's signature is Ed25519 (RFC 8032 §5.1) over `canonicalBytes("token", body)`, where
 * `body` is the token without `sig` (ACE-1, see runtime/crypto/canonical.ts). Fixed vectors
 * live in `testdata/tokens_v1.json`.
 *
 * Verification order (CONVENTIONS §11): strict shape check (`MALFORMED`), trusted issuer
 * (`UNTRUSTED_ISSUER`), signature (`FORGED`), and only then the time window (`NOT_YET_VALID`
 * with 2 s of skew allowed on `issuedAt`, `EXPIRED`).
 *
 * Attenuation only narrows; see {@link isNarrowerResource} for the resource rule.
 *
 * @module
 */
import { canonicalBytes } from "../crypto/canonical.ts";
import { toBase64Url, toHex } from "../crypto/encoding.ts";
import type { Signer } from "../crypto/ed25519.ts";
import type { Permission } from "./action.ts";
import {
  type CapabilityToken,
  freezeToken,
  isTokenId,
  normalisePermissions,
  parseToken,
  resourceProblem,
} from "./_token_codec.ts";
import { checkNarrowing, type TokenCode, verifyTokenSignature } from "./_token_verify.ts";

export type { CapabilityToken } from "./_token_codec.ts";
export {
  checkNarrowing,
  isNarrowerResource,
  MAX_CHAIN_DEPTH,
  type TokenCheck,
  type TokenCode,
  verifyTokenSignature,
} from "./_token_verify.ts";

/** Default lifetime of a minted token: one hour. */
export const DEFAULT_TOKEN_TTL_MS = 3_600_000;

/** Options for {@link mintToken}. */
export interface MintOptions {
  /** A glob over a resource URI. */
  resource: string;
  /** Permissions to grant; sorted and de-duplicated on minting. */
  permissions: Permission[];
  /** Lifetime in milliseconds; default 3,600,000 (one hour). */
  ttlMs?: number;
  /** Session-only or persisted. */
  scope: "session" | "persistent";
  /** Session id, agent id or workspace id. */
  subject: string;
  /** Sequence number of the audit entry that created it. */
  auditId: number | null;
  /** Default false. */
  singleUse?: boolean;
  /** Issue time in ms since the epoch; default `Date.now()`. */
  now?: number;
  /** Token id; default a fresh UUID. */
  id?: string;
}

/**
 * A token was refused; callers match on `code`.
 *
 * @example Match on the code
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { TokenError } from "./tokens.ts";
 * const err = new TokenError("EXPIRED", "Cannot use token: it expired");
 * equal(err.code, "EXPIRED");
 * ```
 */
export class TokenError extends Error {
  /** Why the token was refused. */
  readonly code: TokenCode;
  /** Creates the error. */
  constructor(code: TokenCode, message: string) {
    super(message);
    this.name = "TokenError";
    this.code = code;
  }
}

function sign(signer: Signer, body: Omit<CapabilityToken, "sig">): CapabilityToken {
  const sig = toBase64Url(signer.sign(canonicalBytes("token", body)));
  const parsed = parseToken({ ...body, sig });
  if (!parsed.ok) throw new TypeError(parsed.reason);
  return freezeToken(parsed.token);
}

/**
 * Mints and signs a root token. Throws `TypeError`/`RangeError` for bad options.
 *
 * @example Mint a one-hour read token
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { mintToken } from "./tokens.ts";
 * const token = mintToken(signerFromSeed(generateSeed()), {
 *   resource: "file:///ws/**", permissions: ["read"], scope: "session",
 *   subject: "session-1", auditId: 7, now: 1_000,
 * });
 * equal(token.expiresAt, 3_601_000);
 * ```
 */
export function mintToken(signer: Signer, opts: MintOptions): CapabilityToken {
  const now = opts.now ?? Date.now();
  const ttlMs = opts.ttlMs ?? DEFAULT_TOKEN_TTL_MS;
  if (!Number.isSafeInteger(now) || now < 0) {
    throw new RangeError(`Cannot mint token: now is ${now}, expected a non-negative integer`);
  }
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0 || !Number.isSafeInteger(now + ttlMs)) {
    throw new RangeError(`Cannot mint token: ttlMs is ${ttlMs}, expected a positive integer`);
  }
  const why = resourceProblem(opts.resource);
  if (why !== null) throw new TypeError(`Cannot mint token: resource is refused because ${why}`);
  const permissions = normalisePermissions(opts.permissions);
  if (permissions === null) {
    throw new TypeError(
      `Cannot mint token: permissions ${JSON.stringify(opts.permissions)} are not known`,
    );
  }
  const id = opts.id ?? crypto.randomUUID();
  if (!isTokenId(id)) throw new TypeError(`Cannot mint token: id "${id}" is not a lowercase UUID`);
  return sign(signer, {
    v: 1,
    id,
    resource: opts.resource,
    permissions,
    issuedAt: now,
    expiresAt: now + ttlMs,
    scope: opts.scope,
    issuer: toHex(signer.publicKey),
    subject: opts.subject,
    auditId: opts.auditId,
    singleUse: opts.singleUse ?? false,
    parent: null,
  });
}

/** What {@link attenuate} may narrow. Omitted fields are inherited from the parent. */
export interface AttenuateOptions {
  /** A pattern that {@link isNarrowerResource} accepts under the parent's. */
  resource?: string;
  /** A subset of the parent's permissions. */
  permissions?: Permission[];
  /** Lifetime from `now`; the child may not outlive its parent. */
  ttlMs?: number;
  /** Who the child is delegated to. */
  subject?: string;
  /** Default false. */
  singleUse?: boolean;
  /** Issue time; default `Date.now()`. */
  now?: number;
  /** Child token id; default a fresh UUID. */
  id?: string;
}

/**
 * Derives a narrower child token from `parent`, signed by `signer`. The parent must carry a
 * valid signature under its own issuer and be within its time window (trust is decided by
 * whoever later verifies the chain). Throws `TokenError` with code `WIDENED` when the child
 * would grant anything the parent does not, and refuses to attenuate a single-use parent.
 *
 * @example Narrow permissions and resource
 * ```ts
 * import { equal, throws } from "node:assert/strict";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { attenuate, mintToken } from "./tokens.ts";
 * const signer = signerFromSeed(generateSeed());
 * const parent = mintToken(signer, {
 *   resource: "file:///ws/**", permissions: ["read", "write"], scope: "session",
 *   subject: "s1", auditId: 3, now: 0,
 * });
 * const child = attenuate(parent, signer, { resource: "file:///ws/src/**", permissions: ["read"], now: 1 });
 * equal(child.parent, parent.id);
 * throws(() => attenuate(parent, signer, { permissions: ["delete"], now: 1 }), { code: "WIDENED" });
 * ```
 */
export function attenuate(
  parent: CapabilityToken,
  signer: Signer,
  narrow: AttenuateOptions,
): CapabilityToken {
  const now = narrow.now ?? Date.now();
  const self = verifyTokenSignature(parent, new Set([String(parent?.issuer)]), now);
  if (!self.ok) throw new TokenError(self.code, self.reason);
  const p = (parseToken(parent) as { token: CapabilityToken }).token;
  const permissions = narrow.permissions === undefined
    ? p.permissions
    : normalisePermissions(narrow.permissions);
  if (permissions === null) {
    throw new TypeError(`Cannot attenuate: permissions ${JSON.stringify(narrow.permissions)}`);
  }
  const issuedAt = Math.max(now, p.issuedAt);
  let expiresAt = p.expiresAt;
  if (narrow.ttlMs !== undefined) {
    if (!Number.isSafeInteger(narrow.ttlMs) || narrow.ttlMs <= 0) {
      throw new RangeError(`Cannot attenuate: ttlMs is ${narrow.ttlMs}`);
    }
    expiresAt = issuedAt + narrow.ttlMs;
  }
  const resource = narrow.resource ?? p.resource;
  const why = resourceProblem(resource);
  if (why !== null) throw new TypeError(`Cannot attenuate: resource is refused because ${why}`);
  const child = sign(signer, {
    v: 1,
    id: narrow.id ?? crypto.randomUUID(),
    resource,
    permissions,
    issuedAt,
    expiresAt,
    scope: p.scope,
    issuer: toHex(signer.publicKey),
    subject: narrow.subject ?? p.subject,
    auditId: p.auditId,
    singleUse: narrow.singleUse ?? false,
    parent: p.id,
  });
  const link = checkNarrowing(child, p);
  if (!link.ok) throw new TokenError(link.code, link.reason);
  return child;
}
