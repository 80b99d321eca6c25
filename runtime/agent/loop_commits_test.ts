import { deepEqual, equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { openStore, type Store } from "../storage/mod.ts";
import { SessionBudget } from "../security/budget.ts";
import type { Reservation } from "../security/budget.ts";
import type { LlmEvent, LlmProvider, LlmRequest } from "../llm/provider.ts";
import { Agent, type AgentEvent, type BudgetLike } from "./loop.ts";
import type { ToolRegistry } from "./registry.ts";
import { SessionStore } from "./session.ts";

/** A store that counts durable writes (atomic commits, sets and deletes). */
function counting(inner: Store): { store: Store; commits: () => number } {
  let commits = 0;
  const store: Store = {
    get: (key) => inner.get(key),
    getMany: (keys) => inner.getMany(keys),
    set: (key, value) => {
      commits++;
      return inner.set(key, value);
    },
    delete: (key) => {
      commits++;
      return inner.delete(key);
    },
    list: (selector, options) => inner.list(selector, options),
    atomic: () => {
      const op = inner.atomic();
      const commit = op.commit.bind(op);
      op.commit = () => {
        commits++;
        return commit();
      };
      return op;
    },
    close: () => inner.close(),
    [Symbol.dispose]: () => inner.close(),
  };
  return { store, commits: () => commits };
}

/** One tool call on the first request, text after. */
const provider: LlmProvider = {
  name: "scripted",
  model: "m",
  async *stream(req: LlmRequest): AsyncIterable<LlmEvent> {
    if (req.messages.at(-1)?.content.at(-1)?.type === "text") {
      yield { type: "tool_call_end", id: "t1", name: "list_directory", args: {} };
      yield { type: "usage", inputTokens: 100, outputTokens: 20 };
      yield { type: "done", stopReason: "tool_use" };
    } else {
      yield { type: "text_delta", text: "done" };
      yield { type: "usage", inputTokens: 100, outputTokens: 5 };
      yield { type: "done", stopReason: "end_turn" };
    }
  },
};
const tools: ToolRegistry = {
  definitions: () => [{ name: "list_directory", description: "list", inputSchema: {} }],
  call: () =>
    Promise.resolve({
      status: "ok",
      result: { output: "a.txt", isError: false },
      proofs: ["mode:autonomous"],
      trust: "untrusted",
    }),
};
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;
const limits = { sessionUsd: 10, perActionUsd: 1, warnAt: 1 };

/** A new session of the scripted provider in `store`. */
function scriptedSession(store: Store) {
  return new SessionStore(store).create({
    provider: "scripted",
    model: "m",
    workspaceRoot: "/ws",
    workspaceId: "w",
  });
}
const costs = { estimate: () => 0.01, actual: () => 0.001 };

Deno.test("Agent.run() makes 3 durable commits for a turn with one tool round (was 7)", async () => {
  using kv = await openStore(":memory:");
  const { store, commits } = counting(kv);
  const session = scriptedSession(store);
  const budget = await SessionBudget.load(store, session.id, limits);
  const events: AgentEvent["type"][] = [];
  const agent = new Agent({
    provider,
    tools,
    budget,
    costs,
    session,
    system: "s",
    onEvent: (e) => events.push(e.type),
  });
  const before = commits();
  const result = await agent.run("list the files");
  equal(result.status, "completed");
  // Turn start + reservation 1; round + charge 1 + reservation 2; charge 2 + turn end.
  equal(commits() - before, 3);
  deepEqual(events, ["turn_start", "tool_start", "tool_end", "text", "turn_end"]);
  const back = await new SessionStore(kv).load(session.id);
  equal(back.messages.length, 4);
  deepEqual(back.turns.map((t) => [t.status, t.costUsd]), [["completed", 0.002]]);
  const state = (await SessionBudget.load(kv, session.id, limits)).state();
  deepEqual([state.spentUsd, state.reservedUsd], [0.002, 0]);
});

Deno.test("Agent.run() saves on its own when the budget does not carry writes", async () => {
  using kv = await openStore(":memory:");
  const { store, commits } = counting(kv);
  const session = scriptedSession(store);
  const real = await SessionBudget.load(store, session.id, limits);
  // A budget that ignores riders: every save is its own commit, as before.
  const plain: BudgetLike = {
    reserve: async (usd) => {
      const r = await real.reserve(usd);
      return {
        id: r.id,
        amountUsd: r.amountUsd,
        commit: (actual?: number) => r.commit(actual),
        refund: () => r.refund(),
      } satisfies Reservation;
    },
  };
  const agent = new Agent({ provider, tools, budget: plain, costs, session, system: "s" });
  const before = commits();
  equal((await agent.run("list the files")).status, "completed");
  equal(commits() - before, 7);
  const back = await new SessionStore(kv).load(session.id);
  equal(back.messages.length, 4);
  equal(back.turns[0]?.status, "completed");
});

Deno.test("Agent.run() commits a charge above its reservation before the tools run", async () => {
  using kv = await openStore(":memory:");
  const { store, commits } = counting(kv);
  const session = scriptedSession(store);
  const budget = await SessionBudget.load(store, session.id, limits);
  let charged = -1;
  const agent = new Agent({
    provider,
    budget,
    session,
    system: "s",
    costs: { estimate: () => 0.01, actual: () => 0.02 },
    tools: {
      ...tools,
      call: (name, args, ctx) => {
        charged = budget.state().spentUsd; // what every process sees while the tool runs
        return tools.call(name, args, ctx);
      },
    },
  });
  const before = commits();
  equal((await agent.run("list the files")).status, "completed");
  equal(charged, 0.02);
  equal(commits() - before, 4);
  deepEqual([budget.state().spentUsd, budget.state().reservedUsd], [0.04, 0]);
});

Deno.test("Agent.run() settles a held charge when the turn stops after a tool round", async () => {
  using store = await openStore(":memory:");
  const session = scriptedSession(store);
  const budget = await SessionBudget.load(store, session.id, limits);
  let held = -1;
  const agent = new Agent({
    provider,
    budget,
    session,
    system: "s",
    costs,
    maxRounds: 1,
    tools: {
      ...tools,
      call: (name, args, ctx) => {
        held = budget.state().reservedUsd; // the charge waits: the reservation still holds
        return tools.call(name, args, ctx);
      },
    },
  });
  const result = await agent.run("list the files");
  equal(result.status, "max_turns");
  equal(held, 0.01);
  deepEqual([budget.state().spentUsd, budget.state().reservedUsd], [0.001, 0]);
  const back = await new SessionStore(store).load(session.id);
  deepEqual(back.turns.map((t) => [t.status, t.costUsd]), [["max_turns", 0.001]]);
  equal(back.messages.length, 3);
  // A model that is unpriced on the second call: the held charge still lands.
  let calls = 0;
  const unpriced = new Agent({
    provider,
    tools,
    budget,
    session: back,
    system: "s",
    costs: {
      estimate: () => {
        if (++calls > 1) throw new RangeError("no price");
        return 0.01;
      },
      actual: () => 0.001,
    },
  });
  equal((await unpriced.run("again")).code, "COST_UNKNOWN");
  deepEqual([budget.state().spentUsd, budget.state().reservedUsd], [0.002, 0]);
});

Deno.test("Agent.run() over budget at the second call: the held charge and the round still land", async () => {
  using kv = await openStore(":memory:");
  const { store, commits } = counting(kv);
  const session = scriptedSession(store);
  const budget = await SessionBudget.load(store, session.id, { ...limits, sessionUsd: 0.02 });
  let calls = 0;
  const agent = new Agent({
    provider,
    tools,
    budget,
    session,
    system: "s",
    costs: { estimate: () => (calls++ ? 0.02 : 0.01), actual: () => 0.001 },
  });
  const before = commits();
  const result = await agent.run("list the files");
  equal(result.status, "budget_exceeded");
  // Turn start + reservation 1; round + charge 1 with the refused reservation 2; turn end.
  equal(commits() - before, 3);
  deepEqual([budget.state().spentUsd, budget.state().reservedUsd], [0.001, 0]);
  const back = await new SessionStore(kv).load(session.id);
  equal(back.messages.length, 3);
  deepEqual(back.turns.map((t) => [t.status, t.costUsd]), [["budget_exceeded", 0.001]]);
});

Deno.test("Agent.run() over budget at the first call still saves the turn's start and end", async () => {
  using store = await openStore(":memory:");
  const session = scriptedSession(store);
  const budget = await SessionBudget.load(store, session.id, { ...limits, sessionUsd: 0.005 });
  const agent = new Agent({ provider, tools, budget, costs, session, system: "s" });
  const result = await agent.run("list the files");
  equal(result.status, "budget_exceeded");
  const back = await new SessionStore(store).load(session.id);
  equal(back.messages.length, 1);
  deepEqual(back.turns.map((t) => t.status), ["budget_exceeded"]);
});

/**
 * The child: runs one turn on a file KV and parks, forever, at `where` ("tool": inside the tool
 * of round 1; "stream": inside the second model call), after touching `marker`.
 */
const CHILD = `
import { openStore } from ${JSON.stringify(import.meta.resolve("../storage/mod.ts"))};
import { SessionBudget } from ${JSON.stringify(import.meta.resolve("../security/budget.ts"))};
import { Agent } from ${JSON.stringify(import.meta.resolve("./loop.ts"))};
import { SessionStore } from ${JSON.stringify(import.meta.resolve("./session.ts"))};
const [path, id, where, marker] = Deno.args;
const store = await openStore(path);
const session = new SessionStore(store).create({
  id, provider: "scripted", model: "m", workspaceRoot: "/ws", workspaceId: "w",
});
const budget = await SessionBudget.load(store, id, { sessionUsd: 10, perActionUsd: 1, warnAt: 1 });
const park = async () => {
  await Deno.writeTextFile(marker, "parked");
  setInterval(() => {}, 1000); // stays until killed
  await new Promise(() => {});
};
const agent = new Agent({
  session, budget, system: "s",
  costs: { estimate: () => 0.01, actual: () => 0.001 },
  provider: {
    name: "scripted", model: "m",
    async *stream(req) {
      if (req.messages.at(-1)?.content.at(-1)?.type === "text") {
        yield { type: "tool_call_end", id: "t1", name: "list_directory", args: {} };
        yield { type: "usage", inputTokens: 1, outputTokens: 1 };
        yield { type: "done", stopReason: "tool_use" };
        return;
      }
      if (where === "stream") await park();
      yield { type: "text_delta", text: "done" };
      yield { type: "done", stopReason: "end_turn" };
    },
  },
  tools: {
    definitions: () => [{ name: "list_directory", description: "list", inputSchema: {} }],
    call: async () => {
      if (where === "tool") await park();
      return { status: "ok", result: { output: "a.txt", isError: false }, proofs: [], trust: "untrusted" };
    },
  },
});
await agent.run("list the files");
`;

async function killMidTurn(where: "tool" | "stream") {
  const dir = await Deno.makeTempDir({ prefix: "astrid-loop-kill-" });
  try {
    const script = join(dir, "child.ts");
    const marker = join(dir, "parked");
    const path = join(dir, "state.kv");
    const id = crypto.randomUUID();
    await Deno.writeTextFile(script, CHILD);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-kv", `--config=${CONFIG}`, script, path, id, where, marker],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = child.stderr.pipeTo(new WritableStream());
    for (let i = 0; i < 1200; i++) {
      if (await Deno.stat(marker).then(() => true, () => false)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    ok(await Deno.stat(marker).then(() => true, () => false), "the child never parked");
    child.kill("SIGKILL");
    equal((await child.status).signal, "SIGKILL");
    await stderr;
    using store = await openStore(path);
    const session = await new SessionStore(store).load(id);
    const budget = await SessionBudget.load(store, id, limits);
    return { session, state: budget.state() };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("kill -9 inside a tool: the turn's start is on disk and the first call's reservation is charged", async () => {
  const { session, state } = await killMidTurn("tool");
  equal(session.header.status, "running");
  equal(session.messages.length, 1);
  // The first call's charge ($0.001) waited for the next commit; the sweep of the dead lease
  // charged its reservation ($0.01) in full instead: more than was spent, never less.
  deepEqual([state.spentUsd, state.reservedUsd], [0.01, 0]);
  ok(session.recoverInterrupted());
  equal(session.turns[0]?.status, "interrupted");
});

Deno.test("kill -9 in the second model call: the tool round is on disk with its reservation", async () => {
  const { session, state } = await killMidTurn("stream");
  // Prompt, the model's tool call and the tool result: the round rode with reservation 2.
  deepEqual(session.messages.map((m) => m.message.role), ["user", "assistant", "user"]);
  equal(session.turns[0]?.costUsd, 0.001);
  // The first call's charge rode with the round; the call in flight is charged its reservation.
  deepEqual([state.spentUsd, state.reservedUsd], [0.011, 0]);
  ok(session.recoverInterrupted());
  equal(session.turns[0]?.status, "interrupted");
});
