import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import type { FakeTurn } from "../llm/replay_anthropic.ts";
import { world } from "./_testing.ts";
import { NOT_DELEGATED, SessionStore } from "./mod.ts";
import { mintToken } from "../security/tokens.ts";

const autonomous = (c: { workspace: { mode: string } }) => {
  c.workspace.mode = "autonomous";
};

Deno.test("task spawns a linked sub-agent whose uncovered actions are denied without asking, and audited", async () => {
  const turns: FakeTurn[] = [];
  const w = await world(turns, autonomous);
  turns.push(
    {
      toolCalls: [{
        id: "p1",
        name: "task",
        args: { description: "write notes", prompt: "Write hello to notes.txt" },
      }],
    },
    {
      toolCalls: [
        {
          id: "c1",
          name: "write_file",
          args: { file_path: `${w.ws}/notes.txt`, content: "hello" },
        },
        {
          id: "c2",
          name: "write_file",
          args: { file_path: `${w.outside}/evil.txt`, content: "x" },
        },
      ],
      usage: { inputTokens: 1000, outputTokens: 100 },
    },
    { text: "child done", usage: { inputTokens: 1000, outputTokens: 100 } },
    { text: "parent done" },
  );
  try {
    const asked: string[] = [];
    const { agent, session, gate } = await w.open({
      frontend: {
        canAsk: () => true,
        ask: (r) => {
          asked.push(r.action.kind);
          return Promise.resolve({ choice: "always" });
        },
      },
    });
    const result = await agent.run("delegate the notes");
    equal(result.status, "completed");
    equal(result.text, "parent done");
    equal(await Deno.readTextFile(join(w.ws, "notes.txt")), "hello");
    ok(!(await Deno.lstat(join(w.outside, "evil.txt")).then(() => true, () => false)));
    // Spawning was asked; the child's escape was not, though the frontend would have said yes.
    deepEqual(asked, ["sub_agent_spawn"]);

    const sessions = new SessionStore(w.store);
    const child = (await sessions.list()).find((h) => h.parentId === session.id);
    ok(child);
    equal(child.depth, 1);
    const parentAudit = await w.audit.list({ sessionId: session.id });
    const spawn = parentAudit.find((e) =>
      e.action.kind === "sub_agent_spawn" && e.decision === "event"
    );
    equal(spawn?.decision, "event");
    equal(spawn?.action.resource, `session://${child.id}`);
    ok(parentAudit.some((e) => e.action.kind === "sub_agent_end"));
    const childAudit = await w.audit.list({ sessionId: child.id });
    const start = childAudit.find((e) => e.action.kind === "sub_agent_start");
    equal(start?.action.resource, `session://${session.id}`);
    const denied = childAudit.filter((e) => e.decision === "denied");
    equal(denied.length, 1);
    equal(denied[0]?.action.kind, "file_write");
    match(JSON.stringify(denied[0]?.outcome), /not covered by what the parent session holds/);
    ok(childAudit.some((e) => e.action.kind === "session_end"));
    // The child's model saw the denial.
    match(JSON.stringify(w.fake.requests[2]), new RegExp(NOT_DELEGATED.slice(0, 30)));
    // What the child spent is charged to the parent.
    ok(gate.budget.state().spentUsd >= 2 * (1000 * 3 + 100 * 15) / 1e6 - 1e-9);
    equal(gate.budget.state().reservedUsd, 0);
  } finally {
    await w.close();
  }
});

Deno.test("a sub-agent holds the parent's session allowances, attenuated tokens, and no more", async () => {
  const turns: FakeTurn[] = [];
  const w = await world(turns); // safe mode: nothing is auto-approved
  turns.push(
    { toolCalls: [{ id: "p1", name: "task", args: { description: "d", prompt: "p" } }] },
    {
      toolCalls: [
        { id: "c1", name: "write_file", args: { file_path: `${w.ws}/src/a.txt`, content: "a" } },
        { id: "c2", name: "write_file", args: { file_path: `${w.ws}/b.txt`, content: "b" } },
        { id: "c3", name: "write_file", args: { file_path: `${w.ws}/tok/c.txt`, content: "c" } },
      ],
    },
    { text: "child done" },
    { text: "parent done" },
  );
  try {
    await Deno.mkdir(join(w.ws, "src"));
    await Deno.mkdir(join(w.ws, "tok"));
    const { agent, gate, session } = await w.open({ answer: { choice: "once" } });
    await gate.allowances.add(`file://${w.ws}/src/**`, "write");
    const parentToken = mintToken(w.signer, {
      resource: `file://${w.ws}/tok/**`,
      permissions: ["write"],
      scope: "session",
      subject: session.id,
      auditId: null,
    });
    await gate.tokens.add(parentToken);
    const result = await agent.run("go");
    equal(result.status, "completed");
    equal(await Deno.readTextFile(join(w.ws, "src", "a.txt")), "a");
    equal(await Deno.readTextFile(join(w.ws, "tok", "c.txt")), "c");
    ok(!(await Deno.lstat(join(w.ws, "b.txt")).then(() => true, () => false)));
    const child = (await new SessionStore(w.store).list()).find((h) => h.parentId === session.id)!;
    const allowed = (await w.audit.list({ sessionId: child.id })).filter((e) =>
      e.decision === "allowed"
    );
    equal(allowed.length, 2);
    // The write under tok/ was covered by the child's own attenuated token, not the parent's.
    const tokenProof = allowed.find((e) => e.proof.startsWith("token:"))?.proof;
    ok(tokenProof && tokenProof !== `token:${parentToken.id}`);
    const start = (await w.audit.list({ sessionId: child.id })).find((e) =>
      e.action.kind === "sub_agent_start"
    );
    deepEqual(
      [
        (start?.action.detail as { tokens: number }).tokens,
        (start?.action.detail as { allowances: number }).allowances,
      ],
      [1, 1],
    );
  } finally {
    await w.close();
  }
});

Deno.test("sub-agents stop at the maximum depth: the deepest child is not offered the task tool", async () => {
  const w = await world([
    { toolCalls: [{ id: "p1", name: "task", args: { description: "d", prompt: "p" } }] },
    { text: "child done" },
    { text: "parent done" },
  ], autonomous);
  try {
    const { agent } = await w.open({ subAgents: { maxDepth: 1 }, answer: { choice: "once" } });
    equal((await agent.run("go")).status, "completed");
    const names = (r: unknown) => (r as { tools: { name: string }[] }).tools.map((t) => t.name);
    ok(names(w.fake.requests[0]).includes("task"));
    ok(!names(w.fake.requests[1]).includes("task"));
  } finally {
    await w.close();
  }
});

Deno.test("a task is refused when the parent's budget has nothing left for a slice", async () => {
  const w = await world([
    { toolCalls: [{ id: "p1", name: "task", args: { description: "d", prompt: "p" } }] },
    { text: "parent done" },
  ], autonomous);
  try {
    const { agent, gate } = await w.open({
      subAgents: { perTaskUsd: 0 },
      answer: { choice: "once" },
    });
    equal((await agent.run("go")).status, "completed");
    match(JSON.stringify(w.fake.requests[1]), /Cannot spawn a sub-agent/);
    deepEqual(gate.budget.state().reservedUsd, 0);
  } finally {
    await w.close();
  }
});
