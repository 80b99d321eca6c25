import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import type { Runtime } from "../cli/context.ts";
import type { ApprovalRequest } from "../security/approval.ts";
import { openClient } from "./client.ts";
import { startDaemon } from "./daemon.ts";
import { EventLog } from "./events.ts";
import { Hub } from "./hub.ts";
import { group as events } from "./methods/events.ts";
import { group as status } from "./methods/status.ts";
import { MAX_FRAME_BYTES } from "./rpc.ts";
import type { DaemonEvent } from "./types.ts";

function request(id: string, sessionId = "s1"): ApprovalRequest {
  return {
    id,
    sessionId,
    action: { kind: "file_write", path: "/etc/x", content: "" } as never,
    info: { resource: "file:///etc/x", permission: "write", risk: "high", summary: "write /etc/x" },
    reason: "outside the workspace",
    provenance: { trust: "untrusted", source: "read_file /ws/README.md" },
    suggestions: ["file:///etc/x"],
  };
}

/** A daemon with the status and events groups over a home that holds no runtime state. */
async function daemon() {
  const home = await Deno.makeTempDir({ prefix: "astrid-daemon-" });
  const lines: string[] = [];
  const rt = { paths: { home } } as unknown as Runtime;
  const d = await startDaemon({
    rt,
    groups: [status, events],
    signals: false,
    log: (l) => lines.push(l),
  });
  return {
    d,
    home,
    lines,
    async [Symbol.asyncDispose]() {
      d.stop("test over");
      await d.stopped;
      await Deno.remove(home, { recursive: true });
    },
  };
}

function nextEvents(
  client: { onNotification(fn: (m: string, p: unknown) => void): () => void },
  n: number,
): Promise<{ seq: number; event: DaemonEvent }[]> {
  const got: { seq: number; event: DaemonEvent }[] = [];
  return new Promise((resolve) => {
    const off = client.onNotification((method, params) => {
      if (method !== "events.event") return;
      got.push(params as { seq: number; event: DaemonEvent });
      if (got.length === n) {
        off();
        resolve(got);
      }
    });
  });
}

Deno.test("events.subscribe streams matching events to the connection that subscribed", async () => {
  await using t = await daemon();
  const client = await openClient(t.d.info, t.d.token, "cli:test");
  try {
    const sub = await client.call<{ subscription: string; seq: number }>("events.subscribe", {
      types: ["text"],
      sessionId: "s1",
    });
    equal(sub.seq, 0);
    const got = nextEvents(client, 2);
    t.d.context.events.publish({ type: "turn.start", sessionId: "s1", turn: 1 });
    t.d.context.events.publish({ type: "text", sessionId: "s2", text: "other session" });
    t.d.context.events.publish({ type: "text", sessionId: "s1", text: "a" });
    t.d.context.events.publish({ type: "text", sessionId: "s1", text: "b" });
    deepEqual((await got).map((e) => [e.seq, (e.event as { text: string }).text]), [
      [3, "a"],
      [4, "b"],
    ]);
    await client.call("events.unsubscribe", { subscription: sub.subscription });
    await rejects(
      client.call("events.unsubscribe", { subscription: sub.subscription }),
      /no subscription/,
    );
    await rejects(client.call("events.subscribe", { types: ["nope"] }), /params\.types\[0\]/);
  } finally {
    client.close();
  }
});

Deno.test("events.subscribe with since replays the kept events first, in order", async () => {
  await using t = await daemon();
  for (let i = 1; i <= 3; i++) {
    t.d.context.events.publish({ type: "text", sessionId: "s", text: String(i) });
  }
  const client = await openClient(t.d.info, t.d.token, "cli:test");
  try {
    const got = nextEvents(client, 3);
    const sub = await client.call<{ seq: number }>("events.subscribe", { since: 1 });
    equal(sub.seq, 3);
    t.d.context.events.publish({ type: "text", sessionId: "s", text: "4" });
    deepEqual((await got).map((e) => e.seq), [2, 3, 4]);
  } finally {
    client.close();
  }
});

