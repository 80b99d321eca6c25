/**
 * The token store: verified capability tokens held in memory, indexed for a synchronous
 * lookup on the hot path, with persistent tokens, revocations and used single-use ids kept in
 * KV under `["tokens", id]`, `["tokens_revoked", id]` and `["tokens_used", id]`.
 *
 * Session-scoped tokens live only in memory (a child of a session token is always session
 * scoped, so every persisted chain is complete). Revocations and consumptions made by another
 * instance on the same KV are seen by `consume()` and by `add()` at once, and by
 * `findCovering()` after the next `open()`.
 *
 * @module
 */
import type { Store } from "../storage/store.ts";
import type { Permission } from "./action.ts";
import { type TokenCheck, TokenError } from "./tokens.ts";
import { type CapabilityToken, freezeToken, isTokenId, parseToken } from "./_token_codec.ts";
import { TokenIndex } from "./_token_index.ts";
import { markUsed, persistToken, readTokenState, type RejectedToken } from "./_token_kv.ts";
import { verifyChainWith } from "./_token_verify.ts";

export type { RejectedToken } from "./_token_kv.ts";

/**
 * Verified capability tokens, with persistence, revocation and single-use consumption.
 *
 * @example Add a token and find it for an action
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { generateSeed, signerFromSeed, toHex } from "../crypto/mod.ts";
 * import { openStore } from "../storage/mod.ts";
 * import { mintToken } from "./tokens.ts";
 * import { TokenStore } from "./token_store.ts";
 * using kv = await openStore(":memory:");
 * const signer = signerFromSeed(generateSeed());
 * const tokens = await TokenStore.open(kv, { trustedIssuers: [toHex(signer.publicKey)] });
 * const token = mintToken(signer, {
 *   resource: "file:///ws/**", permissions: ["read"], scope: "persistent",
 *   subject: "ws-1", auditId: 1,
 * });
 * await tokens.add(token);
 * equal(tokens.findCovering(["file:///ws/a.txt"], "read", ["ws-1"])?.id, token.id);
 * equal(tokens.findCovering(["file:///ws/a.txt"], "write", ["ws-1"]), null);
 * ```
 */
export class TokenStore {
  #store: Store;
  #trusted: ReadonlySet<string>;
  #now: () => number;
  #index = new TokenIndex();
  #children = new Map<string, Set<string>>();
  #revoked = new Set<string>();
  #used = new Set<string>();
  #rejected: RejectedToken[] = [];

  private constructor(store: Store, trusted: ReadonlySet<string>, now: () => number) {
    this.#store = store;
    this.#trusted = trusted;
    this.#now = now;
  }

  /**
   * Opens the store: loads revocations, used ids and persistent tokens, verifying each
   * token's whole chain once. Tokens that fail (expired, revoked, forged…) are left out and
   * listed by {@link TokenStore.rejected}.
   *
   * @example Tokens survive a reopen
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { generateSeed, signerFromSeed, toHex } from "../crypto/mod.ts";
   * import { openStore } from "../storage/mod.ts";
   * import { mintToken } from "./tokens.ts";
   * import { TokenStore } from "./token_store.ts";
   * using kv = await openStore(":memory:");
   * const signer = signerFromSeed(generateSeed());
   * const opts = { trustedIssuers: [toHex(signer.publicKey)] };
   * const token = mintToken(signer, {
   *   resource: "net://api.example:443", permissions: ["network"], scope: "persistent",
   *   subject: "ws-1", auditId: 2,
   * });
   * await (await TokenStore.open(kv, opts)).add(token);
   * equal((await TokenStore.open(kv, opts)).get(token.id)?.sig, token.sig);
   * ```
   */
  static async open(
    store: Store,
    opts: { trustedIssuers: Iterable<string>; now?: () => number },
  ): Promise<TokenStore> {
    const trusted = new Set<string>();
    for (const issuer of opts.trustedIssuers) trusted.add(issuer.toLowerCase());
    const self = new TokenStore(store, trusted, opts.now ?? Date.now);
    const { revoked, used, pending, rejected } = await readTokenState(store);
    self.#revoked = revoked;
    self.#used = used;
    self.#rejected = rejected;
    for (const token of pending.values()) {
      const check = self.#verify(token, (id) => pending.get(id));
      if (check.ok) self.#insert(token);
      else self.#rejected.push({ id: token.id, code: check.code, reason: check.reason });
    }
    return self;
  }

