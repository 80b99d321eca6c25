/**
 * Offline and in-store verification of the audit chain.
 *
 * Order (fail at the first problem, like a JWS verifier: key and signature before payload):
 * 1. every checkpoint: shape, key equals the trusted key (`WRONG_KEY`), signature
 *    (`BAD_CHECKPOINT`), strictly increasing sizes;
 * 2. every entry in the order given: shape (`MALFORMED`), seq equals its position (`DELETED` when
 *    the expected seq is absent, `REORDERED` when it appears elsewhere), its own hash (`EDITED`),
 *    the link to the previous hash (`EDITED`), and the checkpoint head at that size (`EDITED`);
 * 3. a checkpoint larger than the number of entries (`TRUNCATED`).
 *
 * `firstBad.position` is 1-based: the entry's position in the list given for entry problems and
 * `TRUNCATED` (the first missing position), the checkpoint's position for checkpoint problems,
 * the witness line for a bad witness line (also in `witnessLine`), and the seq the head names
 * for head problems. `firstBad.seq` is the seq expected at that position (for checkpoint and
 * witness line problems: its size).
 *
 * Entries appended after the last checkpoint are chained but not signed by a checkpoint: in a
 * store, the signed head record vouches for them (see `verifyStore` in verify_store.ts, which also
 * reconciles the store with the witness file, witness.ts).
 *
 * @module
 */
import { entryBody, entryShapeProblem, GENESIS_HASH, hashBody } from "./_chain.ts";
import { type Checkpoint, verifyCheckpoint } from "./checkpoint.ts";
import type { AuditEntry } from "./types.ts";

/** The outcome of a verification. */
export interface VerifyReport {
  /** True when nothing is wrong. */
  ok: boolean;
  /** Entries examined. */
  entries: number;
  /** Checkpoints examined. */
  checkpoints: number;
  /** The first problem, in the order described in the module doc. */
  firstBad?: {
    /** The seq expected at that position (a checkpoint's size for checkpoint problems). */
    seq: number;
    /** 1-based position (of the entry, the checkpoint, or the export line for MALFORMED). */
    position: number;
    /** A sentence naming what is wrong. */
    reason: string;
    /**
     * What kind of problem. `ROLLED_BACK`: a consistent, validly signed store older than the
     * witness. `BAD_HEAD`: the store's head record is unsigned or its signature fails.
     */
    code:
      | "EDITED"
      | "DELETED"
      | "REORDERED"
      | "TRUNCATED"
      | "ROLLED_BACK"
      | "BAD_CHECKPOINT"
      | "BAD_HEAD"
      | "WRONG_KEY"
      | "MALFORMED";
    /** The witness line involved, when the problem involves one (1-based). */
    witnessLine?: number;
  };
  /** What the witness held, when one was consulted (see `verifyStore`). */
  witness?: WitnessSummary;
  /** Things a human should know that are not failures (an unwitnessed log, an unsigned head). */
  notes?: string[];
}

/** What `verifyStore`/`verifyExport` found in the witness file. */
export interface WitnessSummary {
  /** The witness file. */
  path: string;
  /** `ok`: the newest witnessed checkpoint of this log is consistent with the chain;
   * `missing`: no witness file; `unwitnessed`: the file holds no checkpoint of this log. */
  status: "ok" | "missing" | "unwitnessed";
  /** The log's name (the hash of entry 1), null for an empty log. */
  log: string | null;
  /** Lines in the file. */
  lines: number;
  /** The newest witnessed size of this log and its line, when there is one. */
  size?: number;
  line?: number;
  /** Other logs signed by this key in the same file: name → newest size. */
  otherLogs?: Record<string, number>;
  /** Lines that are not JSON (torn writes or junk): listed, never trusted. */
  unreadable?: number[];
}

/** Raised when the audit chain fails verification. Callers match on `code`. */
export class AuditIntegrityError extends Error {
  /** Always `"INTEGRITY"`. */
  readonly code = "INTEGRITY";
  /** The failed report. */
  report: VerifyReport;
  /**
   * Creates the error.
   *
   * @example Carry a report
   * ```ts
   * import { deepEqual } from "node:assert/strict";
   * import { AuditIntegrityError } from "./verify.ts";
   * const err = new AuditIntegrityError("Cannot verify: bad", { ok: false, entries: 0, checkpoints: 0 });
   * deepEqual(err.code, "INTEGRITY");
   * ```
   */
  constructor(message: string, report: VerifyReport) {
    super(message);
    this.name = "AuditIntegrityError";
    this.report = report;
  }
}

type Bad = NonNullable<VerifyReport["firstBad"]>;

/**
 * Verifies `entries` (in the order given) against `checkpoints` signed by `publicKey`.
 *
 * @example A fresh chain verifies; an edit does not
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { openStore } from "../storage/mod.ts";
 * import { AuditLog, verifyChain } from "./mod.ts";
 * using store = await openStore(":memory:");
 * const signer = signerFromSeed(generateSeed());
 * const log = await AuditLog.open(store, signer);
 * await log.endSession("a");
 * await log.endSession("b");
 * const entries = await log.list();
 * const cps = await log.checkpoints();
 * deepEqual(verifyChain(entries, cps, signer.publicKey).ok, true);
 * entries[0]!.proof = "forged";
 * deepEqual(verifyChain(entries, cps, signer.publicKey).firstBad?.code, "EDITED");
 * await log.close();
 * ```
 */
