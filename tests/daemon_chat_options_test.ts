/**
 * `astrid chat` attached to a running daemon, with the options that used to act on the CLI side
 * only: `--max-turns` reaches the daemon session (`sessions.create|resume` `maxTurns`), and
 * `/model` (`sessions.model`) lists and switches the daemon session's model, priced and audited
 * there; `/audit` and `/allowances` read the daemon's. A real daemon (`astrid daemon run`
 * through the launcher) over the loopback fake Anthropic server.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { startFakeAnthropic } from "../runtime/llm/replay_anthropic.ts";
import type { FakeTurn } from "../runtime/llm/_replay_sse.ts";
import type { DaemonClient } from "../runtime/daemon/client.ts";
import { runCli, tempDirs } from "./cli.ts";
import { Pane } from "./_tmux.ts";
import { connectWhenUp, fakeModelEnv, spawnDaemonRun } from "./daemon_helpers.ts";

/** A home, an initialised workspace, the fake model and a daemon over them; dispose stops all. */
async function daemonWorld(script: readonly FakeTurn[]) {
  const { home, ws } = await tempDirs();
  await Deno.mkdir(join(ws, ".astrid"));
  const fake = startFakeAnthropic(script);
  const env = fakeModelEnv(fake.url);
  const daemon = spawnDaemonRun(home, home, env);
  const clients: DaemonClient[] = [await connectWhenUp(home)];
  return {
    home,
    ws,
    env,
    fake,
    client: clients[0]!,
    async [Symbol.asyncDispose]() {
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

type ModelState = {
  provider: string;
  model: string;
  configured: string;
  switchable: boolean;
  maxTurns: number;
  price: { inputPerMtok: number; outputPerMtok: number } | null;
  priced: { model: string; current: boolean }[];
};

Deno.test("chat -p --max-turns caps the daemon session's turn; a bad value is refused", async () => {
  await using w = await daemonWorld([
    { toolCalls: [{ id: "t1", name: "list_dir", args: { path: "." } }] },
    { text: "never asked for" },
  ]);
  const opts = { home: w.home, cwd: w.ws, env: w.env };
  const r = await runCli(["chat", "-p", "look around", "--max-turns", "1"], opts);
  match(r.stderr, /in the daemon at/);
  match(r.stderr, /limit of 1 model calls/);
  equal(w.fake.requests.length, 1);
  const id = /session ([0-9a-f-]{36})/.exec(r.stderr)?.[1];
  ok(id, r.stderr);
  // `-p` closed the session; opened again without a limit, the workspace's applies (as a local
  // `chat -s ID` without --max-turns), and a limit given to a live session reopens it with it.
  equal((await w.client.call<ModelState>("sessions.model", { sessionId: id })).maxTurns, 25);
  const again = await w.client.call<{ sessionId: string }>("sessions.resume", {
    sessionId: id,
    maxTurns: 7,
  });
  equal(again.sessionId, id);
  equal((await w.client.call<ModelState>("sessions.model", { sessionId: id })).maxTurns, 7);

  const bad = await runCli(["chat", "-p", "x", "--max-turns", "0"], opts);
  equal(bad.code, 2, bad.stderr);
  match(bad.stderr, /Cannot use --max-turns: current value is 0/);
  for (const maxTurns of [0, 1.5, "3", 10_001]) {
    const err = await w.client.call("sessions.create", { workspace: w.ws, maxTurns }).then(
      () => null,
      (e: { code?: number }) => e,
    );
    equal(err?.code, -32602, `maxTurns ${JSON.stringify(maxTurns)} was accepted`);
  }
});

Deno.test("sessions.model switches the daemon session's model: priced, audited, used by the next turn", async () => {
  await using w = await daemonWorld([{ text: "Answered by haiku." }]);
  const { sessionId } = await w.client.call<{ sessionId: string }>("sessions.create", {
    workspace: w.ws,
  });
  const before = await w.client.call<ModelState>("sessions.model", { sessionId });
  equal(before.model, "claude-sonnet-4-6");
  equal(before.switchable, true);
  ok(before.priced.some((p) => p.model === "claude-haiku-4-5"), JSON.stringify(before.priced));

  for (const model of ["bad model", "x\u0007"]) {
    const err = await w.client.call("sessions.model", { sessionId, model }).then(
      () => null,
      (e: { code?: number; message?: string }) => e,
    );
    equal(err?.code, -32602, `${JSON.stringify(model)} was accepted`);
  }
  equal((await w.client.call<ModelState>("sessions.model", { sessionId })).model, before.model);

  const after = await w.client.call<ModelState>("sessions.model", {
    sessionId,
    model: "claude-haiku-4-5",
  });
  equal(after.model, "claude-haiku-4-5");
  equal(after.configured, "claude-sonnet-4-6");
  deepEqual(after.priced.filter((p) => p.current).map((p) => p.model), ["claude-haiku-4-5"]);
  ok(after.price && after.price.inputPerMtok > 0, JSON.stringify(after.price));
  const audit = await w.client.call<{ action: { kind: string; resource: string } }[]>(
    "audit.list",
    { session: sessionId },
  );
  deepEqual(
    audit.filter((e) => e.action.kind === "model_switch").map((e) => e.action.resource),
    ["model://anthropic/claude-haiku-4-5"],
  );
  const turn = await w.client.call<{ status: string; text: string }>("sessions.send", {
    sessionId,
    text: "hello",
    wait: true,
  });
  equal(turn.status, "completed");
  equal((w.fake.requests[0] as { model: string }).model, "claude-haiku-4-5");
});

Deno.test({
  name: "the attached REPL's /model, /audit and /allowances act on the daemon session",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  await using w = await daemonWorld([{ text: "Hello from haiku." }]);
  const pane = new Pane(join(w.home, "tmux.sock"));
  try {
    let screen = await pane.startChat(w.home, w.ws, "http://127.0.0.1:9");
    const id = /astrid chat · session ([0-9a-f-]{36})/.exec(screen)?.[1];
    ok(id, screen);
    let mark = screen.length;
    await pane.type("/model");
    screen = await pane.waitFor(/\/model NAME switches this session/, mark);
    match(screen.slice(mark), /model\s+claude-sonnet-4-6 \(from config\)/);
    mark = screen.length;
    await pane.type("/model claude-haiku-4-5");
    screen = await pane.waitFor(/now claude-haiku-4-5 .* for this session; audited/, mark);
    const state = await w.client.call<ModelState>("sessions.model", { sessionId: id });
    equal(state.model, "claude-haiku-4-5");
    mark = screen.length;
    await pane.type("/audit");
    screen = await pane.waitFor(/switched the session's model from claude-sonnet-4-6/, mark);
    mark = screen.length;
    await pane.type("/allowances");
    screen = await pane.waitFor(/no session allowances yet/, mark);
    mark = screen.length;
    await pane.type("hi");
    screen = await pane.waitFor(/Hello from haiku\./, mark);
    equal((w.fake.requests[0] as { model: string }).model, "claude-haiku-4-5");
    mark = screen.length;
    await pane.keys("C-d");
    await pane.waitFor(/EXITED:0/, mark);
  } finally {
    await pane.kill();
  }
});
