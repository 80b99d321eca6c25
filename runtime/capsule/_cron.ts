/**
 * Checks `[[cron]] schedule` values (private; the daemon's scheduler reads the same forms):
 * five fields (minute hour day-of-month month day-of-week) of `*`, numbers, ranges `a-b`,
 * steps `/n` and lists `a,b`, with month and weekday names (`jan`, `mon`); a macro
 * (`@hourly`, `@daily`, `@midnight`, `@weekly`, `@monthly`, `@yearly`, `@annually`); or
 * `@every <n>s|m|h`. {@link nextCronRun} computes the next run for the daemon's scheduler, in
 * UTC (no daylight-saving gaps or repeats); `@every` runs at multiples of its interval since the
 * Unix epoch.
 *
 * @module
 */

const MACROS = ["@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually"];
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

interface Field {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** The value of names[0]. */
  readonly base?: number;
}

const FIELDS: readonly Field[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS, base: 1 },
  { name: "day-of-week", min: 0, max: 7, names: DAYS, base: 0 },
];

/** The supported forms, for error messages. */
export const CRON_FORMS = "5 fields (minute hour day-of-month month day-of-week, e.g. " +
  '"0 * * * *"), one of ' + MACROS.join("|") + ', or "@every <n>s|m|h"';

function value(field: Field, text: string): number | string {
  const lower = text.toLowerCase();
  const named = field.names?.indexOf(lower) ?? -1;
  if (named >= 0) return named + field.base!;
  if (!/^\d{1,2}$/.test(text)) return `${field.name} "${text}" is not a number`;
  const n = Number(text);
  if (n < field.min || n > field.max) {
    return `${field.name} ${n} is out of range ${field.min}-${field.max}`;
  }
  return n;
}

function checkField(field: Field, text: string): string | null {
  for (const item of text.split(",")) {
    const [range, step, extra] = item.split("/");
    if (extra !== undefined || range === undefined || range === "") {
      return `${field.name} "${item}" is malformed`;
    }
    if (step !== undefined && !/^[1-9]\d{0,1}$/.test(step)) {
      return `${field.name} step "${step}" must be a positive number`;
    }
    if (range === "*") continue;
    const [from, to, more] = range.split("-");
    if (more !== undefined) return `${field.name} "${range}" is malformed`;
    const a = value(field, from ?? "");
    if (typeof a === "string") return a;
    if (to === undefined) continue;
    const b = value(field, to);
    if (typeof b === "string") return b;
    if (b < a) return `${field.name} range ${range} runs backwards`;
  }
  return null;
}

/**
 * Why `schedule` is not a supported cron schedule, or null when it is.
 *
 * @example Fields, macros and intervals
 * ```ts
 * import { equal, match } from "node:assert/strict";
 * import { cronScheduleError } from "./_cron.ts";
 * equal(cronScheduleError("*\/15 9-17 * jan-jun mon,fri"), null);
 * equal(cronScheduleError("@daily"), null);
 * equal(cronScheduleError("@every 90s"), null);
 * match(cronScheduleError("61 * * * *") ?? "", /minute 61 is out of range 0-59/);
 * ```
 */
export function cronScheduleError(schedule: string): string | null {
  const s = schedule.trim();
  if (s.startsWith("@")) {
    if (MACROS.includes(s.toLowerCase())) return null;
    const every = /^@every\s+(\d{1,6})(s|m|h)$/.exec(s);
    if (every) return Number(every[1]) > 0 ? null : "@every needs a positive interval";
    return `"${s}" is not a known macro`;
  }
  const parts = s.split(/\s+/);
  if (parts.length !== 5) return `it has ${parts.length} field${parts.length === 1 ? "" : "s"}`;
  for (let i = 0; i < 5; i++) {
    const why = checkField(FIELDS[i]!, parts[i]!);
    if (why) return why;
  }
  return null;
}

// ---- next-run computation (the daemon's scheduler) ----
//
// Times are UTC: a schedule names UTC minutes, hours and days, so a run is never skipped or
// doubled by a daylight-saving change. `@every <n>` runs at the multiples of n since the Unix
// epoch (also UTC), so the next run is a pure function of the schedule and the clock: a
// scheduler that recomputes it each time never drifts.

/** A parsed schedule: an interval, or the allowed values of the five fields. */
export type CronSchedule =
  | { readonly kind: "every"; readonly everyMs: number }
  | {
    readonly kind: "fields";
    readonly minutes: ReadonlySet<number>;
    readonly hours: ReadonlySet<number>;
    readonly days: ReadonlySet<number>;
    readonly months: ReadonlySet<number>;
    /** 0-6, Sunday 0 (a 7 in the schedule is Sunday too). */
    readonly weekdays: ReadonlySet<number>;
    /** Day-of-month and day-of-week both restricted: a day matches when either does (cron's rule). */
    readonly eitherDay: boolean;
  };

const MACRO_FIELDS: Readonly<Record<string, string>> = {
  "@hourly": "0 * * * *",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@weekly": "0 0 * * 0",
  "@monthly": "0 0 1 * *",
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
};
const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000 };

