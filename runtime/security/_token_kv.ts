/**
 * Private: how the token store's state lies in KV. `["tokens", id]` holds a persistent token,
 * `["tokens_revoked", id]` a revocation `{at, reason}`, `["tokens_used", id]` a consumed
 * single-use id `{at}`. Values read back are untrusted: they are parsed and verified again.
 *
 * @module
 */
import type { Store } from "../storage/store.ts";
import type { TokenCode } from "./_token_verify.ts";
import { type CapabilityToken, parseToken } from "./_token_codec.ts";

/** A persisted token that `TokenStore.open()` refused to load, and why. */
export interface RejectedToken {
  readonly id: string;
  readonly code: TokenCode;
  readonly reason: string;
}

/** Everything `TokenStore.open()` reads, before chain verification. */
export interface TokenState {
  revoked: Set<string>;
  used: Set<string>;
  pending: Map<string, CapabilityToken>;
  rejected: RejectedToken[];
}

/** Reads revocations, used ids and shape-checked persistent tokens. */
export async function readTokenState(store: Store): Promise<TokenState> {
  const state: TokenState = {
    revoked: new Set(),
    used: new Set(),
    pending: new Map(),
    rejected: [],
  };
  for await (const e of store.list({ prefix: ["tokens_revoked"] })) {
    if (typeof e.key[1] === "string") state.revoked.add(e.key[1]);
  }
  for await (const e of store.list({ prefix: ["tokens_used"] })) {
    if (typeof e.key[1] === "string") state.used.add(e.key[1]);
  }
  for await (const e of store.list({ prefix: ["tokens"] })) {
    const id = String(e.key[1]);
    const parsed = parseToken(e.value);
    const reject = (reason: string) => state.rejected.push({ id, code: "MALFORMED", reason });
    if (!parsed.ok) reject(parsed.reason);
    else if (parsed.token.id !== id || e.key.length !== 2) reject(`Cannot load ${id}: wrong key`);
    else if (parsed.token.scope !== "persistent") reject(`Cannot load ${id}: not persistent`);
    else state.pending.set(id, parsed.token);
  }
  return state;
}

/**
 * Stores a persistent token unless its id is revoked. Returns "stored" (also when this very
 * token was already there), "revoked", or "conflict" when another token holds the id.
 */
export async function persistToken(
  store: Store,
  t: CapabilityToken,
): Promise<"stored" | "revoked" | "conflict"> {
  const key = ["tokens", t.id];
  const result = await store.atomic()
    .check({ key: ["tokens_revoked", t.id], versionstamp: null })
    .check({ key, versionstamp: null })
    .set(key, { ...t, permissions: [...t.permissions] })
    .commit();
  if (result.ok) return "stored";
  if ((await store.get(["tokens_revoked", t.id])).versionstamp !== null) return "revoked";
  const existing = parseToken((await store.get(key)).value);
  return existing.ok && existing.token.sig === t.sig ? "stored" : "conflict";
}

/** Atomically marks a single-use id as used; true only for the one call that did it. */
export async function markUsed(store: Store, id: string, at: number): Promise<boolean> {
  const key = ["tokens_used", id];
  const result = await store.atomic().check({ key, versionstamp: null }).set(key, { at }).commit();
  return result.ok;
}
