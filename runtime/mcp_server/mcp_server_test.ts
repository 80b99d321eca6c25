import { deepEqual, equal, match, ok, rejects, throws } from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../storage/mod.ts";
import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
import { AuditLog } from "../audit/mod.ts";
import { type AstridConfig, DEFAULT_CONFIG } from "../config/mod.ts";
import { SessionStore } from "../agent/mod.ts";
import {
  bearerMatches,
  buildCatalog,
  cleanClientField,
  clientSessionId,
  createSessionServer,
  fromLoopbackNames,
  resolveServeToken,
  toolGlob,
} from "./mod.ts";
import { type CallToolResult, Client, ElicitRequestSchema, InMemoryTransport } from "./_testing.ts";
import { DEFAULT_PRICING, type LlmEvent, type LlmProvider } from "../llm/mod.ts";
import { pricedCosts } from "../agent/loop.ts";
import { NOT_DELEGATED } from "../agent/sub_agent.ts";
import type { TaskModelLoader } from "./task_runner.ts";

Deno.test("bearerMatches() refuses every malformed or near-miss Authorization header", () => {
  const token = "0123456789abcdef0123456789abcdef";
  ok(bearerMatches(`Bearer ${token}`, token));
  ok(bearerMatches(`bearer ${token}`, token), "the scheme is case-insensitive (RFC 9110 §11.1)");
  for (
    const bad of [
      null,
      "",
      "Bearer",
      "Bearer ",
      token,
      `Basic ${token}`,
      `Bearer ${token} extra`,
      `Bearer ${token.slice(1)}`,
      `Bearer ${token}0`,
      `Bearer ${token.toUpperCase()}`,
      `Bearer ${"a".repeat(5000)}`,
    ]
  ) {
    equal(bearerMatches(bad, token), false, String(bad).slice(0, 40));
  }
});

