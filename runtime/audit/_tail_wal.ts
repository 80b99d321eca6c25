/**
 * The audit tail: one write-ahead file, `tail.wal` in the journal folder, shared by every
 * process that appends to the same store. It lets `AuditLog.append` acknowledge an entry once
 * its chained form is written there (a `write()`, no fsync), and commit it to KV afterwards in a
 * group commit. Not re-exported.
 *
 * File format (JSON lines):
 * ```
 * {"astrid-audit-tail":1,"seq":N,"hash":H}   the committed head when the file was last emptied
 * {"s":seq,"h":hash,"e":{…}}                 an acknowledged entry: its body (`StoredEntry`), as is
 * ```
 *
 * Protocol: a process appends to the tail only while it holds the file's exclusive lock
 * (`flock`), and keeps it until every entry it wrote is committed and the file is emptied again
 * (truncated, a header with the new head written). The kernel drops the lock when a process
 * dies, however it dies, so whoever takes the lock next finds the entries a dead holder
 * acknowledged and commits them first. Holding the lock is also what makes an early seq
 * trustworthy: no other cooperating writer can take that seq meanwhile. A header equal to the
 * taker's own head (and nothing after it) proves nobody committed since, so no KV read is needed.
 *
 * @module
 */
import { join } from "../config/path.ts";
import { canonicalJson } from "../crypto/mod.ts";
import { decodeStored, entryShapeProblem } from "./_chain.ts";
import type { AuditEntry, AuditInput } from "./types.ts";

const HEADER = "astrid-audit-tail";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One acknowledged entry in the tail file. */
export interface TailRecord {
  /** The seq it was acknowledged with. */
  s: number;
  /** Its hash. */
  h: string;
  /** Its canonical body (see `StoredEntry`). */
  b: string;
}

/** What the tail file held when its lock was taken. */
export interface TailState {
  /** The head in the header (null when the header is missing or malformed). */
  head: { seq: number; hash: string } | null;
  /** Entries written after the header: acknowledged by a holder that did not empty the file. */
  records: TailRecord[];
  /** Lines that did not parse (a torn last line was never acknowledged). */
  bad: string[];
}

/** The shared tail file of one journal folder. */
export class AuditTail {
  /** The file. */
  readonly path: string;
  #file: Deno.FsFile;
  #held = false;
  #closed = false;

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
  }

  /**
   * Opens (creating when missing, 0600) `tail.wal` in `dir`. Returns null where files cannot be
   * locked: without a lock the protocol cannot hold.
   */
  static open(dir: string): AuditTail | null {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, "tail.wal");
    let kind: string | null = null;
    try {
      const info = Deno.lstatSync(path);
      if (!info.isFile) kind = info.isSymlink ? "a symlink" : "not a regular file";
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    if (kind) throw new Error(`Cannot open the audit tail: current value of ${path} is ${kind}`);
    const file = openTail(path);
    try {
      if (file.tryLockSync(true)) file.unlockSync(); // either way, locks work here
      return new AuditTail(path, file);
    } catch {
      file.close();
      return null;
    }
  }

  /** True while this process holds the lock. */
  get held(): boolean {
    return this.#held;
  }

  /** Takes the lock without waiting and reads the file; null when another holder has it. */
  tryTake(): TailState | null {
    if (this.#closed) throw new Error("Cannot take the audit tail: it is closed");
    while (!this.#held) {
      if (!this.#file.tryLockSync(true)) return null;
      // The last process to close an idle tail deletes it, under the lock: a lock on a file no
      // longer at the path excludes nobody, so open the path again and retry.
      if (this.#isAtPath()) {
        this.#held = true;
      } else {
        this.#file.close();
        this.#file = openTail(this.path);
      }
    }
    return this.#read();
  }

  /** Takes the lock, waiting (with backoff) while another process holds it, and reads the file. */
  async take(): Promise<TailState> {
    for (let attempt = 0;; attempt++) {
      const state = this.tryTake();
      if (state) return state;
      await new Promise((r) => setTimeout(r, Math.min(20, 1 + attempt)));
    }
  }

  /** Writes entries in one write. Throws when it fails (then none of them is acknowledged). */
  write(records: readonly TailRecord[]): void {
    if (!this.#held) throw new Error("Cannot write to the audit tail: its lock is not held");
    let text = "";
    // The body is canonical JSON already: embedded as it is, no escaping (see parseTail).
    for (const r of records) text += `{"s":${r.s},"h":"${r.h}","e":${r.b}}\n`;
    this.#writeAll(encoder.encode(text));
  }

  /** Empties the file down to a header naming the committed head `seq`/`hash`, then unlocks it. */
  release(seq: number, hash: string): void {
    if (!this.#held) return;
    try {
      this.#file.truncateSync(0);
      this.#file.seekSync(0, Deno.SeekMode.Start);
      this.#writeAll(encoder.encode(JSON.stringify({ [HEADER]: 1, seq, hash }) + "\n"));
    } finally {
      this.unlock();
    }
  }

  /** Appends lines that could not be trusted to `tail.wal.unreadable` (0600), as evidence. */
  keepAside(lines: readonly string[]): void {
    Deno.writeTextFileSync(`${this.path}.unreadable`, lines.join("\n") + "\n", {
      append: true,
      mode: 0o600,
    });
  }

  /** Unlocks without emptying (what is in the file stays for the next holder to commit). */
  unlock(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#file.unlockSync();
  }

  /**
   * Closes the file (unlocking it). When no other process holds the tail and it holds nothing
   * but its header, the file is deleted first (under the lock), so an idle store leaves none.
   */
  close(): void {
    if (this.#closed) return;
    try {
      const state = this.tryTake();
      if (state && state.records.length === 0 && state.bad.length === 0) Deno.removeSync(this.path);
    } catch {
      // Left in place: the next holder finds it as it is.
    }
    this.unlock();
    this.#closed = true;
    this.#file.close();
  }

  #isAtPath(): boolean {
    try {
      const here = Deno.lstatSync(this.path);
      const mine = this.#file.statSync();
      return here.isFile && here.ino === mine.ino && here.dev === mine.dev;
    } catch {
      return false; // deleted meanwhile
    }
  }

  #writeAll(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += this.#file.writeSync(bytes.subarray(done));
  }

  #read(): TailState {
    const size = this.#file.statSync().size;
    const buf = new Uint8Array(size);
    this.#file.seekSync(0, Deno.SeekMode.Start);
    let got = 0;
    while (got < size) {
      const n = this.#file.readSync(buf.subarray(got));
      if (n === null || n === 0) break;
      got += n;
    }
    this.#file.seekSync(0, Deno.SeekMode.End);
    return parseTail(decoder.decode(buf.subarray(0, got)));
  }
}

function openTail(path: string): Deno.FsFile {
  const file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });
  if (!file.statSync().isFile) {
    file.close();
    throw new Error(`Cannot open the audit tail: ${path} is not a regular file`);
  }
  return file;
}

