/**
 * Opening the audit log checks a few signatures synchronously: the witness's newest lines of
 * this log and of this store, the signed head, the newest checkpoint. These helpers verify the
 * same signatures beforehand with WebCrypto (`verifyAhead`, crypto/ed25519.ts), so that a
 * command which only reads (`audit list`, `approvals list`) never loads `node:crypto` (about
 * 15 ms at start-up). They only pick what to verify: the checks themselves are unchanged, and
 * `verifyAhead` only ever remembers exact (key, bytes, signature) triples that verified.
 *
 * @module
 */
import { fromBase64Url, type SignedBytes, toHex, verifyAhead } from "../crypto/mod.ts";
import type { Store } from "../storage/mod.ts";
import { CHECKPOINT_PREFIX, HEAD_KEY } from "./_chain.ts";
import { headSignature } from "./_head.ts";
import type { TailLine } from "./_witness_file.ts";
import { checkpointSignature } from "./checkpoint.ts";
import { type WitnessLine, witnessLineBytes } from "./witness.ts";

/** How many of this log's largest witnessed sizes are verified ahead (open checks the largest). */
const WITNESS_LINES = 2;

/** Verifies ahead the stored head's signature and the newest checkpoint's. Never throws. */
export async function verifyStoredAhead(store: Store, key: Uint8Array): Promise<void> {
  try {
    const [head, [last]] = await Promise.all([
      store.get(HEAD_KEY),
      Array.fromAsync(store.list({ prefix: [...CHECKPOINT_PREFIX] }, { reverse: true, limit: 1 })),
    ]);
    const signed = [headSignature(head.value, key), checkpointSignature(last?.value, key)];
    await verifyAhead(signed.filter((s) => s !== null));
  } catch {
    // The checks read the store again and report its failure themselves.
  }
}

/**
 * Verifies ahead the witness lines opening checks: this log's largest sizes and the last line at
 * this store (`location`). Never throws.
 */
export async function verifyWitnessAhead(
  tail: readonly TailLine[],
  log: string | null,
  location: string | null,
  key: Uint8Array,
): Promise<void> {
  const field = (l: TailLine, name: string) => (l.value as Record<string, unknown> | null)?.[name];
  const mine = log === null ? [] : tail.filter((l) => field(l, "log") === log)
    .sort((a, b) => (Number(field(b, "size")) || 0) - (Number(field(a, "size")) || 0))
    .slice(0, WITNESS_LINES);
  const here = location === null ? undefined : tail.findLast((l) => field(l, "store") === location);
  const signed: (SignedBytes | null)[] = [...mine, ...(here ? [here] : [])]
    .map((l) => witnessLineSignature(l.value, key));
  await verifyAhead(signed.filter((s) => s !== null)).catch(() => {});
}

/**
 * The signature `verifyWitnessLine` would verify for this line when its key is `key`, or null.
 * A malformed line may give wrong bytes or none: that only costs time, since `verifyAhead` keeps
 * nothing that does not verify and `verifyWitnessLine` checks the shape first.
 */
function witnessLineSignature(value: unknown, key: Uint8Array): SignedBytes | null {
  const line = value as WitnessLine | null;
  if (typeof line !== "object" || line === null || line.key !== toHex(key)) return null;
  try {
    return { publicKey: key, message: witnessLineBytes(line), signature: fromBase64Url(line.sig) };
  } catch {
    return null;
  }
}
