/**
 * Agent-loop costs, without the model. Targets: loop overhead per tool round-trip ≤ 1 ms median
 * with a file KV (issue 15; issue 5 asked ≤ 2 ms); the in-memory KV run and the single commit
 * show, in the same run, how much of it is durable KV commits; session save after a turn ≤ 5 ms median for a 200-message session. Both run
 * against a real KV file (Deno KV fsyncs every commit).
 *
 * - "tool round-trip": one turn = the prompt, one model reply with a tool call, the result back,
 *   a final reply; the provider replies instantly and the tool registry is a no-op, so what is
 *   measured is the loop itself: classification, wrapping, budget reserve/commit and the three
 *   session saves (turn start, tool round, turn end). The saves ride in the budget's commits,
 *   and the first call's charge waits for the next one (turn start + reservation 1, tool round
 *   + charge 1 + reservation 2, charge 2 + turn end): 3 durable commits. The "4 commits" row
 *   runs the same turn with a budget that does not charge an abandoned reservation, so the
 *   loop commits charge 1 on its own before the tool (as after the first issue-15 session);
 *   the "7 commits" row with a budget that also ignores riders, so every save is its own
 *   commit, as before issue 15: before/after in one run.
 * - the same through the real interceptor and file executor (`list_directory` in its Worker),
 *   for reference.
 * - "session save": 4 new messages + turn record + header onto a 200-message session.
 *
 * Run: `deno bench -A bench/agent_bench.ts`.
 */
import { join } from "node:path";
import { openStore } from "../runtime/storage/mod.ts";
import { SessionBudget } from "../runtime/security/budget.ts";
import { generateSeed, signerFromSeed } from "../runtime/crypto/mod.ts";
import { AuditLog } from "../runtime/audit/mod.ts";
import { type AstridConfig, DEFAULT_CONFIG } from "../runtime/config/mod.ts";
import type { LlmEvent, LlmProvider, LlmRequest } from "../runtime/llm/mod.ts";
import type { Reservation } from "../runtime/security/budget.ts";
import {
  Agent,
  type BudgetLike,
  openAgent,
  type SessionMessage,
  SessionStore,
  type ToolRegistry,
} from "../runtime/agent/mod.ts";

const dir = await Deno.makeTempDir({ prefix: "astrid-agent-bench-" });
const store = await openStore(join(dir, "state.kv"));
const sessions = new SessionStore(store);

/** Replies with one tool call when the last message is the prompt, else with text. */
const provider: LlmProvider = {
  name: "bench",
  model: "bench",
  async *stream(req: LlmRequest): AsyncIterable<LlmEvent> {
    const last = req.messages.at(-1)?.content.at(-1);
    if (last?.type === "text") {
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
const noTools: ToolRegistry = {
  definitions:
    () => [{ name: "list_directory", description: "list", inputSchema: { type: "object" } }],
  call: () =>
    Promise.resolve({
      status: "ok",
      result: { output: "file\t10\ta.txt\n", isError: false },
      proofs: ["mode:autonomous"],
      trust: "untrusted",
    }),
};
const limits = { sessionUsd: 1e6, perActionUsd: 1e6, warnAt: 1 };
const costs = { estimate: () => 0.01, actual: () => 0.001 };

const memory = await openStore(":memory:");
const memorySessions = new SessionStore(memory);

/**
 * A budget whose reservations are not charged when abandoned, so the loop commits the first
 * charge on its own (4 commits); with `riders` false it also drops riders, so the loop saves
 * on its own (3 saves + 4 budget commits).
 */
function older(budget: SessionBudget, riders: boolean): BudgetLike {
  return {
    reserve: async (usd, rider) => {
      const r = await budget.reserve(usd, riders ? rider : undefined);
      return {
        id: r.id,
        amountUsd: r.amountUsd,
        commit: (actual, rider) => r.commit(actual, riders ? rider : undefined),
        refund: (rider) => r.refund(riders ? rider : undefined),
      } satisfies Reservation;
    },
  };
}

/** One turn with one tool round: 3 commits, or as before (4 or 7: see {@link older}). */
async function roundTrip(
  b: Deno.BenchContext,
  kv: typeof store,
  from: SessionStore,
  commits: 3 | 4 | 7 = 3,
) {
  const session = from.create({
    provider: "bench",
    model: "bench",
    workspaceRoot: dir,
    workspaceId: "w",
  });
  const loaded = await SessionBudget.load(kv, session.id, limits);
  const budget = commits === 3 ? loaded : older(loaded, commits === 4);
  const agent = new Agent({ provider, tools: noTools, budget, costs, session, system: "s" });
  b.start();
  await agent.run("list the files");
  b.end();
}

Deno.bench({
  name: "agent loop: one tool round-trip, no model, no-op tool, file KV (target ≤ 1 ms)",
  group: "round-trip",
  baseline: true,
  async fn(b) {
    await roundTrip(b, store, sessions);
  },
});

Deno.bench({
  name: "agent loop: the same, 4 commits (the first charge committed on its own)",
  group: "round-trip",
  async fn(b) {
    await roundTrip(b, store, sessions, 4);
  },
});

Deno.bench({
  name: "agent loop: the same, 7 commits (every save its own commit, as before issue 15)",
  group: "round-trip",
  async fn(b) {
    await roundTrip(b, store, sessions, 7);
  },
});

Deno.bench({
  name: "agent loop: the same on an in-memory KV (what is left without durable commits)",
  group: "round-trip",
  async fn(b) {
    await roundTrip(b, memory, memorySessions);
  },
});

Deno.bench({
  name: "one durable KV commit on the file KV (a round trip makes 3, was 7)",
  group: "round-trip",
  async fn() {
    await store.atomic().set(["bench", "commit"], Date.now()).commit();
  },
});

const signer = signerFromSeed(generateSeed());
const audit = await AuditLog.open(store, signer, { checkpointSeconds: 3600 });
const ws = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-agent-bench-ws-" }));
const config = structuredClone(DEFAULT_CONFIG) as AstridConfig;
config.workspace.mode = "autonomous";
const opened = await openAgent({
  store,
  signer,
  audit,
  config,
  workspaceRoot: ws,
  workspaceId: "w",
  provider: { ...provider, model: "claude-sonnet-4-6", stream: provider.stream },
  frontend: null,
});

Deno.bench(
  "agent loop: one tool round-trip through the interceptor + Worker (reference)",
  async () => {
    await opened.agent.run("list the files");
  },
);

const message = (i: number): SessionMessage => ({
  message: {
    role: i % 2 ? "assistant" : "user",
    content: [{ type: "text", text: `message ${i} `.repeat(60) }],
  },
  trust: i % 2 ? "trusted" : "untrusted",
  turn: Math.floor(i / 4) + 1,
});
const big = sessions.create({ provider: "p", model: "m", workspaceRoot: ws, workspaceId: "w" });
big.beginTurn("seed");
for (let i = 0; i < 200; i++) big.push(message(i));
big.updateTurn({ status: "completed", endedAt: Date.now() });
await big.save();

Deno.bench("session save after a turn (200-message session, 4 new messages)", async (b) => {
  big.beginTurn("next");
  for (let i = 0; i < 4; i++) big.push(message(i));
  big.updateTurn({ status: "completed", endedAt: Date.now() });
  b.start();
  await big.save();
  b.end();
});

globalThis.addEventListener("unload", () => {
  memory.close();
  opened.close();
});
