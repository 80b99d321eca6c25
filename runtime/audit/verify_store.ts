/**
 * Verifying the audit store as a whole, reconciled with its witness (witness.ts).
 *
 * Order (the first problem wins; keys and signatures before payloads, as in verify.ts):
 * 1. the witness's lines: every line naming this log or carrying the trusted key must check
 *    (`WRONG_KEY`, `BAD_CHECKPOINT`, `MALFORMED`, with `witnessLine`); a bad line is never
 *    trusted;
 * 2. the chain and its checkpoints, as `verifyChain` does;
 * 3. the store against the witness (c2sp.org/tlog-witness): with `storeLocation`, the log the
 *    witness last saw at this place must be this store's (an empty store there is `TRUNCATED`:
 *    deleted; another log is `EDITED`: replaced); the entry at every witnessed size
 *    must have the witnessed hash (`EDITED`: a fork), and the store must reach the newest
 *    witnessed size: `ROLLED_BACK` when its signed head vouches for a consistent, older state
 *    (an older copy of `state.kv` was put back), else `TRUNCATED`;
 * 4. the head record (a missing one is `MALFORMED` before step 2): its signature under the trusted key (`BAD_HEAD`, `WRONG_KEY`), the log it
 *    names, and that it names the last entry (`TRUNCATED`: entries it names are missing).
 *
 * An unsigned head of the previous format passes step 4 with a note while the witness holds no
 * checkpoint of the log (the next `AuditLog.open` signs it); once the log is witnessed, an
 * unsigned head can only be a rewritten one, and is `BAD_HEAD`.
 *
 * @module
 */
import { loadFastBlake3 } from "../crypto/mod.ts";
import type { Store } from "../storage/mod.ts";
import { GENESIS_HASH, hashBody } from "./_chain.ts";
import { checkHead } from "./_head.ts";
import { readChain } from "./_read.ts";
import { readWitnessText } from "./_witness_file.ts";
import { lineLabel, placeProblem, reconcile, type Witnessed, witnessedLog } from "./_witnessed.ts";
import { checkChain, type VerifyReport, type WitnessSummary } from "./verify.ts";
import { parseWitness } from "./witness.ts";

/** Options of {@link verifyStore}. */
export interface VerifyStoreOptions {
  /** The witness file to reconcile the store with (none: the store is checked alone). */
  witnessPath?: string;
  /** The store's location as the log's writers name it (`AuditLogOptions.storeLocation`). */
  storeLocation?: string;
}

type Bad = NonNullable<VerifyReport["firstBad"]>;

/**
 * Verifies the chain held in `store` against `publicKey`: {@link checkChain}, the signed head
 * record, and, with `witnessPath`, the witness (see the module doc for the order).
 *
 * @example Verify a store
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { openStore } from "../storage/mod.ts";
 * import { AuditLog, verifyStore } from "./mod.ts";
 * using store = await openStore(":memory:");
 * const signer = signerFromSeed(generateSeed());
 * const log = await AuditLog.open(store, signer);
 * await log.endSession("a");
 * await log.close();
 * deepEqual(await verifyStore(store, signer.publicKey), { ok: true, entries: 1, checkpoints: 1 });
 * ```
 */
