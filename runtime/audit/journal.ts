/**
 * The audit journal: a write-ahead file for entries that wait in a batch instead of being
 * committed one by one. A batched entry whose action has an effect (a capsule writing into the
 * workspace) is written here, synchronously, before the effect runs; the batch's group commit
 * later puts it in the chain. If the process dies in between (a crash, SIGKILL), the next
 * process that opens the log finds the orphaned journal and appends what it holds, so no effect
 * goes unrecorded. A `write()` to a file survives the death of the process without an fsync;
 * only a power loss before the next group commit can lose it (the same promise as SQLite's
 * `synchronous=NORMAL`).
 *
 * One file per process and log: `<pid>-<random>.jsonl` in the journal folder (0700, files
 * 0600), held under an exclusive lock (`flock`) for as long as its process runs; the kernel
 * drops the lock when the process ends, however it ends. So a file whose lock can be taken is
 * an orphan, without reading `/proc` (which Deno refuses to a process without `--allow-all`).
 * Recovery takes the lock, claims the file by renaming it (one recoverer wins; a recoverer that
 * dies mid-way drops the lock, and the next one finishes), skips records the owner had already
 * committed (counted among the entries after the `baseSeq` in the file's header), appends the
 * rest in order, then one `audit_journal_recovered` event, and deletes the file.
 *
 * @module
 */
import { join } from "../config/path.ts";
import { canonicalJson } from "../crypto/mod.ts";
import type { AuditEntry, AuditInput } from "./types.ts";

const HEADER = "astrid-audit-journal";
const encoder = new TextEncoder();

/** Why a journaled action has no outcome: the process ended first. */
export const INTERRUPTED_OUTCOME = {
  ok: false,
  detail: "interrupted: the process ended before the outcome was recorded",
} as const;

/**
 * The write-ahead journal of one process's audit log. Obtain it from `AuditLog.journal`.
 *
 * @example Records wait in the file until released
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { AuditJournal } from "./journal.ts";
 * const journal = AuditJournal.open(await Deno.makeTempDir(), () => 0);
 * if (journal) {
 *   const id = journal.record({
 *     sessionId: "s", decision: "allowed", proof: "rule:x", ts: 1,
 *     action: { kind: "capsule_file_access", resource: "capsule://n/fs_write", summary: "w" },
 *   });
 *   journal.outcome(id, { ok: true });
 *   equal(journal.outstanding, 1);
 *   journal.release(1);
 *   equal(Deno.statSync(journal.path).size > 0, true); // only the header is left
 *   journal.close();
 * }
 * ```
 */
export class AuditJournal {
  /** The journal file. */
  readonly path: string;
  readonly #dir: string;
  /** Null until the first record when deferred (see {@link AuditJournal.deferred}). */
  #file: Deno.FsFile | null;
  readonly #headSeq: () => number;
  readonly #pid: number;
  #next = 1;
  #outstanding = 0;
  #closed = false;

  private constructor(dir: string, path: string, file: Deno.FsFile | null, headSeq: () => number) {
    this.#dir = dir;
    this.path = path;
    this.#file = file;
    this.#headSeq = headSeq;
    this.#pid = Deno.pid;
    if (file) this.#header();
  }

  /**
   * Creates this process's journal file in `dir` (made 0700 when missing) and locks it for the
   * life of the process. `headSeq` reports the log's committed head. Returns null where files
   * cannot be locked: an orphan could not be told from a live journal there.
   */
  static open(dir: string, headSeq: () => number): AuditJournal | null {
    const path = join(dir, journalName());
    const file = createLocked(dir, path);
    return file ? new AuditJournal(dir, path, file, headSeq) : null;
  }

  /**
   * Like {@link AuditJournal.open}, for a folder where file locks are known to work (the audit
   * tail's, _tail_wal.ts), but the file is created and locked at the first record: a process
   * that journals nothing (most commands) creates and deletes no file. Its header then names the
   * head committed at that moment, which recovery counts from as it would from an earlier one.
   * The first {@link AuditJournal.record} throws when the file cannot be created or locked.
   *
   * @example No file until the first record
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { AuditJournal } from "./journal.ts";
   * const journal = AuditJournal.deferred(await Deno.makeTempDir(), () => 0);
   * equal(await Deno.stat(journal.path).catch(() => null), null);
   * journal.record({
   *   sessionId: "s", decision: "allowed", proof: "rule:x", ts: 1,
   *   action: { kind: "capsule_file_access", resource: "capsule://n/fs_write", summary: "w" },
   * });
   * equal((await Deno.stat(journal.path)).isFile, true);
   * journal.release(1);
   * journal.close();
   * ```
   */
  static deferred(dir: string, headSeq: () => number): AuditJournal {
    return new AuditJournal(dir, join(dir, journalName()), null, headSeq);
  }

