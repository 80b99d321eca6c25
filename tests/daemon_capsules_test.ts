/**
 * Capsules installed, upgraded or removed while the daemon runs, through the real CLI and a real
 * detached daemon:
 * - `capsule install` tells the daemon (`capsules.sync`): the capsule's `[[cron]]` entry is
 *   scheduled and runs; a reinstall with another schedule restarts it; `capsule remove` takes it
 *   off the schedule;
 * - an install the daemon is not told of (another process that does not notify) is picked up by
 *   the daemon's own check of the install records;
 * - a forged install record (signed by another key) planted in the store while the daemon runs is
 *   ignored with a warning in the daemon's log and never scheduled, and an installed capsule
 *   whose record is replaced by a forged one leaves the schedule;
 * - an OpenClaw service (testdata/openclaw/notes) starts when its capsule is installed and its
 *   stop handler runs when it is removed.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDirs } from "./cli.ts";
import { alive, daemonCall, until } from "./daemon_helpers.ts";
import { probeCopy } from "../runtime/capsule/_testing.ts";
import { openStore } from "../runtime/storage/mod.ts";
import { generateSeed, signerFromSeed } from "../runtime/crypto/mod.ts";
import { type InstallRecord, InstallRecords } from "../runtime/capsule/install_record.ts";

const FIXTURES = decodeURIComponent(new URL("../testdata/openclaw", import.meta.url).pathname);

type CronRow = { capsule: string; name: string; schedule: string; lastStatus: string | null };

/** A fresh home and workspace with a running daemon; stops it (and cleans up) on dispose. */
async function daemonWorld(config: string, extra: string[] = []) {
  const { home, ws } = await tempDirs();
  await Deno.writeTextFile(join(home, "config.toml"), config);
  const opts = { home, cwd: ws };
  const started = await runCli(["daemon", "start"], opts);
  equal(started.code, 0, started.stderr);
  const pid = JSON.parse(await Deno.readTextFile(join(home, "daemon", "daemon.json"))).pid;
  return {
    home,
    ws,
    cli: (args: string[]) => runCli(args, opts),
    cron: () => daemonCall<CronRow[]>(home, "cron.list"),
    log: () => Deno.readTextFile(join(home, "daemon", "daemon.log")).catch(() => ""),
    async [Symbol.asyncDispose]() {
      await runCli(["daemon", "stop"], opts);
      if (alive(pid)) Deno.kill(pid, "SIGKILL");
      for (const dir of [home, ws, ...extra]) {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    },
  };
}

const ticker = (schedule: string) => (t: string) =>
  t + `\n[[cron]]\nname = "tick"\nschedule = "${schedule}"\naction = "echo"\n`;

Deno.test("capsule install, reinstall and remove take effect in a running daemon's schedule", async () => {
  const src = await probeCopy("ticker", ticker("@every 1s"));
  const slow = await probeCopy("ticker", ticker("@hourly"));
  await using w = await daemonWorld('[permissions]\nallow = ["capsule://ticker/echo"]\n', [
    src,
    slow,
  ]);
  deepEqual(await w.cron(), []);

  const install = await w.cli(["capsule", "install", src, "--yes"]);
  equal(install.code, 0, install.stderr);
  match(install.stderr, /daemon: ticker started/);
  // Told by the CLI: listed at once, and it runs.
  const rows = await w.cron();
  deepEqual(rows.map((r) => [r.capsule, r.name, r.schedule]), [["ticker", "tick", "@every 1s"]]);
  await until("a completed run", w.cron, (r) => r[0]?.lastStatus === "completed");

  const again = await w.cli(["capsule", "install", slow, "--yes", "--keep-data"]);
  equal(again.code, 0, again.stderr);
  match(again.stderr, /daemon: ticker restarted/);
  deepEqual((await w.cron()).map((r) => r.schedule), ["@hourly"]);

  const removed = await w.cli(["capsule", "remove", "ticker"]);
  equal(removed.code, 0, removed.stderr);
  match(removed.stderr, /daemon: ticker stopped/);
  deepEqual(await w.cron(), []);
  match(await w.log(), /capsules changed: added \[\], removed \[ticker\]/);
});

Deno.test("the daemon picks up an install it was not told of, and ignores a forged record", async () => {
  const src = await probeCopy("ticker", ticker("@hourly"));
  const forged = await probeCopy("forged", ticker("@every 1s"));
  await using w = await daemonWorld("", [src, forged]);
  // Another process that does not tell the daemon: the CLI cannot find it while daemon.json is
  // aside (the daemon keeps running and checks the install records by itself).
  const info = join(w.home, "daemon", "daemon.json");
  await Deno.rename(info, `${info}.aside`);
  try {
    const install = await w.cli(["capsule", "install", src, "--yes"]);
    equal(install.code, 0, install.stderr);
    ok(!/daemon:/.test(install.stderr), install.stderr);
  } finally {
    await Deno.rename(`${info}.aside`, info);
  }
  await until("the entry to be scheduled", w.cron, (r) => r.length === 1);

  // A record signed by another key, with its folder in place, written while the daemon runs.
  const dir = join(w.home, "capsules", "forged");
  await Deno.mkdir(dir, { recursive: true });
  for (const f of ["Capsule.toml", "capsule.wasm"]) {
    await Deno.copyFile(join(forged, f), join(dir, f));
  }
  const record: InstallRecord = {
    v: 1,
    name: "forged",
    version: "0.1.0",
    scope: "user",
    workspace: null,
    dir: await Deno.realPath(dir),
    wasmHash: null,
    manifestHash: `blake3:${"0".repeat(64)}`,
    capabilities: { net: [], fs_read: [], fs_write: [], kv: false, host_process: [] },
    env: {},
    mcpServers: [],
    tools: [{ name: "echo", description: "", inputSchema: {} }],
    installedAt: new Date().toISOString(),
    publisher: null,
  };
  {
    using store = await openStore(join(w.home, "state.kv"));
    await new InstallRecords(store, signerFromSeed(generateSeed())).write(record);
  }
  await until(
    "the warning",
    w.log,
    (l) => /ignoring capsule folder \S+\/forged: .*not signed by this runtime's key/.test(l),
  );
  deepEqual((await w.cron()).map((r) => r.capsule), ["ticker"]);
  const sync = await daemonCall<{ added: string[] }>(w.home, "capsules.sync");
  deepEqual(sync.added, []);
  deepEqual((await w.cron()).map((r) => r.capsule), ["ticker"]);

  // The installed capsule's own record replaced by a forged one: it leaves the schedule.
  {
    using store = await openStore(join(w.home, "state.kv"));
    const mine = await new InstallRecords(store, signerFromSeed(generateSeed())).read(
      "user",
      null,
      "ticker",
    );
    equal(mine?.ok, false); // signed by the daemon's key, not this one
    const ticker = await Deno.realPath(join(w.home, "capsules", "ticker"));
    await new InstallRecords(store, signerFromSeed(generateSeed())).write({
      ...record,
      name: "ticker",
      dir: ticker,
      tools: [{ name: "echo", description: "", inputSchema: {} }],
    });
  }
  await until("the tampered capsule to leave the schedule", w.cron, (r) => r.length === 0);
  match(await w.log(), /removed \[ticker\]/);
});

Deno.test("an OpenClaw service starts when installed into a running daemon and stops when removed", async () => {
  const build = await Deno.makeTempDir({ prefix: "astrid-notes-build-" });
  const out = join(build, "notes");
  const compiled = await runCli(["capsule", "compile", join(FIXTURES, "notes"), "-o", out], {
    home: build,
  });
  equal(compiled.code, 0, compiled.stderr);
  await using w = await daemonWorld('[permissions]\nallow = ["capsule://notes/*"]\n', [build]);
  equal((await runCli(["init", w.ws], { home: w.home })).code, 0);
  const notes = async () => {
    const r = await w.cli(["capsule", "run", "notes", "notes"]);
    equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  const install = await w.cli(["capsule", "install", out, "--yes"]);
  equal(install.code, 0, install.stderr);
  match(install.stderr, /daemon: notes started/);
  const { services } = await daemonCall<{ services: { capsule: string; state: string }[] }>(
    w.home,
    "services.list",
  );
  deepEqual(services.map((s) => [s.capsule, s.state]), [["notes", "running"]]);
  equal(await notes(), "service: started");

  const removed = await w.cli(["capsule", "remove", "notes"]);
  equal(removed.code, 0, removed.stderr);
  match(removed.stderr, /daemon: notes stopped/);
  const after = await daemonCall<{ services: unknown[] }>(w.home, "services.list");
  deepEqual(after.services, []);
  // Its data stays: installed again (the daemon told), the stop handler's record is there until
  // the service starts again.
  equal((await runCli(["daemon", "stop"], { home: w.home, cwd: w.ws })).code, 0);
  const back = await w.cli(["capsule", "install", out, "--yes", "--keep-data"]);
  equal(back.code, 0, back.stderr);
  equal(await notes(), "service: stopped after 0 saves");
});
