/**
 * The signed chain head: the `["audit","head"]` record, re-signed by the runtime key on every
 * group commit, so that nobody without the key can move the head back (cutting off the entries
 * after the last checkpoint) and have the store still verify. Not re-exported.
 *
 * ```
 * head = { v: 1, log, seq, hash, ts, key, sig }
 * sig  = base64url(Ed25519(ACE-1("audit-head", { v, log, seq, hash, ts, key })))
 * ```
 * (RFC 8032 §5.1.6). `log` names the log: the hash of its entry 1, which binds the name to the
 * content (a C2SP tlog-checkpoint "origin", c2sp.org/tlog-checkpoint), so a store cannot be
 * detached from its witnessed history by rewriting the head. The `audit-head` domain keeps a
 * head signature from being replayed as a checkpoint, a witness line or a token.
 *
 * The previous format stored an unsigned `{ seq, hash }`. Such a *legacy* head is accepted only
 * where the caller allows it (see `AuditLog.open`), never as proof of anything.
 *
 * @module
 */
import {
  canonicalBytes,
  fromBase64Url,
  fromHex,
  type SignedBytes,
  type Signer,
  toBase64Url,
  toHex,
  verify,
} from "../crypto/mod.ts";
import { isHex64 } from "./_chain.ts";

/** The stored, signed head. */
export interface SignedHead {
  /** Format version, always 1. */
  v: 1;
  /** The log's name: the hash of its entry 1. */
  log: string;
  /** The last committed entry. */
  seq: number;
  /** That entry's hash. */
  hash: string;
  /** The time of entry `seq` (ms since the epoch; deterministic, unlike a signing clock). */
  ts: number;
  /** Hex Ed25519 public key of the signer. */
  key: string;
  /** base64url Ed25519 signature over `ACE-1("audit-head", {v,log,seq,hash,ts,key})`. */
  sig: string;
}

/** What a stored head value turned out to be. */
export type HeadState =
  | { kind: "signed"; head: SignedHead }
  | { kind: "legacy"; seq: number; hash: string }
  | { kind: "bad"; code: "MALFORMED" | "WRONG_KEY" | "BAD_HEAD"; reason: string };

const FIELDS = ["v", "log", "seq", "hash", "ts", "key", "sig"];

/** The bytes a head signature covers. */
export function headBytes(body: Omit<SignedHead, "sig">): Uint8Array {
  return canonicalBytes("audit-head", {
    v: body.v,
    log: body.log,
    seq: body.seq,
    hash: body.hash,
    ts: body.ts,
    key: body.key,
  });
}

/** Signs the head `{log, seq, hash}` at time `ts`. */
export async function signHead(
  signer: Signer,
  log: string,
  seq: number,
  hash: string,
  ts: number,
): Promise<SignedHead> {
  if (!isHex64(log) || !isHex64(hash) || !Number.isSafeInteger(seq) || seq < 1) {
    throw new TypeError(
      `Cannot sign the audit head: current value is log ${log}, seq ${seq}, hash ${hash}`,
    );
  }
  const body = { v: 1 as const, log, seq, hash, ts, key: toHex(signer.publicKey) };
  return { ...body, sig: toBase64Url(await signer.signAsync(headBytes(body))) };
}

/**
 * Classifies a stored head value in a fixed order (shape, key, signature) against the trusted
 * key. Never throws. `value` must not be null (no head at all is the empty log).
 */
export function checkHead(value: unknown, trustedKey: Uint8Array): HeadState {
  const claim = claimHead(value, trustedKey);
  if (claim.kind !== "claim") return claim;
  const { head, sig } = claim;
  if (!sig || !verify(fromHex(head.key), headBytes(head), sig)) {
    return {
      kind: "bad",
      code: "BAD_HEAD",
      reason: `the head (seq ${head.seq}) signature does not verify: the head was rewritten`,
    };
  }
  return { kind: "signed", head };
}

/**
 * The signature {@link checkHead} would verify for `value` (its shape and key are right), or
 * null: for `verifyAhead` (crypto/ed25519.ts), which only ever adds exact triples that verify.
 */
export function headSignature(value: unknown, trustedKey: Uint8Array): SignedBytes | null {
  const claim = claimHead(value, trustedKey);
  if (claim.kind !== "claim" || !claim.sig) return null;
  const { head, sig } = claim;
  return { publicKey: fromHex(head.key), message: headBytes(head), signature: sig };
}

/** checkHead's checks before the signature: a verdict, or the signed head and its signature. */
function claimHead(
  value: unknown,
  trustedKey: Uint8Array,
): HeadState | { kind: "claim"; head: SignedHead; sig: Uint8Array | null } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { kind: "bad", code: "MALFORMED", reason: "the head record is not an object" };
  }
  const h = value as Record<string, unknown>;
  const keys = Object.keys(h);
  if (!("sig" in h) && keys.length === 2 && "seq" in h && "hash" in h) {
    if (Number.isSafeInteger(h.seq) && (h.seq as number) >= 0 && isHex64(h.hash)) {
      return { kind: "legacy", seq: h.seq as number, hash: h.hash };
    }
    return { kind: "bad", code: "MALFORMED", reason: "the unsigned head record is malformed" };
  }
  const unknown = keys.find((k) => !FIELDS.includes(k));
  if (
    h.v !== 1 || !isHex64(h.log) || !Number.isSafeInteger(h.seq) || (h.seq as number) < 1 ||
    !isHex64(h.hash) || typeof h.ts !== "number" || !Number.isFinite(h.ts) || !isHex64(h.key) ||
    typeof h.sig !== "string" || unknown !== undefined
  ) {
    return {
      kind: "bad",
      code: "MALFORMED",
      reason: `the head record is malformed${unknown ? ` (unknown field ${unknown})` : ""}`,
    };
  }
  const head = h as unknown as SignedHead;
  const expected = toHex(trustedKey);
  if (head.key !== expected) {
    return {
      kind: "bad",
      code: "WRONG_KEY",
      reason: `the head is signed by key ${head.key}, not the runtime key ${expected}`,
    };
  }
  let sig: Uint8Array | null = null;
  try {
    sig = fromBase64Url(head.sig);
  } catch { /* reported by checkHead */ }
  return { kind: "claim", head, sig };
}
