/**
 * Internal chain helpers: KV keys, the genesis hash, entry hashing, input normalisation and the
 * shape checks shared by the log, the verifier and the export parser. Not re-exported.
 *
 * Entry hash (ARCHITECTURE.md, "Audit entry"):
 * ```
 * hash = hex(BLAKE3(bytes(prevHash) ‖ ACE-1("audit-entry", entry without "hash")))
 * ```
 * where `bytes(prevHash)` is the 32 raw bytes of the previous entry's hash, and the previous
 * hash of seq 1 is {@link GENESIS_HASH} (64 zeros, i.e. 32 zero bytes).
 *
 * Storage form: each `["audit","e",seq]` value is a {@link StoredEntry} `{ hash, body }` where
 * `body` is exactly the canonical JSON that was hashed. Verifying the store hashes those bytes
 * as they are (no re-encoding), and reading an entry is one `JSON.parse`.
 *
 * @module
 */
import { blake3Hex, CANONICAL_VERSION, canonicalJson } from "../crypto/mod.ts";
import type { AuditAction, AuditDecision, AuditEntry, AuditInput } from "./types.ts";

/** The `prevHash` of entry 1: 32 zero bytes as hex. */
export const GENESIS_HASH = "0".repeat(64);

/** KV key of the chain head `{ seq, hash }`. */
export const HEAD_KEY = ["audit", "head"] as const;
/** KV key prefix of entries (`["audit","e",seq]`). */
export const ENTRY_PREFIX = ["audit", "e"] as const;
/** KV key prefix of checkpoints (`["audit","c",size]`). */
export const CHECKPOINT_PREFIX = ["audit", "c"] as const;

/**
 * Largest canonical JSON of one entry, in UTF-16 code units. Deno KV refuses values over
 * 64 KiB; V8 serialises at most 2 bytes per code unit, so this keeps every entry storable.
 */
export const MAX_ENTRY_CHARS = 30_000;

/** The stored `["audit","head"]` value. */
export interface HeadRecord {
  seq: number;
  hash: string;
}

/** Every decision value an entry may carry. */
export const DECISIONS: readonly AuditDecision[] = [
  "allowed",
  "denied",
  "deferred",
  "outcome",
  "event",
];

const HEX64 = /^[0-9a-f]{64}$/;

const encoder = new TextEncoder();
const ENTRY_PREFIX_TEXT = `astrid-ace/${CANONICAL_VERSION}/audit-entry\n`;
const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) NIBBLE["0123456789abcdef".charCodeAt(i)] = i;

const PREFIX_BYTES = encoder.encode(ENTRY_PREFIX_TEXT);
const BODY_AT = 32 + PREFIX_BYTES.length;
/**
 * The hashed bytes, `bytes(prevHash) ‖ prefix ‖ body`, laid out in one reused buffer: one
 * `encodeInto` and one hash call per entry, no allocation. Only used synchronously.
 */
let scratch = new Uint8Array(BODY_AT + 4096);
scratch.set(PREFIX_BYTES, 32);

/** The entry hash over `body`, the canonical JSON text of an entry without its `hash`. */
export function hashBody(prevHash: string, body: string): string {
  if (scratch.length < BODY_AT + body.length * 3) {
    scratch = new Uint8Array(BODY_AT + body.length * 3); // UTF-8: at most 3 bytes per code unit
    scratch.set(PREFIX_BYTES, 32);
  }
  // 64 hex digits to 32 bytes (callers have checked the shape; a bad digit decodes as garbage
  // and the hash then fails to match, as it should).
  for (let i = 0; i < 32; i++) {
    scratch[i] = (NIBBLE[prevHash.charCodeAt(2 * i)]! << 4) |
      NIBBLE[prevHash.charCodeAt(2 * i + 1)]!;
  }
  const { written } = encoder.encodeInto(body, scratch.subarray(BODY_AT));
  return blake3Hex(scratch.subarray(0, BODY_AT + written));
}

/**
 * The canonical body text of `e` (without `hash`), spliced in RFC 8785 member order like
 * {@link chainEntry}: only `action` and `outcome` go through the general encoder. `e` must pass
 * {@link entryShapeProblem}; `_chain_test.ts` checks the result equals `canonicalJson()`.
 */
