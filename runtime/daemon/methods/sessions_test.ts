import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { answeringFrontend, sessionRpc, sessionWorld } from "../_session_testing.ts";
import { group } from "./sessions.ts";
import type { DaemonEvent } from "../types.ts";
import { RpcError, RpcErrorCode } from "../types.ts";
import { SessionHost, SESSIONS_SERVICE } from "../session_host.ts";
import { SessionStore } from "../../agent/mod.ts";

const types = (events: readonly DaemonEvent[], sessionId: string): string[] =>
  events.filter((e) => !("sessionId" in e) || e.sessionId === sessionId).map((e) => e.type);

Deno.test("sessions: create, send streams text events, an approval answered through the hub runs the tool", async () => {
  const world = await sessionWorld([
    {
      text: "Writing it.",
      toolCalls: [{ id: "t1", name: "write_file", args: { file_path: "a.txt", content: "x" } }],
    },
    { text: "Done: the file is written." },
  ]);
  try {
    world.ctx.services.set(SESSIONS_SERVICE, world.host());
    const { sessionId } = await sessionRpc(world, group, "sessions.create", {
      workspace: world.ws,
      title: "first",
    }) as { sessionId: string };
    const { offered, detach } = answeringFrontend(world, "once");
    const target = join(world.ws, "a.txt");
    const result = await sessionRpc(world, group, "sessions.send", {
      sessionId,
      text: "write a.txt",
      wait: true,
    }) as { status: string; text: string; deferred: string[] };
    detach();
    equal(result.status, "completed");
    equal(result.text, "Done: the file is written.");
    deepEqual(result.deferred, []);
    equal(offered.length, 1);
    equal(await Deno.readTextFile(target), "x");
    const seen = types(world.seen, sessionId);
    for (
      const t of ["session.started", "turn.start", "text", "tool.start", "tool.end", "turn.end"]
    ) {
      ok(seen.includes(t), `${t} in ${seen.join(",")}`);
    }
    ok(
      world.seen.some((e) => e.type === "approval.requested" && e.approval.sessionId === sessionId),
    );
    ok(world.seen.some((e) => e.type === "approval.resolved" && e.by === "test:1"));
    const text = world.seen.filter((e) => e.type === "text").map((e) =>
      (e as { text: string }).text
    );
    equal(text.join(""), "Writing it.Done: the file is written.");
    const rows = await sessionRpc(world, group, "sessions.list", {}) as {
      id: string;
      title: string;
      live: boolean;
      status: string;
      turnCount: number;
    }[];
    const row = rows.find((r) => r.id === sessionId)!;
    equal(row.title, "first");
    equal(row.live, true);
    equal(row.status, "idle");
    equal(row.turnCount, 1);
    const shown = await sessionRpc(world, group, "sessions.show", { sessionId }) as {
      messages: { role: string }[];
    };
    equal(shown.messages[0]?.role, "user");
    await sessionRpc(world, group, "sessions.end", { sessionId });
    const after = (await sessionRpc(world, group, "sessions.list", { workspace: world.ws }) as {
      id: string;
      live: boolean;
      status: string;
    }[])
      .find((r) => r.id === sessionId)!;
    equal(after.live, false);
    equal(after.status, "ended");
  } finally {
    await world.close();
  }
});

Deno.test("sessions: with no frontend attached the action is deferred, as the CLI does without a TTY", async () => {
  const world = await sessionWorld([
    { toolCalls: [{ id: "t1", name: "write_file", args: { file_path: "b.txt", content: "y" } }] },
    { text: "Queued." },
  ]);
  try {
    const host = world.host();
    world.ctx.services.set(SESSIONS_SERVICE, host);
    const { sessionId } = await host.create(world.ws);
    const { done } = await host.send(sessionId, "write b.txt");
    const result = await done;
    equal(result.status, "completed");
    equal(result.deferred.length, 1);
    await rejects(Deno.stat(join(world.ws, "b.txt")));
    ok(!world.seen.some((e) => e.type === "approval.requested"));
  } finally {
    await world.close();
  }
});

Deno.test("sessions.cancel cancels the running turn; the session stays usable", async () => {
  const world = await sessionWorld([
    { text: "Thinking for a long time", fault: { after: 4, kind: "hang" } },
    { text: "Back." },
  ]);
  try {
    world.ctx.services.set(SESSIONS_SERVICE, world.host());
    const { sessionId } = await sessionRpc(world, group, "sessions.create", {
      workspace: world.ws,
    }) as {
      sessionId: string;
    };
    const firstText = world.next((e) => e.type === "text");
    const ended = world.next((e) => e.type === "turn.end");
    const idle = world.next((e) =>
      e.type === "session.status" && e.sessionId !== undefined && e.status === "idle" &&
      world.seen.some((s) => s.type === "turn.end")
    );
    const started = await sessionRpc(world, group, "sessions.send", { sessionId, text: "go" }) as {
      turn: number;
    };
    equal(started.turn, 1);
    await firstText;
    await rejects(
      sessionRpc(world, group, "sessions.send", { sessionId, text: "again" }),
      (e: RpcError) => e.code === RpcErrorCode.Conflict,
    );
    deepEqual(await sessionRpc(world, group, "sessions.cancel", { sessionId }), {
      cancelled: true,
    });
    const end = await ended as { status: string };
    equal(end.status, "cancelled");
    await idle;
    deepEqual(await sessionRpc(world, group, "sessions.cancel", { sessionId }), {
      cancelled: false,
    });
    const next = await sessionRpc(world, group, "sessions.send", {
      sessionId,
      text: "hi",
      wait: true,
    }) as {
      text: string;
    };
    equal(next.text, "Back.");
  } finally {
    await world.close();
  }
});

