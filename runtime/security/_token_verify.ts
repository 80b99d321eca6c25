/**
 * Private: token verification in the fixed order (CONVENTIONS §11), the narrowing rule for
 * attenuated tokens, and whole-chain verification. tokens.ts re-exports the public parts.
 *
 * @module
 */
import { canonicalBytes } from "../crypto/canonical.ts";
import { fromBase64Url, fromHex } from "../crypto/encoding.ts";
import { verify } from "../crypto/ed25519.ts";
import { compileResourcePattern } from "./resource.ts";
import {
  type CapabilityToken,
  CLOCK_SKEW_MS,
  hasWildcard,
  matchPrefix,
  parseToken,
  resourceProblem,
  tokenBody,
} from "./_token_codec.ts";

/** Why a token check failed. */
export type TokenCode =
  | "FORGED"
  | "EXPIRED"
  | "NOT_YET_VALID"
  | "UNTRUSTED_ISSUER"
  | "MALFORMED"
  | "REVOKED"
  | "REPLAYED"
  | "WIDENED"
  | "BROKEN_CHAIN";

/** The outcome of a token check. */
export type TokenCheck = { ok: true } | { ok: false; code: TokenCode; reason: string };

const OK: TokenCheck = Object.freeze({ ok: true });

function failure(code: TokenCode, reason: string): TokenCheck {
  return { ok: false, code, reason };
}

/**
 * Checks one token on its own (not its chain), in the fixed order: shape, issuer, signature,
 * time window. Never throws for a bad token; throws `RangeError` for a bad `now`.
 *
 * @example A token from an unknown issuer is refused before its signature is checked
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { mintToken, verifyTokenSignature } from "./tokens.ts";
 * const signer = signerFromSeed(generateSeed());
 * const token = mintToken(signer, {
 *   resource: "exec://git status", permissions: ["execute"], scope: "session",
 *   subject: "s1", auditId: null, now: 0,
 * });
 * deepEqual(verifyTokenSignature(token, new Set([token.issuer]), 10), { ok: true });
 * const other = verifyTokenSignature(token, new Set(), 10);
 * equal(other.ok ? "" : other.code, "UNTRUSTED_ISSUER");
 * ```
 */
export function verifyTokenSignature(
  token: unknown,
  trustedIssuers: ReadonlySet<string>,
  now: number,
): TokenCheck {
  if (!Number.isFinite(now)) throw new RangeError(`Cannot verify token: now is ${now}`);
  const parsed = parseToken(token);
  if (!parsed.ok) return failure("MALFORMED", parsed.reason);
  const t = parsed.token;
  if (!trustedIssuers.has(t.issuer)) {
    return failure("UNTRUSTED_ISSUER", `Cannot trust token: issuer ${t.issuer} is not trusted`);
  }
  let message: Uint8Array;
  try {
    message = canonicalBytes("token", tokenBody(t));
  } catch (err) {
    return failure("MALFORMED", `Cannot encode token: ${(err as Error).message}`);
  }
  if (!verify(fromHex(t.issuer), message, fromBase64Url(t.sig))) {
    return failure("FORGED", `Cannot trust token ${t.id}: its signature does not verify`);
  }
  if (now < t.issuedAt - CLOCK_SKEW_MS) {
    return failure(
      "NOT_YET_VALID",
      `Cannot use token ${t.id}: issued at ${t.issuedAt}, now ${now}`,
    );
  }
  if (now >= t.expiresAt) {
    return failure("EXPIRED", `Cannot use token ${t.id}: expired at ${t.expiresAt}, now ${now}`);
  }
  return OK;
}

/**
 * True when every resource the glob `child` matches is also matched by the glob `parent`.
 * Accepted: equal patterns; a child with no wildcard that `parent` matches; a parent of the
 * form `<literal prefix>**` (`<literal prefix>*` for `exec://`, whose `*` crosses spaces) and a
 * child whose matches all start with that prefix. Everything else (for example a parent with a
 * wildcard in the middle) is refused conservatively, as is any pattern with a `..` segment.
 *
 * @example A child may not reach deeper, higher, or to other commands
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { isNarrowerResource } from "./tokens.ts";
 * equal(isNarrowerResource("file:///ws/src/**", "file:///ws/**"), true);
 * equal(isNarrowerResource("file:///ws/**", "file:///ws/*"), false);
 * equal(isNarrowerResource("exec://git *", "exec://git status"), false);
 * ```
 */
