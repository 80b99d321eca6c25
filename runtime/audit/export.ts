/**
 * Audit export: JSON Lines that can be verified offline.
 *
 * ```
 * {"type":"header","format":"astrid-audit-export","v":1,"publicKey":"<hex>","fingerprint":"b3:…"}
 * {"type":"entry", …every AuditEntry field…}        one per entry, in seq order
 * {"type":"checkpoint", …every Checkpoint field…}   one per checkpoint, in size order
 * ```
 * Each line is one JSON object followed by `\n`. Entry and checkpoint values are exactly the
 * stored records plus `type`; their hashes and signatures are over ACE-1 (RFC 8785) encodings,
 * so re-serialising the JSON does not change them. The header's key is what the export claims;
 * a verifier should compare it with a key it trusts (`verifyExport`'s `trustedKey`). An export
 * can also be checked against a witness file (witness.ts): the format is unchanged, so every
 * earlier export still verifies.
 *
 * @module
 */
import { fingerprint, fromHex, toHex } from "../crypto/mod.ts";
import type { Store } from "../storage/mod.ts";
import { entryShapeProblem, isHex64 } from "./_chain.ts";
import { type Checkpoint, checkpointShapeProblem } from "./checkpoint.ts";
import type { AuditEntry } from "./types.ts";
import { readChain } from "./_read.ts";
import { verifyChain, type VerifyReport } from "./verify.ts";
import { lineLabel, reconcile, witnessedLog } from "./_witnessed.ts";
import { parseWitness } from "./witness.ts";

/** Options of {@link verifyExport}. */
export interface VerifyExportOptions {
  /** The text of a witness file to reconcile the export with (see witness.ts). */
  witness?: string;
  /** The witness's path, for the report. */
  witnessPath?: string;
}

/** The `format` value of an export header. */
export const EXPORT_FORMAT = "astrid-audit-export";

/**
 * Writes the export of `store` to `out`: a byte stream (closed when done, aborted on failure,
 * as `pipeTo` does) or a callback that receives each line without its newline.
 *
 * @example Export to lines
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { openStore } from "../storage/mod.ts";
 * import { AuditLog, writeExport } from "./mod.ts";
 * using store = await openStore(":memory:");
 * const signer = signerFromSeed(generateSeed());
 * const log = await AuditLog.open(store, signer);
 * await log.endSession("a");
 * await log.close();
 * const lines: string[] = [];
 * deepEqual(await writeExport(store, signer.publicKey, (l) => void lines.push(l)), { entries: 1, checkpoints: 1 });
 * deepEqual(lines.map((l) => JSON.parse(l).type), ["header", "entry", "checkpoint"]);
 * ```
 */
export async function writeExport(
  store: Store,
  publicKey: Uint8Array,
  out: WritableStream<Uint8Array> | ((line: string) => void | Promise<void>),
): Promise<{ entries: number; checkpoints: number }> {
  const { entries, checkpoints } = await readChain(store);
  const encoder = new TextEncoder();
  const writer = typeof out === "function" ? null : out.getWriter();
  const emit = async (value: object) => {
    const line = JSON.stringify(value);
    if (writer) await writer.write(encoder.encode(line + "\n"));
    else await (out as (line: string) => void | Promise<void>)(line);
  };
  let done = false;
  try {
    await emit({
      type: "header",
      format: EXPORT_FORMAT,
      v: 1,
      publicKey: toHex(publicKey),
      fingerprint: fingerprint(publicKey),
    });
    for (const e of entries) await emit({ type: "entry", ...e });
    for (const c of checkpoints) await emit({ type: "checkpoint", ...c });
    done = true;
  } finally {
    // Like pipeTo(): close on success (some sinks, such as Deno file streams, only flush on
    // close), abort on failure.
    if (writer) await (done ? writer.close() : writer.abort());
  }
  return { entries: entries.length, checkpoints: checkpoints.length };
}

/**
 * Parses an export. Throws `SyntaxError` naming the line for anything malformed: bad JSON, a
 * missing or wrong header, a record of unknown type, a bad field, or an entry after a checkpoint.
 *
 * @example Reject a bad line
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { parseExport } from "./export.ts";
 * throws(() => parseExport("{nope"), /line 1/);
 * ```
 */