  /** Records written and not yet released. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /**
   * Writes `input` (with its `ts` set) ahead of its effect and returns its record id. Throws
   * when the write fails: the caller must not run the effect.
   */
  record(input: AuditInput): number {
    if (typeof input.ts !== "number") {
      throw new TypeError(
        "Cannot journal an audit entry: ts must be set, current value is undefined",
      );
    }
    const id = this.#next++;
    this.#write({ r: id, i: input });
    this.#outstanding++;
    return id;
  }

  /** Adds the outcome of record `id` (best effort: the batch also holds it in memory). */
  outcome(id: number, outcome: unknown): void {
    try {
      this.#write({ o: id, v: outcome ?? null });
    } catch {
      // The record is already safe; a lost outcome line only matters after a crash.
    }
  }

  /** `count` records are now committed to the chain; once none is left the file is emptied. */
  release(count: number): void {
    this.#outstanding = Math.max(0, this.#outstanding - count);
    if (this.#outstanding > 0 || this.#closed || this.#file === null) return;
    try {
      this.#file.truncateSync(0);
      this.#header();
    } catch {
      // Recovery skips committed records, so a file that could not be emptied stays correct.
    }
  }

  /** Closes the file and deletes it when nothing is outstanding (else the next process recovers it). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#file === null) return; // deferred, and nothing was ever recorded
    this.#file.close();
    if (this.#outstanding === 0) Deno.removeSync(this.path);
  }

  #header(): void {
    const header = { [HEADER]: 1, pid: this.#pid, baseSeq: this.#headSeq() };
    this.#write(header);
  }

  #write(value: unknown): void {
    if (this.#closed) throw new Error("Cannot write to the audit journal: it is closed");
    if (this.#file === null) {
      const file = createLocked(this.#dir, this.path);
      if (!file) {
        throw new Error(`Cannot create the audit journal ${this.path}: its file cannot be locked`);
      }
      this.#file = file;
      this.#header();
    }
    const bytes = encoder.encode(JSON.stringify(value) + "\n");
    let done = 0;
    while (done < bytes.length) done += this.#file.writeSync(bytes.subarray(done));
  }
}

/** A new journal's file name: this process's pid and a random part. */
function journalName(): string {
  return `${Deno.pid}-${crypto.randomUUID().slice(0, 12)}.jsonl`;
}

/**
 * Creates `path` in `dir` (made 0700 when missing), 0600, and locks it; null (the file removed
 * again) where files cannot be locked.
 */
function createLocked(dir: string, path: string): Deno.FsFile | null {
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = Deno.openSync(path, { append: true, createNew: true, mode: 0o600 });
  try {
    if (file.tryLockSync(true)) return file;
  } catch {
    // no file locks here
  }
  file.close();
  Deno.removeSync(path);
  return null;
}

/** What recovering one orphaned journal did (also the detail of its audit event). */
export interface JournalRecovery {
  /** The file, as it was named by its owner. */
  file: string;
  /** The process that wrote it. */
  pid: number | null;
  /** Records appended now. */
  recovered: number;
  /** Records the owner had already committed. */
  alreadyCommitted: number;
  /** Lines that could not be read (kept in `<file>.unreadable`). */
  unreadable: number;
}

/** The parts of the audit log recovery uses. */
export interface RecoveryTarget {
  append(input: AuditInput): Promise<AuditEntry>;
  list(opts: { fromSeq: number }): Promise<AuditEntry[]>;
}

function fingerprint(e: Pick<AuditEntry, "ts" | "sessionId" | "action" | "decision" | "proof">) {
  const { ts, sessionId, action, decision, proof } = e;
  return canonicalJson({ ts, sessionId, action, decision, proof });
}

/** Reads a journal's header and records; lines that do not parse are counted, not trusted. */
function parseJournal(text: string) {
  let baseSeq = 0;
  let pid: number | null = null;
  const records = new Map<number, { input: AuditInput; outcome?: unknown }>();
  const bad: string[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(line);
      if (typeof v !== "object" || v === null) throw new SyntaxError("not an object");
    } catch {
      bad.push(line);
      continue;
    }
    if (v[HEADER] === 1 && Number.isSafeInteger(v.baseSeq)) {
      baseSeq = v.baseSeq as number;
      pid = Number.isSafeInteger(v.pid) ? v.pid as number : null;
    } else if (Number.isSafeInteger(v.r) && typeof v.i === "object" && v.i !== null) {
      records.set(v.r as number, { input: v.i as AuditInput });
    } else if (Number.isSafeInteger(v.o) && records.has(v.o as number)) {
      records.get(v.o as number)!.outcome = v.v;
    } else {
      bad.push(line);
    }
  }
  return { baseSeq, pid, records: [...records.values()], bad };
}

/**
 * Opens `path` and takes its lock, or returns null when a live process holds it (or the file is
 * gone). The caller keeps the handle, and with it the lock, until it is done.
 */
function takeOrphan(path: string): Deno.FsFile | null {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  try {
    if (file.tryLockSync(true)) return file;
  } catch {
    // no locks: treat as held
  }
  file.close();
  return null;
}

/**
 * Appends what orphaned journals in `dir` hold to `log` and deletes them; `own` (this log's
 * journal file) and files of running processes are left alone. Safe to run from several
 * processes at once: a rename claims each file for one of them.
 *
 * @example An empty folder recovers nothing
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { recoverJournals } from "./journal.ts";
 * const log = { append: () => Promise.reject(new Error("unused")), list: () => Promise.resolve([]) };
 * deepEqual(await recoverJournals(await Deno.makeTempDir(), log, null), []);
 * ```
 */
export async function recoverJournals(
  dir: string,
  log: RecoveryTarget,
  own: string | null,
): Promise<JournalRecovery[]> {
  const names: string[] = [];
  try {
    for (const e of Deno.readDirSync(dir)) {
      if (e.isFile && /\.jsonl(\.recovering-[0-9a-f-]+)?$/.test(e.name)) names.push(e.name);
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  const done: JournalRecovery[] = [];
  for (const name of names.sort()) {
    const path = join(dir, name);
    if (path === own) continue;
    using _lock = takeOrphan(path) ?? undefined;
    if (!_lock) continue; // its process still runs (or another recoverer holds it)
    const original = name.replace(/\.recovering-[0-9a-f-]+$/, "");
    const claimed = join(dir, `${original}.recovering-${crypto.randomUUID().slice(0, 12)}`);
    try {
      Deno.renameSync(path, claimed);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue; // another process claimed it first
      throw err;
    }
    done.push(await replay(claimed, original, log));
  }
  return done;
}

async function replay(path: string, file: string, log: RecoveryTarget): Promise<JournalRecovery> {
  const { baseSeq, pid, records, bad } = parseJournal(Deno.readTextFileSync(path));
  // Records committed before the crash are in the chain after baseSeq: count them off, in order.
  const committed = new Map<string, number>();
  if (records.length > 0) {
    for (const e of await log.list({ fromSeq: baseSeq + 1 })) {
      const key = fingerprint(e);
      committed.set(key, (committed.get(key) ?? 0) + 1);
    }
  }
  const missing: AuditInput[] = [];
  for (const { input, outcome } of records) {
    const key = fingerprint(input as AuditEntry);
    const left = committed.get(key) ?? 0;
    if (left > 0) committed.set(key, left - 1);
    else missing.push({ ...input, outcome: outcome === undefined ? INTERRUPTED_OUTCOME : outcome });
  }
  // Issued in one tick, in order: one group commit, the journal's order kept.
  await Promise.all(missing.map((input) => log.append(input)));
  const recovered = missing.length;
  const alreadyCommitted = records.length - recovered;
  const sessionId = missing.at(-1)?.sessionId ?? "audit-journal";
  const report: JournalRecovery = {
    file,
    pid,
    recovered,
    alreadyCommitted,
    unreadable: bad.length,
  };
  if (recovered > 0 || bad.length > 0) {
    await log.append({
      sessionId,
      action: {
        kind: "audit_journal_recovered",
        resource: `audit://journal/${file}`,
        summary: `recovered ${recovered} audit entries written ahead by process ${pid ?? "?"}` +
          (bad.length > 0 ? `; ${bad.length} unreadable lines kept` : ""),
        detail: report,
      },
      decision: "event",
      proof: "runtime:journal",
    });
  }
  if (bad.length > 0) Deno.writeTextFileSync(`${path}.unreadable`, bad.join("\n") + "\n");
  Deno.removeSync(path);
  return report;
}
