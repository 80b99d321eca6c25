import { equal, match, ok } from "node:assert/strict";
import { listWithDeadline } from "./_tools_run.ts";
import { openServerManager } from "./servers.ts";
import { runCli, tempDirs } from "../../../tests/cli.ts";

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

Deno.test("tools call through a symlinked workspace path reads and writes inside it and nowhere else", async () => {
  const { home, ws } = await tempDirs();
  const link = `${home}/ws-link`;
  try {
    equal((await runCli(["init", ws], { home })).code, 0);
    await Deno.symlink(ws, link);
    await Deno.writeTextFile(`${ws}/a.txt`, "alpha\n");
    await Deno.symlink("/etc/hostname", `${ws}/out-link`);
    const call = (tool: string, args: object, approve = "once") =>
      runCli(["tools", "call", tool, "--args", JSON.stringify(args), "--approve", approve], {
        home,
        cwd: link,
      });
    const read = await call("read_file", { file_path: "a.txt" });
    equal(read.code, 0, read.stderr);
    match(read.stdout, /1\talpha/);
    const wrote = await call("write_file", { file_path: "sub/b.txt", content: "beta" });
    equal(wrote.code, 0, wrote.stderr);
    equal(await Deno.readTextFile(`${ws}/sub/b.txt`), "beta");
    // A symlink out of the workspace is checked where it leads: the admin policy's /etc/** wall.
    const escape = await call("read_file", { file_path: "out-link" });
    equal(escape.code, 3, escape.stdout);
    match(escape.stderr, /denied \(POLICY\).*\/etc\/hostname/);
    equal(escape.stdout, "");
    // A call deferred with the file executor already started exits (the Worker is stopped).
    const deferred = await runCli(
      [
        "tools",
        "call",
        "write_file",
        "--args",
        JSON.stringify({ file_path: "c.txt", content: "" }),
      ],
      { home, cwd: link },
    );
    equal(deferred.code, 4, deferred.stderr);
    equal(await Deno.stat(`${ws}/c.txt`).catch(() => null), null);
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(ws, { recursive: true });
  }
});
