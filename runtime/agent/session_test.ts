import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { openStore } from "../storage/mod.ts";
import { type SessionMessage, SessionStore } from "./session.ts";

const text = (t: string, turn = 1): SessionMessage => ({
  message: { role: "user", content: [{ type: "text", text: t }] },
  trust: "trusted",
  turn,
});

function newSession(sessions: SessionStore) {
  return sessions.create({ provider: "p", model: "m", workspaceRoot: "/ws", workspaceId: "w" });
}

Deno.test("AgentSession.save() splits a message larger than a KV value and loads it back", async () => {
  using store = await openStore(":memory:");
  const sessions = new SessionStore(store);
  const s = newSession(sessions);
  const big = "ü€😀".repeat(40_000); // multi-byte, well over 64 KiB
  s.beginTurn("big");
  s.push(text(big));
  await s.save();
  const parts = [];
  for await (const e of store.list({ prefix: ["agent_messages", s.id, 0] })) parts.push(e);
  ok(parts.length > 1);
  const back = await sessions.load(s.id);
  equal((back.messages[0]?.message.content[0] as { text: string }).text, big);
});

Deno.test("AgentSession.save() writes only the new messages", async () => {
  using store = await openStore(":memory:");
  const sessions = new SessionStore(store);
  const s = newSession(sessions);
  s.beginTurn("a");
  s.push(text("first"));
  await s.save();
  const before = (await store.get(["agent_messages", s.id, 0, 0])).versionstamp;
  s.push(text("second"));
  await s.save();
  equal((await store.get(["agent_messages", s.id, 0, 0])).versionstamp, before);
  equal((await sessions.load(s.id)).messages.length, 2);
});

Deno.test("AgentSession.save() batches a save too large for one commit, header last", async () => {
  using store = await openStore(":memory:");
  const sessions = new SessionStore(store);
  const s = newSession(sessions);
  s.beginTurn("many");
  for (let i = 0; i < 12; i++) s.push(text(`${i}:${"x".repeat(100_000)}`));
  await s.save();
  const back = await sessions.load(s.id);
  equal(back.messages.length, 12);
  equal((back.messages[11]?.message.content[0] as { text: string }).text.slice(0, 3), "11:");
});

Deno.test("SessionStore.load() ignores message parts the header does not cover (a crash mid-save)", async () => {
  using store = await openStore(":memory:");
  const sessions = new SessionStore(store);
  const s = newSession(sessions);
  s.beginTurn("a");
  s.push(text("kept"));
  await s.save();
  await store.set(["agent_messages", s.id, 1, 0], JSON.stringify(text("orphan")));
  const back = await sessions.load(s.id);
  deepEqual(back.messages.map((m) => (m.message.content[0] as { text: string }).text), ["kept"]);
});

Deno.test("SessionStore.load() refuses a malformed header, a missing or corrupt message", async () => {
  using store = await openStore(":memory:");
  const sessions = new SessionStore(store);
  await rejects(sessions.load("nope"), { code: "NOT_FOUND" });
  await store.set(["agent_sessions", "bad"], { v: 2, id: "bad" });
  await rejects(sessions.load("bad"), { code: "MALFORMED" });
  const s = newSession(sessions);
  s.beginTurn("a");
  s.push(text("one"));
  s.push(text("two"));
  await s.save();
  await store.set(["agent_messages", s.id, 1, 0], "{not json");
  await rejects(sessions.load(s.id), { code: "MALFORMED" });
  await store.delete(["agent_messages", s.id, 1, 0]);
  await rejects(sessions.load(s.id), { code: "MALFORMED" });
});

Deno.test("AgentSession.recoverInterrupted() marks a turn left running as interrupted, keeping its messages", async () => {
  using store = await openStore(":memory:");
  const sessions = new SessionStore(store);
  const s = newSession(sessions);
  s.beginTurn("done");
  s.push(text("done"));
  s.updateTurn({ status: "completed", endedAt: 1 });
  s.beginTurn("killed");
  s.push(text("killed", 2));
  await s.save();
  const back = await sessions.load(s.id);
  equal(back.header.status, "running");
  ok(back.recoverInterrupted());
  await back.save();
  const again = await sessions.load(s.id);
  deepEqual(again.turns.map((t) => t.status), ["completed", "interrupted"]);
  equal(again.header.status, "idle");
  equal(again.messages.length, 2);
  ok(!again.recoverInterrupted());
});

Deno.test("SessionStore.delete() removes the header, turns and messages; list() is newest first", async () => {
  using store = await openStore(":memory:");
  const sessions = new SessionStore(store);
  const a = newSession(sessions);
  a.beginTurn("a");
  a.push(text("a"));
  await a.save(1000);
  const b = newSession(sessions);
  await b.save(2000);
  deepEqual((await sessions.list()).map((h) => h.id), [b.id, a.id]);
  ok(await sessions.delete(a.id));
  ok(!(await sessions.delete(a.id)));
  let left = 0;
  for await (const _ of store.list({ prefix: ["agent_messages", a.id] })) left++;
  for await (const _ of store.list({ prefix: ["agent_turns", a.id] })) left++;
  equal(left, 0);
  deepEqual((await sessions.list()).map((h) => h.id), [b.id]);
});

Deno.test("AgentSession.prepareSave() writes nothing visible until its carrier commits", async () => {
  using store = await openStore(":memory:");
  const sessions = new SessionStore(store);
  const s = newSession(sessions);
  s.beginTurn("first");
  s.push(text("first"));
  const dropped = await s.prepareSave();
  equal(dropped.done, false);
  equal(await sessions.header(s.id), null);
  // A save that was never carried is redone, whole, by the next one.
  const pending = await s.prepareSave();
  s.push(text("after the prepare")); // not part of `pending`
  const op = store.atomic().set(["carrier"], 1);
  pending.apply(op);
  ok((await op.commit()).ok);
  pending.committed();
  equal(pending.done, true);
  let back = await sessions.load(s.id);
  deepEqual(back.messages.map((m) => m.message.content[0]), [{ type: "text", text: "first" }]);
  await s.save();
  back = await sessions.load(s.id);
  equal(back.messages.length, 2);
  equal(back.header.messageCount, 2);
});

Deno.test("AgentSession.prepareSave() of a huge round fits its last commit in a carrier", async () => {
  using store = await openStore(":memory:");
  const sessions = new SessionStore(store);
  const s = newSession(sessions);
  s.beginTurn("many");
  for (let i = 0; i < 1500; i++) s.push(text(`m${i} ${"x".repeat(400)}`));
  const pending = await s.prepareSave();
  ok(pending.mutations <= 800 && pending.bytes <= 401_000);
  // The early parts are on disk but invisible: no header counts them yet.
  equal(await sessions.header(s.id), null);
  const op = store.atomic();
  pending.apply(op);
  ok((await op.commit()).ok);
  pending.committed();
  equal((await sessions.load(s.id)).messages.length, 1500);
});
