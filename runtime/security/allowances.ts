/**
 * Session allowances ("Allow Session"): signed grants persisted in KV under
 * `["allowances", sessionId, id]`.
 *
 * Each allowance is signed with the runtime's key like a capability token, under its own
 * domain (`session-allowance`; see `_allowance_codec.ts` for the signed bytes). A record is
 * verified when the store loads it and again each time it is about to cover an action, in the
 * fixed order: parse, trusted key, signature, then its binding to the session and id it is
 * stored under. A planted, forged, edited or copied record grants nothing: it is left out and
 * listed in {@link AllowanceStore.rejected} (`openGate()` also writes it to the audit log).
 *
 * @module
 */
import type { Permission } from "./action.ts";
import { matchResource } from "./resource.ts";
import type { Store } from "../storage/mod.ts";
import type { Signer } from "../crypto/ed25519.ts";
import { toHex } from "../crypto/encoding.ts";
import {
  type Allowance,
  type AllowanceCode,
  patternProblem,
  sessionIdProblem,
  signAllowance,
  verifyAllowance,
} from "./_allowance_codec.ts";

export {
  type Allowance,
  ALLOWANCE_DOMAIN,
  type AllowanceCheck,
  type AllowanceCode,
  verifyAllowance,
} from "./_allowance_codec.ts";

/** A stored allowance that was refused, and why. */
export interface RejectedAllowance {
  /** The id part of its KV key (as text). */
  readonly key: string;
  readonly code: AllowanceCode;
  readonly reason: string;
}

/** Most rejected records kept in {@link AllowanceStore.rejected}; the rest are counted. */
const MAX_REJECTED = 100;

/**
 * A session's allowances, verified on load and on use.
 *
 * @example Allow a folder for the session, then find it for a file inside
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { openStore } from "../storage/mod.ts";
 * import { AllowanceStore } from "./allowances.ts";
 * using store = await openStore(":memory:");
 * const a = await AllowanceStore.load(store, "s1", signerFromSeed(generateSeed()));
 * await a.add("file:///ws/**", "read");
 * equal(a.find(["file:///ws/x"], "read")?.pattern, "file:///ws/**");
 * equal(a.find(["file:///ws/x"], "write"), null);
 * ```
 */
export class AllowanceStore {
  #store: Store;
  #sessionId: string;
  #signer: Signer;
  #issuer: string;
  #items: Allowance[] = [];
  #rejected: RejectedAllowance[] = [];
  #dropped = 0;

  private constructor(store: Store, sessionId: string, signer: Signer) {
    this.#store = store;
    this.#sessionId = sessionId;
    this.#signer = signer;
    this.#issuer = toHex(signer.publicKey);
  }