export function isNarrowerResource(child: string, parent: string): boolean {
  if (resourceProblem(child) !== null || resourceProblem(parent) !== null) return false;
  if (child === parent) return true;
  if (!hasWildcard(child)) return compileResourcePattern(parent).test(child);
  const exec = parent.startsWith("exec://");
  const tail = exec ? /\*+$/ : /\*{2,}$/;
  const stars = tail.exec(parent);
  if (!stars) return false;
  const prefix = parent.slice(0, stars.index);
  if (hasWildcard(prefix)) return false;
  return matchPrefix(child).startsWith(prefix);
}

/**
 * Checks that `child` only narrows `parent` (both already verified on their own): it names
 * `parent`, keeps or narrows the scope, resource, permissions and lifetime, and `parent` is
 * not single-use. Returns `BROKEN_CHAIN` or `WIDENED` otherwise.
 *
 * @example A read-only child of a read-write parent
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { attenuate, checkNarrowing, mintToken } from "./tokens.ts";
 * const signer = signerFromSeed(generateSeed());
 * const parent = mintToken(signer, {
 *   resource: "file:///ws/**", permissions: ["read", "write"], scope: "persistent",
 *   subject: "ws", auditId: 1, now: 0,
 * });
 * const child = attenuate(parent, signer, { permissions: ["read"], now: 5 });
 * deepEqual(checkNarrowing(child, parent), { ok: true });
 * ```
 */
export function checkNarrowing(child: CapabilityToken, parent: CapabilityToken): TokenCheck {
  const name = `Cannot accept token ${child.id}`;
  if (child.parent !== parent.id) {
    return failure("BROKEN_CHAIN", `${name}: its parent is ${child.parent}, not ${parent.id}`);
  }
  if (parent.singleUse) {
    return failure("WIDENED", `${name}: its parent ${parent.id} is single-use`);
  }
  if (parent.scope === "session" && child.scope !== "session") {
    return failure("WIDENED", `${name}: scope is ${child.scope}, parent's is session`);
  }
  if (!isNarrowerResource(child.resource, parent.resource)) {
    return failure(
      "WIDENED",
      `${name}: resource ${child.resource} is not provably within ${parent.resource}`,
    );
  }
  const extra = child.permissions.filter((p) => !parent.permissions.includes(p));
  if (extra.length > 0) {
    return failure("WIDENED", `${name}: permissions ${extra.join(",")} are not in its parent`);
  }
  if (child.expiresAt > parent.expiresAt) {
    return failure(
      "WIDENED",
      `${name}: expiresAt is ${child.expiresAt}, after ${parent.expiresAt}`,
    );
  }
  if (child.issuedAt < parent.issuedAt) {
    return failure("WIDENED", `${name}: issuedAt is ${child.issuedAt}, before its parent's`);
  }
  return OK;
}

/** Longest parent chain accepted (root included). */
export const MAX_CHAIN_DEPTH = 8;

/**
 * Verifies `token` and each ancestor found by `lookup`: shape, trusted issuer, signature and
 * time window of every link, no revoked id on the way, and each link narrowing its parent.
 *
 * @example A root token's chain is the token itself
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { mintToken } from "./tokens.ts";
 * import { verifyChainWith } from "./_token_verify.ts";
 * const t = mintToken(signerFromSeed(generateSeed()), {
 *   resource: "file:///ws/**", permissions: ["read"], scope: "session", subject: "s", auditId: 1,
 * });
 * deepEqual(verifyChainWith(t, new Set([t.issuer]), Date.now(), new Set(), () => undefined), {
 *   ok: true,
 * });
 * ```
 */
export function verifyChainWith(
  token: unknown,
  trustedIssuers: ReadonlySet<string>,
  now: number,
  revoked: ReadonlySet<string>,
  lookup: (id: string) => CapabilityToken | undefined,
): TokenCheck {
  let current = token;
  for (let depth = 1;; depth++) {
    const check = verifyTokenSignature(current, trustedIssuers, now);
    if (!check.ok) return check;
    const t = current as CapabilityToken;
    if (revoked.has(t.id)) return failure("REVOKED", `Cannot use token ${t.id}: it was revoked`);
    if (t.parent === null) return check;
    if (revoked.has(t.parent)) {
      return failure("REVOKED", `Cannot use token ${t.id}: its parent ${t.parent} was revoked`);
    }
    const parent = depth < MAX_CHAIN_DEPTH ? lookup(t.parent) : undefined;
    if (parent === undefined) {
      const why = depth < MAX_CHAIN_DEPTH
        ? `its parent ${t.parent} is not held`
        : `its chain is longer than ${MAX_CHAIN_DEPTH}`;
      return failure("BROKEN_CHAIN", `Cannot use token ${t.id}: ${why}`);
    }
    const link = checkNarrowing(t, parent);
    if (!link.ok) return link;
    current = parent;
  }
}
