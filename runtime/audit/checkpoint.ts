/**
 * Signed checkpoints: a checkpoint commits to the first `size` entries of the chain by naming
 * the hash of entry `size` (`head`) and signing it with the runtime key.
 *
 * ```
 * sig = base64url(Ed25519(ACE-1("audit-checkpoint", { v, size, head, ts, key })))
 * ```
 * (RFC 8032 §5.1.6). The `audit-checkpoint` domain keeps a checkpoint signature from ever being
 * replayed as a token or any other signed object. Because the chain hash binds every earlier
 * entry, a valid checkpoint makes editing, deleting, reordering or truncating any of the first
 * `size` entries detectable; only entries appended after the last checkpoint can be cut off
 * unnoticed, which is why the log checkpoints every N entries, every T seconds and at session end.
 *
 * @module
 */
import {
  canonicalBytes,
  fromBase64Url,
  type SignedBytes,
  type Signer,
  toBase64Url,
  toHex,
  verify,
} from "../crypto/mod.ts";
import { isHex64 } from "./_chain.ts";

/** A signed statement "the log's first `size` entries end in hash `head`". */
export interface Checkpoint {
  /** Format version, always 1. */
  v: 1;
  /** Number of entries covered: the seq of the last one. */
  size: number;
  /** That entry's hash. */
  head: string;
  /** When it was signed (ms since the epoch). */
  ts: number;
  /** Hex Ed25519 public key of the signer. */
  key: string;
  /** base64url Ed25519 signature over `ACE-1("audit-checkpoint", {v,size,head,ts,key})`. */
  sig: string;
}

/**
 * Returns the bytes a checkpoint signature covers.
 *
 * @example The signed bytes carry the domain
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { checkpointBytes } from "./checkpoint.ts";
 * const bytes = checkpointBytes({ v: 1, size: 1, head: "0".repeat(64), ts: 0, key: "0".repeat(64) });
 * ok(new TextDecoder().decode(bytes).startsWith("astrid-ace/1/audit-checkpoint\n"));
 * ```
 */
export function checkpointBytes(body: Omit<Checkpoint, "sig">): Uint8Array {
  return canonicalBytes("audit-checkpoint", {
    v: body.v,
    size: body.size,
    head: body.head,
    ts: body.ts,
    key: body.key,
  });
}

/**
 * Signs a checkpoint over entry `size` whose hash is `head`.
 *
 * @example Sign and check
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { signCheckpoint, verifyCheckpoint } from "./checkpoint.ts";
 * const signer = signerFromSeed(generateSeed());
 * const cp = await signCheckpoint(signer, 3, "ab".repeat(32), Date.now());
 * ok(verifyCheckpoint(cp, signer.publicKey) === null);
 * ```
 */
export async function signCheckpoint(
  signer: Signer,
  size: number,
  head: string,
  ts: number,
): Promise<Checkpoint> {
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new RangeError(
      `Cannot sign a checkpoint: size must be a positive integer, current value is ${size}`,
    );
  }
  if (!isHex64(head)) {
    throw new TypeError(
      `Cannot sign a checkpoint: head must be 64 hex digits, current value is ${head}`,
    );
  }
  const body = { v: 1 as const, size, head, ts, key: toHex(signer.publicKey) };
  return { ...body, sig: toBase64Url(await signer.signAsync(checkpointBytes(body))) };
}

/** Why a checkpoint failed {@link verifyCheckpoint}. */
export type CheckpointProblem = {
  code: "MALFORMED" | "WRONG_KEY" | "BAD_CHECKPOINT";
  reason: string;
};

/**
 * Checks a checkpoint in a fixed order (shape, then key, then signature) and returns null when
 * it is valid for `publicKey`, or the first problem found. Never throws.
 *
 * @example A checkpoint signed by another key is refused
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { signCheckpoint, verifyCheckpoint } from "./checkpoint.ts";
 * const mine = signerFromSeed(generateSeed());
 * const other = signerFromSeed(generateSeed());
 * const cp = await signCheckpoint(other, 1, "ab".repeat(32), 0);
 * deepEqual(verifyCheckpoint(cp, mine.publicKey)?.code, "WRONG_KEY");
 * ```
 */
export function verifyCheckpoint(cp: unknown, publicKey: Uint8Array): CheckpointProblem | null {
  const shape = checkpointShapeProblem(cp);
  if (shape) return { code: "MALFORMED", reason: shape };
  const c = cp as Checkpoint;
  const expected = toHex(publicKey);
  if (c.key !== expected) {
    return {
      code: "WRONG_KEY",
      reason: `checkpoint ${c.size} is signed by key ${c.key}, not the trusted key ${expected}`,
    };
  }
  let sig: Uint8Array;
  try {
    sig = fromBase64Url(c.sig);
  } catch {
    return { code: "BAD_CHECKPOINT", reason: `checkpoint ${c.size} signature is not base64url` };
  }
  if (!verify(publicKey, checkpointBytes(c), sig)) {
    return { code: "BAD_CHECKPOINT", reason: `checkpoint ${c.size} signature does not verify` };
  }
  return null;
}

/**
 * The signature {@link verifyCheckpoint} would verify for this checkpoint (its shape and key are
 * right), or null: for `verifyAhead` (crypto/ed25519.ts), which only adds exact triples that
 * verify, so a wrong answer here costs time, never a check.
 */
export function checkpointSignature(value: unknown, publicKey: Uint8Array): SignedBytes | null {
  if (checkpointShapeProblem(value)) return null;
  const v = value as Checkpoint;
  if (v.key !== toHex(publicKey)) return null;
  try {
    return { publicKey: publicKey, message: checkpointBytes(v), signature: fromBase64Url(v.sig) };
  } catch {
    return null;
  }
}

/**
 * Returns why `value` is not a well-formed checkpoint, or null.
 *
 * @example An unknown member is malformed
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { checkpointShapeProblem } from "./checkpoint.ts";
 * const cp = { v: 1, size: 1, head: "0".repeat(64), ts: 0, key: "0".repeat(64), sig: "", x: 1 };
 * deepEqual(checkpointShapeProblem(cp), "checkpoint has unknown field x");
 * ```
 */
export function checkpointShapeProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "checkpoint is not an object";
  }
  const c = value as Record<string, unknown>;
  if (c.v !== 1) return `checkpoint v must be 1, current value is ${JSON.stringify(c.v)}`;
  if (!Number.isSafeInteger(c.size) || (c.size as number) < 1) {
    return `checkpoint size must be a positive integer, current value is ${JSON.stringify(c.size)}`;
  }
  if (!isHex64(c.head)) return "checkpoint head is not 64 lowercase hex digits";
  if (typeof c.ts !== "number" || !Number.isFinite(c.ts)) return "checkpoint ts is not finite";
  if (!isHex64(c.key)) return "checkpoint key is not 64 lowercase hex digits";
  if (typeof c.sig !== "string") return "checkpoint sig is not a string";
  for (const k of Object.keys(c)) {
    if (!["v", "size", "head", "ts", "key", "sig"].includes(k)) {
      return `checkpoint has unknown field ${k}`;
    }
  }
  return null;
}
