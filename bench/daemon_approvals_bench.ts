/**
 * The daemon's approvals under load (issue 14, "approvals per second when 1,000 are queued"):
 * a real daemon (`startDaemon` over a runtime opened as the CLI opens it, KV on disk) and a
 * WebSocket JSON-RPC client with the bearer token, in one process.
 *
 * - `approvals.list` with 1,000 pending deferred actions;
 * - `approvals.respond deny` of one of 1,000 queued (each deny is an atomic KV decision plus an
 *   audit entry), one at a time and 100 in flight at once; the queue is refilled to 1,000 outside
 *   the timed part.
 *
 * Approvals per second = 1 / (time per deny). Run: `deno bench -A bench/daemon_approvals_bench.ts`.
 */
import { Command } from "commander";
import { join } from "node:path";
import { withRuntime } from "../runtime/cli/context.ts";
import { startDaemon } from "../runtime/daemon/daemon.ts";
import { DeferredQueue, type DeferredRecord } from "../runtime/security/approval.ts";

const QUEUED = 1000;
const home = await Deno.makeTempDir({ prefix: "astrid-approvals-bench-home-" });
const ws = await Deno.makeTempDir({ prefix: "astrid-approvals-bench-ws-" });
await Deno.mkdir(join(ws, ".astrid"));

const io = {
  env: { ASTRID_HOME: home, HOME: home, ASTRID_SYSTEM_CONFIG: join(home, "none.toml") },
  cwd: ws,
  isTty: false,
  stdout: () => {},
  stderr: () => {},
};

/** A deferred `write_file` as the interceptor stores it. */
function record(n: number): DeferredRecord {
  const path = join(ws, `f${n}.txt`);
  return {
    id: crypto.randomUUID(),
    createdAt: Date.now(),
    sessionId: "bench",
    workspaceRoot: ws,
    action: { kind: "file_write", path },
    info: {
      resource: `file://${path}`,
      permission: "write",
      risk: "medium",
      summary: `write ${path}`,
    } as DeferredRecord["info"],
    reason: "workspace mode asks before writing",
    provenance: { trust: "trusted" },
    execution: { executor: "tool", payload: { tool: "write_file", args: { file_path: path } } },
    costUsd: 0,
    status: "pending",
    decision: null,
    result: null,
  };
}

type Call = (method: string, params: unknown) => Promise<unknown>;
const ready = Promise.withResolvers<{ call: Call; refill(): Promise<void>; pending: string[] }>();
const done = Promise.withResolvers<void>();
// The runtime stays open while the benches run (they run after this module is evaluated).
withRuntime(new Command(), io, async (rt) => {
  const daemon = await startDaemon({ rt, port: 0, signals: false, log: () => {} });
  const queue = new DeferredQueue(rt.store);
  const pending: string[] = [];
  let made = 0;
  const refill = async () => {
    while (pending.length < QUEUED) {
      const r = record(made++);
      await queue.add(r);
      pending.push(r.id);
    }
  };
  await refill();
  const socket = new WebSocket(
    `${daemon.info.url.replace(/^http/, "ws")}/rpc`,
    { headers: { Authorization: `Bearer ${daemon.token}` } } as unknown as string[],
  );
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  let next = 1;
  const waiting = new Map<number, (m: { error?: { message: string } }) => void>();
  socket.onmessage = (e) => {
    const msg = JSON.parse(String(e.data));
    if (typeof msg.id === "number") waiting.get(msg.id)?.(msg);
  };
  const call: Call = async (method, params) => {
    const id = next++;
    const reply = await new Promise<{ error?: { message: string } }>((resolve) => {
      waiting.set(id, resolve);
      socket.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    });
    waiting.delete(id);
    if (reply.error) throw new Error(`${method}: ${reply.error.message}`);
    return reply;
  };
  ready.resolve({ call, refill, pending });
  await done.promise;
  socket.close();
  daemon.stop("bench done");
  await daemon.stopped;
}).catch((err) => ready.reject(err));

const { call, refill, pending } = await ready.promise;

Deno.bench("approvals.list, 1,000 pending", { group: "list" }, async () => {
  await call("approvals.list", {});
});

Deno.bench("approvals.respond deny, 1,000 queued (one at a time)", {
  group: "deny",
  baseline: true,
}, async (b) => {
  await refill();
  const id = pending.shift()!;
  b.start();
  await call("approvals.respond", { id, answer: "deny" });
  b.end();
});

Deno.bench("approvals.respond deny ×100 in flight, 1,000 queued", { group: "deny" }, async (b) => {
  await refill();
  const ids = pending.splice(0, 100);
  b.start();
  await Promise.all(ids.map((id) => call("approvals.respond", { id, answer: "deny" })));
  b.end();
});

globalThis.addEventListener("unload", () => {
  done.resolve();
  Deno.removeSync(home, { recursive: true });
  Deno.removeSync(ws, { recursive: true });
});