  /** Persisted tokens that the last `open()` refused, with the reason. */
  get rejected(): readonly RejectedToken[] {
    return this.#rejected;
  }

  /**
   * Verifies `token` and its whole chain, then holds it (and persists it when its scope is
   * `persistent`). Throws `TokenError` for a token that fails any check.
   *
   * @example A forged token is refused
   * ```ts
   * import { rejects } from "node:assert/strict";
   * import { generateSeed, signerFromSeed, toHex } from "../crypto/mod.ts";
   * import { openStore } from "../storage/mod.ts";
   * import { mintToken } from "./tokens.ts";
   * import { TokenStore } from "./token_store.ts";
   * using kv = await openStore(":memory:");
   * const signer = signerFromSeed(generateSeed());
   * const tokens = await TokenStore.open(kv, { trustedIssuers: [toHex(signer.publicKey)] });
   * const token = mintToken(signer, {
   *   resource: "file:///ws/a", permissions: ["read"], scope: "session", subject: "s", auditId: null,
   * });
   * await rejects(tokens.add({ ...token, resource: "file:///**" }), { code: "FORGED" });
   * ```
   */
  async add(token: CapabilityToken): Promise<void> {
    const parsed = parseToken(token);
    if (!parsed.ok) throw new TokenError("MALFORMED", parsed.reason);
    const t = parsed.token;
    const check = this.verifyChain(t);
    if (!check.ok) throw new TokenError(check.code, check.reason);
    const held = this.#index.get(t.id);
    if (held) {
      if (held.sig === t.sig) return;
      throw new TokenError("MALFORMED", `Cannot add token: id ${t.id} is held by another token`);
    }
    const stored = t.scope === "persistent" ? await persistToken(this.#store, t) : "stored";
    if (stored === "revoked") {
      this.#revoked.add(t.id);
      throw new TokenError("REVOKED", `Cannot add token ${t.id}: it was revoked`);
    }
    if (stored === "conflict") {
      throw new TokenError("MALFORMED", `Cannot add token: id ${t.id} is already stored`);
    }
    // While persisting, a concurrent add() or revoke() may have run: decide again.
    const after = this.verifyChain(t);
    if (!after.ok) throw new TokenError(after.code, after.reason);
    const raced = this.#index.get(t.id);
    if (raced !== undefined && raced.sig !== t.sig) {
      throw new TokenError("MALFORMED", `Cannot add token: id ${t.id} is held by another token`);
    }
    if (raced === undefined) this.#insert(t);
  }

  /**
   * Returns a held token whose pattern matches any of `resources` for `permission` and one of
   * `subjects`, preferring tokens that are not single-use; or null. Synchronous and without
   * re-verification (tokens were verified when added); skips expired, revoked and used
   * tokens, and any resource with a `..` segment. `accept` can refuse a token that matches
   * (the interceptor refuses one that does not name the outside path of an escape). Call
   * {@link TokenStore.consume} before relying on a single-use token.
   *
   * @example Find the token that covers a command
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { generateSeed, signerFromSeed, toHex } from "../crypto/mod.ts";
   * import { openStore } from "../storage/mod.ts";
   * import { mintToken } from "./tokens.ts";
   * import { TokenStore } from "./token_store.ts";
   * using kv = await openStore(":memory:");
   * const signer = signerFromSeed(generateSeed());
   * const tokens = await TokenStore.open(kv, { trustedIssuers: [toHex(signer.publicKey)] });
   * await tokens.add(mintToken(signer, {
   *   resource: "exec://npm run test*", permissions: ["execute"], scope: "session",
   *   subject: "s1", auditId: null,
   * }));
   * equal(tokens.findCovering(["exec://npm run test:unit"], "execute", ["s1"])?.subject, "s1");
   * equal(tokens.findCovering(["exec://npm publish"], "execute", ["s1"]), null);
   * ```
   */
  findCovering(
    resources: readonly string[],
    permission: Permission,
    subjects: readonly string[],
    accept: (token: CapabilityToken) => boolean = () => true,
  ): CapabilityToken | null {
    return this.#index.find(
      resources,
      permission,
      subjects,
      this.#now(),
      (t) => !this.#revoked.has(t.id) && !(t.singleUse && this.#used.has(t.id)) && accept(t),
    );
  }

