/**
 * The daemon's scheduler for installed capsules' `[[cron]]` entries.
 *
 * - **Times are UTC.** The next run is recomputed from the schedule every time
 *   (`capsule/_cron.ts` `nextCronRun`), never by adding an interval to the last timer, so timers
 *   do not drift; `@every <n>` runs at multiples of n since the Unix epoch.
 * - **Each run is its own session** `cron:<capsule>:<name>:<scheduled ms>`, run by the
 *   {@link CronRunner} the daemon passes in (the capsule's tool through the gate, with that
 *   session's own budget), and recorded with one `cron_run` audit entry.
 * - **Missed runs are recorded, never replayed.** Per entry, KV `["daemon", "cron", capsule,
 *   name]` holds `{lastRunAt, lastStatus, missed, seenTo}`: `seenTo` is the time up to which
 *   runs are accounted for. At start (and when a timer fires late), the runs that fell in
 *   `(seenTo, now]` are counted, recorded as one `cron_missed` audit entry and one `cron.run`
 *   event with status `missed`, and skipped: a manifest has no key asking for a catch-up run.
 * - **A run still going when the next is due** makes that occurrence missed (one run per entry
 *   at a time).
 * - {@link CronScheduler.close} clears every timer, aborts the runs in progress and waits for
 *   them; {@link CronScheduler.remove} does the same for one capsule's entries (removed or
 *   upgraded while the daemon runs), and {@link CronScheduler.start} may be called again to add
 *   entries.
 *
 * @module
 */
import {
  countCronRuns,
  type CronSchedule,
  nextCronRun,
  parseCronSchedule,
} from "../capsule/_cron.ts";
import type { AuditInput } from "../audit/types.ts";
import type { Store } from "../storage/mod.ts";
import type { DaemonEvent } from "./types.ts";

/** One `[[cron]]` entry of an installed capsule. */
export interface CronJob {
  readonly capsule: string;
  readonly name: string;
  readonly schedule: string;
  /** The tool (or cron handler) it runs; null: the handler named like the entry. */
  readonly action: string | null;
}

/** How one run ended. */
export interface CronRunResult {
  readonly status: "completed" | "failed";
  readonly detail?: string | undefined;
}

/** Runs one job as session `sessionId`; `signal` aborts at shutdown. */
export type CronRunner = (
  job: CronJob,
  sessionId: string,
  signal: AbortSignal,
) => Promise<CronRunResult>;

/** One entry as `cron.list` shows it. */
export interface CronEntryStatus {
  readonly capsule: string;
  readonly name: string;
  readonly schedule: string;
  readonly action: string | null;
  /** Ms since the epoch; null when the schedule never fires or the scheduler is closed. */
  readonly nextRunAt: number | null;
  readonly lastRunAt: number | null;
  /** `completed`, `failed`, `missed`, or null before the first run. */
  readonly lastStatus: string | null;
  /** Runs missed (daemon down, or a run still going) since the entry was first seen. */
  readonly missed: number;
  /** The session of the last run. */
  readonly lastSessionId: string | null;
  /** True while a run is in progress. */
  readonly running: boolean;
}

/** What the scheduler needs, passed in. */
export interface CronSchedulerOptions {
  readonly store: Store;
  readonly audit: { append(input: AuditInput): Promise<unknown> };
  readonly events?: { publish(event: DaemonEvent): number } | undefined;
  readonly run: CronRunner;
  /** The clock (tests); default `Date.now`. */
  readonly now?: (() => number) | undefined;
}

/** What KV keeps per entry. */
interface CronRecord {
  lastRunAt: number | null;
  lastStatus: string | null;
  missed: number;
  seenTo: number;
  lastSessionId: string | null;
}

interface Entry {
  readonly job: CronJob;
  readonly schedule: CronSchedule;
  record: CronRecord;
  nextRunAt: number | null;
  timer: ReturnType<typeof setTimeout> | null;
  running: Promise<void> | null;
  /** Aborts this entry's run when its capsule is removed or upgraded. */
  readonly abort: AbortController;
  /** Set once the entry left the schedule: its timer and run must not touch anything again. */
  removed: boolean;
}

/** The longest delay `setTimeout` takes; longer waits re-arm. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * The KV key of an entry's record.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { cronKey } from "./cron.ts";
 * deepEqual(cronKey("weather", "refresh"), ["daemon", "cron", "weather", "refresh"]);
 * ```
 */
