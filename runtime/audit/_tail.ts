/**
 * Loads the chain head and checks the unsigned tail before the runtime builds on it, so the
 * runtime never signs a checkpoint over a head it has not linked to an earlier trusted point
 * (the last signed checkpoint, or a head this process itself verified or wrote). Without this,
 * anyone able to write the KV could rewrite the tail and have the next checkpoint launder it.
 * Not re-exported.
 *
 * @module
 */
import { fromBase64Url, fromHex, verify } from "../crypto/mod.ts";
import type { Store } from "../storage/mod.ts";
import {
  CHECKPOINT_PREFIX,
  decodeStored,
  ENTRY_PREFIX,
  entryShapeProblem,
  GENESIS_HASH,
  hashBody,
  HEAD_KEY,
  type HeadRecord,
} from "./_chain.ts";
import { type Checkpoint, checkpointBytes, checkpointShapeProblem } from "./checkpoint.ts";
import { AuditIntegrityError, type VerifyReport } from "./verify.ts";

/** The head plus the versionstamp its next commit must check. */
export interface Head extends HeadRecord {
  versionstamp: string | null;
}

type Code = NonNullable<VerifyReport["firstBad"]>["code"];

function fail(seq: number, code: Code, reason: string): never {
  throw new AuditIntegrityError(`Cannot use the audit log: ${reason}`, {
    ok: false,
    entries: 0,
    checkpoints: 0,
    firstBad: { seq, position: seq, code, reason },
  });
}

/**
 * Returns the stored head after checking every entry between the anchor and the head: `known`
 * when given (a head this process trusts), else the latest checkpoint (whose signature must
 * verify under its own key; `verifyStore` separately checks that key), else genesis.
 */
export async function loadVerifiedHead(store: Store, known?: HeadRecord): Promise<Head> {
  // The head, the checkpoints and the entries are separate reads. Another process appending in
  // between (it moves the head in the same commit as its entries) can make them disagree; a
  // failure counts only when the head did not move meanwhile.
  for (let attempt = 1;; attempt++) {
    const got = await store.get<HeadRecord>(HEAD_KEY);
    try {
      return await verifyHead(store, got, known);
    } catch (err) {
      if (!(err instanceof AuditIntegrityError) || attempt >= MAX_READS) throw err;
      if ((await store.get(HEAD_KEY)).versionstamp === got.versionstamp) throw err;
    }
  }
}

/** How often a head that keeps moving is read again before its check counts. */
const MAX_READS = 8;

async function verifyHead(
  store: Store,
  got: Deno.KvEntryMaybe<HeadRecord>,
  known?: HeadRecord,
): Promise<Head> {
  let anchor: HeadRecord = { seq: 0, hash: GENESIS_HASH };
  if (known && got.value && known.seq <= got.value.seq) {
    anchor = known;
  } else {
    const [last] = await Array.fromAsync(
      store.list<Checkpoint>({ prefix: [...CHECKPOINT_PREFIX] }, { reverse: true, limit: 1 }),
    );
    if (last) {
      const cp = last.value;
      if (checkpointShapeProblem(cp) !== null) {
        fail(0, "MALFORMED", "the latest checkpoint is malformed");
      }
      let sig: Uint8Array | null = null;
      try {
        sig = fromBase64Url(cp.sig);
      } catch { /* reported below */ }
      const key = fromHex(cp.key);
      if (!sig || !verify(key, checkpointBytes(cp), sig)) {
        fail(cp.size, "BAD_CHECKPOINT", `checkpoint ${cp.size} signature does not verify`);
      }
      anchor = { seq: cp.size, hash: cp.head };
    }
  }
  const head = got.value ?? { seq: 0, hash: GENESIS_HASH };
  if (anchor.seq > head.seq) {
    fail(
      head.seq + 1,
      "TRUNCATED",
      `checkpoint ${anchor.seq} is beyond the stored head ${head.seq}`,
    );
  }
  // Entries anchor.seq (to match the anchor's hash) through the head, and nothing after it.
  let prev = anchor.hash;
  let seq = anchor.seq;
  let sawAnchor = anchor.seq === 0;
  const selector = { prefix: [...ENTRY_PREFIX], start: [...ENTRY_PREFIX, Math.max(anchor.seq, 1)] };
  for await (const { key, value } of store.list(selector, { batchSize: 500 })) {
    const { entry: e, body } = decodeStored(value);
    if (body === null || entryShapeProblem(e) !== null || key[2] !== e.seq) {
      fail(e?.seq ?? 0, "MALFORMED", "a stored entry is malformed");
    }
    if (!sawAnchor) {
      if (e.seq !== anchor.seq || e.hash !== anchor.hash || hashBody(e.prevHash, body) !== e.hash) {
        fail(
          anchor.seq,
          "EDITED",
          `entry ${anchor.seq} is missing or differs from the trusted head`,
        );
      }
      sawAnchor = true;
      continue;
    }
    if (e.seq !== seq + 1) {
      fail(seq + 1, e.seq > head.seq ? "MALFORMED" : "DELETED", `entry ${seq + 1} is missing`);
    }
    const hash = e.hash;
    if (e.prevHash !== prev || hashBody(prev, body) !== hash) {
      fail(e.seq, "EDITED", `entry ${e.seq} does not chain from entry ${e.seq - 1}`);
    }
    prev = hash;
    seq = e.seq;
  }
  if (!sawAnchor) fail(anchor.seq, "DELETED", `entry ${anchor.seq} is missing`);
  if (seq !== head.seq || prev !== head.hash) {
    fail(
      seq + 1,
      seq < head.seq ? "TRUNCATED" : "EDITED",
      `the stored head (seq ${head.seq}) does not match the last entry (seq ${seq})`,
    );
  }
  return { seq: head.seq, hash: head.hash, versionstamp: got.versionstamp };
}
