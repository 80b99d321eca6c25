/**
 * OpenClaw services as real background services of the daemon (runtime/daemon/gateway.ts),
 * through the real CLI and a real detached daemon in a temp ASTRID_HOME, with real OpenClaw
 * plugin folders (written here) compiled by `astrid capsule compile`:
 * - a service's `setInterval` keeps ticking while the daemon runs (a counter in capsule KV
 *   grows), its `stop` sees the state `start` left on `this`, and no tick follows `stop`, on
 *   `daemon stop` and on `capsule remove` while the daemon keeps running;
 * - hostile: `setInterval(fn, 0)` is clamped (at most one firing a second) and the daemon still
 *   answers `status`; a callback's host call outside its capabilities is refused and audited; a
 *   callback that never returns is cut off at the CPU deadline and its service is marked failed
 *   while the daemon keeps running.
 */
import { equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDirs } from "./cli.ts";
import { alive, daemonCall, until } from "./daemon_helpers.ts";

type Row = { capsule: string; state: string; detail?: string };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An OpenClaw plugin `id` whose `register(api)` body is `body` (with `store`, a keyed store in
 * capsule KV, and a `/get KEY` command that prints a stored value as JSON), compiled with
 * `astrid capsule compile` into `<dir>/out`.
 */
async function plugin(dir: string, id: string, body: string): Promise<string> {
  const src = join(dir, id);
  await Deno.mkdir(src, { recursive: true });
  await Deno.writeTextFile(
    join(src, "package.json"),
    JSON.stringify({
      name: `@fixtures/${id}`,
      version: "0.1.0",
      type: "module",
      peerDependencies: { openclaw: ">=2026.3.24" },
      openclaw: { extensions: ["./index.ts"] },
    }),
  );
  await Deno.writeTextFile(
    join(src, "openclaw.plugin.json"),
    JSON.stringify({ id, name: id, description: `fixture ${id}`, configSchema: {} }),
  );
  await Deno.writeTextFile(
    join(src, "index.ts"),
    `import { definePluginEntry } from "openclaw/plugin-sdk/plugin-entry";
export default definePluginEntry({
  id: ${JSON.stringify(id)},
  name: ${JSON.stringify(id)},
  description: "fixture",
  register(api: any) {
    const store = api.runtime.state.openKeyedStore({ namespace: "svc", maxEntries: 100 });
    api.registerCommand({
      name: "get",
      description: "print a stored value",
      acceptsArgs: true,
      handler: async (ctx: any) => {
        const all = await store.entries();
        const hit = all.find((e: any) => e.key === (ctx.args ?? "").trim());
        return { text: JSON.stringify(hit ? hit.value : null) };
      },
    });
${body}
  },
});
`,
  );
  const out = join(dir, `${id}-out`);
  const r = await runCli(["capsule", "compile", src, "-o", out], { home: dir });
  equal(r.code, 0, `compile ${id}: ${r.stderr}`);
  return out;
}

/** A fresh home and workspace with `config`; `start()` starts the daemon; cleans up on dispose. */
async function world(config: string, extra: string[]) {
  const { home, ws } = await tempDirs();
  await Deno.writeTextFile(join(home, "config.toml"), config);
  const opts = { home, cwd: ws };
  equal((await runCli(["init", ws], opts)).code, 0);
  let pid = 0;
  return {
    home,
    ws,
    cli: (args: string[]) => runCli(args, opts),
    async start() {
      const started = await runCli(["daemon", "start"], opts);
      equal(started.code, 0, started.stderr);
      pid = JSON.parse(await Deno.readTextFile(join(home, "daemon", "daemon.json"))).pid;
    },
    async stop() {
      equal((await runCli(["daemon", "stop"], opts)).code, 0);
    },
    services: async () => (await daemonCall<{ services: Row[] }>(home, "services.list")).services,
    log: () => Deno.readTextFile(join(home, "daemon", "daemon.log")).catch(() => ""),
    /** `/get KEY` of capsule `id` (the value as stored, or null). */
    async get<T>(id: string, key: string): Promise<T | null> {
      const r = await runCli(["capsule", "run", id, "get", key], opts);
      equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout.trim());
    },
    async [Symbol.asyncDispose]() {
      await runCli(["daemon", "stop"], opts);
      if (pid && alive(pid)) Deno.kill(pid, "SIGKILL");
      for (const dir of [home, ws, ...extra]) {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    },
  };
}

/** A service that counts ticks of a 1 s interval on `this`, and records what `stop` saw. */
const TICKER = `
    api.registerService({
      id: "ticker",
      start(this: any) {
        this.count = 0;
        this.started = "in start";
        this.timer = setInterval(async () => {
          this.count++;
          await store.register("ticks", { n: this.count });
        }, 1000);
      },
      async stop(this: any) {
        clearInterval(this.timer);
        await store.register("stopped", { n: this.count, saw: this.started });
      },
    });`;

type Ticks = { n: number };

