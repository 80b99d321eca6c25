/**
 * The audit witness: an append-only JSON Lines file outside `state.kv` that receives every
 * signed checkpoint right after the KV commit that stores it. Whoever can write `state.kv`
 * (but not the witness) can then no longer truncate the log or copy back an older store unseen:
 * `AuditLog.open` refuses a store that is behind, or disagrees with, the witness's newest
 * checkpoint of its log, and `verifyStore` reconciles the whole store against every witnessed
 * checkpoint.
 *
 * One line per checkpoint, written with one `write()` on an `O_APPEND` descriptor and fsync'd
 * (file 0600, folder created 0700):
 * ```
 * {"v":1,"log":"<hex>","store":"<location>","size":N,"head":"<hex>","ts":T,"key":"<hex>","sig":"…"}
 * sig = Ed25519(ACE-1("audit-witness", { v, log, store, size, head, ts, key }))
 * ```
 * `store` is where the log lives (the KV path or URL, "" when not given), so that the witness
 * also remembers which log it last saw *at that place*: a store that was deleted (an empty
 * store where a log was witnessed) or replaced by another log is recognised there.
 * This follows C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): a signed statement naming the
 * log (`log`, its "origin": the hash of the log's entry 1, so one file can serve several
 * stores), its size and the hash that commits to its first `size` entries (here the chain hash
 * of entry `size`, in place of a Merkle root). It follows C2SP tlog-witness
 * (c2sp.org/tlog-witness) in what the witness guarantees: for each log, the newest checkpoint
 * it holds never goes backwards (readers take the largest valid size, so lines appended out of
 * order by concurrent processes are harmless), and a log is consistent with the witness when
 * the entry at every witnessed size still has the witnessed hash (the hash chain plays the role
 * of the consistency proof). A line whose signature or key does not check is reported with its
 * line number and never trusted.
 *
 * The witness is as strong as its file's protection: keep it where an agent cannot write (the
 * runtime hides it from every sandbox), ideally on another mount or with `chattr +a`. Deleting
 * it does not block the user: the next open witnesses the store's latest verified checkpoint
 * again (trust on first use, as a witness accepts the first checkpoint of a new origin), and
 * `astrid audit verify` warns while a log is unwitnessed.
 *
 * What it cannot see: unlike a C2SP witness, this one is a file in the log's own trust domain
 * (the runtime key signs both), not an independent cosigner. A store rolled back *and* its
 * witness deleted at once looks like a first run; and the entries after the newest witnessed
 * checkpoint (at most `checkpointEvery` entries or `checkpointSeconds` of them) can still be cut
 * by copying back a head record that was validly signed earlier.
 *
 * @module
 */
import { dirname } from "../config/path.ts";
import {
  canonicalBytes,
  fromBase64Url,
  type Signer,
  toBase64Url,
  toHex,
  verify,
} from "../crypto/mod.ts";
import { isHex64 } from "./_chain.ts";
import type { Checkpoint, CheckpointProblem } from "./checkpoint.ts";

/** One witnessed checkpoint: "log `log`'s first `size` entries end in hash `head`". */
export interface WitnessLine {
  /** Format version, always 1. */
  v: 1;
  /** The log's name: the hash of its entry 1. */
  log: string;
  /** Where the log is stored (a KV path or URL; "" when unknown). */
  store: string;
  /** Number of entries covered. */
  size: number;
  /** The hash of entry `size`. */
  head: string;
  /** The checkpoint's time (ms since the epoch). */
  ts: number;
  /** Hex Ed25519 public key of the signer. */
  key: string;
  /** base64url Ed25519 signature over `ACE-1("audit-witness", {v,log,store,size,head,ts,key})`. */
  sig: string;
}

const FIELDS = ["v", "log", "store", "size", "head", "ts", "key", "sig"];
const MAX_STORE = 4096;
const encoder = new TextEncoder();

