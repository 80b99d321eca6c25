import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { blake3File } from "../crypto/blake3.ts";
import { McpServerManager, type ServerEvent } from "./manager.ts";
import { fixtureServer } from "./_testing.ts";

const PATH = Deno.env.get("PATH");

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("a crash mid-call fails the pending call clearly and the server is restarted", async () => {
  const events: ServerEvent[] = [];
  await using manager = new McpServerManager({
    servers: [fixtureServer("crashy", "mcp_crash_server.ts", { restartPolicy: "on_failure" })],
    parentEnv: { PATH },
    baseDir: Deno.cwd(),
    backoff: { initialMs: 10, maxMs: 50 },
    onEvent: (e) => events.push(e),
  });
  const first = await manager.callTool("crashy", "ok", {});
  const pid1 = manager.status("crashy")[0]?.pid;
  ok(pid1);
  const err = await manager.callTool("crashy", "crash", {}).then(() => null, (e) => e);
  equal(err?.code, "SERVER_EXITED");
  match(err.message, /exited with code 3/);
  match(err.message, /about to crash/);
  await until(() => manager.status("crashy")[0]?.state === "running", "the restart");
  const second = await manager.callTool("crashy", "ok", {});
  ok(first.content && second.content);
  ok(manager.status("crashy")[0]?.pid !== pid1);
  deepEqual(events.map((e) => e.type).slice(0, 4), ["started", "exited", "restarting", "started"]);
});

Deno.test("restart_policy never leaves a crashed server failed and says why", async () => {
  await using manager = new McpServerManager({
    servers: [fixtureServer("crashy", "mcp_crash_server.ts", { restartPolicy: "never" })],
    parentEnv: { PATH },
    baseDir: Deno.cwd(),
  });
  await rejects(manager.callTool("crashy", "crash", {}), { code: "SERVER_EXITED" });
  await until(() => manager.status("crashy")[0]?.state === "failed", "failed state");
  match(manager.status("crashy")[0]?.lastError ?? "", /code 3/);
  await rejects(manager.callTool("crashy", "ok", {}), { code: "NOT_RUNNING" });
  await manager.start("crashy"); // an explicit start works again
  equal(manager.status("crashy")[0]?.state, "running");
});

Deno.test("a crash loop gives up after maxRestarts", async () => {
  const events: ServerEvent[] = [];
  await using manager = new McpServerManager({
    // A minimal server that answers initialize, then exits 300 ms later, every time.
    servers: [fixtureServer("loop", "mcp_crash_server.ts", {
      restartPolicy: "always",
      args: [
        "eval",
        "setTimeout(() => Deno.exit(1), 300); const b = new Uint8Array(4096); for (;;) { const n = await Deno.stdin.read(b); if (n === null) break; const line = new TextDecoder().decode(b.subarray(0, n)); const m = JSON.parse(line.split('\\n')[0]); if (m.method === 'initialize') console.log(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: {}, serverInfo: { name: 'x', version: '1' } } })); }",
      ],
    })],
    parentEnv: { PATH },
    baseDir: Deno.cwd(),
    backoff: { initialMs: 5, maxMs: 10, maxRestarts: 2 },
    onEvent: (e) => events.push(e),
  });
  await manager.start("loop");
  await until(() => events.some((e) => e.type === "gave_up"), "giving up", 20_000);
  equal(manager.status("loop")[0]?.state, "failed");
  equal(events.filter((e) => e.type === "restarting").length, 2);
});

Deno.test("binary_hash mismatch refuses to start; the right hash starts", async () => {
  const deno = await Deno.realPath(Deno.execPath());
  const right = `blake3:${await blake3File(deno)}`;
  const wrong = `blake3:${"0".repeat(64)}`;
  await using manager = new McpServerManager({
    servers: [
      fixtureServer("bad", "mcp_basic_server.ts", { binaryHash: wrong }),
      fixtureServer("good", "mcp_basic_server.ts", { binaryHash: right }),
    ],
    parentEnv: { PATH },
    baseDir: Deno.cwd(),
  });
  const err = await manager.start("bad").then(() => null, (e) => e);
  equal(err?.code, "INTEGRITY");
  match(err.message, /does not match binary_hash/);
  equal(manager.status("bad")[0]?.pid, null);
  equal(manager.status("bad")[0]?.state, "failed");
  await manager.start("good");
  equal(manager.status("good")[0]?.state, "running");
});

