/**
 * What runs in the daemon, through the real CLI:
 * - `astrid servers start|running|stop` with a daemon running: the server is started in the
 *   daemon and outlives the CLI command that started it, a second CLI process sees it, and a
 *   third stops it;
 * - an installed capsule's `[[cron]]` entry runs in the daemon, and the runs missed while the
 *   daemon was stopped are recorded when it starts again (`cron.list`, the audit log).
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDirs } from "./cli.ts";
import { alive } from "./daemon_helpers.ts";
import { probeCopy } from "../runtime/capsule/_testing.ts";
import { connectDaemon } from "../runtime/daemon/client.ts";

const FIXTURE = new URL("./fixtures/mcp_basic_server.ts", import.meta.url).pathname;

async function waitFor(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test("servers start/running/stop act on the daemon's servers across CLI processes", async () => {
  const { home, ws } = await tempDirs();
  await Deno.writeTextFile(
    join(home, "config.toml"),
    `[servers.basic]\ntransport = "stdio"\ncommand = ${JSON.stringify(Deno.execPath())}\n` +
      `args = ["run", "--allow-env", "--allow-read", ${JSON.stringify(FIXTURE)}]\n`,
  );
  const opts = { home, cwd: ws };
  let daemonPid = 0;
  try {
    const started = await runCli(["daemon", "start"], opts);
    equal(started.code, 0, started.stderr);
    daemonPid = JSON.parse(await Deno.readTextFile(join(home, "daemon", "daemon.json"))).pid;

    const start = await runCli(["servers", "start", "basic", "--json"], opts);
    equal(start.code, 0, start.stderr);
    const info = JSON.parse(start.stdout) as { pid: number; tools: number; persistent: boolean };
    equal(info.persistent, true);
    ok(info.tools > 0);
    ok(info.pid > 0 && alive(info.pid), "the server runs after `servers start` exited");

    const running = await runCli(["servers", "running", "--json"], opts);
    equal(running.code, 0, running.stderr);
    const rows = JSON.parse(running.stdout) as { name: string; state: string; pid: number }[];
    deepEqual(rows.map((r) => [r.name, r.state, r.pid]), [["basic", "running", info.pid]]);
    const text = await runCli(["servers", "running"], opts);
    match(text.stdout, /^basic\s+running pid \d+/m);

    const unknown = await runCli(["servers", "stop", "nope"], opts);
    equal(unknown.code, 1);
    match(unknown.stderr, /not configured/);

    const stop = await runCli(["servers", "stop", "basic"], opts);
    equal(stop.code, 0, stop.stderr);
    match(stop.stdout, /^basic: stopped \(in the daemon\)/);
    await waitFor("the server to exit", () => !alive(info.pid));
    const after = await runCli(["servers", "running", "--json"], opts);
    deepEqual(JSON.parse(after.stdout), []);

    const stopped = await runCli(["daemon", "stop"], opts);
    equal(stopped.code, 0, stopped.stderr);
  } finally {
    if (daemonPid && alive(daemonPid)) Deno.kill(daemonPid, "SIGKILL");
    await Deno.remove(home, { recursive: true }).catch(() => {});
    await Deno.remove(ws, { recursive: true }).catch(() => {});
  }
});

Deno.test("servers running without a daemon keeps today's answer", async () => {
  const { home, ws } = await tempDirs();
  try {
    const r = await runCli(["servers", "running"], { home, cwd: ws });
    equal(r.code, 0, r.stderr);
    match(r.stdout, /No servers run in this process/);
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
    await Deno.remove(ws, { recursive: true }).catch(() => {});
  }
});

type CronRow = {
  name: string;
  lastStatus: string | null;
  missed: number;
  lastRunAt: number | null;
};

async function cronList(home: string): Promise<CronRow[]> {
  const client = await connectDaemon(home, "test");
  if (!client) throw new Error("no daemon");
  try {
    return await client.call<CronRow[]>("cron.list");
  } finally {
    client.close();
  }
}

Deno.test("a capsule's [[cron]] runs in the daemon; runs missed while it was stopped are recorded", async () => {
  const { home, ws } = await tempDirs();
  const src = await probeCopy(
    "ticker",
    (t) => t + '\n[[cron]]\nname = "tick"\nschedule = "@every 1s"\naction = "echo"\n',
  );
  await Deno.writeTextFile(
    join(home, "config.toml"),
    '[permissions]\nallow = ["capsule://ticker/echo"]\n',
  );
  const opts = { home, cwd: ws };
  const pidOf = async () =>
    JSON.parse(await Deno.readTextFile(join(home, "daemon", "daemon.json"))).pid as number;
  let daemonPid = 0;
  try {
    const install = await runCli(["capsule", "install", src, "--yes"], opts);
    equal(install.code, 0, install.stderr);
    equal((await runCli(["daemon", "start"], opts)).code, 0);
    daemonPid = await pidOf();
    let rows: CronRow[] = [];
    const end = Date.now() + 30_000;
    while (rows[0]?.lastStatus !== "completed") {
      if (Date.now() > end) throw new Error(`no completed run: ${JSON.stringify(rows)}`);
      await new Promise((r) => setTimeout(r, 200));
      rows = await cronList(home);
    }
    equal((await runCli(["daemon", "stop"], opts)).code, 0);
    await new Promise((r) => setTimeout(r, 3000));
    equal((await runCli(["daemon", "start"], opts)).code, 0);
    daemonPid = await pidOf();
    // The scheduler starts once the daemon listens: wait for the entry to be listed.
    let again: CronRow[] = [];
    for (let i = 0; i < 100 && again.length === 0; i++) {
      again = await cronList(home);
      if (again.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    const row = again[0];
    ok(row && row.missed >= 2, JSON.stringify(again));
    const audit = await runCli(["audit", "list", "--json"], opts);
    equal(audit.code, 0, audit.stderr);
    const kinds = (JSON.parse(audit.stdout) as { action: { kind: string } }[]).map((e) =>
      e.action.kind
    );
    ok(kinds.includes("cron_run") && kinds.includes("cron_missed"), kinds.join());
    equal((await runCli(["daemon", "stop"], opts)).code, 0);
  } finally {
    if (daemonPid && alive(daemonPid)) Deno.kill(daemonPid, "SIGKILL");
    for (const dir of [home, ws, src]) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