/**
 * Returns the bytes a witness line's signature covers.
 *
 * @example The signed bytes carry the domain
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { witnessLineBytes } from "./witness.ts";
 * const z = "0".repeat(64);
 * const bytes = witnessLineBytes({ v: 1, log: z, store: "", size: 1, head: z, ts: 0, key: z });
 * ok(new TextDecoder().decode(bytes).startsWith("astrid-ace/1/audit-witness\n"));
 * ```
 */
export function witnessLineBytes(body: Omit<WitnessLine, "sig">): Uint8Array {
  return canonicalBytes("audit-witness", {
    v: body.v,
    log: body.log,
    store: body.store,
    size: body.size,
    head: body.head,
    ts: body.ts,
    key: body.key,
  });
}

/**
 * Signs the witness line of checkpoint `cp` of log `log`, stored at `store`.
 *
 * @example Sign and check
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { signCheckpoint } from "./checkpoint.ts";
 * import { signWitnessLine, verifyWitnessLine } from "./witness.ts";
 * const signer = signerFromSeed(generateSeed());
 * const cp = await signCheckpoint(signer, 3, "ab".repeat(32), 0);
 * const line = await signWitnessLine(signer, "cd".repeat(32), cp);
 * equal(verifyWitnessLine(line, signer.publicKey), null);
 * ```
 */
export async function signWitnessLine(
  signer: Signer,
  log: string,
  cp: Checkpoint,
  store = "",
): Promise<WitnessLine> {
  if (!isHex64(log)) {
    throw new TypeError(
      `Cannot witness a checkpoint: log must be 64 hex digits, current value is ${log}`,
    );
  }
  if (store.length > MAX_STORE) {
    throw new RangeError(
      `Cannot witness a checkpoint: the store location has ${store.length} characters, more than ${MAX_STORE}`,
    );
  }
  const body = {
    v: 1 as const,
    log,
    store,
    size: cp.size,
    head: cp.head,
    ts: cp.ts,
    key: toHex(signer.publicKey),
  };
  return { ...body, sig: toBase64Url(await signer.signAsync(witnessLineBytes(body))) };
}

/**
 * Checks a parsed witness line in a fixed order (shape, key, signature); null when it is valid
 * for `trustedKey`. Never throws.
 *
 * @example A line signed by another key
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { signCheckpoint } from "./checkpoint.ts";
 * import { signWitnessLine, verifyWitnessLine } from "./witness.ts";
 * const other = signerFromSeed(generateSeed());
 * const cp = await signCheckpoint(other, 1, "ab".repeat(32), 0);
 * const line = await signWitnessLine(other, "cd".repeat(32), cp);
 * equal(verifyWitnessLine(line, signerFromSeed(generateSeed()).publicKey)?.code, "WRONG_KEY");
 * ```
 */
export function verifyWitnessLine(
  value: unknown,
  trustedKey: Uint8Array,
): CheckpointProblem | null {
  const shape = witnessShapeProblem(value);
  if (shape) return { code: "MALFORMED", reason: shape };
  const w = value as WitnessLine;
  const expected = toHex(trustedKey);
  if (w.key !== expected) {
    return {
      code: "WRONG_KEY",
      reason:
        `the witnessed checkpoint ${w.size} is signed by key ${w.key}, not the trusted key ${expected}`,
    };
  }
  let sig: Uint8Array | null = null;
  try {
    sig = fromBase64Url(w.sig);
  } catch { /* reported below */ }
  if (!sig || !verify(trustedKey, witnessLineBytes(w), sig)) {
    return {
      code: "BAD_CHECKPOINT",
      reason: `the witnessed checkpoint ${w.size} signature does not verify`,
    };
  }
  return null;
}