/** Parses a tail file's text; never throws. Exported for tests. */
export function parseTail(text: string): TailState {
  const state: TailState = { head: null, records: [], bad: [] };
  let first = true;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let v: Record<string, unknown> | null = null;
    try {
      v = JSON.parse(line);
    } catch {
      v = null;
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      state.bad.push(line);
    } else if (first && v[HEADER] === 1) {
      if (Number.isSafeInteger(v.seq) && (v.seq as number) >= 0 && typeof v.hash === "string") {
        state.head = { seq: v.seq as number, hash: v.hash };
      }
    } else if (
      Number.isSafeInteger(v.s) && typeof v.h === "string" && typeof v.e === "object" &&
      v.e !== null
    ) {
      // Canonical JSON parsed and encoded again is the same text (RFC 8785), so this is the
      // body that was hashed; anything that does not encode is not trusted.
      let b: string | null = null;
      try {
        b = canonicalJson(v.e);
      } catch {
        b = null;
      }
      if (b === null) state.bad.push(line);
      else state.records.push({ s: v.s as number, h: v.h, b });
    } else {
      state.bad.push(line);
    }
    first = false;
  }
  return state;
}

function fingerprint(e: AuditEntry): string {
  const { ts, sessionId, action, decision, proof, outcome } = e;
  return canonicalJson({ ts, sessionId, action, decision, proof, outcome });
}

/**
 * The records of a dead holder that are not in `committed` (the entries from the tail's header
 * on), in order, as inputs to chain again. A record counts as committed when an entry with the
 * same content is there (counted, so identical records are told apart); records that do not
 * decode into a well-formed entry are counted as unreadable, not trusted.
 */
export function uncommitted(
  records: readonly TailRecord[],
  committed: readonly AuditEntry[],
): { missing: AuditInput[]; unreadable: TailRecord[] } {
  const counts = new Map<string, number>();
  for (const e of committed) {
    const key = fingerprint(e);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const missing: AuditInput[] = [];
  const unreadable: TailRecord[] = [];
  for (const r of records) {
    const { entry, body } = decodeStored({ hash: r.h, body: r.b });
    if (body === null || entryShapeProblem(entry) !== null) {
      unreadable.push(r);
      continue;
    }
    const key = fingerprint(entry);
    const left = counts.get(key) ?? 0;
    if (left > 0) {
      counts.set(key, left - 1);
      continue;
    }
    const { ts, sessionId, action, decision, proof, outcome } = entry;
    missing.push({ ts, sessionId, action, decision, proof, outcome });
  }
  return { missing, unreadable };
}
