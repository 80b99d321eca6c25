import { deepEqual, equal, match, ok } from "node:assert/strict";
import { Ajv } from "ajv";
import { sessionWorld } from "../_session_testing.ts";
import { Dispatcher } from "../rpc.ts";
import { group as sessions } from "./sessions.ts";
import { group as elicitations } from "./elicitations.ts";
import type { DaemonEvent, Frontend, PendingElicitation, RpcCall } from "../types.ts";
import { SESSIONS_SERVICE } from "../session_host.ts";
import { fixturePath } from "../../mcp/_testing.ts";

const ajv = new Ajv({ strict: false });
const methods = [...sessions.methods, ...elicitations.methods];

type World = Awaited<ReturnType<typeof sessionWorld>>;

/** Calls through the real dispatcher; returns the reply (result validated, or its error). */
async function rpc(world: World, name: string, params: unknown, client = "c1") {
  const call: RpcCall = {
    daemon: world.ctx,
    client: { id: `cli:${client}`, kind: "cli", name: client },
    signal: new AbortController().signal,
    notify: () => {},
  };
  const frame = JSON.stringify({ jsonrpc: "2.0", id: 1, method: name, params });
  const reply = JSON.parse((await new Dispatcher(methods).handle(frame, call))!);
  if (reply.result !== undefined) {
    const validate = ajv.compile(methods.find((m) => m.name === name)!.result);
    ok(validate(reply.result), `${name} result: ${ajv.errorsText(validate.errors)}`);
  }
  return reply as { result?: unknown; error?: { code: number; message: string } };
}

/** A frontend that approves every action once (so the MCP tool call runs). */
function approver(world: World): () => void {
  const frontend: Frontend = {
    id: "test:approver",
    onEvent() {},
    offerApproval: (a) => queueMicrotask(() => world.hub.answer(a.id, { choice: "once" }, "t")),
    approvalSettled() {},
  };
  return world.hub.attach(frontend);
}

/** The text of the session's tool results (what the server answered the model). */
async function toolResult(world: World, sessionId: string): Promise<string> {
  const shown = (await rpc(world, "sessions.show", { sessionId })).result as {
    messages: { content: { type: string; content?: unknown }[] }[];
  };
  return JSON.stringify(
    shown.messages.flatMap((m) => m.content.filter((c) => c.type === "tool_result")),
  ).replaceAll("\\", "");
}

function elicitingWorld(extra = "") {
  const server = `[servers.e]\ntransport = "stdio"\nsandbox = "off"\ncommand = ${
    JSON.stringify(Deno.execPath())
  }\nargs = ${
    JSON.stringify(["run", "--allow-env", "--allow-read", fixturePath("mcp_elicitation_server.ts")])
  }\n${extra}`;
  return sessionWorld([
    { text: "Asking.", toolCalls: [{ id: "t1", name: "mcp__e__ask_name", args: {} }] },
    { text: "Got it." },
  ], { userConfig: server });
}

Deno.test("elicitations: an MCP server's form reaches the daemon's frontends; the first valid answer reaches the server", async () => {
  const world = await elicitingWorld();
  try {
    const stop = await elicitations.start!(world.ctx);
    world.ctx.services.set(SESSIONS_SERVICE, world.host());
    const detach = approver(world);
    const { sessionId } = (await rpc(world, "sessions.create", { workspace: world.ws }))
      .result as { sessionId: string };
    const asked = world.next((e) => e.type === "elicitation.requested");
    const turn = rpc(world, "sessions.send", { sessionId, text: "ask me", wait: true });
    const { elicitation } = await asked as Extract<DaemonEvent, { type: "elicitation.requested" }>;
    equal(elicitation.sessionId, sessionId);
    equal(elicitation.mode, "form");
    match(elicitation.message, /your name/);
    const listed = (await rpc(world, "elicitations.list", {})).result as PendingElicitation[];
    deepEqual(listed.map((e) => e.id), [elicitation.id]);

    // Bad answers are refused with the field named, and leave the request waiting.
    const missing = await rpc(world, "elicitations.respond", {
      id: elicitation.id,
      action: "accept",
      content: { color: "red" },
    });
    equal(missing.error?.code, -32602);
    match(missing.error!.message, /content\.name is required/);
    const unknown = await rpc(world, "elicitations.respond", {
      id: elicitation.id,
      action: "accept",
      content: { name: "Ada", admin: true },
    });
    match(unknown.error!.message, /content\.admin is not a field/);
    const typed = await rpc(world, "elicitations.respond", {
      id: elicitation.id,
      action: "accept",
      content: { name: 7 },
    });
    match(typed.error!.message, /content\.name must be a string/);

    const ok1 = await rpc(world, "elicitations.respond", {
      id: elicitation.id,
      action: "accept",
      content: { name: "Ada" },
    }, "first");
    deepEqual(ok1.result, { id: elicitation.id, action: "accept" });
    const late = await rpc(world, "elicitations.respond", {
      id: elicitation.id,
      action: "decline",
    });
    equal(late.error?.code, -32004);
    const result = (await turn).result as { status: string };
    equal(result.status, "completed");
    match(await toolResult(world, sessionId), /"action":"accept".*"name":"Ada"/);
    ok(world.seen.some((e) => e.type === "elicitation.resolved" && e.by === "cli:first"));
    detach();
    await (stop as () => Promise<void>)();
  } finally {
    await world.close();
  }
});

Deno.test("elicitations: with no frontend attached the request is cancelled, never left hanging", async () => {
  const world = await elicitingWorld('[permissions]\nallow = ["mcp://e/ask_name"]\n');
  try {
    await elicitations.start!(world.ctx);
    world.ctx.services.set(SESSIONS_SERVICE, world.host());
    // The MCP tool call itself is approved up front by a standing rule, so only the
    // elicitation needs a human, and nobody is attached.
    const { sessionId } = (await rpc(world, "sessions.create", { workspace: world.ws }))
      .result as { sessionId: string };
    const turn = rpc(world, "sessions.send", { sessionId, text: "ask me", wait: true });
    const result = (await turn).result as { status: string };
    equal(result.status, "completed");
    ok(!world.seen.some((e) => e.type === "elicitation.requested"));
    match(await toolResult(world, sessionId), /"action":"cancel"/);
  } finally {
    await world.close();
  }
});