/** Returns why `value` is not a well-formed witness line, or null. */
function witnessShapeProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "the witness line is not an object";
  }
  const w = value as Record<string, unknown>;
  if (w.v !== 1) return `the witness line v must be 1, current value is ${JSON.stringify(w.v)}`;
  if (!isHex64(w.log)) return "the witness line log is not 64 lowercase hex digits";
  if (typeof w.store !== "string" || w.store.length > MAX_STORE) {
    return "the witness line store is not a string of at most 4096 characters";
  }
  if (!Number.isSafeInteger(w.size) || (w.size as number) < 1) {
    return `the witness line size must be a positive integer, current value is ${
      JSON.stringify(w.size)
    }`;
  }
  if (!isHex64(w.head)) return "the witness line head is not 64 lowercase hex digits";
  if (typeof w.ts !== "number" || !Number.isFinite(w.ts)) {
    return "the witness line ts is not finite";
  }
  if (!isHex64(w.key)) return "the witness line key is not 64 lowercase hex digits";
  if (typeof w.sig !== "string") return "the witness line sig is not a string";
  const extra = Object.keys(w).find((k) => !FIELDS.includes(k));
  return extra === undefined ? null : `the witness line has unknown field ${extra}`;
}

/**
 * Appends `lines` to the witness at `path`: the folder is created 0700 when missing, the file
 * 0600; one `write()` per line on an `O_APPEND` descriptor (so concurrent writers never split a
 * line), then one fsync before returning.
 *
 * @example Append and read back
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { signCheckpoint } from "./checkpoint.ts";
 * import { appendWitness, parseWitness, signWitnessLine } from "./witness.ts";
 * const signer = signerFromSeed(generateSeed());
 * const path = `${await Deno.makeTempDir()}/w/witness.jsonl`;
 * const cp = await signCheckpoint(signer, 4, "ab".repeat(32), 0);
 * await appendWitness(path, [await signWitnessLine(signer, "cd".repeat(32), cp)]);
 * equal(parseWitness(await Deno.readTextFile(path)).lines.length, 1);
 * equal((await Deno.stat(path)).mode! & 0o777, 0o600);
 * ```
 */
export async function appendWitness(path: string, lines: readonly WitnessLine[]): Promise<void> {
  if (lines.length === 0) return;
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const file = await Deno.open(path, { append: true, create: true, mode: 0o600 });
  try {
    for (const line of lines) {
      let bytes = encoder.encode(JSON.stringify(line) + "\n");
      while (bytes.length > 0) bytes = bytes.subarray(await file.write(bytes));
    }
    await file.sync();
  } finally {
    file.close();
  }
}

/** A witness file's text split into lines (see {@link parseWitness}). */
export interface ParsedWitness {
  /** Every line that parses as JSON, with its 1-based line number. */
  lines: { line: number; value: unknown }[];
  /** Line numbers that are not JSON (a torn write after a power loss, or junk). */
  unreadable: number[];
  /** True when the text ends in a line without its newline (being written, or torn). */
  partialTail: boolean;
}

/**
 * Splits a witness file's text into parsed lines. Never throws: unreadable lines are listed,
 * and a last line without its newline is left out (a writer may be in the middle of it).
 *
 * @example Junk is listed, not fatal
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { parseWitness } from "./witness.ts";
 * const parsed = parseWitness('{"v":1}\n{nope\n{"v":');
 * deepEqual([parsed.lines.length, parsed.unreadable, parsed.partialTail], [1, [2], true]);
 * ```
 */
export function parseWitness(text: string): ParsedWitness {
  const out: ParsedWitness = { lines: [], unreadable: [], partialTail: false };
  let start = 0;
  for (let n = 1; start < text.length; n++) {
    const end = text.indexOf("\n", start);
    if (end < 0) {
      out.partialTail = true;
      break;
    }
    const raw = text.slice(start, end);
    try {
      out.lines.push({ line: n, value: JSON.parse(raw) });
    } catch {
      if (raw.trim() !== "") out.unreadable.push(n);
    }
    start = end + 1;
  }
  return out;
}