Deno.test("sessions: a turn left running by a dead daemon is interrupted on start and can be resumed", async () => {
  const world = await sessionWorld([{ text: "Resumed fine." }]);
  try {
    // A daemon that died mid-turn: a real process that has exited owned the running turn.
    const dead = new Deno.Command(Deno.execPath(), { args: ["eval", "0"] }).spawn();
    await dead.status;
    const store = new SessionStore(world.rt.store);
    const s = store.create({
      provider: "anthropic",
      model: "claude-sonnet-4-6",
      workspaceRoot: world.ws,
      workspaceId: `path:${world.ws}`,
    });
    s.beginTurn("long job");
    await s.save();
    await world.rt.store.set(["agent_sessions", s.id], { ...s.header, ownerPid: dead.pid });
    const rows = await sessionRpc(world, group, "sessions.list", {}) as {
      id: string;
      status: string;
    }[];
    equal(rows.find((r) => r.id === s.id)?.status, "interrupted");

    const restarted = world.host();
    world.ctx.services.set(SESSIONS_SERVICE, restarted);
    const interrupted = world.next((e) =>
      e.type === "session.status" && e.status === "interrupted"
    );
    const stop = await group.start!(world.ctx);
    equal((await interrupted as { sessionId: string }).sessionId, s.id);
    equal((await store.load(s.id)).turns[0]?.status, "interrupted");

    const resumed = await sessionRpc(world, group, "sessions.resume", { sessionId: s.id });
    deepEqual(resumed, { sessionId: s.id, recovered: false });
    const r = await sessionRpc(world, group, "sessions.send", {
      sessionId: s.id,
      text: "continue",
      wait: true,
    }) as {
      text: string;
    };
    equal(r.text, "Resumed fine.");
    await stop?.();
  } finally {
    await world.close();
  }
});

Deno.test("sessions: bad input is refused with the right codes", async () => {
  const world = await sessionWorld([]);
  try {
    world.ctx.services.set(SESSIONS_SERVICE, world.host());
    const bare = await Deno.makeTempDir();
    try {
      await rejects(
        sessionRpc(world, group, "sessions.create", { workspace: bare }),
        (e: RpcError) => {
          match(e.message, /not an initialised workspace/);
          return e.code === RpcErrorCode.InvalidParams;
        },
      );
    } finally {
      await Deno.remove(bare, { recursive: true });
    }
    // A `.astrid` that is a file, not a folder, is no workspace.
    const fake = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(join(fake, ".astrid"), "");
      await rejects(
        sessionRpc(world, group, "sessions.create", { workspace: fake }),
        (e: RpcError) => e.code === RpcErrorCode.InvalidParams,
      );
      // A symlink to the workspace is followed: the session records the real root.
      const link = join(fake, "link");
      await Deno.symlink(world.ws, link);
      const { sessionId } = await sessionRpc(world, group, "sessions.create", {
        workspace: link,
      }) as {
        sessionId: string;
      };
      const rows = await sessionRpc(world, group, "sessions.list", { workspace: link }) as {
        id: string;
        workspace: string;
      }[];
      deepEqual(rows.map((r) => [r.id, r.workspace]), [[sessionId, world.ws]]);
    } finally {
      await Deno.remove(fake, { recursive: true });
    }
    await rejects(
      sessionRpc(world, group, "sessions.create", { workspace: world.ws, title: "x".repeat(201) }),
      (e: RpcError) => e.code === RpcErrorCode.InvalidParams,
    );
    await rejects(
      sessionRpc(world, group, "sessions.create", { workspace: "relative/../path" }),
      (e: RpcError) => e.code === RpcErrorCode.InvalidParams,
    );
    await rejects(
      sessionRpc(world, group, "sessions.create", { workspace: world.ws, extra: 1 }),
      (e: RpcError) => e.code === RpcErrorCode.InvalidParams && /extra/.test(e.message),
    );
    await rejects(
      sessionRpc(world, group, "sessions.send", { sessionId: "nope", text: "hi" }),
      (e: RpcError) => e.code === RpcErrorCode.NotFound,
    );
    await rejects(
      sessionRpc(world, group, "sessions.show", { sessionId: "nope" }),
      (e: RpcError) => e.code === RpcErrorCode.NotFound,
    );
    deepEqual(await sessionRpc(world, group, "sessions.list", { workspace: "/no/such/dir" }), []);
  } finally {
    await world.close();
  }
});

Deno.test("sessions: a session past 80% of its budget publishes budget.warning once", async () => {
  const world = await sessionWorld(
    [{ text: "Expensive.", usage: { inputTokens: 250_000, outputTokens: 10_000 } }],
    { workspaceConfig: "[budget]\nsession_usd = 1.0\n" },
  );
  try {
    const host: SessionHost = world.host();
    world.ctx.services.set(SESSIONS_SERVICE, host);
    const { sessionId } = await host.create(world.ws);
    const { done } = await host.send(sessionId, "spend");
    await done;
    const warnings = world.seen.filter((e) => e.type === "budget.warning");
    equal(warnings.length, 1, world.stderr.join(""));
    const w = warnings[0] as { spentUsd: number; limitUsd: number };
    ok(w.spentUsd >= 0.8 * w.limitUsd);
  } finally {
    await world.close();
  }
});
