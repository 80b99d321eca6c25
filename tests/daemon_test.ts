/**
 * The daemon through the real CLI: `daemon start` detaches, `status` answers over a real
 * WebSocket with the bearer token, the upgrade refuses missing/wrong tokens and foreign
 * origins, one daemon per home, `stop` cleans up, `--ephemeral` exits after its last client,
 * and a `kill -9`ed daemon's stale lock is taken over.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { nobodyWorld, runCli, tempDirs } from "./cli.ts";
import { alive } from "./daemon_helpers.ts";

interface Info {
  pid: number;
  port: number;
  url: string;
  startedAt: number;
}

async function readInfo(home: string): Promise<Info> {
  return JSON.parse(await Deno.readTextFile(join(home, "daemon", "daemon.json")));
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 20_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Kills whatever daemon the home still runs (a failed test must not leave one behind). */
async function cleanup(home: string): Promise<void> {
  const info = await readInfo(home).catch(() => null);
  if (info && alive(info.pid)) {
    Deno.kill(info.pid, "SIGKILL");
    await waitFor("the daemon to die", () => !alive(info.pid)).catch(() => {});
  }
  await Deno.remove(home, { recursive: true }).catch(() => {});
}

/** Opens `/rpc` with `headers`; resolves with the open socket or rejects. */
function openSocket(url: string, headers: Record<string, string>): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/rpc`, { headers } as never);
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(ws);
    ws.onerror = (e) => reject(new Error((e as ErrorEvent).message));
  });
}

function rpc(
  ws: WebSocket,
  method: string,
  params: unknown = {},
): Promise<Record<string, unknown>> {
  const id = Math.floor(Math.random() * 1e9);
  return new Promise((resolve) => {
    const onMessage = (e: MessageEvent) => {
      const msg = JSON.parse(e.data);
      if (msg.id !== id) return;
      ws.removeEventListener("message", onMessage);
      resolve(msg);
    };
    ws.addEventListener("message", onMessage);
    ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
  });
}

function closeSocket(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve();
    ws.onclose = () => resolve();
    ws.close();
  });
}

Deno.test("daemon: start, status over WebSocket, auth and origin checks, one per home, stop", async () => {
  const { home, ws: work } = await tempDirs();
  await Deno.remove(work, { recursive: true });
  try {
    const notRunning = await runCli(["daemon", "status"], { home });
    equal(notRunning.code, 1);
    match(notRunning.stderr, new RegExp(`no daemon is running for ${home}`));

    const start = await runCli(["daemon", "start"], { home });
    equal(start.code, 0, start.stderr);
    const info = await readInfo(home);
    equal(start.stdout, `daemon started: pid ${info.pid} at ${info.url}\n`);
    equal(info.url, `http://127.0.0.1:${info.port}`);
    ok(alive(info.pid));
    equal((await Deno.stat(join(home, "daemon"))).mode! & 0o777, 0o700);
    equal((await Deno.stat(join(home, "daemon", "token"))).mode! & 0o777, 0o600);

    const status = await runCli(["daemon", "status", "--json"], { home });
    equal(status.code, 0, status.stderr);
    const parsed = JSON.parse(status.stdout);
    equal(parsed.pid, info.pid);
    equal(parsed.url, info.url);
    equal(parsed.home, home);

    // A Deno WebSocket client with the bearer token.
    const token = (await Deno.readTextFile(join(home, "daemon", "token"))).trim();
    const socket = await openSocket(info.url, { Authorization: `Bearer ${token}` });
    const reply = await rpc(socket, "status");
    const result = reply.result as Record<string, unknown>;
    equal(result.pid, info.pid);
    equal(result.clients, 1);
    equal(typeof result.uptimeMs, "number");
    const unknown = await rpc(socket, "no.such.method");
    equal((unknown.error as { code: number }).code, -32601);
    await closeSocket(socket);

    // The upgrade's refusals, and what they say (nothing).
    const rpcUrl = `${info.url}/rpc`;
    const none = await fetch(rpcUrl);
    equal(none.status, 401);
    equal(await none.text(), "unauthorized");
    const wrong = await fetch(rpcUrl, { headers: { Authorization: `Bearer ${"x".repeat(43)}` } });
    equal(wrong.status, 401);
    await wrong.body?.cancel();
    const foreign = await fetch(rpcUrl, {
      headers: { Authorization: `Bearer ${token}`, Origin: "http://evil.example" },
    });
    equal(foreign.status, 403);
    equal(await foreign.text(), "forbidden");
    for (const r of [none, foreign]) {
      match(r.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
      equal(r.headers.get("x-content-type-options"), "nosniff");
      equal(r.headers.get("referrer-policy"), "no-referrer");
    }
    let refused = false;
    await openSocket(info.url, { Authorization: "Bearer nope" }).then(closeSocket, () => {
      refused = true;
    });
    ok(refused, "a WebSocket with a wrong token does not open");
    refused = false;
    await openSocket(info.url, { Authorization: `Bearer ${token}`, Origin: "http://evil.example" })
      .then(closeSocket, () => refused = true);
    ok(refused, "a WebSocket from a foreign origin does not open");
    // Its own origin is fine (a browser page it served).
    const same = await openSocket(info.url, {
      Authorization: `Bearer ${token}`,
      Origin: info.url,
    });
    await closeSocket(same);

    const again = await runCli(["daemon", "start"], { home });
    equal(again.code, 0, again.stderr);
    equal(
      again.stdout,
      `a daemon is already running for ${home}: pid ${info.pid} at ${info.url}\n`,
    );

    const stop = await runCli(["daemon", "stop"], { home });
    equal(stop.code, 0, stop.stderr);
    equal(stop.stdout, `daemon stopped (pid ${info.pid})\n`);
    ok(!alive(info.pid));
    ok(!await exists(join(home, "daemon", "daemon.json")), "daemon.json is removed");
    ok(!await exists(join(home, "daemon", "lock")), "the lock is released");
    ok(await exists(join(home, "daemon", "token")), "the token is kept");
    match(await Deno.readTextFile(join(home, "daemon", "daemon.log")), /astridd: stopped/);
    equal((await runCli(["daemon", "status"], { home })).code, 1);
  } finally {
    await cleanup(home);
  }
});

