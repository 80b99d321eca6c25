/**
 * End to end: a real daemon (`astrid daemon start`), the CLI deferring into the same store, and
 * a raw WebSocket JSON-RPC client with the bearer token from `$ASTRID_HOME/daemon/token`.
 */
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDirs } from "./cli.ts";

/** A minimal JSON-RPC 2.0 client over the daemon's WebSocket. */
class Rpc {
  #ws: WebSocket;
  #next = 1;
  #pending = new Map<number, (msg: RpcReply) => void>();
  readonly notifications: { method: string; params: unknown }[] = [];

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (e) => {
      const msg = JSON.parse(String(e.data));
      if (typeof msg.id === "number") this.#pending.get(msg.id)?.(msg);
      else this.notifications.push(msg);
    };
  }

  static async open(home: string): Promise<Rpc> {
    const info = JSON.parse(await Deno.readTextFile(join(home, "daemon", "daemon.json")));
    const token = (await Deno.readTextFile(join(home, "daemon", "token"))).trim();
    const url = `${String(info.url).replace(/^http/, "ws")}/rpc`;
    const options = { headers: { Authorization: `Bearer ${token}` } };
    const ws = new WebSocket(url, options as unknown as string[]);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error(`Cannot connect to ${url}`));
    });
    return new Rpc(ws);
  }

  async call<T>(method: string, params: unknown = {}): Promise<T> {
    const reply = await this.raw(method, params);
    if (reply.error) throw Object.assign(new Error(reply.error.message), reply.error);
    return reply.result as T;
  }

  raw(method: string, params: unknown): Promise<RpcReply> {
    const id = this.#next++;
    const reply = new Promise<RpcReply>((resolve) => this.#pending.set(id, resolve));
    this.#ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    return reply;
  }

  async close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((resolve) => this.#ws.onclose = resolve);
    this.#ws.close();
    await closed;
  }
}

interface RpcReply {
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** The first notification matching `test`, waiting up to 20 s for it. */
async function notified(
  rpc: Rpc,
  test: (n: { method: string; params: unknown }) => boolean,
): Promise<{ method: string; params: unknown }> {
  for (let waited = 0; waited < 20_000; waited += 50) {
    const found = rpc.notifications.find(test);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("Cannot find the expected notification: none arrived within 20 s");
}

async function daemonPid(home: string): Promise<number> {
  return JSON.parse(await Deno.readTextFile(join(home, "daemon", "daemon.json"))).pid;
}

/** `tools call write_file` with no TTY: deferred (exit 4); returns the id. */
async function deferWrite(home: string, ws: string, file: string, content: string) {
  const call = await runCli([
    "tools",
    "call",
    "write_file",
    "--args",
    JSON.stringify({ file_path: file, content }),
  ], { home, cwd: ws });
  equal(call.code, 4, call.stderr);
  return call.stdout.trim();
}

async function startDaemon(home: string, ws: string): Promise<void> {
  const start = await runCli(["daemon", "start"], { home, cwd: ws });
  equal(start.code, 0, start.stderr);
}

function killDaemon(pid: number): void {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch { /* already gone */ }
}

Deno.test("a real daemon lists deferred actions and carries out or refuses them like the CLI", async () => {
  const { home, ws } = await tempDirs();
  equal((await runCli(["init", ws], { home })).code, 0);
  await startDaemon(home, ws);
  let pid = await daemonPid(home);
  let rpc: Rpc | null = null;
  try {
    const yes = await deferWrite(home, ws, "yes.txt", "approved over RPC\n");
    rpc = await Rpc.open(home);
    const listed = await rpc.call<{ id: string; action: string; reason: string }[]>(
      "approvals.list",
    );
    deepEqual(listed.map((a) => [a.id, a.action]), [[yes, "file_write"]]);
    ok(listed[0]!.reason.length > 0);

    const once = await rpc.call<{ status: string }>("approvals.respond", {
      id: yes,
      answer: "once",
    });
    equal(once.status, "executed");
    equal(await Deno.readTextFile(join(ws, "yes.txt")), "approved over RPC\n");
    const audit = await rpc.call<{ decision: string; action: { kind: string } }[]>("audit.list");
    ok(audit.some((e) => e.decision === "allowed" && e.action.kind === "file_write"));

    const twice = await rpc.raw("approvals.respond", { id: yes, answer: "once" });
    equal(twice.error?.code, -32009);

    await rpc.call("events.subscribe", { types: ["approval.requested", "approval.resolved"] });
    const no = await deferWrite(home, ws, "no.txt", "never\n");
    // The daemon's watcher sees the CLI's deferral in the shared queue and announces it.
    const requested = await notified(rpc, (n) =>
      n.method === "events.event" &&
      (n.params as { event: { approval?: { id: string } } }).event.approval?.id === no);
    equal((requested.params as { event: { type: string } }).event.type, "approval.requested");
    const deny = await rpc.call<{ status: string }>("approvals.respond", {
      id: no,
      answer: "deny",
    });
    equal(deny.status, "denied");
    const resolved = await notified(
      rpc,
      (n) =>
        (n.params as { event: { type: string; id?: string } }).event.type === "approval.resolved" &&
        (n.params as { event: { id?: string } }).event.id === no,
    );
    match((resolved.params as { event: { by: string } }).event.by, /^cli:/);
    await rejects(Deno.stat(join(ws, "no.txt")), Deno.errors.NotFound);

    const bad = await rpc.raw("approvals.respond", { id: no, answer: "maybe" });
    equal(bad.error?.code, -32602);
    match(bad.error!.message, /answer/);

    // kill -9 right after an acknowledged respond: the decision and its result survive.
    const late = await deferWrite(home, ws, "late.txt", "survives\n");
    const ack = await rpc.call<{ status: string }>("approvals.respond", {
      id: late,
      answer: "once",
    });
    equal(ack.status, "executed");
    killDaemon(pid);
    await rpc.close();
    rpc = null;
    await startDaemon(home, ws);
    pid = await daemonPid(home);
    rpc = await Rpc.open(home);
    const all = await rpc.call<{ id: string; status: string }[]>("approvals.list", { all: true });
    deepEqual(
      all.map((a) => [a.id, a.status]).sort(),
      [[yes, "executed"], [no, "denied"], [late, "executed"]].sort(),
    );
    const show = await runCli(["approvals", "show", late, "--json"], { home, cwd: ws });
    const record = JSON.parse(show.stdout);
    equal(record.decision.choice, "once");
    equal(record.status, "executed");
    equal(typeof record.result?.output, "string");
    equal(await Deno.readTextFile(join(ws, "late.txt")), "survives\n");
  } finally {
    await rpc?.close();
    const stop = await runCli(["daemon", "stop"], { home, cwd: ws });
    if (stop.code !== 0) killDaemon(pid);
    await Deno.remove(home, { recursive: true });
    await Deno.remove(ws, { recursive: true });
  }
});