Deno.test("binary_hash is checked against the resolved file, not a PATH name swapped later", async () => {
  const dir = await Deno.makeTempDir();
  const fake = `${dir}/deno`;
  await Deno.writeTextFile(fake, "#!/bin/sh\nexit 0\n");
  await Deno.chmod(fake, 0o755);
  const real = await Deno.realPath(Deno.execPath());
  await using manager = new McpServerManager({
    servers: [fixtureServer("shadow", "mcp_basic_server.ts", {
      command: "deno",
      binaryHash: `blake3:${await blake3File(real)}`,
    })],
    // The attacker's folder comes first on PATH: its `deno` is what gets hashed and refused.
    parentEnv: { PATH: `${dir}:${PATH}` },
    baseDir: Deno.cwd(),
  });
  await rejects(manager.start("shadow"), { code: "INTEGRITY" });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("children get PATH, HOME and their own env only", async () => {
  await using manager = new McpServerManager({
    servers: [fixtureServer("basic", "mcp_basic_server.ts", { env: { TOKEN: "t" } })],
    parentEnv: { PATH, HOME: "/home/x", AWS_SECRET_ACCESS_KEY: "leak", ASTRID_HOME: "/a" },
    baseDir: Deno.cwd(),
  });
  const res = await manager.callTool("basic", "env", {});
  const names = (res.content[0] as { text: string }).text.split(",");
  // PWD is set by the wall's --chdir, not passed on from the parent.
  deepEqual(names.filter((n) => !n.startsWith("DENO_") && n !== "NO_COLOR" && n !== "PWD"), [
    "HOME",
    "PATH",
    "TOKEN",
  ]);
});

Deno.test("a server flooding stderr neither blocks nor grows memory; a flooded stdout line kills it", async () => {
  await using manager = new McpServerManager({
    servers: [fixtureServer("flood", "mcp_flood_server.ts", { restartPolicy: "never" })],
    parentEnv: { PATH },
    baseDir: Deno.cwd(),
    limits: { maxLineBytes: 1 << 20, stderrTailBytes: 1024 },
  });
  const res = await manager.callTool("flood", "stderr_flood", {});
  equal((res.content[0] as { text: string }).text, "flooded stderr");
  ok((manager.status("flood")[0]?.lastError ?? null) === null);
  const err = await manager.callTool("flood", "stdout_flood", {}).then(() => null, (e) => e);
  equal(err?.code, "SERVER_EXITED");
  match(err.message, /SIGKILL/);
  await until(() => manager.status("flood")[0]?.state === "failed", "failed state");
});

Deno.test("stop() ends the process, keeps it stopped, and start() brings it back", async () => {
  await using manager = new McpServerManager({
    servers: [fixtureServer("basic", "mcp_basic_server.ts", { restartPolicy: "always" })],
    parentEnv: { PATH },
    baseDir: Deno.cwd(),
  });
  await manager.start("basic");
  const pid = manager.status("basic")[0]?.pid;
  ok(pid);
  await manager.stop("basic");
  equal(manager.status("basic")[0]?.state, "stopped");
  await rejects(manager.callTool("basic", "echo", { text: "x" }), { code: "NOT_RUNNING" });
  await manager.start("basic");
  equal(manager.status("basic")[0]?.state, "running");
});

Deno.test("startAutoStart() starts auto_start servers and reports failures", async () => {
  await using manager = new McpServerManager({
    servers: [
      fixtureServer("a", "mcp_basic_server.ts", { autoStart: true }),
      fixtureServer("b", "mcp_basic_server.ts", { autoStart: true, command: "/nope" }),
      fixtureServer("c", "mcp_basic_server.ts"),
    ],
    parentEnv: { PATH },
    baseDir: Deno.cwd(),
  });
  const results = await manager.startAutoStart();
  deepEqual(results.map((r) => [r.server, r.error?.code ?? null]), [["a", null], [
    "b",
    "START_FAILED",
  ]]);
  deepEqual(manager.status().map((s) => s.state), ["running", "failed", "stopped"]);
});

Deno.test("an unknown server is an UNKNOWN_SERVER error", async () => {
  await using manager = new McpServerManager({ servers: [], parentEnv: {}, baseDir: "/" });
  await rejects(manager.start("ghost"), { code: "UNKNOWN_SERVER" });
});

Deno.test("a process that is not an MCP server fails to start with its stderr in the message", async () => {
  await using manager = new McpServerManager({
    servers: [
      fixtureServer("sh", "x", { command: "sh", args: ["-c", "echo not mcp >&2; exit 4"] }),
    ],
    parentEnv: { PATH },
    baseDir: Deno.cwd(),
  });
  const err = await manager.start("sh").then(() => null, (e) => e);
  equal(err?.code, "START_FAILED");
  match(err.message, /not mcp/);
});
