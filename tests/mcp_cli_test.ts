import { equal, match } from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDirs } from "./cli.ts";

const SERVER = new URL("./fixtures/mcp_basic_server.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

Deno.test("MCP tools appear as mcp__<server>__<tool> and run through the interceptor", async () => {
  const { home, ws } = await tempDirs();
  await runCli(["init", ws], { home });
  await Deno.writeTextFile(
    join(home, "config.toml"),
    `[servers.basic]\ncommand = ${JSON.stringify(Deno.execPath())}\nargs = ${
      JSON.stringify(["run", "-A", "--quiet", "--config", CONFIG, SERVER])
    }\n`,
  );
  const list = await runCli(["tools", "list", "--json"], { home, cwd: ws });
  equal(list.code, 0, list.stderr);
  const names: string[] = JSON.parse(list.stdout).map((t: { name: string }) => t.name);
  equal(names.includes("mcp__basic__echo"), true, names.join());
  equal(names.some((n) => n.includes("..")), false, "the hostile tool name is refused");

  const args = ["tools", "call", "mcp__basic__echo", "--args", JSON.stringify({ text: "hi" })];
  equal((await runCli(args, { home, cwd: ws })).code, 4, "safe mode defers with nobody to ask");
  const call = await runCli([...args, "--approve", "once"], { home, cwd: ws });
  equal(call.code, 0, call.stderr);
  match(call.stdout, /hi/);
  const audit = JSON.parse((await runCli(["audit", "list", "--json"], { home, cwd: ws })).stdout);
  equal(
    audit.some((e: { action: { resource: string }; decision: string }) =>
      e.action.resource === "mcp://basic/echo" && e.decision === "allowed"
    ),
    true,
  );
});

Deno.test("the agent calls an MCP server's tool through the interceptor (astrid chat -p)", async () => {
  const { startFakeAnthropic } = await import("../runtime/llm/replay_anthropic.ts");
  const fake = startFakeAnthropic([
    { toolCalls: [{ id: "t1", name: "mcp__basic__echo", args: { text: "from mcp" } }] },
    { text: "The server said: from mcp" },
  ]);
  const { home, ws } = await tempDirs();
  await runCli(["init", ws], { home });
  await Deno.writeTextFile(
    join(home, "config.toml"),
    `[servers.basic]\ncommand = ${JSON.stringify(Deno.execPath())}\nargs = ${
      JSON.stringify(["run", "-A", "--quiet", "--config", CONFIG, SERVER])
    }\n[model]\nmodel = "claude-sonnet-4-6"\n`,
  );
  const r = await runCli(["chat", "-p", "echo via mcp", "--approve", "once"], {
    home,
    cwd: ws,
    env: { ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: fake.url },
  });
  equal(r.code, 0, r.stderr);
  match(r.stdout, /The server said: from mcp/);
  const second = JSON.stringify(fake.requests[1]);
  match(second, /from mcp/, "the tool result went back to the model");
  match(second, /untrusted/, "labelled untrusted");
  await fake.close();
});
