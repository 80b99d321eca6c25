/**
 * End to end: a real daemon (`astrid daemon run`, a subprocess through the launcher) hosting
 * sessions whose model is the loopback fake Anthropic server; `astrid chat -p` attached to it;
 * two WebSocket clients sharing one session; first answer wins between two attached clients.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { startFakeAnthropic } from "../runtime/llm/replay_anthropic.ts";
import type { FakeTurn } from "../runtime/llm/_replay_sse.ts";
import { connectDaemon, type DaemonClient } from "../runtime/daemon/client.ts";
import type { DaemonEvent, PendingApproval } from "../runtime/daemon/types.ts";
import { DaemonFrontend } from "../runtime/cli/daemon_frontend.ts";
import { runCli, tempDirs } from "./cli.ts";
import { Pane } from "./_tmux.ts";
import { connectWhenUp, fakeModelEnv, spawnDaemonRun } from "./daemon_helpers.ts";

interface World {
  home: string;
  ws: string;
  env: Record<string, string>;
  client(name: string): Promise<DaemonClient>;
  /** SIGKILLs the daemon. */
  kill9(): Promise<void>;
  /** Starts a new daemon over the same home. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** A home, an initialised workspace, the fake model, and a daemon running over them. */
async function daemonWorld(script: readonly FakeTurn[]): Promise<World> {
  const { home, ws } = await tempDirs();
  await Deno.mkdir(join(ws, ".astrid"));
  const fake = startFakeAnthropic(script);
  const env = fakeModelEnv(fake.url);
  const spawn = () => spawnDaemonRun(home, home, env);
  const clients: DaemonClient[] = [];
  const up = async () => clients.push(await connectWhenUp(home));
  let daemon = spawn();
  await up();
  return {
    home,
    ws,
    env,
    async client(name) {
      const c = await connectDaemon(home, name);
      if (!c) throw new Error("no daemon");
      clients.push(c);
      return c;
    },
    async kill9() {
      // The daemon itself (the launcher re-executes it as a child), then its launcher.
      const pid = clients.at(-1)!.info.pid;
      Deno.kill(pid, "SIGKILL");
      await daemon.status;
      for (const c of clients) c.close();
    },
    async restart() {
      daemon = spawn();
      await up();
    },
    async close() {
      for (const c of clients) c.close();
      try {
        daemon.kill("SIGTERM");
      } catch { /* already gone */ }
      await daemon.status;
      await fake.close();
      await Deno.remove(home, { recursive: true }).catch(() => {});
      await Deno.remove(ws, { recursive: true }).catch(() => {});
    },
  };
}

/** Collects a client's events; `next` waits for the first later one that matches. */
function watch(client: DaemonClient) {
  const seen: DaemonEvent[] = [];
  const waiters = new Set<{ m: (e: DaemonEvent) => boolean; r: (e: DaemonEvent) => void }>();
  client.onNotification((method, params) => {
    if (method !== "events.event") return;
    const e = (params as { event: DaemonEvent }).event;
    seen.push(e);
    for (const w of [...waiters]) {
      if (w.m(e)) {
        waiters.delete(w);
        w.r(e);
      }
    }
  });
  return {
    seen,
    next: (m: (e: DaemonEvent) => boolean) =>
      new Promise<DaemonEvent>((r) => {
        const already = seen.find(m);
        if (already) r(already);
        else waiters.add({ m, r });
      }),
  };
}

Deno.test("chat -p attaches to a running daemon: it prints the answer and the session is listed, not live", async () => {
  const w = await daemonWorld([
    { text: "Hello from the daemon's model." },
    { text: "Local answer." },
  ]);
  try {
    const r = await runCli(["chat", "-p", "hi"], { home: w.home, cwd: w.ws, env: w.env });
    equal(r.code, 0, r.stderr);
    equal(r.stdout, "Hello from the daemon's model.\n");
    match(r.stderr, /in the daemon at http:\/\/127\.0\.0\.1:\d+/);
    const id = /session ([0-9a-f-]{36})/.exec(r.stderr)?.[1];
    ok(id, r.stderr);
    const client = await w.client("lister");
    const rows = await client.call<{ id: string; live: boolean; workspace: string }[]>(
      "sessions.list",
      {},
    );
    const row = rows.find((s) => s.id === id);
    ok(row, JSON.stringify(rows));
    equal(row.live, false);
    equal(row.workspace, w.ws);
    // --no-daemon runs the session in this process, as without a daemon.
    const local = await runCli(["chat", "--no-daemon", "-p", "again"], {
      home: w.home,
      cwd: w.ws,
      env: w.env,
    });
    equal(local.code, 0, local.stderr);
    equal(local.stdout, "Local answer.\n");
    ok(!local.stderr.includes("in the daemon"), local.stderr);
  } finally {
    await w.close();
  }
});

Deno.test("a session started by one client is continued by another; both see the events", async () => {
  const w = await daemonWorld([{ text: "First answer." }, { text: "Second answer." }]);
  try {
    const a = await w.client("a");
    const b = await w.client("b");
    const { sessionId } = await a.call<{ sessionId: string }>("sessions.create", {
      workspace: w.ws,
      title: "shared",
    });
    const seenA = watch(a);
    const seenB = watch(b);
    await a.call("events.subscribe", { sessionId });
    await b.call("events.subscribe", { sessionId });
    const r1 = await a.call<{ text: string }>("sessions.send", {
      sessionId,
      text: "one",
      wait: true,
    });
    equal(r1.text, "First answer.");
    const r2 = await b.call<{ text: string }>("sessions.send", {
      sessionId,
      text: "two",
      wait: true,
    });
    equal(r2.text, "Second answer.");
    for (const seen of [seenA, seenB]) {
      await seen.next((e) => e.type === "turn.end" && e.text === "Second answer.");
      const text = seen.seen.filter((e) => e.type === "text").map((e) =>
        (e as { text: string }).text
      );
      equal(text.join(""), "First answer.Second answer.");
    }
    const shown = await b.call<{ messages: unknown[]; session: { turnCount: number } }>(
      "sessions.show",
      { sessionId },
    );
    equal(shown.session.turnCount, 2);
    equal(shown.messages.length, 4);
  } finally {
    await w.close();
  }
});