export function entryBody(e: AuditEntry): string {
  if (!e.sessionId.isWellFormed() || !e.proof.isWellFormed()) {
    throw new TypeError("Cannot encode the entry: sessionId or proof holds a lone surrogate");
  }
  return `{"action":${canonicalJson(e.action)},"decision":"${e.decision}","outcome":${
    canonicalJson(e.outcome)
  },"prevHash":"${e.prevHash}","proof":${JSON.stringify(e.proof)},"seq":${e.seq},` +
    `"sessionId":${JSON.stringify(e.sessionId)},"ts":${JSON.stringify(e.ts)},"v":1}`;
}

/**
 * Returns the entry hash of `body` (an entry without `hash`) chained after `prevHash`: the same
 * bytes as `blake3(bytes(prevHash), canonicalBytes("audit-entry", body))`.
 */
export function hashEntry(prevHash: string, body: Omit<AuditEntry, "hash">): string {
  return hashBody(prevHash, canonicalJson(body));
}

/** The stored form of an entry (see the module doc). */
export interface StoredEntry {
  hash: string;
  body: string;
}

/** Encodes an entry into its stored form (used by tests and tools; appends splice instead). */
export function encodeStored(entry: AuditEntry): StoredEntry {
  const { hash, ...body } = entry;
  return { hash, body: canonicalJson(body) };
}

const FIELDS = [
  "v",
  "seq",
  "ts",
  "sessionId",
  "action",
  "decision",
  "proof",
  "outcome",
  "prevHash",
] as const;

/**
 * Decodes a stored value. Never throws: anything that is not a `{hash, body}` record with a
 * JSON object body comes back as a value that fails {@link entryShapeProblem}, with body null.
 */
export function decodeStored(value: unknown): { entry: AuditEntry; body: string | null } {
  const v = value as Partial<StoredEntry> | null;
  if (typeof v !== "object" || v === null || typeof v.body !== "string") {
    return { entry: value as AuditEntry, body: null };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(v.body);
  } catch {
    return { entry: null as unknown as AuditEntry, body: null };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { entry: null as unknown as AuditEntry, body: null };
  }
  const o = parsed as Record<string, unknown>;
  const entry: Record<string, unknown> = {};
  for (const f of FIELDS) entry[f] = o[f];
  entry.hash = v.hash;
  for (const k of Object.keys(o)) if (!(k in entry)) entry[k] = o[k];
  return { entry: entry as unknown as AuditEntry, body: v.body };
}

/** A validated input ready to be chained; `action` and `outcome` as canonical JSON text. */
export interface PreparedInput {
  ts: number;
  sessionId: string;
  action: string;
  decision: AuditDecision;
  proof: string;
  outcome: string;
  /** Canonical JSON length of the variable parts, for batch sizing. */
  chars: number;
}

/**
 * Validates `input` and returns a detached, ACE-1-normalised copy (members that are
 * `undefined` dropped, `outcome ?? null`) as canonical text. Throws `TypeError` for anything that cannot be
 * encoded and `RangeError` for an entry too large to store.
 */
export function prepareInput(input: AuditInput, now: number): PreparedInput {
  if (typeof input !== "object" || input === null) {
    throw new TypeError(`Cannot append: input must be an object, current value is ${input}`);
  }
  const { sessionId, action, decision, proof } = input;
  if (typeof sessionId !== "string" || sessionId.length === 0) {
    throw new TypeError(
      `Cannot append: sessionId must be a non-empty string, current value is ${
        JSON.stringify(sessionId)
      }`,
    );
  }
  if (!DECISIONS.includes(decision)) {
    throw new TypeError(
      `Cannot append: decision must be one of ${DECISIONS.join("|")}, current value is ${
        JSON.stringify(decision)
      }`,
    );
  }
  if (typeof proof !== "string") {
    throw new TypeError(`Cannot append: proof must be a string, current value is ${typeof proof}`);
  }
  const actionProblem = actionShapeProblem(action);
  if (actionProblem) throw new TypeError(`Cannot append: ${actionProblem}`);
  const ts = input.ts ?? now;
  if (!Number.isFinite(ts)) {
    throw new TypeError(`Cannot append: ts must be a finite number, current value is ${ts}`);
  }
  let actionJson: string;
  let outcomeJson: string;
  try {
    actionJson = canonicalJson(action);
    outcomeJson = canonicalJson(input.outcome ?? null);
  } catch (err) {
    throw new TypeError(
      `Cannot append: the entry is not ACE-1 encodable: ${(err as Error).message}`,
    );
  }
  const chars = actionJson.length + outcomeJson.length + sessionId.length + proof.length;
  if (chars > MAX_ENTRY_CHARS) {
    throw new RangeError(
      `Cannot append: the entry encodes to ${chars} characters, more than ${MAX_ENTRY_CHARS}`,
    );
  }
  if (!sessionId.isWellFormed() || !proof.isWellFormed()) {
    throw new TypeError("Cannot append: sessionId and proof must not hold lone surrogates");
  }
  return { ts, sessionId, action: actionJson, decision, proof, outcome: outcomeJson, chars };
}