function expand(field: Field, text: string): Set<number> {
  const out = new Set<number>();
  for (const item of text.split(",")) {
    const [range = "", step] = item.split("/");
    const by = step === undefined ? 1 : Number(step);
    let from = field.min;
    let to = field.max;
    if (range !== "*") {
      const [a = "", b] = range.split("-");
      from = value(field, a) as number;
      // `a/n` runs from a to the field's end; a bare `a` is just a.
      to = b !== undefined ? value(field, b) as number : step === undefined ? from : field.max;
    }
    for (let v = from; v <= to; v += by) out.add(v);
  }
  return out;
}

/**
 * Parses a schedule that {@link cronScheduleError} accepts. Throws `SyntaxError` otherwise.
 *
 * @example A macro is its five fields
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { parseCronSchedule } from "./_cron.ts";
 * deepEqual(parseCronSchedule("@daily"), parseCronSchedule("0 0 * * *"));
 * deepEqual(parseCronSchedule("@every 2m"), { kind: "every", everyMs: 120_000 });
 * ```
 */
export function parseCronSchedule(schedule: string): CronSchedule {
  const why = cronScheduleError(schedule);
  if (why !== null) {
    throw new SyntaxError(`Cannot parse cron schedule ${JSON.stringify(schedule)}: ${why}`);
  }
  const s = schedule.trim();
  const every = /^@every\s+(\d{1,6})(s|m|h)$/.exec(s);
  if (every) return { kind: "every", everyMs: Number(every[1]) * UNIT_MS[every[2]!]! };
  const parts = (MACRO_FIELDS[s.toLowerCase()] ?? s).split(/\s+/);
  const sets = parts.map((p, i) => expand(FIELDS[i]!, p));
  const weekdays = new Set([...sets[4]!].map((d) => d % 7));
  return {
    kind: "fields",
    minutes: sets[0]!,
    hours: sets[1]!,
    days: sets[2]!,
    months: sets[3]!,
    weekdays,
    eitherDay: !parts[2]!.startsWith("*") && !parts[4]!.startsWith("*"),
  };
}

/** How far ahead a field schedule is searched (Feb 29 can be 8 years away across 2100). */
const HORIZON_MS = 9 * 366 * 86_400_000;

function dayMatches(s: Extract<CronSchedule, { kind: "fields" }>, d: Date): boolean {
  const dom = s.days.has(d.getUTCDate());
  const dow = s.weekdays.has(d.getUTCDay());
  return s.eitherDay ? dom || dow : dom && dow;
}

/**
 * The first run strictly after `after` (ms since the epoch, UTC), or null when the schedule
 * never fires (`0 0 30 2 *`).
 *
 * @example Every quarter hour, and Mondays at nine
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { nextCronRun } from "./_cron.ts";
 * const t = Date.UTC(2026, 0, 1, 10, 7, 30); // a Thursday
 * equal(nextCronRun("*\/15 * * * *", t), Date.UTC(2026, 0, 1, 10, 15));
 * equal(nextCronRun("0 9 * * mon", t), Date.UTC(2026, 0, 5, 9, 0));
 * equal(nextCronRun("@every 1h", t), Date.UTC(2026, 0, 1, 11, 0));
 * ```
 */
export function nextCronRun(schedule: CronSchedule | string, after: number): number | null {
  const s = typeof schedule === "string" ? parseCronSchedule(schedule) : schedule;
  if (!Number.isFinite(after)) throw new RangeError(`Cannot compute a run after ${after}`);
  if (s.kind === "every") return (Math.floor(after / s.everyMs) + 1) * s.everyMs;
  const d = new Date((Math.floor(after / 60_000) + 1) * 60_000);
  const end = after + HORIZON_MS;
  while (d.getTime() <= end) {
    if (!s.months.has(d.getUTCMonth() + 1)) {
      d.setUTCMonth(d.getUTCMonth() + 1, 1);
      d.setUTCHours(0, 0, 0, 0);
    } else if (!dayMatches(s, d)) {
      d.setUTCDate(d.getUTCDate() + 1);
      d.setUTCHours(0, 0, 0, 0);
    } else if (!s.hours.has(d.getUTCHours())) {
      d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0);
    } else if (!s.minutes.has(d.getUTCMinutes())) {
      d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
    } else return d.getTime();
  }
  return null;
}

/**
 * How many runs fall in `(from, to]`, counting at most `cap` (then `capped` is true).
 *
 * @example Three hours of an hourly job
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { countCronRuns } from "./_cron.ts";
 * const from = Date.UTC(2026, 0, 1, 0, 30);
 * deepEqual(countCronRuns("@hourly", from, from + 3 * 3_600_000), { count: 3, capped: false });
 * ```
 */
export function countCronRuns(
  schedule: CronSchedule | string,
  from: number,
  to: number,
  cap = 100_000,
): { count: number; capped: boolean } {
  const s = typeof schedule === "string" ? parseCronSchedule(schedule) : schedule;
  if (to <= from) return { count: 0, capped: false };
  if (s.kind === "every") {
    const count = Math.floor(to / s.everyMs) - Math.floor(from / s.everyMs);
    return count > cap ? { count: cap, capped: true } : { count, capped: false };
  }
  let count = 0;
  for (let t = nextCronRun(s, from); t !== null && t <= to; t = nextCronRun(s, t)) {
    if (++count >= cap) {
      const more = nextCronRun(s, t);
      return { count, capped: more !== null && more <= to };
    }
  }
  return { count, capped: false };
}