Deno.test("resolveServeToken() prefers --token-file, then the daemon's, then its own 0600 file; refuses weak tokens", async () => {
  const home = await Deno.makeTempDir();
  try {
    const own = await resolveServeToken({ home });
    equal(own.source, "mcp");
    equal((await Deno.stat(own.path)).mode! & 0o777, 0o600);
    equal(own.token.length, 64);
    await Deno.mkdir(join(home, "daemon"));
    await Deno.writeTextFile(join(home, "daemon", "token"), "d".repeat(40) + "\n");
    equal((await resolveServeToken({ home })).source, "daemon");
    const flag = join(home, "flag-token");
    await Deno.writeTextFile(flag, "f".repeat(32));
    deepEqual((await resolveServeToken({ home, tokenFile: flag })).token, "f".repeat(32));
    await Deno.writeTextFile(flag, "short");
    await rejects(resolveServeToken({ home, tokenFile: flag }), RangeError);
    await Deno.writeTextFile(flag, "with spaces inside the token text");
    await rejects(resolveServeToken({ home, tokenFile: flag }), RangeError);
    await rejects(
      resolveServeToken({ home, tokenFile: join(home, "missing") }),
      Deno.errors.NotFound,
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("fromLoopbackNames() refuses rebinding hosts and foreign origins", () => {
  const req = (headers: Record<string, string>) =>
    new Request("http://127.0.0.1:9/mcp", { headers });
  ok(fromLoopbackNames(req({ host: "localhost:9" })));
  ok(fromLoopbackNames(req({ host: "[::1]:9", origin: "http://127.0.0.1:3000" })));
  for (
    const h of [
      { host: "attacker.example" },
      { host: "127.0.0.1.attacker.example" },
      { host: "localhost@attacker.example" },
      { host: "127.0.0.1:9", origin: "http://attacker.example" },
      { host: "127.0.0.1:9", origin: "null" },
    ]
  ) {
    equal(fromLoopbackNames(req(h)), false, JSON.stringify(h));
  }
});

Deno.test("toolGlob() treats regex characters literally and bounds its input", () => {
  equal(toolGlob("a.b").test("axb"), false);
  equal(toolGlob("a.b").test("a.b"), true);
  equal(toolGlob("(x|y)*").test("x"), false);
  throws(() => toolGlob(""), RangeError);
  throws(() => toolGlob("*".repeat(201)), RangeError);
});

Deno.test("cleanClientField() and clientSessionId() neutralise hostile client names", () => {
  equal(cleanClientField("evil\u001b[31m\nname", "x"), "evil[31mname");
  equal(cleanClientField(42, "fallback"), "fallback");
  equal(cleanClientField("\u0000\u0001", "fallback"), "fallback");
  equal(cleanClientField("n".repeat(500), "x").length, 120);
  match(clientSessionId("../../etc/passwd"), /^mcp-etc-passwd-[0-9a-f]{8}$/);
  match(clientSessionId("\u202e!!"), /^mcp-client-[0-9a-f]{8}$/);
});

/** A served connection over the SDK's in-memory transport, with a real gate and KV store. */
async function served(
  mode: "safe" | "guided",
  clientName: string,
  elicit?: () => unknown,
  taskModel?: TaskModelLoader,
) {
  const root = await Deno.realPath(await Deno.makeTempDir());
  await Deno.writeTextFile(join(root, "a.txt"), "inside\n");
  const store = await openStore(":memory:");
  const signer = signerFromSeed(generateSeed());
  const audit = await AuditLog.open(store, signer);
  const config = structuredClone(DEFAULT_CONFIG) as AstridConfig;
  config.workspace.mode = mode;
  config.tools.sandbox = "off";
  const host = { capsules: [], workspaceRoot: root, store, limits: { timeoutMs: 1, memoryMb: 1 } };
  const session = createSessionServer({
    store,
    signer,
    audit,
    config,
    walls: { hidden: [], userHome: null, sandboxHide: [] },
    workspace: { root, id: "ws" },
    host,
    tools: await buildCatalog({ includeTask: taskModel !== undefined, host }),
    log: () => {},
    taskModel,
  });
  const client = new Client(
    { name: clientName, version: "1" },
    elicit ? { capabilities: { elicitation: { form: {} } } } : {},
  );
  if (elicit) client.setRequestHandler(ElicitRequestSchema, () => elicit() as never);
  const [a, b] = InMemoryTransport.createLinkedPair();
  await session.server.connect(a);
  await client.connect(b);
  return {
    root,
    client,
    store,
    audit,
    session,
    async [Symbol.asyncDispose]() {
      await client.close();
      await session.close();
      await audit.close();
      store.close();
      await Deno.remove(root, { recursive: true });
    },
  };
}

const textOf = (r: unknown) =>
  (r as CallToolResult).content.map((c) => c.type === "text" ? c.text : "").join("");

Deno.test("createSessionServer() reads inside the workspace, and a traversal out of it is deferred, not run", async () => {
  await using s = await served("guided", "unit-client");
  const inside = await s.client.callTool({ name: "read_file", arguments: { file_path: "a.txt" } });
  equal(inside.isError, false, textOf(inside));
  const outside = await Deno.makeTempFile({ prefix: "astrid-mcp-outside-" });
  await Deno.writeTextFile(outside, "SECRET-MARKER\n");
  try {
    const rel = "../".repeat(s.root.split("/").length) + outside.slice(1);
    const escape = await s.client.callTool({ name: "read_file", arguments: { file_path: rel } });
    equal(escape.isError, true);
    match(textOf(escape), /astrid approvals approve /);
    equal(textOf(escape).includes("SECRET-MARKER"), false);
  } finally {
    await Deno.remove(outside);
  }
  const bad = await s.client.callTool({ name: "read_file", arguments: { file_path: 7 } });
  equal(bad.isError, true, "malformed arguments are a tool error, not a protocol error");
  const headers = await new SessionStore(s.store).list();
  equal(headers[0]?.model, "unit-client");
  const entries = await s.audit.list({ sessionId: s.session.sessionId()! });
  ok(entries.length > 0);
  for (const e of entries.filter((e) => e.action.kind !== "allowance_rejected")) {
    equal((e.action.detail as { mcpClient?: { name: string } })?.mcpClient?.name, "unit-client");
  }
});

Deno.test("createSessionServer() in safe mode asks the client; a malformed elicitation answer defers", async () => {
  let asked = 0;
  await using s = await served("safe", "asker", () => {
    asked++;
    return { action: "accept", content: { decision: "always-and-forever" } };
  });
  const r = await s.client.callTool({ name: "read_file", arguments: { file_path: "a.txt" } });
  equal(asked, 1);
  equal(r.isError, true);
  match(textOf(r), /Deferred/);
});

Deno.test("createSessionServer() applies an elicited Allow Session to the next call", async () => {
  // Guided mode asks about writes; an untrusted call in safe mode would ask every time.
  const answers = [{ action: "accept", content: { decision: "session" } }];
  await using s = await served(
    "guided",
    "session-client",
    () => answers.shift() ?? { action: "decline" },
  );
  const write = { name: "write_file", arguments: { file_path: "b.txt", content: "x" } };
  const first = await s.client.callTool(write);
  equal(first.isError, false, textOf(first));
  const second = await s.client.callTool(write);
  equal(second.isError, false, `covered by the session allowance: ${textOf(second)}`);
});

/** A provider that plays `rounds` in turn: each round is the events of one model call. */
function scripted(rounds: LlmEvent[][]): LlmProvider {
  return {
    name: "scripted",
    model: "claude-sonnet-4-6",
    async *stream(): AsyncIterable<LlmEvent> {
      for (const e of rounds.shift() ?? [{ type: "done", stopReason: "end_turn" }]) yield e;
    },
  };
}

Deno.test("task over MCP: the sub-agent holds only what the session holds; its write is denied, never asked", async () => {
  const write = { file_path: "stolen.txt", content: "written by a sub-agent" };
  const provider = scripted([
    [
      { type: "tool_call_start", id: "t1", name: "write_file" },
      { type: "tool_call_end", id: "t1", name: "write_file", args: write },
      { type: "usage", inputTokens: 10, outputTokens: 5 },
      { type: "done", stopReason: "tool_use" },
    ],
    [
      { type: "text_delta", text: "I could not write the file." },
      { type: "usage", inputTokens: 10, outputTokens: 5 },
      { type: "done", stopReason: "end_turn" },
    ],
  ]);
  let loads = 0;
  const model: TaskModelLoader = () => {
    loads++;
    return Promise.resolve({ provider, costs: pricedCosts(provider.model, DEFAULT_PRICING, 1024) });
  };
  const asked: string[] = [];
  const answers = [{ action: "accept", content: { decision: "once" } }];
  await using s = await served("guided", "hostile-client", () => {
    asked.push("ask");
    return answers.shift() ?? { action: "accept", content: { decision: "session" } };
  }, model);
  equal(loads, 0, "the model is built on the first task call, not when the session opens");
  const tools = (await s.client.listTools()).tools.map((t) => t.name);
  ok(tools.includes("task"));
  const r = await s.client.callTool({
    name: "task",
    arguments: { description: "write a file", prompt: "Write stolen.txt" },
  });
  equal(r.isError, false, textOf(r));
  equal(textOf(r), "I could not write the file.");
  equal(loads, 1);
  equal(asked.length, 1, "only the spawn is asked; the sub-agent's own write is never asked");
  await Deno.stat(join(s.root, "stolen.txt")).then(
    () => ok(false, "the sub-agent's write must not have happened"),
    () => {},
  );
  const parent = s.session.sessionId()!;
  const spawn = (await s.audit.list({ sessionId: parent })).find((e) =>
    e.action.kind === "sub_agent_spawn" && e.decision === "event"
  );
  const child = spawn?.action.resource.replace("session://", "") ?? "";
  ok(child);
  const denied = (await s.audit.list({ sessionId: child })).find((e) => e.decision === "denied");
  equal(denied?.action.kind, "file_write");
  ok(JSON.stringify(denied).includes(NOT_DELEGATED), JSON.stringify(denied));
  equal(
    (denied?.action.detail as { mcpClient?: { name: string } })?.mcpClient?.name,
    "hostile-client",
  );
});
