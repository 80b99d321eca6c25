/**
 * Checks `[[cron]] schedule` values (private; the daemon's scheduler reads the same forms):
 * five fields (minute hour day-of-month month day-of-week) of `*`, numbers, ranges `a-b`,
 * steps `/n` and lists `a,b`, with month and weekday names (`jan`, `mon`); a macro
 * (`@hourly`, `@daily`, `@midnight`, `@weekly`, `@monthly`, `@yearly`, `@annually`); or
 * `@every <n>s|m|h`.
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
