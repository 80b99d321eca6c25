import { deepEqual, equal, match, ok } from "node:assert/strict";
import { capsuleDirs } from "../capsule/install.ts";
import { InstallRecords } from "../capsule/install_record.ts";
import { probeCopy, testInstall } from "../capsule/_testing.ts";
import { cronKey, CronScheduler } from "./cron.ts";
import { group, runCronJob } from "./methods/cron.ts";
import { type TestDaemon, withTestDaemon } from "./methods/_methods_testing.ts";
import type { DaemonEvent } from "./types.ts";

type CronEvent = Extract<DaemonEvent, { type: "cron.run" }>;

const CRON = '\n[[cron]]\nname = "tick"\nschedule = "@every 1s"\naction = "echo"\n';

/** Installs the real compiled probe capsule (tool `echo`) with `[[cron]]` entries appended. */
async function installTicker(t: TestDaemon, cron = CRON): Promise<void> {
  const dir = await probeCopy("ticker", (toml) => toml + cron);
  try {
    await testInstall(
      capsuleDirs(t.home, t.workspace),
      dir,
      new InstallRecords(t.rt.store, t.rt.key),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A standing rule for the probe's echo tool (user config). */
const ALLOW_ECHO = '[permissions]\nallow = ["capsule://ticker/echo"]\n';

const cronEvents = (t: TestDaemon): CronEvent[] =>
  t.events.filter((e): e is CronEvent => e.type === "cron.run");

async function waitFor(what: string, test: () => boolean, maxMs = 30_000): Promise<void> {
  for (let waited = 0; !test(); waited += 50) {
    if (waited > maxMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("cron: an @every 1s entry of a real capsule runs twice, each run its own audited session", async () => {
  await withTestDaemon(async (t) => {
    await installTicker(t);
    const stop = await group.start!(t.ctx);
    try {
      const completed = () => cronEvents(t).filter((e) => e.status === "completed");
      await waitFor("two completed runs", () => completed().length >= 2);
      const ids = completed().map((e) => e.sessionId!);
      equal(new Set(ids).size, ids.length, "each run has its own session");
      for (const id of ids) match(id, /^cron:ticker:tick:\d+$/);
      // The tool call passed the gate in that session, and the run itself is on the record.
      const entries = await t.rt.audit.list();
      for (const id of ids.slice(0, 2)) {
        const mine = entries.filter((e) => e.sessionId === id);
        ok(
          mine.some((e) => e.action.kind === "capsule_tool_call" && e.decision === "allowed"),
          JSON.stringify(mine),
        );
        ok(mine.some((e) => e.action.kind === "cron_run"), "the run is audited");
      }
      // Each run reports its own session's budget ([budget] session_usd, nothing spent yet).
      for (const e of completed()) ok(e.detail?.endsWith("(budget 0 of 5 USD)"), e.detail);
      const listed = await t.invoke(group, "cron.list", {}) as {
        name: string;
        lastStatus: string;
        nextRunAt: number;
        lastRunAt: number;
      }[];
      equal(listed.length, 1);
      equal(listed[0]?.name, "tick");
      ok(listed[0]!.nextRunAt > listed[0]!.lastRunAt);
      equal(listed[0]?.nextRunAt % 1000, 0, "@every 1s is aligned to whole seconds");
    } finally {
      await stop?.();
    }
    // Shutdown stops the timer: no run starts afterwards.
    const after = cronEvents(t).length;
    await new Promise((r) => setTimeout(r, 1500));
    equal(cronEvents(t).length, after, "no run after shutdown");
  }, { config: ALLOW_ECHO });
});

Deno.test("cron: with no rule and nobody to ask, one run is deferred and later runs wait for it", async () => {
  await withTestDaemon(async (t) => {
    await installTicker(t);
    const stop = await group.start!(t.ctx);
    try {
      const failed = () => cronEvents(t).filter((e) => e.status === "failed");
      await waitFor("three failed runs", () => failed().length >= 3);
      match(failed()[0]?.detail ?? "", /^deferred [0-9a-f-]+: Call tool echo/);
      for (const e of failed().slice(1)) match(e.detail ?? "", /^still waiting for approval of /);
    } finally {
      await stop?.();
    }
    const pending = (await t.rt.store.get(["daemon", "cron_deferred", "ticker", "tick"])).value;
    equal(typeof pending, "string", "the one deferral is remembered");
  });
});

Deno.test("cron: runs missed while the daemon was down are recorded once, not replayed", async () => {
  await withTestDaemon(async (t) => {
    await installTicker(t, '\n[[cron]]\nname = "hourly"\nschedule = "@hourly"\naction = "echo"\n');
    const now = Date.now();
    // The daemon last accounted for this entry five hours ago.
    await t.rt.store.set(cronKey("ticker", "hourly"), {
      lastRunAt: now - 5 * 3_600_000,
      lastStatus: "completed",
      missed: 0,
      seenTo: now - 5 * 3_600_000,
      lastSessionId: null,
    });
    const stop = await group.start!(t.ctx);
    try {
      const missed = cronEvents(t).filter((e) => e.status === "missed");
      equal(missed.length, 1, "one event for the whole downtime");
      match(missed[0]?.detail ?? "", /^5 run\(s\) missed: the daemon was not running/);
      equal(cronEvents(t).filter((e) => e.status === "started").length, 0, "nothing replayed");
      const audited = (await t.rt.audit.list()).filter((e) => e.action.kind === "cron_missed");
      equal(audited.length, 1);
      deepEqual((audited[0]?.action.detail as { missed: number }).missed, 5);
      const [row] = await t.invoke(group, "cron.list", {}) as {
        missed: number;
        lastStatus: string;
      }[];
      equal(row?.missed, 5);
      equal(row?.lastStatus, "missed");
    } finally {
      await stop?.();
    }
    // A second start right away finds nothing new to record.
    const again = await group.start!(t.ctx);
    await again?.();
    equal(cronEvents(t).filter((e) => e.status === "missed").length, 1);
  });
});

Deno.test("cron: an entry whose action is not a tool fails its run with a reason", async () => {
  await withTestDaemon(async (t) => {
    await installTicker(t, "");
    const host = {
      capsules: [],
      workspaceRoot: t.workspace,
      store: t.rt.store,
      limits: { timeoutMs: 30_000, memoryMb: 64 },
    };
    const r = await runCronJob(
      t.ctx,
      host,
      { capsule: "ticker", name: "nightly", schedule: "@daily", action: null },
      "cron:ticker:nightly:0",
      new AbortController().signal,
    );
    equal(r.status, "failed");
    match(r.detail ?? "", /nightly is not a tool of the capsule/);
  });
});

Deno.test("CronScheduler: a run still going when the next is due makes that one missed", async () => {
  await withTestDaemon(async (t) => {
    let release = () => {};
    const gate = new Promise<void>((r) => release = r);
    let runs = 0;
    const scheduler = new CronScheduler({
      store: t.rt.store,
      audit: t.rt.audit,
      events: t.ctx.events,
      run: async () => {
        runs++;
        await gate;
        return { status: "completed" };
      },
    });
    await scheduler.start([{ capsule: "c", name: "slow", schedule: "@every 1s", action: "x" }]);
    try {
      await waitFor(
        "an overlap",
        () =>
          cronEvents(t).some((e) => e.status === "missed" && /still going/.test(e.detail ?? "")),
      );
      equal(runs, 1);
      equal(scheduler.list()[0]?.running, true);
    } finally {
      release();
      await scheduler.close();
    }
    equal(scheduler.list()[0]?.nextRunAt, null, "closed: nothing is next");
  });
});

Deno.test("CronScheduler: a malformed stored record is replaced, not trusted", async () => {
  await withTestDaemon(async (t) => {
    await t.rt.store.set(cronKey("c", "n"), { seenTo: "yesterday", missed: -1 });
    const scheduler = new CronScheduler({
      store: t.rt.store,
      audit: t.rt.audit,
      run: () => Promise.resolve({ status: "completed" }),
    });
    await scheduler.start([{ capsule: "c", name: "n", schedule: "@daily", action: "x" }]);
    await scheduler.close();
    const row = scheduler.list()[0];
    equal(row?.missed, 0);
    equal(row?.lastRunAt, null);
  });
});

Deno.test("cron: remove() takes a capsule's entries off the schedule and aborts its run in progress", async () => {
  await withTestDaemon(async (t) => {
    const started: string[] = [];
    const aborted: string[] = [];
    const scheduler = new CronScheduler({
      store: t.rt.store,
      audit: t.rt.audit,
      run: (job, sessionId, signal) => {
        started.push(`${job.capsule}:${sessionId}`);
        // Runs until aborted (a run of a capsule being removed or upgraded).
        return new Promise((resolve) => {
          signal.addEventListener("abort", () => {
            aborted.push(job.capsule);
            resolve({ status: "failed", detail: String(signal.reason) });
          }, { once: true });
        });
      },
    });
    try {
      await scheduler.start([{ capsule: "a", name: "tick", schedule: "@every 1s", action: "t" }]);
      await scheduler.start([{ capsule: "b", name: "tick", schedule: "@hourly", action: "t" }]);
      deepEqual(scheduler.list().map((e) => e.capsule), ["a", "b"]);
      await waitFor("a run of a", () => started.length > 0);
      equal(await scheduler.remove("a"), 1);
      deepEqual(aborted, ["a"]);
      deepEqual(scheduler.list().map((e) => e.capsule), ["b"]);
      const count = started.length;
      await new Promise((r) => setTimeout(r, 2200));
      equal(started.length, count, "no run of a removed entry starts");
      equal(await scheduler.remove("nope"), 0);
    } finally {
      await scheduler.close();
    }
  });
});