Deno.test("a canAnswer subscriber is offered live approvals; the first answer wins", async () => {
  await using t = await daemon();
  const hub = t.d.context.approvals;
  equal(hub.canAsk(), false);
  const a = await openClient(t.d.info, t.d.token, "cli:a");
  const b = await openClient(t.d.info, t.d.token, "web:b");
  try {
    await a.call("events.subscribe", { canAnswer: true, types: ["text"] });
    await b.call("events.subscribe", { canAnswer: true });
    equal(hub.canAsk(), true);
    const offered = Promise.all([nextEvents(a, 2), nextEvents(b, 2)]);
    const asked = hub.ask(request("ap1"), new AbortController().signal);
    equal(hub.pending().length, 1);
    equal(hub.answer("ap1", { choice: "session", pattern: "file:///etc/x" }, "cli:a"), true);
    equal(hub.answer("ap1", { choice: "deny" }, "web:b"), false);
    equal((await asked).choice, "session");
    for (const seen of await offered) {
      equal(seen[0]?.event.type, "approval.requested");
      equal((seen[0]?.event as { approval: { kind: string } }).approval.kind, "live");
      deepEqual(seen[1]?.event, {
        type: "approval.resolved",
        id: "ap1",
        answer: "session",
        by: "cli:a",
        status: "answered",
      });
    }
  } finally {
    a.close();
    b.close();
  }
  // Nobody attached any more: the broker will defer.
  const end = Date.now() + 5000;
  while (hub.canAsk() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  equal(hub.canAsk(), false);
});

Deno.test("Hub.ask() rejects and withdraws the request when its signal aborts", async () => {
  const bus = new EventLog();
  const seen: DaemonEvent[] = [];
  bus.subscribe((_s, e) => seen.push(e));
  const hub = new Hub(bus);
  const settled: string[] = [];
  hub.attach({
    id: "t",
    onEvent() {},
    offerApproval() {},
    approvalSettled: (id, _a, by) => settled.push(`${id}:${by}`),
  });
  const ctl = new AbortController();
  const asked = hub.ask(request("ap2"), ctl.signal);
  ctl.abort(new Error("turn cancelled"));
  await rejects(asked, /turn cancelled/);
  equal(hub.pending().length, 0);
  equal(hub.answer("ap2", { choice: "once" }, "cli:x"), false);
  deepEqual(settled, ["ap2:timeout"]);
  equal(seen.at(-1)?.type, "approval.resolved");
});

Deno.test("EventLog keeps only the last events for replay", () => {
  const bus = new EventLog({ size: 3 });
  for (let i = 0; i < 5; i++) bus.publish({ type: "text", sessionId: "s", text: String(i) });
  deepEqual(bus.replay(0).map((e) => e.seq), [3, 4, 5]);
  let calls = 0;
  bus.subscribe(() => {
    throw new Error("bad subscriber");
  });
  bus.subscribe(() => calls++);
  bus.publish({ type: "text", sessionId: "s", text: "x" });
  equal(calls, 1, "a throwing subscriber does not stop delivery");
});

Deno.test("the daemon closes a connection that sends a frame over 1 MiB", async () => {
  await using t = await daemon();
  const client = await openClient(t.d.info, t.d.token, "cli:big");
  const closed = new Promise<void>((resolve) => client.onClose(resolve));
  await rejects(
    client.call("status", { pad: "x".repeat(MAX_FRAME_BYTES) }),
    /too large|closed the connection/,
  );
  await closed;
  const end = Date.now() + 5000;
  while (!t.lines.some((l) => /client left/.test(l)) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
  }
  ok(t.lines.some((l) => /client left/.test(l)), "the daemon dropped the connection");
});

Deno.test("status answers over the daemon's own client and daemon.stop stops it", async () => {
  const home = await Deno.makeTempDir({ prefix: "astrid-daemon-" });
  try {
    const rt = { paths: { home } } as unknown as Runtime;
    const d = await startDaemon({ rt, groups: [status, events], signals: false, log: () => {} });
    const client = await openClient(d.info, d.token, "cli:test");
    const s = await client.call<{ pid: number; home: string; clients: number }>("status");
    deepEqual([s.pid, s.home, s.clients], [Deno.pid, home, 1]);
    const closed = new Promise<void>((resolve) => client.onClose(resolve));
    match(JSON.stringify(await client.call("daemon.stop")), /"stopping":true/);
    await d.stopped;
    await closed;
    await rejects(Deno.stat(`${home}/daemon/daemon.json`), Deno.errors.NotFound);
    await rejects(Deno.stat(`${home}/daemon/lock`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("--public-url: browsers may open /rpc from the proxy's origin, not from others", async () => {
  const home = await Deno.makeTempDir({ prefix: "astrid-daemon-" });
  const rt = { paths: { home } } as unknown as Runtime;
  const d = await startDaemon({
    rt,
    groups: [status],
    signals: false,
    log: () => {},
    publicUrl: "https://astrid.example.net/",
  });
  try {
    const rpcUrl = `${d.info.url}/rpc`;
    const auth = { Authorization: `Bearer ${d.token}` };
    const proxied = await fetch(rpcUrl, {
      headers: { ...auth, Origin: "https://astrid.example.net" },
    });
    equal(proxied.status, 426, "past the origin and token checks (not an upgrade)");
    await proxied.body?.cancel();
    const evil = await fetch(rpcUrl, { headers: { ...auth, Origin: "https://evil.example.net" } });
    equal(evil.status, 403);
    await evil.body?.cancel();
  } finally {
    d.stop("test over");
    await d.stopped;
    await Deno.remove(home, { recursive: true });
  }
});