export function cronKey(capsule: string, name: string): string[] {
  return ["daemon", "cron", capsule, name];
}

/**
 * Schedules cron jobs; see the module doc.
 *
 * @example An entry is listed with its next run
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { CronScheduler } from "./cron.ts";
 * using store = await openStore(":memory:");
 * const scheduler = new CronScheduler({
 *   store, audit: { append: () => Promise.resolve() },
 *   run: () => Promise.resolve({ status: "completed" }), now: () => 0,
 * });
 * await scheduler.start([{ capsule: "c", name: "n", schedule: "@hourly", action: "t" }]);
 * equal(scheduler.list()[0]?.nextRunAt, 3_600_000);
 * await scheduler.close();
 * ```
 */
export class CronScheduler {
  #opts: CronSchedulerOptions;
  #entries: Entry[] = [];
  #closed = false;
  #abort = new AbortController();
  #now: () => number;

  /** Creates the scheduler; nothing runs until {@link start}. */
  constructor(opts: CronSchedulerOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Records what was missed while the daemon was down, then arms a timer per job. */
  async start(jobs: readonly CronJob[]): Promise<void> {
    for (const job of jobs) {
      let schedule: CronSchedule;
      try {
        schedule = parseCronSchedule(job.schedule);
      } catch {
        continue; // manifests are checked at install; a bad one schedules nothing
      }
      const now = this.#now();
      const stored = (await this.#opts.store.get<CronRecord>(cronKey(job.capsule, job.name)))
        .value;
      const record: CronRecord = isRecord(stored) ? stored : {
        lastRunAt: null,
        lastStatus: null,
        missed: 0,
        seenTo: now,
        lastSessionId: null,
      };
      const entry: Entry = {
        job,
        schedule,
        record,
        nextRunAt: null,
        timer: null,
        running: null,
        abort: new AbortController(),
        removed: false,
      };
      this.#entries.push(entry);
      await this.#accountMissed(entry, now, "the daemon was not running");
      await this.#save(entry);
      this.#arm(entry);
    }
  }

  /**
   * Takes every entry of `capsule` off the schedule (the capsule was removed, or is being
   * upgraded): clears their timers, aborts their runs in progress and waits for them. Their KV
   * records stay, so a reinstalled capsule's missed runs are still accounted for. Returns how many
   * entries were removed.
   */
  async remove(capsule: string): Promise<number> {
    const gone = this.#entries.filter((e) => e.job.capsule === capsule);
    this.#entries = this.#entries.filter((e) => e.job.capsule !== capsule);
    for (const e of gone) {
      e.removed = true;
      if (e.timer !== null) clearTimeout(e.timer);
      e.timer = null;
      e.nextRunAt = null;
      e.abort.abort(new Error(`capsule ${capsule} left the schedule`));
    }
    await Promise.all(gone.map((e) => e.running));
    return gone.length;
  }

  /** Every entry with its next run, last run and missed count. */
  list(): CronEntryStatus[] {
    return this.#entries.map((e) => ({
      capsule: e.job.capsule,
      name: e.job.name,
      schedule: e.job.schedule,
      action: e.job.action,
      nextRunAt: this.#closed ? null : e.nextRunAt,
      lastRunAt: e.record.lastRunAt,
      lastStatus: e.record.lastStatus,
      missed: e.record.missed,
      lastSessionId: e.record.lastSessionId,
      running: e.running !== null,
    }));
  }

  /** Stops every timer, aborts runs in progress and waits for them. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const e of this.#entries) {
      if (e.timer !== null) clearTimeout(e.timer);
      e.timer = null;
    }
    this.#abort.abort(new Error("the daemon is stopping"));
    await Promise.all(this.#entries.map((e) => e.running));
  }

  /** Counts the runs in `(seenTo, now]`, records them as missed, and moves `seenTo` to now. */
  async #accountMissed(entry: Entry, now: number, why: string): Promise<void> {
    const { count, capped } = countCronRuns(entry.schedule, entry.record.seenTo, now);
    entry.record.seenTo = Math.max(entry.record.seenTo, now);
    if (count === 0) return;
    await this.#missed(entry, count, `${capped ? "at least " : ""}${count} run(s) missed: ${why}`);
  }

  async #missed(entry: Entry, count: number, detail: string): Promise<void> {
    const { capsule, name } = entry.job;
    entry.record.missed += count;
    entry.record.lastStatus = "missed";
    const sessionId = `cron:${capsule}:${name}`;
    await this.#opts.audit.append({
      sessionId,
      action: {
        kind: "cron_missed",
        resource: `capsule://${capsule}/cron/${name}`,
        summary: `cron ${capsule}/${name}: ${detail}`,
        detail: { schedule: entry.job.schedule, missed: count },
      },
      decision: "event",
      proof: "cron:schedule",
    });
    this.#publish({ type: "cron.run", capsule, name, sessionId: null, status: "missed", detail });
  }

  #arm(entry: Entry): void {
    if (this.#closed || entry.removed) return;
    const now = this.#now();
    entry.nextRunAt = nextCronRun(entry.schedule, Math.max(now, entry.record.seenTo));
    if (entry.nextRunAt === null) return;
    const due = entry.nextRunAt;
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, due - now));
    entry.timer = setTimeout(() => {
      entry.timer = null;
      this.#fire(entry, due).catch((err) => this.#failedToFire(entry, err));
    }, delay);
  }

  async #fire(entry: Entry, due: number): Promise<void> {
    if (this.#closed || entry.removed) return;
    const now = this.#now();
    if (now < due) return this.#arm(entry); // a long wait re-armed in pieces
    if (entry.running) {
      entry.record.seenTo = Math.max(entry.record.seenTo, due);
      await this.#missed(entry, 1, "the previous run was still going");
    } else {
      // Anything between this run and now (a stalled event loop, a suspended machine) is missed.
      entry.record.seenTo = due;
      await this.#accountMissed(entry, now, "the daemon was stalled");
      const sessionId = `cron:${entry.job.capsule}:${entry.job.name}:${due}`;
      entry.running = this.#runOne(entry, sessionId).finally(() => {
        entry.running = null;
      });
    }
    await this.#save(entry);
    this.#arm(entry);
  }

  async #runOne(entry: Entry, sessionId: string): Promise<void> {
    const { capsule, name } = entry.job;
    const startedAt = this.#now();
    this.#publish({ type: "cron.run", capsule, name, sessionId, status: "started" });
    let result: CronRunResult;
    try {
      const signal = AbortSignal.any([this.#abort.signal, entry.abort.signal]);
      result = await this.#opts.run(entry.job, sessionId, signal);
    } catch (err) {
      result = { status: "failed", detail: (err as Error).message };
    }
    entry.record.lastRunAt = startedAt;
    entry.record.lastStatus = result.status;
    entry.record.lastSessionId = sessionId;
    try {
      await this.#opts.audit.append({
        sessionId,
        action: {
          kind: "cron_run",
          resource: `capsule://${capsule}/cron/${name}`,
          summary: `cron ${capsule}/${name} ${result.status}`,
          detail: { schedule: entry.job.schedule, action: entry.job.action },
        },
        decision: "event",
        proof: "cron:schedule",
        outcome: { status: result.status, detail: result.detail ?? null },
      });
      await this.#save(entry);
    } catch (err) {
      result = { status: "failed", detail: `Cannot record the run: ${(err as Error).message}` };
      entry.record.lastStatus = "failed";
    }
    this.#publish({
      type: "cron.run",
      capsule,
      name,
      sessionId,
      status: result.status,
      ...(result.detail !== undefined ? { detail: result.detail } : {}),
    });
  }

  #failedToFire(entry: Entry, err: unknown): void {
    // The store or the audit log failed: say so, and keep the schedule going.
    this.#publish({
      type: "cron.run",
      capsule: entry.job.capsule,
      name: entry.job.name,
      sessionId: null,
      status: "failed",
      detail: `Cannot schedule the run: ${(err as Error).message}`,
    });
    if (entry.timer === null) this.#arm(entry);
  }

  async #save(entry: Entry): Promise<void> {
    await this.#opts.store.set(cronKey(entry.job.capsule, entry.job.name), entry.record);
  }

  #publish(event: DaemonEvent): void {
    try {
      this.#opts.events?.publish(event);
    } catch {
      // a faulty subscriber must not stop the schedule
    }
  }
}

function isRecord(v: unknown): v is CronRecord {
  const r = v as CronRecord | null;
  return typeof r === "object" && r !== null && typeof r.seenTo === "number" &&
    Number.isFinite(r.seenTo) && typeof r.missed === "number" &&
    (r.lastRunAt === null || typeof r.lastRunAt === "number") &&
    (r.lastStatus === null || typeof r.lastStatus === "string") &&
    (r.lastSessionId === null || r.lastSessionId === undefined ||
      typeof r.lastSessionId === "string");
}
