import { equal, ok } from "node:assert/strict";
import { listWithDeadline } from "./tools.ts";
import { openServerManager } from "./servers.ts";

const BASIC = new URL("../../../tests/fixtures/mcp_basic_server.ts", import.meta.url).pathname;
const CONFIG = new URL("../../../deno.json", import.meta.url).pathname;

const server = (args: string[]) => ({
  transport: "stdio" as const,
  command: Deno.execPath(),
  args,
  env: {},
  auto_start: false,
  restart_policy: "never" as const,
  sandbox: "off" as const,
  network: false,
  writable: [],
});

Deno.test("listWithDeadline() lists the servers that answer and marks a silent one SLOW", async () => {
  const cwd = await Deno.makeTempDir();
  const manager = openServerManager({
    servers: {
      basic: server(["run", "-A", "--quiet", "--config", CONFIG, BASIC]),
      // A process that never speaks MCP: it never answers `initialize`.
      silent: server(["eval", "await new Promise((r) => setTimeout(r, 600_000))"]),
    },
  }, { env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" }, cwd, workspaceRoot: null });
  try {
    const listing = await listWithDeadline(manager, 2000);
    ok(listing.tools.some((t) => t.name === "mcp__basic__echo"), JSON.stringify(listing.tools));
    equal(listing.errors.length, 1);
    equal(listing.errors[0]?.server, "silent");
    equal(listing.errors[0]?.code, "SLOW");
  } finally {
    await manager.close();
    await Deno.remove(cwd, { recursive: true });
  }
});
