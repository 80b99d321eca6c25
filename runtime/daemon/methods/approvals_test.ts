import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { DeferredQueue } from "../../security/approval.ts";
import { RpcError, RpcErrorCode } from "../types.ts";
import { group } from "./approvals.ts";
import { checkSchema, deferWrite, methodOf, withTestDaemon } from "./_methods_testing.ts";
import { DAEMON_EVENT_SCHEMA } from "../event_schema.ts";
import type { ListedApproval, RespondResult } from "./approvals.ts";

const rpcCode = (code: number) => (err: unknown) => err instanceof RpcError && err.code === code;

Deno.test("approvals.list shows a deferred write with its action kind, risk and suggestions", async () => {
  await withTestDaemon(async (t) => {
    const id = await deferWrite(t, "a.txt", "hello");
    const list = await t.invoke(group, "approvals.list", {}) as ListedApproval[];
    equal(list.length, 1);
    const [a] = list;
    equal(a?.id, id);
    equal(a?.kind, "deferred");
    equal(a?.action, "file_write");
    equal(a?.status, "pending");
    equal(a?.resource, `file://${join(t.workspace, "a.txt")}`);
    ok((a?.suggestions.length ?? 0) >= 1);
  });
});

Deno.test("approvals.list puts live prompts first and hides decided ones unless all", async () => {
  await withTestDaemon(async (t) => {
    const first = await deferWrite(t, "a.txt", "a");
    const second = await deferWrite(t, "b.txt", "b");
    await t.invoke(group, "approvals.respond", { id: first, answer: "deny" });
    t.hub.live.set("live-1", {
      id: "live-1",
      kind: "live",
      sessionId: "s",
      action: "execute_command",
      summary: "run ls",
      resource: "exec://ls",
      risk: "medium",
      reason: "ask rule",
      provenance: { trust: "untrusted", source: "read_file /w/README.md" },
      suggestions: ["exec://ls"],
      createdAt: Date.now(),
    });
    const pending = await t.invoke(group, "approvals.list", {}) as ListedApproval[];
    deepEqual(pending.map((a) => a.id), ["live-1", second]);
    const all = await t.invoke(group, "approvals.list", { all: true }) as ListedApproval[];
    deepEqual(all.map((a) => [a.id, a.status]), [
      ["live-1", "pending"],
      [second, "pending"],
      [first, "denied"],
    ]);
  });
});

Deno.test("approvals.respond once executes a deferred write like `approvals approve`", async () => {
  await withTestDaemon(async (t) => {
    const id = await deferWrite(t, "out.txt", "written by the daemon");
    const r = await t.invoke(group, "approvals.respond", {
      id: id.slice(0, 8),
      answer: "once",
    }) as RespondResult;
    equal(r.status, "executed", r.message);
    equal(r.id, id);
    equal(await Deno.readTextFile(join(t.workspace, "out.txt")), "written by the daemon");
    const record = await new DeferredQueue(t.rt.store).get(id);
    equal(record?.status, "executed");
    equal(record?.decision?.choice, "once");
    const entries = await t.rt.audit.list();
    ok(entries.some((e) => e.decision === "allowed" && e.action.kind === "file_write"));
    const resolved = t.events.find((e) => e.type === "approval.resolved");
    deepEqual(resolved, {
      type: "approval.resolved",
      id,
      answer: "once",
      by: "cli:test",
      status: "executed",
    });
  });
});

Deno.test("approvals.respond deny refuses the write and audits HUMAN_DENIED", async () => {
  await withTestDaemon(async (t) => {
    const id = await deferWrite(t, "no.txt", "never");
    const r = await t.invoke(group, "approvals.respond", {
      id,
      answer: "deny",
      reason: "not now",
    }, "web") as RespondResult;
    equal(r.status, "denied");
    await rejects(Deno.stat(join(t.workspace, "no.txt")), Deno.errors.NotFound);
    const entries = await t.rt.audit.list();
    const denied = entries.find((e) => e.proof === `human:deferred:${id}`);
    equal(denied?.decision, "denied");
    deepEqual(denied?.outcome, { code: "HUMAN_DENIED", reason: "not now" });
    equal(t.events.at(-1)?.type, "approval.resolved");
    equal((t.events.at(-1) as { by: string }).by, "web:test");
  });
});