  /**
   * Verifies `token`'s chain and, for a single-use token, marks it used with an atomic KV
   * check-and-set: exactly one call succeeds, even across instances on one KV; every other
   * returns `REPLAYED`. A multi-use token is only verified. Either way the KV is read for a
   * revocation made elsewhere since this store opened (`REVOKED`).
   *
   * @example A single-use token works once
   * ```ts
   * import { deepEqual, equal } from "node:assert/strict";
   * import { generateSeed, signerFromSeed, toHex } from "../crypto/mod.ts";
   * import { openStore } from "../storage/mod.ts";
   * import { mintToken } from "./tokens.ts";
   * import { TokenStore } from "./token_store.ts";
   * using kv = await openStore(":memory:");
   * const signer = signerFromSeed(generateSeed());
   * const tokens = await TokenStore.open(kv, { trustedIssuers: [toHex(signer.publicKey)] });
   * const once = mintToken(signer, {
   *   resource: "exec://git push", permissions: ["execute"], scope: "session",
   *   subject: "s1", auditId: 9, singleUse: true,
   * });
   * await tokens.add(once);
   * deepEqual(await tokens.consume(once), { ok: true });
   * const again = await tokens.consume(once);
   * equal(again.ok ? "" : again.code, "REPLAYED");
   * ```
   */
  async consume(token: CapabilityToken): Promise<TokenCheck> {
    const parsed = parseToken(token); // one read of every field: no getter games
    if (!parsed.ok) return { ok: false, code: "MALFORMED", reason: parsed.reason };
    const id = parsed.token.id;
    // A revocation by another instance (`astrid grants revoke` while a chat runs) of the token
    // or an ancestor counts now.
    for (let at: CapabilityToken | undefined = parsed.token; at; at = this.#parentOf(at)) {
      if (this.#revoked.has(at.id)) break;
      if ((await this.#store.get(["tokens_revoked", at.id])).value !== null) this.#forget(at.id);
    }
    const check = this.verifyChain(parsed.token);
    if (!check.ok || !parsed.token.singleUse) return check;
    const replayed: TokenCheck = {
      ok: false,
      code: "REPLAYED",
      reason: `Cannot use token ${id}: it is single-use and was already used`,
    };
    if (this.#used.has(id)) return replayed;
    const first = await markUsed(this.#store, id, this.#now());
    this.#used.add(id);
    return first ? check : replayed;
  }

  /**
   * Revokes a token id (held or not) and, in memory, every held descendant. The revocation
   * is persisted; descendants persisted elsewhere fail their chain check on the next load.
   *
   * @example Revoking a parent revokes its child
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { generateSeed, signerFromSeed, toHex } from "../crypto/mod.ts";
   * import { openStore } from "../storage/mod.ts";
   * import { attenuate, mintToken } from "./tokens.ts";
   * import { TokenStore } from "./token_store.ts";
   * using kv = await openStore(":memory:");
   * const signer = signerFromSeed(generateSeed());
   * const tokens = await TokenStore.open(kv, { trustedIssuers: [toHex(signer.publicKey)] });
   * const parent = mintToken(signer, {
   *   resource: "file:///ws/**", permissions: ["read"], scope: "session", subject: "s", auditId: 1,
   * });
   * const child = attenuate(parent, signer, { resource: "file:///ws/docs/**" });
   * await tokens.add(parent);
   * await tokens.add(child);
   * await tokens.revoke(parent.id, "user asked");
   * equal(tokens.get(child.id), null);
   * ```
   */
  async revoke(id: string, reason = ""): Promise<void> {
    if (!isTokenId(id)) throw new TypeError(`Cannot revoke: id "${String(id)}" is not a UUID`);
    if (typeof reason !== "string" || reason.length > 1024) {
      throw new RangeError("Cannot revoke: reason must be a string of at most 1024 characters");
    }
    await this.#store.set(["tokens_revoked", id], { at: this.#now(), reason });
    this.#forget(id);
  }

  #parentOf(token: CapabilityToken): CapabilityToken | undefined {
    return token.parent === null ? undefined : this.#index.get(token.parent);
  }

  /** Marks `id` and every held descendant revoked in memory. */
  #forget(id: string): void {
    const queue = [id];
    while (queue.length > 0) {
      const next = queue.pop()!;
      this.#revoked.add(next);
      this.#index.remove(next);
      for (const child of this.#children.get(next) ?? []) queue.push(child);
      this.#children.delete(next);
    }
  }

  /**
   * Returns the held, unrevoked token with this id, or null.
   *
   * @example An unknown id
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { openStore } from "../storage/mod.ts";
   * import { TokenStore } from "./token_store.ts";
   * using kv = await openStore(":memory:");
   * const tokens = await TokenStore.open(kv, { trustedIssuers: [] });
   * equal(tokens.get("00000000-0000-4000-8000-000000000000"), null);
   * ```
   */
  get(id: string): CapabilityToken | null {
    return this.#index.get(id) ?? null;
  }

  /**
   * Returns every held, unrevoked token (expired ones included until the next open).
   *
   * @example An empty store
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { openStore } from "../storage/mod.ts";
   * import { TokenStore } from "./token_store.ts";
   * using kv = await openStore(":memory:");
   * equal((await TokenStore.open(kv, { trustedIssuers: [] })).list().length, 0);
   * ```
   */
  list(): CapabilityToken[] {
    return this.#index.tokens();
  }

  /**
   * Verifies `token` and every ancestor (each must be held): shape, trusted issuer,
   * signature, time window, not revoked, and each link only narrowing its parent.
   *
   * @example A child whose parent is not held breaks the chain
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { generateSeed, signerFromSeed, toHex } from "../crypto/mod.ts";
   * import { openStore } from "../storage/mod.ts";
   * import { attenuate, mintToken } from "./tokens.ts";
   * import { TokenStore } from "./token_store.ts";
   * using kv = await openStore(":memory:");
   * const signer = signerFromSeed(generateSeed());
   * const tokens = await TokenStore.open(kv, { trustedIssuers: [toHex(signer.publicKey)] });
   * const parent = mintToken(signer, {
   *   resource: "file:///ws/**", permissions: ["read"], scope: "session", subject: "s", auditId: 1,
   * });
   * const check = tokens.verifyChain(attenuate(parent, signer, {}));
   * equal(check.ok ? "" : check.code, "BROKEN_CHAIN");
   * ```
   */
  verifyChain(token: CapabilityToken): TokenCheck {
    return this.#verify(token, (id) => this.#index.get(id));
  }

  #verify(token: unknown, lookup: (id: string) => CapabilityToken | undefined): TokenCheck {
    return verifyChainWith(token, this.#trusted, this.#now(), this.#revoked, lookup);
  }

  #insert(token: CapabilityToken): void {
    const t = freezeToken(token);
    this.#index.insert(t);
    if (t.parent !== null) {
      let kids = this.#children.get(t.parent);
      if (kids === undefined) this.#children.set(t.parent, kids = new Set());
      kids.add(t.id);
    }
  }
}
