import { deepEqual, equal, throws } from "node:assert/strict";
import { countCronRuns, nextCronRun, parseCronSchedule } from "./_cron.ts";

const at = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) =>
  Date.UTC(y, mo - 1, d, h, mi, s);
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

Deno.test("nextCronRun() is strictly after the given time, at a whole minute", () => {
  equal(iso(nextCronRun("* * * * *", at(2026, 1, 1, 10, 0))), "2026-01-01T10:01:00.000Z");
  equal(iso(nextCronRun("* * * * *", at(2026, 1, 1, 10, 0, 59))), "2026-01-01T10:01:00.000Z");
  equal(iso(nextCronRun("30 * * * *", at(2026, 1, 1, 10, 30))), "2026-01-01T11:30:00.000Z");
});

Deno.test("nextCronRun() handles steps, ranges, lists and names", () => {
  const t = at(2026, 1, 1, 10, 7, 30); // Thursday
  equal(iso(nextCronRun("*/15 * * * *", t)), "2026-01-01T10:15:00.000Z");
  equal(iso(nextCronRun("5/20 * * * *", t)), "2026-01-01T10:25:00.000Z");
  equal(iso(nextCronRun("0 9-17/4 * * *", t)), "2026-01-01T13:00:00.000Z");
  equal(iso(nextCronRun("0 8,22 * * *", t)), "2026-01-01T22:00:00.000Z");
  equal(iso(nextCronRun("0 0 * mar-may *", t)), "2026-03-01T00:00:00.000Z");
  equal(iso(nextCronRun("0 12 * * MON-wed", t)), "2026-01-05T12:00:00.000Z");
});

Deno.test("nextCronRun() expands macros to their fields", () => {
  const t = at(2026, 1, 1, 10, 7); // Thursday
  equal(iso(nextCronRun("@hourly", t)), "2026-01-01T11:00:00.000Z");
  equal(iso(nextCronRun("@daily", t)), "2026-01-02T00:00:00.000Z");
  equal(iso(nextCronRun("@midnight", t)), "2026-01-02T00:00:00.000Z");
  equal(iso(nextCronRun("@weekly", t)), "2026-01-04T00:00:00.000Z"); // Sunday
  equal(iso(nextCronRun("@monthly", t)), "2026-02-01T00:00:00.000Z");
  equal(iso(nextCronRun("@yearly", t)), "2027-01-01T00:00:00.000Z");
  equal(iso(nextCronRun("@ANNUALLY", t)), "2027-01-01T00:00:00.000Z");
});

Deno.test("nextCronRun() month ends: the 31st skips short months, Feb 29 waits for a leap year", () => {
  equal(iso(nextCronRun("0 0 31 * *", at(2026, 1, 31, 1))), "2026-03-31T00:00:00.000Z");
  equal(iso(nextCronRun("0 0 31 * *", at(2026, 4, 1))), "2026-05-31T00:00:00.000Z");
  equal(iso(nextCronRun("0 0 29 2 *", at(2026, 1, 1))), "2028-02-29T00:00:00.000Z");
  // 2100 is not a leap year: the next Feb 29 after 2096 is in 2104.
  equal(iso(nextCronRun("0 0 29 2 *", at(2096, 3, 1))), "2104-02-29T00:00:00.000Z");
  equal(iso(nextCronRun("59 23 31 12 *", at(2026, 12, 31, 23, 59))), "2027-12-31T23:59:00.000Z");
});

Deno.test("nextCronRun() is null for a date that never comes", () => {
  equal(nextCronRun("0 0 30 2 *", at(2026, 1, 1)), null);
  equal(nextCronRun("0 0 31 4,6,9,11 *", at(2026, 1, 1)), null);
});

Deno.test("nextCronRun() day-of-month and day-of-week: either when both are restricted", () => {
  // 2026-01-13 is a Tuesday; the 15th is a Thursday.
  const t = at(2026, 1, 13, 12);
  equal(iso(nextCronRun("0 0 15 * fri", t)), "2026-01-15T00:00:00.000Z", "the 15th or a Friday");
  equal(iso(nextCronRun("0 0 20 * fri", t)), "2026-01-16T00:00:00.000Z", "a Friday comes first");
  equal(iso(nextCronRun("0 0 * * fri", t)), "2026-01-16T00:00:00.000Z", "only Fridays");
  equal(iso(nextCronRun("0 0 20 * *", t)), "2026-01-20T00:00:00.000Z", "only the 20th");
  equal(iso(nextCronRun("0 0 */10 * *", t)), "2026-01-21T00:00:00.000Z", "a * step: dom only");
  // Sunday as 0 and as 7.
  equal(nextCronRun("0 0 * * 0", t), nextCronRun("0 0 * * 7", t));
  equal(iso(nextCronRun("0 0 * * 7", t)), "2026-01-18T00:00:00.000Z");
  // Friday the 13th only happens with both checks: cron's rule makes this "13th or Friday".
  equal(iso(nextCronRun("0 0 13 * 5", at(2026, 1, 14))), "2026-01-16T00:00:00.000Z");
});

Deno.test("nextCronRun() @every is aligned to the epoch, so it never drifts", () => {
  equal(nextCronRun("@every 1s", 1_000), 2_000);
  equal(nextCronRun("@every 1s", 1_999), 2_000);
  equal(nextCronRun("@every 90s", 0), 90_000);
  equal(nextCronRun("@every 90s", 90_001), 180_000);
  equal(iso(nextCronRun("@every 6h", at(2026, 1, 1, 5, 59))), "2026-01-01T06:00:00.000Z");
  // Recomputing from each run gives exact multiples, however many times.
  let t = 1_234;
  for (let i = 0; i < 1000; i++) t = nextCronRun("@every 7s", t)!;
  equal(t % 7000, 0);
});

Deno.test("nextCronRun() across a year and a leap day", () => {
  equal(iso(nextCronRun("0 0 * * *", at(2028, 2, 28, 12))), "2028-02-29T00:00:00.000Z");
  equal(iso(nextCronRun("0 0 1 1 *", at(2026, 12, 31, 23, 59, 59))), "2027-01-01T00:00:00.000Z");
});

Deno.test("parseCronSchedule() refuses what cronScheduleError() refuses", () => {
  throws(() => parseCronSchedule("61 * * * *"), SyntaxError);
  throws(() => parseCronSchedule("@sometimes"), SyntaxError);
  throws(() => parseCronSchedule("@every 0s"), SyntaxError);
  throws(() => nextCronRun("* * * *", 0), SyntaxError);
  throws(() => nextCronRun("* * * * *", Number.NaN), RangeError);
});

Deno.test("countCronRuns() counts runs in (from, to] and caps", () => {
  deepEqual(countCronRuns("@every 1s", 1_000, 1_000), { count: 0, capped: false });
  deepEqual(countCronRuns("@every 1s", 1_000, 11_000), { count: 10, capped: false });
  deepEqual(countCronRuns("@every 1s", 0, 86_400_000, 500), { count: 500, capped: true });
  deepEqual(countCronRuns("@daily", at(2026, 1, 1), at(2026, 1, 8)), { count: 7, capped: false });
  deepEqual(countCronRuns("* * * * *", 0, 3_600_000, 10), { count: 10, capped: true });
  deepEqual(countCronRuns("0 0 30 2 *", 0, 3_600_000), { count: 0, capped: false });
});