Deno.test("daemon: --ephemeral exits once its last client left", async () => {
  const { home, ws: work } = await tempDirs();
  await Deno.remove(work, { recursive: true });
  try {
    const start = await runCli(["daemon", "start", "--ephemeral"], { home });
    equal(start.code, 0, start.stderr);
    const info = await readInfo(home);
    const token = (await Deno.readTextFile(join(home, "daemon", "token"))).trim();
    const a = await openSocket(info.url, { Authorization: `Bearer ${token}` });
    const b = await openSocket(info.url, { Authorization: `Bearer ${token}` });
    await closeSocket(a);
    equal(((await rpc(b, "status")).result as { clients: number }).clients, 1);
    ok(alive(info.pid), "one client is still connected");
    await closeSocket(b);
    await waitFor("the ephemeral daemon to exit", () => !alive(info.pid));
    ok(!await exists(join(home, "daemon", "daemon.json")));
    match(await Deno.readTextFile(join(home, "daemon", "daemon.log")), /ephemeral/);
  } finally {
    await cleanup(home);
  }
});

Deno.test("daemon: after kill -9, start takes over the stale lock", async () => {
  const { home, ws: work } = await tempDirs();
  await Deno.remove(work, { recursive: true });
  try {
    equal((await runCli(["daemon", "start"], { home })).code, 0);
    const first = await readInfo(home);
    Deno.kill(first.pid, "SIGKILL");
    await waitFor("the killed daemon to be gone", () => !alive(first.pid));
    ok(await exists(join(home, "daemon", "lock")), "the lock is left behind");
    equal((await runCli(["daemon", "status"], { home })).code, 1, "a stale daemon.json is ignored");
    const start = await runCli(["daemon", "start"], { home });
    equal(start.code, 0, start.stderr);
    const second = await readInfo(home);
    ok(second.pid !== first.pid);
    equal(
      JSON.parse((await runCli(["daemon", "status", "--json"], { home })).stdout).pid,
      second.pid,
    );
    equal((await runCli(["daemon", "stop"], { home })).code, 0);
  } finally {
    await cleanup(home);
  }
});

Deno.test("daemon run: a second daemon for the same home fails and says where the first is", async () => {
  const { home, ws: work } = await tempDirs();
  await Deno.remove(work, { recursive: true });
  try {
    equal((await runCli(["daemon", "start"], { home })).code, 0);
    const info = await readInfo(home);
    const second = await runCli(["daemon", "run"], { home });
    equal(second.code, 1);
    equal(
      second.stderr,
      `error: a daemon is already running for ${home}: pid ${info.pid} at ${info.url}\n`,
    );
    ok(alive(info.pid));
    equal((await runCli(["daemon", "stop"], { home })).code, 0);
  } finally {
    await cleanup(home);
  }
});

const isRoot = Deno.uid() === 0;

Deno.test({
  name: "daemon: as the unprivileged user nobody, token and lock belong to that user",
  ignore: !isRoot,
  async fn() {
    await using w = await nobodyWorld("astrid-daemon-nobody-");
    const home = w.home;
    try {
      const start = await w.run(["daemon", "start"]);
      equal(start.code, 0, start.stderr);
      const info = await readInfo(home);
      const token = await Deno.stat(join(home, "daemon", "token"));
      equal(token.uid, 65534);
      equal(token.mode! & 0o777, 0o600);
      const dir = await Deno.stat(join(home, "daemon"));
      deepEqual([dir.uid, dir.mode! & 0o777], [65534, 0o700]);
      equal((await Deno.stat(join(home, "daemon", "lock"))).uid, 65534);
      const status = await w.run(["daemon", "status", "--json"]);
      equal(status.code, 0, status.stderr);
      equal(JSON.parse(status.stdout).pid, info.pid);
      const stop = await w.run(["daemon", "stop"]);
      equal(stop.code, 0, stop.stderr);
      ok(!alive(info.pid));
    } finally {
      await cleanup(home);
    }
  },
});