export function parseExport(
  text: string,
): { publicKey: Uint8Array; entries: AuditEntry[]; checkpoints: Checkpoint[] } {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const entries: AuditEntry[] = [];
  const checkpoints: Checkpoint[] = [];
  let publicKey: Uint8Array | null = null;
  lines.forEach((raw, i) => {
    const n = i + 1;
    const fail = (why: string): never => {
      throw new SyntaxError(`Cannot parse the audit export: line ${n} ${why}`);
    };
    let value: unknown;
    try {
      value = JSON.parse(raw.endsWith("\r") ? raw.slice(0, -1) : raw);
    } catch (err) {
      fail(`is not JSON (${(err as Error).message})`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      fail("is not a JSON object");
    }
    const { type, ...rest } = value as Record<string, unknown>;
    if (n === 1) {
      if (type !== "header") fail(`must be the header, current type is ${JSON.stringify(type)}`);
      if (rest.format !== EXPORT_FORMAT || rest.v !== 1) {
        fail(`is not an ${EXPORT_FORMAT} v1 header`);
      }
      if (!isHex64(rest.publicKey)) fail("has a publicKey that is not 64 lowercase hex digits");
      publicKey = fromHex(rest.publicKey as string);
      if (rest.fingerprint !== fingerprint(publicKey)) {
        fail("has a fingerprint that does not match its key");
      }
      return;
    }
    if (type === "entry") {
      if (checkpoints.length > 0) fail("is an entry after a checkpoint");
      const problem = entryShapeProblem(rest);
      if (problem) fail(`is a malformed entry: ${problem}`);
      entries.push(rest as unknown as AuditEntry);
    } else if (type === "checkpoint") {
      const problem = checkpointShapeProblem(rest);
      if (problem) fail(`is a malformed checkpoint: ${problem}`);
      checkpoints.push(rest as unknown as Checkpoint);
    } else {
      fail(`has unknown type ${JSON.stringify(type)}`);
    }
  });
  if (!publicKey) throw new SyntaxError("Cannot parse the audit export: it is empty");
  return { publicKey, entries, checkpoints };
}

/**
 * Parses and verifies an export. With `trustedKey`, a header key other than it is `WRONG_KEY`;
 * without it, the header's own key is trusted (only internal consistency is then proven).
 * Parse failures become a `MALFORMED` report whose `position` is the line number. With
 * `options.witness`, the export must also agree with every witnessed checkpoint of its log and
 * reach the newest one (`TRUNCATED` otherwise: an export has no signed head, so a cut export
 * and one made before the witness's newest checkpoint look the same; verify an export against
 * the witness as it was when the export was made).
 *
 * @example Malformed input is a report, not an exception
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { verifyExport } from "./export.ts";
 * deepEqual(verifyExport("[]\n").firstBad?.code, "MALFORMED");
 * ```
 */
export function verifyExport(
  text: string,
  trustedKey?: Uint8Array,
  options: VerifyExportOptions = {},
): VerifyReport {
  let parsed: ReturnType<typeof parseExport>;
  try {
    parsed = parseExport(text);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    const line = Number(/line (\d+)/.exec(err.message)?.[1] ?? 0);
    return {
      ok: false,
      entries: 0,
      checkpoints: 0,
      firstBad: { seq: 0, position: line, code: "MALFORMED", reason: err.message },
    };
  }
  const { publicKey, entries, checkpoints } = parsed;
  if (trustedKey && toHex(trustedKey) !== toHex(publicKey)) {
    return {
      ok: false,
      entries: entries.length,
      checkpoints: checkpoints.length,
      firstBad: {
        seq: 0,
        position: 1,
        code: "WRONG_KEY",
        reason: `the export is signed by ${toHex(publicKey)}, not the trusted key ${
          toHex(trustedKey)
        }`,
      },
    };
  }
  const report = verifyChain(entries, checkpoints, publicKey);
  if (!report.ok || options.witness === undefined) return report;
  const lines = parseWitness(options.witness);
  const log = entries[0]?.hash ?? null;
  const w = witnessedLog(lines.lines, log, publicKey, { every: true });
  const witness = {
    path: options.witnessPath ?? "",
    status: w.newest || log === null ? "ok" as const : "unwitnessed" as const,
    log,
    lines: lines.lines.length + lines.unreadable.length,
    ...(w.newest ? { size: w.newest.size, line: w.newest.line ?? 0 } : {}),
  };
  if (w.bad) {
    const line = w.bad.line ?? 0;
    const reason = `${lineLabel(w.bad)}: ${w.bad.reason}`;
    const firstBad = {
      seq: w.bad.size,
      position: line,
      code: w.bad.code,
      reason,
      witnessLine: line,
    };
    return { ...report, ok: false, firstBad, witness };
  }
  const bad = reconcile(w, {
    entries: entries.length,
    hashAt: (seq) => entries[seq - 1]?.hash,
    endSigned: false,
    name: "the export",
  });
  if (!bad) return { ...report, witness };
  if (bad.code === "TRUNCATED") bad.reason += " (or the export predates that checkpoint)";
  return { ...report, ok: false, firstBad: bad, witness };
}
