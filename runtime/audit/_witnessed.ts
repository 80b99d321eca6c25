/**
 * What the witness says about one log, and how a chain compares with it (c2sp.org/tlog-witness:
 * the newest checkpoint per log only moves forward; the log must be consistent with every
 * checkpoint the witness holds). Shared by `AuditLog.open` (the file's tail, newest line only),
 * `verifyStore` and `verifyExport` (every line). Not re-exported.
 *
 * @module
 */
import { toHex } from "../crypto/mod.ts";
import type { VerifyReport } from "./verify.ts";
import { verifyWitnessLine, type WitnessLine } from "./witness.ts";

/** Where a witness line is: its line number, or (from a tail read) its byte offset. */
export interface WitnessAt {
  line?: number;
  offset?: number;
}

/** One valid witnessed checkpoint of the log. */
export interface WitnessedCheckpoint extends WitnessAt {
  size: number;
  head: string;
}

/** The witness's view of one log. */
export interface Witnessed {
  /** Valid lines of this log, in the order read. */
  checkpoints: WitnessedCheckpoint[];
  /** The largest valid size of this log (lines may be out of order: the largest wins). */
  newest: WitnessedCheckpoint | null;
  /** The first line naming this log or the trusted key that fails its check. */
  bad:
    | (WitnessAt & {
      size: number;
      code: "MALFORMED" | "WRONG_KEY" | "BAD_CHECKPOINT";
      reason: string;
    })
    | null;
  /** Other logs with lines signed by the trusted key: their newest size and where. */
  otherLogs: Map<string, WitnessedCheckpoint>;
  /** The last valid line (in file order) at the store's location: the log last seen there. */
  here: (WitnessedCheckpoint & { log: string }) | null;
}

/** How {@link witnessedLog} reads the lines. */
export interface WitnessedOptions {
  /** Check every line naming this log or carrying the trusted key (verify), or only the ones
   * open needs (the largest size of this log, the last line at this store). */
  every: boolean;
  /** The store's location, to find the log the witness last saw there. */
  store?: string;
}

type Bad = NonNullable<VerifyReport["firstBad"]>;
type Line = WitnessAt & { value: WitnessLine };

/**
 * Sorts `lines` (in file order) for `log` (null: a log with no entries yet), checking keys and
 * signatures before trusting a line. Without `every`, only this log's lines from the largest
 * size down until one is valid, plus the last line at `store`, are checked (usually two
 * signature checks).
 */
export function witnessedLog(
  lines: Iterable<WitnessAt & { value: unknown }>,
  log: string | null,
  trustedKey: Uint8Array,
  options: WitnessedOptions,
): Witnessed {
  const key = toHex(trustedKey);
  const out: Witnessed = {
    checkpoints: [],
    newest: null,
    bad: null,
    otherLogs: new Map(),
    here: null,
  };
  const candidates: Line[] = [];
  let hereCandidate: Line | null = null;
  const problemOf = (l: Line) => {
    const problem = verifyWitnessLine(l.value, trustedKey);
    if (problem) out.bad ??= { ...whereOf(l), size: Number(l.value?.size) || 0, ...problem };
    return problem;
  };
  for (const { value, ...at } of lines) {
    if (typeof value !== "object" || value === null) continue;
    const line = { ...at, value: value as WitnessLine };
    const v = line.value;
    const mine = log !== null && v.log === log;
    const ourKey = v.key === key;
    const here = ourKey && options.store !== undefined && v.store === options.store;
    if (!options.every) {
      if (mine) candidates.push(line);
      if (here) hereCandidate = line;
      continue;
    }
    if (!mine && !ourKey) continue;
    if (problemOf(line)) continue;
    const cp = { ...whereOf(at), size: v.size, head: v.head };
    if (here) out.here = { ...cp, log: v.log };
    if (mine) {
      out.checkpoints.push(cp);
      if (!out.newest || cp.size > out.newest.size) out.newest = cp;
    } else {
      const other = out.otherLogs.get(v.log);
      if (!other || cp.size > other.size) out.otherLogs.set(v.log, cp);
    }
  }
  if (!options.every) {
    candidates.sort((a, b) => (Number(b.value.size) || 0) - (Number(a.value.size) || 0));
    const top = candidates[0];
    if (top && !problemOf(top)) {
      out.newest = { ...whereOf(top), size: top.value.size, head: top.value.head };
      out.checkpoints.push(out.newest);
    }
    if (hereCandidate && !problemOf(hereCandidate)) {
      const v = hereCandidate.value;
      out.here = { ...whereOf(hereCandidate), size: v.size, head: v.head, log: v.log };
    }
  }
  return out;
}