Deno.test("first answer wins between two attached clients; the CLI frontend withdraws its prompt", async () => {
  const w = await daemonWorld([
    { toolCalls: [{ id: "t1", name: "write_file", args: { file_path: "a.txt", content: "x" } }] },
    { text: "Written." },
  ]);
  try {
    const web = await w.client("web-like");
    const cli = await w.client("cli-like");
    const { sessionId } = await web.call<{ sessionId: string }>("sessions.create", {
      workspace: w.ws,
    });
    // The CLI side: the real DaemonFrontend with a prompt that waits until it is withdrawn.
    const said: string[] = [];
    let withdrawn = false;
    const asked: string[] = [];
    const frontend = new DaemonFrontend({
      client: cli,
      sessionId,
      id: `cli:${Deno.pid}`,
      render: () => {},
      say: (line) => said.push(line),
      asker: {
        canAsk: () => true,
        ask: (request, signal) =>
          new Promise((_resolve, reject) => {
            asked.push(request.id);
            signal.addEventListener("abort", () => {
              withdrawn = true;
              reject(new Error("withdrawn"));
            });
          }),
      },
    });
    const stop = await frontend.attach();
    const seenWeb = watch(web);
    await web.call("events.subscribe", { sessionId, canAnswer: true });
    const done = cli.call<{ text: string; deferred: string[] }>("sessions.send", {
      sessionId,
      text: "write it",
      wait: true,
    });
    const requested = await seenWeb.next((e) => e.type === "approval.requested");
    const approval = (requested as { approval: PendingApproval }).approval;
    const pending = await web.call<{ id: string }[]>("approvals.list", {});
    ok(pending.some((p) => p.id === approval.id));
    const won = await web.call<{ status: string }>("approvals.respond", {
      id: approval.id,
      answer: "once",
    });
    equal(won.status, "answered");
    // The loser: a second answer to the same approval is refused.
    const late = await cli.call("approvals.respond", { id: approval.id, answer: "deny" })
      .then(() => null, (e: { code: number }) => e.code);
    ok(late !== null, "a second answer must be refused");
    const result = await done;
    equal(result.text, "Written.");
    deepEqual(result.deferred, []);
    equal(await Deno.readTextFile(join(w.ws, "a.txt")), "x");
    deepEqual(asked, [approval.id]);
    ok(withdrawn, "the CLI prompt was withdrawn");
    ok(said.some((l) => /^answered in \S+: once$/.test(l)), said.join("\n"));
    const resolved = await seenWeb.next((e) => e.type === "approval.resolved");
    equal((resolved as { answer: string }).answer, "once");
    stop();
  } finally {
    await w.close();
  }
});

Deno.test({
  name:
    "the chat REPL attached to a daemon streams its answer and answers its approval with one key",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const w = await daemonWorld([
    { text: "Hello through the daemon." },
    { toolCalls: [{ id: "t1", name: "write_file", args: { file_path: "r.txt", content: "z" } }] },
    { text: "Written from the REPL." },
  ]);
  const pane = new Pane(join(w.home, "tmux.sock"));
  try {
    let screen = await pane.startChat(w.home, w.ws, "http://127.0.0.1:9");
    match(screen, /astrid chat · session [0-9a-f-]{36}/);
    await pane.type("say hello");
    screen = await pane.waitFor(/Hello through the daemon\./);
    let mark = screen.length;
    await pane.type("write r.txt");
    screen = await pane.waitFor(/\[o\] allow once.*\[d\] deny >/, mark);
    match(screen, /Approval needed \[risk: \w+\]/);
    await pane.type("o");
    screen = await pane.waitFor(/Written from the REPL\./, mark);
    match(screen, /✓ write_file/);
    equal(await Deno.readTextFile(join(w.ws, "r.txt")), "z");
    mark = screen.length;
    await pane.keys("C-d");
    await pane.waitFor(/EXITED:0/, mark);
  } finally {
    await pane.kill();
    await w.close();
  }
});

Deno.test("a daemon killed with SIGKILL mid-turn: the next daemon marks the turn interrupted and the session resumes", async () => {
  const w = await daemonWorld([
    { text: "Working on it", fault: { after: 4, kind: "hang" } },
    { text: "Picked up again." },
  ]);
  try {
    const a = await w.client("a");
    const { sessionId } = await a.call<{ sessionId: string }>("sessions.create", {
      workspace: w.ws,
    });
    const seen = watch(a);
    await a.call("events.subscribe", { sessionId });
    a.call("sessions.send", { sessionId, text: "long job", wait: true }).catch(() => {});
    await seen.next((e) => e.type === "text");
    await w.kill9();
    await w.restart();
    const b = await w.client("b");
    type Shown = { session: { live: boolean }; turns: { status: string }[] };
    const shown = await b.call<Shown>("sessions.show", { sessionId });
    equal(shown.session.live, false);
    equal(shown.turns[0]?.status, "interrupted");
    const r = await b.call<{ text: string }>("sessions.send", {
      sessionId,
      text: "continue",
      wait: true,
    });
    equal(r.text, "Picked up again.");
  } finally {
    await w.close();
  }
});
