import { deepEqual, equal, match, ok } from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { PresetFrontend } from "../security/approval.ts";
import type { Elicitor, Sampler, Tool } from "./connection.ts";
import { McpServerManager } from "./manager.ts";
import { gatedSampler } from "./sampling.ts";
import { fixtureServer, openTestGate } from "./_testing.ts";

const PATH = Deno.env.get("PATH");
const text = (r: { content: unknown[] }) => (r.content[0] as { text: string }).text;

const fakeModel: Sampler = (_server, params) =>
  Promise.resolve({
    role: "assistant",
    model: "fake-1",
    content: { type: "text", text: `short (${params.messages.length} message)` },
  });

Deno.test("an approved sampling request reaches the sampler and is audited at mcp://server/sampling/createMessage", async () => {
  await using gate = await openTestGate(new PresetFrontend({ choice: "once" }));
  await using manager = new McpServerManager({
    servers: [fixtureServer("s", "mcp_sampling_server.ts")],
    parentEnv: { PATH },
    baseDir: Deno.cwd(),
    connection: { sampler: gatedSampler(gate.interceptor, fakeModel) },
  });
  const res = await manager.callTool("s", "summarize", { text: "long text" });
  equal(text(res), "model said: short (1 message)");
  const entries = await gate.audit.list();
  deepEqual(entries.map((e) => [e.decision, e.action.resource]), [
    ["allowed", "mcp://s/sampling/createMessage"],
    ["outcome", "mcp://s/sampling/createMessage"],
  ]);
  const detail = entries[0]?.action.detail as { provenance?: { trust: string } };
  equal(detail.provenance?.trust, "untrusted");
});

Deno.test("a denied sampling request never reaches the model; the server gets an error", async () => {
  await using gate = await openTestGate(new PresetFrontend({ choice: "deny" }));
  let called = 0;
  await using manager = new McpServerManager({
    servers: [fixtureServer("s", "mcp_sampling_server.ts")],
    parentEnv: { PATH },
    baseDir: Deno.cwd(),
    connection: {
      sampler: gatedSampler(gate.interceptor, (...a) => {
        called++;
        return fakeModel(...a);
      }),
    },
  });
  const res = await manager.callTool("s", "summarize", { text: "x" });
  ok(res.isError);
  match(text(res), /sampling failed: .*denied/);
  equal(called, 0);
});

Deno.test("without a sampler the client does not offer sampling", async () => {
  await using manager = new McpServerManager({
    servers: [fixtureServer("s", "mcp_sampling_server.ts")],
    parentEnv: { PATH },
    baseDir: Deno.cwd(),
  });
  const res = await manager.callTool("s", "summarize", { text: "x" });
  ok(res.isError);
  match(text(res), /sampling failed/);
});

Deno.test("form elicitation goes to the elicitor and defaults are applied", async () => {
  const seen: string[] = [];
  const elicitor: Elicitor = (server, params) => {
    seen.push(`${server}:${params.mode ?? "form"}:${params.message}`);
    return Promise.resolve(
      params.mode === "url"
        ? { action: "decline" }
        : { action: "accept", content: { name: "Ada" } },
    );
  };
  await using manager = new McpServerManager({
    servers: [fixtureServer("e", "mcp_elicitation_server.ts")],
    parentEnv: { PATH },
    baseDir: Deno.cwd(),
    connection: { elicitor },
  });
  const form = JSON.parse(text(await manager.callTool("e", "ask_name", {})));
  deepEqual(form, { action: "accept", content: { name: "Ada", color: "blue" } });
  const url = JSON.parse(text(await manager.callTool("e", "ask_login", {})));
  deepEqual(url, { action: "decline" });
  deepEqual(seen, ["e:form:What is your name?", "e:url:Log in please"]);
});

Deno.test("roots answer the workspace root only", async () => {
  const root = await Deno.makeTempDir();
  await using manager = new McpServerManager({
    servers: [fixtureServer("b", "mcp_basic_server.ts")],
    parentEnv: { PATH },
    baseDir: Deno.cwd(),
    connection: { workspaceRoot: root },
  });
  const roots = JSON.parse(text(await manager.callTool("b", "roots", {})));
  deepEqual(roots, [{ uri: pathToFileURL(root).href, name: "workspace" }]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("tools/list_changed refreshes the cached tool list", async () => {
  let changed: readonly Tool[] = [];
  await using manager = new McpServerManager({
    servers: [fixtureServer("b", "mcp_basic_server.ts")],
    parentEnv: { PATH },
    baseDir: Deno.cwd(),
    connection: { onToolsChanged: (_s, tools) => (changed = tools) },
  });
  const before = await manager.listTools("b");
  ok(!before.some((t) => t.name === "late"));
  await manager.callTool("b", "grow", {});
  const end = Date.now() + 5000;
  while (!changed.some((t) => t.name === "late") && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
  }
  ok(changed.some((t) => t.name === "late"));
  ok((await manager.listTools("b")).some((t) => t.name === "late"));
});

Deno.test("resources, prompts, and a hostile tool name kept out of the list", async () => {
  await using manager = new McpServerManager({
    servers: [fixtureServer("b", "mcp_basic_server.ts")],
    parentEnv: { PATH },
    baseDir: Deno.cwd(),
  });
  const conn = await manager.connection("b");
  const resources = await conn.listResources();
  deepEqual(resources.map((r) => r.uri), ["test://readme"]);
  const read = await conn.readResource("test://readme");
  equal((read.contents[0] as { text: string }).text, "hello from a resource");
  deepEqual((await conn.listPrompts()).map((p) => p.name), ["greet"]);
  const prompt = await conn.getPrompt("greet", { name: "Bo" });
  deepEqual(prompt.messages[0]?.content, { type: "text", text: "Hello Bo" });
  await conn.listTools();
  deepEqual(conn.rejectedTools, ["../escape"]);
  equal(conn.serverInfo?.name, "astrid-test-basic");
});