Deno.test("a service's setInterval keeps running in the daemon until daemon stop, and stop sees start's state", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astrid-svc-" });
  const out = await plugin(dir, "ticker", TICKER);
  await using w = await world('[permissions]\nallow = ["capsule://ticker/*"]\n', [dir]);
  equal((await w.cli(["capsule", "install", out, "--yes"])).code, 0);
  await w.start();
  const first = await until("a tick", () => w.get<Ticks>("ticker", "ticks"), (v) => !!v);
  const later = await until(
    "more ticks",
    () => w.get<Ticks>("ticker", "ticks"),
    (v) => (v?.n ?? 0) > first!.n,
  );
  ok(later!.n > first!.n);
  equal((await w.services()).find((s) => s.capsule === "ticker")?.state, "running");
  await w.stop();
  const stopped = await w.get<{ n: number; saw: string }>("ticker", "stopped");
  equal(stopped?.saw, "in start", "stop ran in the instance start ran in");
  const last = await w.get<Ticks>("ticker", "ticks");
  equal(last?.n, stopped?.n, "no tick after stop");
  ok(stopped!.n >= later!.n);
});

Deno.test("a service's timers stop when its capsule is removed while the daemon keeps running", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astrid-svc-" });
  const out = await plugin(dir, "ticker", TICKER);
  await using w = await world('[permissions]\nallow = ["capsule://ticker/*"]\n', [dir]);
  await w.start();
  const install = await w.cli(["capsule", "install", out, "--yes"]);
  equal(install.code, 0, install.stderr);
  await until("two ticks", () => w.get<Ticks>("ticker", "ticks"), (v) => (v?.n ?? 0) >= 2);
  const removed = await w.cli(["capsule", "remove", "ticker"]);
  equal(removed.code, 0, removed.stderr);
  match(removed.stderr, /daemon: ticker stopped/);
  // The daemon keeps running for several interval periods after the removal.
  await sleep(3_500);
  equal((await daemonCall<{ ok?: unknown }>(w.home, "status")) !== null, true);
  await w.stop();
  const back = await w.cli(["capsule", "install", out, "--yes", "--keep-data"]);
  equal(back.code, 0, back.stderr);
  const stopped = await w.get<{ n: number; saw: string }>("ticker", "stopped");
  const last = await w.get<Ticks>("ticker", "ticks");
  equal(stopped?.saw, "in start");
  equal(last?.n, stopped?.n, "no tick after the capsule was removed");
});

Deno.test("hostile services: setInterval(fn, 0) is clamped, a refused host call is audited, a spinning callback is cut off", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astrid-svc-" });
  // Fires as often as it is allowed to; every 3rd tick tries the network it was not granted.
  const busy = await plugin(
    dir,
    "busy",
    `
    let n = 0;
    api.registerService({
      id: "busy",
      start() {
        setInterval(async () => {
          n++;
          await store.register("ticks", { n });
          if (n === 2) {
            try {
              await fetch("http://127.0.0.1:9/forbidden");
              await store.register("fetch", { text: "reached" });
            } catch (e) {
              await store.register("fetch", { text: String((e as Error).message) });
            }
          }
          if (n === 3) throw new Error("tick three threw");
        }, 0);
      },
    });`,
  );
  // Its second tick never returns.
  const spin = await plugin(
    dir,
    "spin",
    `
    let n = 0;
    api.registerService({
      id: "spin",
      start() {
        setInterval(async () => {
          n++;
          await store.register("ticks", { n });
          if (n === 2) for (;;) { /* spin */ }
        }, 1000);
      },
    });`,
  );
  await using w = await world(
    '[capsules]\ntimeout_seconds = 2\n[permissions]\nallow = ["capsule://busy/*", "capsule://spin/*"]\n',
    [dir],
  );
  for (const out of [busy, spin]) {
    equal((await w.cli(["capsule", "install", out, "--yes"])).code, 0);
  }
  const began = performance.now();
  await w.start();
  const spun = await until(
    "spin marked failed",
    w.services,
    (rows) => rows.find((s) => s.capsule === "spin")?.state === "failed",
  );
  match(spun.find((s) => s.capsule === "spin")!.detail ?? "", /DEADLINE|deadline/);
  // The daemon keeps running: it answers, and the other service still ticks.
  ok(await daemonCall<unknown>(w.home, "status"));
  const seen = await w.get<Ticks>("busy", "ticks");
  const more = await until(
    "busy ticks on",
    () => w.get<Ticks>("busy", "ticks"),
    (v) => (v?.n ?? 0) > (seen?.n ?? 0) && (v?.n ?? 0) >= 4,
  );
  // Clamped: at most one firing a second since the daemon started (plus the start call's own).
  const seconds = (performance.now() - began) / 1000;
  ok(more!.n <= seconds + 2, `${more!.n} ticks in ${seconds.toFixed(1)} s`);
  equal((await w.services()).find((s) => s.capsule === "busy")?.state, "running");
  // Its fetch was refused (no net capability) and the refusal is on the record.
  const fetched = await w.get<{ text: string }>("busy", "fetch");
  ok(fetched && fetched.text !== "reached", JSON.stringify(fetched));
  match(fetched!.text, /is not in net/);
  const audit = await w.cli(["audit", "list", "--json"]);
  equal(audit.code, 0, audit.stderr);
  const entries = JSON.parse(audit.stdout) as {
    decision: string;
    sessionId?: string;
    action: { resource: string };
  }[];
  ok(
    entries.some((e) =>
      e.action.resource === "tool://capsule:busy/http-request" && e.decision === "denied" &&
      (e.sessionId ?? "").startsWith("daemon:gateway:")
    ),
    JSON.stringify(entries.map((e) => [e.decision, e.action.resource, e.sessionId])),
  );
  const log = await w.log();
  match(log, /capsule busy: a timer callback failed: tick three threw/);
  match(log, /capsule spin: .*DEADLINE/);
});
