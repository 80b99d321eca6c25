import { deepEqual, equal, match } from "node:assert/strict";
import { McpServerManager } from "../mcp/mod.ts";
import { frontendElicitor } from "../mcp/elicitation.ts";
import { fixtureServer } from "../mcp/_testing.ts";
import type { CliIo } from "./context.ts";
import { TerminalFrontend } from "./prompt.ts";

function scriptedIo(lines: (string | null)[]): CliIo & { shown: string[] } {
  const shown: string[] = [];
  return {
    env: {},
    cwd: "/",
    isTty: true,
    shown,
    stdout: (s) => void shown.push(s),
    stderr: (s) => void shown.push(s),
    readLine: (prompt) => {
      shown.push(prompt);
      return Promise.resolve(lines.length ? lines.shift()! : null);
    },
  };
}

Deno.test("a server's form elicitation is asked at the terminal, defaults applied", async () => {
  const io = scriptedIo(["Ada", "", "y"]);
  const elicitor = frontendElicitor(new TerminalFrontend(io))!;
  await using manager = new McpServerManager({
    servers: [fixtureServer("e", "mcp_elicitation_server.ts")],
    parentEnv: { PATH: Deno.env.get("PATH") },
    baseDir: "/",
    connection: { elicitor },
  });
  const result = await manager.callTool("e", "ask_name", {});
  const text = (result.content as { text: string }[])[0]!.text;
  deepEqual(JSON.parse(text), { action: "accept", content: { name: "Ada", color: "blue" } });
  match(io.shown.join(""), /MCP server e asks: What is your name\?/);
});

Deno.test("a URL elicitation shows the URL and a decline goes back to the server", async () => {
  const io = scriptedIo(["d"]);
  const elicitor = frontendElicitor(new TerminalFrontend(io))!;
  await using manager = new McpServerManager({
    servers: [fixtureServer("e", "mcp_elicitation_server.ts")],
    parentEnv: { PATH: Deno.env.get("PATH") },
    baseDir: "/",
    connection: { elicitor },
  });
  const result = await manager.callTool("e", "ask_login", {});
  const text = (result.content as { text: string }[])[0]!.text;
  equal(JSON.parse(text).action, "decline");
  match(io.shown.join(""), /https:\/\/example\.com\/login/);
});

Deno.test("a frontend that cannot elicit gives no elicitor (not advertised)", () => {
  equal(frontendElicitor(null), null);
  equal(frontendElicitor({ canAsk: () => true, ask: () => Promise.reject(new Error("x")) }), null);
});