/**
 * The store at its place against the log the witness last saw there: an empty store where a
 * log was witnessed is TRUNCATED (deleted or wiped), a store holding another log is EDITED
 * (replaced). Null when the witness saw this log there, or nothing.
 */
export function placeProblem(w: Witnessed, log: string | null): Bad | null {
  const here = w.here;
  if (!here || here.log === log) return null;
  const seen = `the witness last saw log ${here.log.slice(0, 16)}… at size ${here.size} in this ` +
    `store (${lineLabel(here)})`;
  const at = here.line !== undefined ? { witnessLine: here.line } : {};
  return log === null
    ? {
      seq: 1,
      position: 1,
      code: "TRUNCATED",
      reason: `the store is empty, but ${seen}: entries 1..${here.size} were deleted`,
      ...at,
    }
    : {
      seq: 1,
      position: 1,
      code: "EDITED",
      reason: `the store holds log ${log.slice(0, 16)}…, but ${seen}: the store was replaced`,
      ...at,
    };
}

function whereOf(at: WitnessAt): WitnessAt {
  return at.line !== undefined ? { line: at.line } : { offset: at.offset ?? 0 };
}

/** "witness line N" (or the byte offset when the line number is not known). */
export function lineLabel(at: WitnessAt): string {
  return at.line !== undefined
    ? `witness line ${at.line}`
    : `the witness line at byte ${at.offset}`;
}

/** What the reconciliation needs to know about the chain it checks. */
export interface ChainView {
  /** The number of entries the chain holds (its last seq). */
  entries: number;
  /** The hash of entry `seq` (1 ≤ seq ≤ entries). */
  hashAt(seq: number): string | undefined;
  /**
   * True when the chain's end is vouched for by the runtime key (a valid signed head naming
   * its last entry): a store older than the witness is then ROLLED_BACK rather than TRUNCATED.
   */
  endSigned: boolean;
  /** How to name the chain in messages ("the store", "the export"). */
  name: string;
}

/**
 * Compares a chain with the witness (c2sp.org/tlog-witness consistency): a witnessed size whose
 * entry has another hash is EDITED (a fork), and a chain that ends before the newest witnessed
 * size is ROLLED_BACK (its signed end is an older state) or TRUNCATED. Null when consistent.
 */
export function reconcile(w: Witnessed, chain: ChainView): Bad | null {
  const within = w.checkpoints.filter((c) => c.size <= chain.entries).sort((a, b) =>
    a.size - b.size
  );
  for (const c of within) {
    const hash = chain.hashAt(c.size);
    if (hash !== c.head) {
      return {
        seq: c.size,
        position: c.size,
        code: "EDITED",
        reason:
          `entry ${c.size} differs from the checkpoint at size ${c.size} that ${lineLabel(c)} ` +
          `holds: ${chain.name} forked from the witnessed log`,
        ...(c.line !== undefined ? { witnessLine: c.line } : {}),
      };
    }
  }
  const newest = w.newest;
  if (!newest || newest.size <= chain.entries) return null;
  const missing = chain.entries + 1;
  const where = `the witness holds a checkpoint at size ${newest.size} (${lineLabel(newest)}); ` +
    `${chain.name} ends at seq ${chain.entries}`;
  return {
    seq: missing,
    position: missing,
    ...(newest.line !== undefined ? { witnessLine: newest.line } : {}),
    ...(chain.endSigned
      ? {
        code: "ROLLED_BACK" as const,
        reason: `${where}: ${chain.name} is consistent and validly signed but older than the ` +
          "witness (an older copy was put back)",
      }
      : {
        code: "TRUNCATED" as const,
        reason: `${where}: entries ${missing}..${newest.size} are missing`,
      }),
  };
}