/**
 * Builds the chained entry for `p` at `seq` after `prevHash`. The canonical body is spliced from
 * the already-canonical parts, members in RFC 8785 order (action, decision, outcome, prevHash,
 * proof, seq, sessionId, ts, v); `_chain_test.ts` checks it equals `canonicalJson()`.
 */
export function chainEntry(
  p: PreparedInput,
  seq: number,
  prevHash: string,
): { entry: AuditEntry; stored: StoredEntry } {
  const body = `{"action":${p.action},"decision":"${p.decision}","outcome":${p.outcome},` +
    `"prevHash":"${prevHash}","proof":${JSON.stringify(p.proof)},"seq":${seq},` +
    `"sessionId":${JSON.stringify(p.sessionId)},"ts":${JSON.stringify(p.ts)},"v":1}`;
  const hash = hashBody(prevHash, body);
  const entry: AuditEntry = {
    v: 1,
    seq,
    ts: p.ts,
    sessionId: p.sessionId,
    action: JSON.parse(p.action) as AuditAction,
    decision: p.decision,
    proof: p.proof,
    outcome: JSON.parse(p.outcome),
    prevHash,
    hash,
  };
  return { entry, stored: { hash, body } };
}

function actionShapeProblem(action: unknown): string | null {
  if (typeof action !== "object" || action === null || Array.isArray(action)) {
    return `action must be an object, current value is ${JSON.stringify(action)}`;
  }
  const a = action as Record<string, unknown>;
  for (const field of ["kind", "resource", "summary"]) {
    if (typeof a[field] !== "string") {
      return `action.${field} must be a string, current value is ${typeof a[field]}`;
    }
  }
  for (const field of ["permission", "risk"]) {
    if (a[field] !== undefined && typeof a[field] !== "string") {
      return `action.${field} must be a string when present, current value is ${typeof a[field]}`;
    }
  }
  return null;
}

const KNOWN = new Set<string>([...FIELDS, "hash"]);

/** Returns why `value` is not a well-formed entry, or null when it is. */
export function entryShapeProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "entry is not an object";
  }
  const e = value as Record<string, unknown>;
  if (e.v !== 1) return `entry v must be 1, current value is ${JSON.stringify(e.v)}`;
  if (!Number.isSafeInteger(e.seq) || (e.seq as number) < 1) {
    return `entry seq must be a positive integer, current value is ${JSON.stringify(e.seq)}`;
  }
  if (typeof e.ts !== "number" || !Number.isFinite(e.ts)) return "entry ts is not a finite number";
  if (typeof e.sessionId !== "string") return "entry sessionId is not a string";
  const actionProblem = actionShapeProblem(e.action);
  if (actionProblem) return `entry ${actionProblem}`;
  if (!DECISIONS.includes(e.decision as AuditDecision)) {
    return `entry decision is not one of ${DECISIONS.join("|")}`;
  }
  if (typeof e.proof !== "string") return "entry proof is not a string";
  if (e.outcome === undefined) return "entry outcome is missing";
  if (typeof e.prevHash !== "string" || !HEX64.test(e.prevHash)) {
    return "entry prevHash is not 64 lowercase hex digits";
  }
  if (typeof e.hash !== "string" || !HEX64.test(e.hash)) {
    return "entry hash is not 64 lowercase hex digits";
  }
  for (const key of Object.keys(e)) if (!KNOWN.has(key)) return `entry has unknown field ${key}`;
  return null;
}

/** True for 64 lowercase hex digits. */
export function isHex64(value: unknown): value is string {
  return typeof value === "string" && HEX64.test(value);
}