  /**
   * Loads and verifies a session's allowances; `signer`'s key is the only trusted issuer and
   * signs the allowances added later. Throws `TypeError` for a malformed session id.
   *
   * @example A planted, unsigned record is refused
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
   * import { openStore } from "../storage/mod.ts";
   * import { AllowanceStore } from "./allowances.ts";
   * using store = await openStore(":memory:");
   * const id = crypto.randomUUID();
   * await store.set(["allowances", "s1", id], {
   *   id, sessionId: "s1", pattern: "exec://**", permission: "execute", createdAt: 0,
   * });
   * const a = await AllowanceStore.load(store, "s1", signerFromSeed(generateSeed()));
   * equal(a.find(["exec://rm -rf /"], "execute"), null);
   * equal(a.rejected[0]?.code, "MALFORMED");
   * ```
   */
  static async load(store: Store, sessionId: string, signer: Signer): Promise<AllowanceStore> {
    const why = sessionIdProblem(sessionId);
    if (why !== null) throw new TypeError(`Cannot load allowances: session id is refused: ${why}`);
    const self = new AllowanceStore(store, sessionId, signer);
    for await (const entry of store.list({ prefix: ["allowances", sessionId] })) {
      const id = entry.key[2];
      if (entry.key.length !== 3 || typeof id !== "string") {
        self.#reject(String(entry.key.slice(2).join("/")), "MALFORMED", "Cannot load: bad key");
        continue;
      }
      const check = verifyAllowance(entry.value, { sessionId, id, issuer: self.#issuer });
      if (check.ok) self.#items.push(check.allowance);
      else self.#reject(id, check.code, check.reason);
    }
    return self;
  }

  /**
   * Signs and persists an allowance for this session. Throws `TypeError` for a bad pattern or
   * permission; the store's errors pass through.
   *
   * @example The stored record carries its signature
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
   * import { openStore } from "../storage/mod.ts";
   * import { AllowanceStore } from "./allowances.ts";
   * using store = await openStore(":memory:");
   * const a = await AllowanceStore.load(store, "s1", signerFromSeed(generateSeed()));
   * const added = await a.add("exec://npm run test*", "execute");
   * equal((await store.get<{ sig: string }>(["allowances", "s1", added.id])).value?.sig, added.sig);
   * ```
   */
  async add(pattern: string, permission: Permission): Promise<Allowance> {
    const why = patternProblem(pattern);
    if (why !== null) throw new TypeError(`Cannot add allowance: pattern is refused: ${why}`);
    const allowance = signAllowance(this.#signer, {
      sessionId: this.#sessionId,
      pattern,
      permission,
    });
    const key = ["allowances", this.#sessionId, allowance.id];
    const res = await this.#store.atomic().check({ key, versionstamp: null })
      .set(key, { ...allowance }).commit();
    if (!res.ok) throw new TypeError(`Cannot add allowance: id ${allowance.id} is taken`);
    this.#items.push(allowance);
    return allowance;
  }

  /**
   * The first allowance covering any of `resources` with `permission` whose pattern `accept`
   * takes (the interceptor refuses one that does not name an escape's outside path), or null.
   * Its signature is checked again before it is returned; one that fails is dropped and
   * reported.
   *
   * @example A command prefix covers the longer command only
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
   * import { openStore } from "../storage/mod.ts";
   * import { AllowanceStore } from "./allowances.ts";
   * using store = await openStore(":memory:");
   * const a = await AllowanceStore.load(store, "s1", signerFromSeed(generateSeed()));
   * await a.add("exec://npm run test*", "execute");
   * equal(a.find(["exec://npm run test:unit"], "execute")?.pattern, "exec://npm run test*");
   * equal(a.find(["exec://npm publish"], "execute"), null);
   * ```
   */
  find(
    resources: readonly string[],
    permission: Permission,
    accept: (pattern: string) => boolean = () => true,
  ): Allowance | null {
    for (const a of this.#items) {
      if (a.permission !== permission) continue;
      if (!resources.some((r) => matchResource(a.pattern, r)) || !accept(a.pattern)) continue;
      const check = verifyAllowance(a, {
        sessionId: this.#sessionId,
        id: a.id,
        issuer: this.#issuer,
      });
      if (check.ok) return check.allowance;
      this.#items = this.#items.filter((x) => x !== a);
      this.#reject(a.id, check.code, check.reason);
    }
    return null;
  }

  /**
   * Revokes allowance `id` of this session: deletes its record and stops it covering anything
   * here. Returns false when the session holds no such allowance. Another process's store of
   * the same session keeps the allowance in memory until it loads again.
   *
   * @example After a revoke the command is not covered
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
   * import { openStore } from "../storage/mod.ts";
   * import { AllowanceStore } from "./allowances.ts";
   * using store = await openStore(":memory:");
   * const a = await AllowanceStore.load(store, "s1", signerFromSeed(generateSeed()));
   * const added = await a.add("exec://npm test", "execute");
   * equal(await a.revoke(added.id), true);
   * equal(a.find(["exec://npm test"], "execute"), null);
   * equal(await a.revoke(added.id), false);
   * ```
   */
  async revoke(id: string): Promise<boolean> {
    if (typeof id !== "string" || id.length > 64) return false;
    const key = ["allowances", this.#sessionId, id];
    const held = this.#items.some((a) => a.id === id);
    if (!held && (await this.#store.get(key)).value === null) return false;
    await this.#store.delete(key);
    this.#items = this.#items.filter((a) => a.id !== id);
    return true;
  }

  /** All verified allowances of the session. */
  list(): readonly Allowance[] {
    return this.#items;
  }

  /** Records refused on load or on use, with the reason (the first 100). */
  get rejected(): readonly RejectedAllowance[] {
    return this.#rejected;
  }

  /** How many refused records did not fit in {@link AllowanceStore.rejected}. */
  get rejectedOverflow(): number {
    return this.#dropped;
  }

  #reject(key: string, code: AllowanceCode, reason: string): void {
    if (this.#rejected.length >= MAX_REJECTED) this.#dropped++;
    // The key and the reason may quote planted text: no control characters reach a terminal.
    else {this.#rejected.push(
        Object.freeze({ key: printable(key, 80), code, reason: printable(reason, 400) }),
      );}
  }
}

/**
 * The ids of the sessions that have allowance records (verified or not), sorted.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { openStore } from "../storage/mod.ts";
 * import { allowanceSessions, AllowanceStore } from "./allowances.ts";
 * using store = await openStore(":memory:");
 * await (await AllowanceStore.load(store, "s1", signerFromSeed(generateSeed()))).add("exec://ls", "execute");
 * deepEqual(await allowanceSessions(store), ["s1"]);
 * ```
 */
export async function allowanceSessions(store: Store): Promise<string[]> {
  const ids = new Set<string>();
  for await (const entry of store.list({ prefix: ["allowances"] })) {
    const id = entry.key[1];
    if (typeof id === "string" && sessionIdProblem(id) === null) ids.add(id);
  }
  return [...ids].sort();
}

function printable(text: string, max: number): string {
  // deno-lint-ignore no-control-regex -- replacing control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?").slice(0, max);
}