Deno.test("approvals.respond twice is Conflict, an unknown id NotFound", async () => {
  await withTestDaemon(async (t) => {
    const id = await deferWrite(t, "x.txt", "x");
    const respond = methodOf(group, "approvals.respond");
    await respond.handler({ id, answer: "deny" }, t.call());
    await rejects(
      respond.handler({ id, answer: "once" }, t.call()),
      rpcCode(RpcErrorCode.Conflict),
    );
    await rejects(
      respond.handler({ id: "no-such-id", answer: "once" }, t.call()),
      rpcCode(RpcErrorCode.NotFound),
    );
  });
});

Deno.test("approvals.respond: of 20 concurrent answers to one id exactly one wins", async () => {
  await withTestDaemon(async (t) => {
    const id = await deferWrite(t, "race.txt", "once only");
    const respond = methodOf(group, "approvals.respond");
    const answers = ["once", "deny", "session", "always"] as const;
    const results = await Promise.allSettled(
      Array.from(
        { length: 20 },
        (_, i) => respond.handler({ id, answer: answers[i % 4]! }, t.call()),
      ),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    equal(won.length, 1);
    for (const r of results) {
      if (r.status === "rejected") ok(rpcCode(RpcErrorCode.Conflict)(r.reason), String(r.reason));
    }
    equal(t.events.filter((e) => e.type === "approval.resolved").length, 1);
    const record = await new DeferredQueue(t.rt.store).get(id);
    ok(record?.status === "executed" || record?.status === "denied", record?.status);
    const denials = (await t.rt.audit.list()).filter((e) => e.proof === `human:deferred:${id}`);
    ok(denials.length <= 1);
  });
});

Deno.test("approvals.respond answers a live prompt through the hub with who answered", async () => {
  await withTestDaemon(async (t) => {
    t.hub.live.set("live-2", {
      id: "live-2",
      kind: "live",
      sessionId: "s",
      action: "file_write",
      summary: "write",
      resource: "file:///w/a",
      risk: "medium",
      reason: "mode",
      provenance: null,
      suggestions: ["file:///w/a", "file:///w/**"],
      createdAt: 1,
    });
    const r = await t.invoke(group, "approvals.respond", {
      id: "live-2",
      answer: "session",
      pattern: "file:///w/**",
    }, "link") as RespondResult;
    equal(r.status, "answered");
    deepEqual(t.hub.answers, [{
      id: "live-2",
      answer: { choice: "session", pattern: "file:///w/**" },
      by: "link",
    }]);
  });
});

Deno.test("approvals.link mints for a pending id and refuses decided or unknown ones", async () => {
  await withTestDaemon(async (t) => {
    const id = await deferWrite(t, "l.txt", "l");
    const link = await t.invoke(group, "approvals.link", { id }) as { url: string };
    match(link.url, new RegExp(id));
    const respond = methodOf(group, "approvals.respond");
    await respond.handler({ id, answer: "deny" }, t.call());
    const mint = methodOf(group, "approvals.link");
    await rejects(mint.handler({ id }, t.call()), rpcCode(RpcErrorCode.Conflict));
    await rejects(mint.handler({ id: "zzz" }, t.call()), rpcCode(RpcErrorCode.NotFound));
  });
});

Deno.test("the watcher publishes deferrals and decisions made by other processes", async () => {
  await withTestDaemon(async (t) => {
    const before = await deferWrite(t, "old.txt", "old");
    const close = await group.start!(t.ctx);
    try {
      const { DeferredWatcher, WATCHER_SERVICE } = await import("./approvals.ts");
      const watcher = t.ctx.services.get<InstanceType<typeof DeferredWatcher>>(WATCHER_SERVICE)!;
      const id = await deferWrite(t, "new.txt", "new");
      await watcher.poll();
      const requested = t.events.filter((e) => e.type === "approval.requested");
      deepEqual(requested.map((e) => (e as { approval: { id: string } }).approval.id), [id]);
      // Another process (the CLI) denies it straight in the queue.
      await new DeferredQueue(t.rt.store).decide(before, "deny", null);
      for (const e of t.events) checkSchema(DAEMON_EVENT_SCHEMA, e, e.type);
      // This daemon's own decision is published once, by the responder.
      await t.invoke(group, "approvals.respond", { id, answer: "deny" });
      await watcher.poll();
      const resolved = t.events.filter((e) => e.type === "approval.resolved");
      deepEqual(resolved.map((e) => [(e as { id: string }).id, (e as { by: string }).by]), [
        [id, "cli:test"],
        [before, "cli"],
      ]);
      for (const e of t.events) checkSchema(DAEMON_EVENT_SCHEMA, e, e.type);
    } finally {
      await close?.();
    }
  });
});