export function verifyChain(
  entries: AuditEntry[],
  checkpoints: Checkpoint[],
  publicKey: Uint8Array,
): VerifyReport {
  // checkChain hashes an entry only once it passed entryShapeProblem, as entryBody requires.
  return checkChain(entries, checkpoints, publicKey, (e) => hashBody(e.prevHash, entryBody(e)));
}

/**
 * Verifies entries and checkpoints with a caller-supplied entry hash (the store hashes its
 * stored bodies as they are). Used by `verifyStore`; not re-exported from mod.ts.
 *
 * @example Same as verifyChain with the entries' own hash
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { checkChain } from "./verify.ts";
 * deepEqual(checkChain([], [], new Uint8Array(32), () => ""), { ok: true, entries: 0, checkpoints: 0 });
 * ```
 */
export function checkChain(
  entries: AuditEntry[],
  checkpoints: Checkpoint[],
  publicKey: Uint8Array,
  hashOf: (e: AuditEntry, i: number) => string,
): VerifyReport {
  const report = { ok: true, entries: entries.length, checkpoints: checkpoints.length };
  const bad = firstProblem(entries, checkpoints, publicKey, hashOf);
  return bad ? { ...report, ok: false, firstBad: bad } : report;
}

/** Where a problem is: built only when there is one. */
function at(seq: number): { seq: number; position: number } {
  return { seq, position: seq };
}

function firstProblem(
  entries: AuditEntry[],
  checkpoints: Checkpoint[],
  publicKey: Uint8Array,
  hashOf: (e: AuditEntry, i: number) => string,
): Bad | null {
  const heads = new Map<number, string>();
  let lastSize = 0;
  for (let j = 0; j < checkpoints.length; j++) {
    const cp = checkpoints[j];
    const problem = verifyCheckpoint(cp, publicKey);
    const size = typeof cp?.size === "number" ? cp.size : 0;
    if (problem) return { seq: size, position: j + 1, ...problem };
    if (size <= lastSize) {
      return {
        seq: size,
        position: j + 1,
        code: "BAD_CHECKPOINT",
        reason: `checkpoint ${size} follows checkpoint ${lastSize}: sizes must increase`,
      };
    }
    lastSize = size;
    heads.set(size, cp!.head);
  }

  let seqs: Set<unknown> | null = null;
  let prev = GENESIS_HASH;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as unknown as AuditEntry;
    const expected = i + 1;
    const shape = entryShapeProblem(e);
    if (shape) {
      return { ...at(expected), code: "MALFORMED", reason: `position ${expected}: ${shape}` };
    }
    if (e.seq !== expected) {
      seqs ??= new Set(entries.map((x) => (x as { seq?: unknown } | null)?.seq));
      return seqs.has(expected)
        ? {
          ...at(expected),
          code: "REORDERED",
          reason: `position ${expected} holds seq ${e.seq}; seq ${expected} appears elsewhere`,
        }
        : {
          ...at(expected),
          code: "DELETED",
          reason: `seq ${expected} is missing (position ${expected} holds seq ${e.seq})`,
        };
    }
    const hash = e.hash;
    if (hashOf(e, i) !== hash) {
      return {
        ...at(expected),
        code: "EDITED",
        reason: `entry ${expected} does not match its own hash`,
      };
    }
    if (e.prevHash !== prev) {
      return {
        ...at(expected),
        code: "EDITED",
        reason: `entry ${expected}'s prevHash does not match entry ${expected - 1}'s hash ` +
          `(entry ${expected - 1} was rewritten or entries between were removed)`,
      };
    }
    const signed = heads.get(expected);
    if (signed !== undefined && signed !== hash) {
      return {
        ...at(expected),
        code: "EDITED",
        reason: `entry ${expected}'s hash differs from its signed checkpoint: ` +
          `the chain up to seq ${expected} was rewritten`,
      };
    }
    prev = hash;
  }
  if (lastSize > entries.length) {
    const missing = entries.length + 1;
    return {
      seq: missing,
      position: missing,
      code: "TRUNCATED",
      reason: `checkpoint ${lastSize} covers ${lastSize} entries but only ${entries.length} exist`,
    };
  }
  return null;
}

/**
 * How a problem code reads in a sentence: `ROLLED_BACK` is written `ROLLED BACK`; the others as
 * they are.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { problemLabel } from "./verify.ts";
 * equal(problemLabel("ROLLED_BACK"), "ROLLED BACK");
 * equal(problemLabel("TRUNCATED"), "TRUNCATED");
 * ```
 */
export function problemLabel(code: NonNullable<VerifyReport["firstBad"]>["code"]): string {
  return code === "ROLLED_BACK" ? "ROLLED BACK" : code;
}