export async function verifyStore(
  store: Store,
  publicKey: Uint8Array,
  options: VerifyStoreOptions = {},
): Promise<VerifyReport> {
  // A whole chain is many hashes: by blake3-jit rather than the written-out start-up hasher.
  await loadFastBlake3();
  // The witness first: each of its lines was appended after the KV commit that stored its
  // checkpoint, so the store read afterwards is at least as new as anything it names.
  const path = options.witnessPath;
  const text = path === undefined ? undefined : await readWitnessText(path);
  const { head, entries, bodies, checkpoints } = await readChain(store);
  const state = head === null ? null : checkHead(head, publicKey);
  // The log's name is its entry 1's hash; with every entry gone, the signed head still names it.
  const first = entries[0] as { hash?: unknown } | undefined;
  const log = typeof first?.hash === "string"
    ? first.hash
    : state?.kind === "signed" && entries.length === 0
    ? state.head.log
    : null;
  const notes: string[] = [];
  let witnessed: Witnessed | null = null;
  let summary: WitnessSummary | undefined;
  if (path !== undefined) {
    const parsed = parseWitness(text ?? "");
    const location = options.storeLocation;
    witnessed = witnessedLog(parsed.lines, log, publicKey, {
      every: true,
      ...(location === undefined ? {} : { store: location }),
    });
    summary = summarise(path, text === null, log, parsed, witnessed, entries.length, notes);
  }
  const done = (report: VerifyReport, bad?: Bad): VerifyReport => ({
    ...report,
    ...(bad ? { ok: false, firstBad: bad } : {}),
    ...(summary ? { witness: summary } : {}),
    ...(notes.length > 0 ? { notes } : {}),
  });
  const counts = { ok: true, entries: entries.length, checkpoints: checkpoints.length };

  // 1. The witness's own lines.
  const badLine = witnessed?.bad;
  if (badLine) {
    const at = badLine.line ?? 0;
    return done(counts, {
      seq: badLine.size,
      position: at,
      code: badLine.code,
      reason: `${lineLabel(badLine)}: ${badLine.reason}`,
      witnessLine: at,
    });
  }

  if (head === null || state === null) {
    const [any] = await Array.fromAsync(store.list({ prefix: ["audit"] }, { limit: 1 }));
    const wiped = witnessed && !any ? placeProblem(witnessed, null) : null;
    if (wiped) return done(counts, wiped);
    if (!any) return done(counts);
    const reason = "the chain head record is missing";
    return done(counts, { seq: 1, position: 1, code: "MALFORMED", reason });
  }

  // 2. The chain: stored bodies are the exact bytes that were hashed, hashed as they are.
  const chain = checkChain(entries, checkpoints, publicKey, (e, i) => {
    const body = bodies[i];
    return body == null ? "" : hashBody(e.prevHash, body);
  });
  if (!chain.ok) return done(chain);

  // 3. The store against the witness.
  const lastHash = entries.at(-1)?.hash ?? GENESIS_HASH;
  const endSigned = state.kind === "signed" && state.head.log === log &&
    state.head.seq === entries.length && state.head.hash === lastHash;
  if (witnessed) {
    const bad = placeProblem(witnessed, log) ?? reconcile(witnessed, {
      entries: entries.length,
      hashAt: (seq) => entries[seq - 1]?.hash,
      endSigned,
      name: "the store",
    });
    if (bad) return done(chain, bad);
  }

  // 4. The head record.
  const missing = entries.length + 1;
  const claimed = state.kind === "signed"
    ? state.head.seq
    : state.kind === "legacy"
    ? state.seq
    : 0;
  const headBad = (code: Bad["code"], reason: string) =>
    done(chain, { seq: claimed, position: claimed, code, reason });
  if (state.kind === "bad") return headBad(state.code, state.reason);
  if (state.kind === "legacy") {
    if (witnessed?.newest) {
      return headBad(
        "BAD_HEAD",
        `the head record (seq ${state.seq}) is unsigned, but this log is witnessed ` +
          `(${lineLabel(witnessed.newest)}): the head was rewritten`,
      );
    }
    notes.push(
      "the head record is unsigned (written before heads were signed); the next command that " +
        "opens the log verifies the chain and signs it",
    );
  } else if (state.head.log !== log) {
    return headBad("BAD_HEAD", `the head names log ${state.head.log} but entry 1 hashes to ${log}`);
  }
  const named = state.kind === "signed" ? state.head : state;
  if (entries.length !== named.seq || lastHash !== named.hash) {
    return done(chain, {
      seq: missing,
      position: missing,
      code: "TRUNCATED",
      reason: `the head record names seq ${named.seq} but the chain ends at seq ${entries.length}`,
    });
  }
  return done(chain);
}

function summarise(
  path: string,
  missing: boolean,
  log: string | null,
  parsed: ReturnType<typeof parseWitness>,
  w: Witnessed,
  entries: number,
  notes: string[],
): WitnessSummary {
  const status = missing ? "missing" : w.newest || log === null ? "ok" : "unwitnessed";
  if (status !== "ok" && entries > 0) {
    notes.push(
      `the witness ${path} ${missing ? "does not exist" : "holds no checkpoint of this log"} ` +
        "(first run, or the witness was deleted or replaced): truncation and rollback cannot be " +
        "detected until the next command that opens the log witnesses its latest checkpoint",
    );
  }
  const others = [...w.otherLogs].sort((a, b) => b[1].size - a[1].size);
  if (others.length > 0) {
    const [name, top] = others[0]!;
    notes.push(
      `the witness also holds ${others.length} other log(s) signed by this key (the largest: ` +
        `log ${name.slice(0, 16)}… at size ${top.size}, ${lineLabel(top)}); if one of them was ` +
        "this store's log, the store was replaced or wiped",
    );
  }
  if (parsed.unreadable.length > 0) {
    notes.push(
      `witness lines ${parsed.unreadable.join(", ")} are not JSON (torn writes?) and were ignored`,
    );
  }
  return {
    path,
    status,
    log,
    lines: parsed.lines.length + parsed.unreadable.length,
    ...(w.newest ? { size: w.newest.size, line: w.newest.line ?? 0 } : {}),
    ...(others.length > 0
      ? { otherLogs: Object.fromEntries(others.map(([k, v]) => [k, v.size])) }
      : {}),
    ...(parsed.unreadable.length > 0 ? { unreadable: parsed.unreadable } : {}),
  };
}
