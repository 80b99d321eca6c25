/**
 * `astrid mcp serve` driven by the MCP SDK's own `Client`, as another agent would: over stdio
 * (the server a subprocess started through the launcher, as `deno task astrid` does) and over
 * Streamable HTTP with its bearer token.
 *
 * @module
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import {
  type CallToolResult,
  Client,
  ElicitRequestSchema,
  type ElicitResult,
  StdioClientTransport,
  StreamableHTTPClientTransport,
} from "../runtime/mcp_server/_testing.ts";
import { cliEnv, runCli, tempDirs } from "./cli.ts";
import { scanArgs } from "../runtime/cli/_launch_args.ts";
import { startFakeAnthropic } from "../runtime/llm/replay_anthropic.ts";

const LAUNCH = new URL("../runtime/cli/launch.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const HELLO = new URL("../examples/hello", import.meta.url).pathname;

/** The deno invocation of tests/cli.ts runCli, for `astrid ...args`. */
function cliCommand(args: string[]): { command: string; args: string[] } {
  return {
    command: Deno.execPath(),
    args: ["run", "-A", "--quiet", "--config", CONFIG, LAUNCH, ...args],
  };
}

interface Fixture {
  home: string;
  ws: string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A workspace in guided mode (reads inside it need nobody), with a file to read. */
async function fixture(opts: { hello?: boolean } = {}): Promise<Fixture> {
  const { home, ws } = await tempDirs();
  equal((await runCli(["init", ws], { home })).code, 0);
  await Deno.writeTextFile(join(home, "config.toml"), '[workspace]\nmode = "guided"\n');
  await Deno.writeTextFile(join(ws, "notes.txt"), "alpha\nbeta\n");
  if (opts.hello) {
    const out = join(home, "hello-build");
    const compile = await runCli(["capsule", "compile", HELLO, "-o", out], { home, cwd: ws });
    equal(compile.code, 0, compile.stderr);
    const install = await runCli(["capsule", "install", out, "--yes"], { home, cwd: ws });
    equal(install.code, 0, install.stderr);
  }
  return {
    home,
    ws,
    async [Symbol.asyncDispose]() {
      await Deno.remove(home, { recursive: true }).catch(() => {});
      await Deno.remove(ws, { recursive: true }).catch(() => {});
    },
  };
}

type Answer = ElicitResult | null;

/** An SDK client connected over stdio; `answers` (if given) replies to elicitations in turn. */
async function stdioClient(
  f: Fixture,
  name: string,
  answers?: Answer[],
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<{ client: Client; asked: string[]; stderr: () => string }> {
  const client = new Client(
    { name, version: "9.9.9" },
    answers ? { capabilities: { elicitation: { form: {} } } } : {},
  );
  const asked: string[] = [];
  if (answers) {
    client.setRequestHandler(ElicitRequestSchema, (req) => {
      asked.push(req.params.message);
      const next = answers.shift();
      return next ?? { action: "cancel" };
    });
  }
  const transport = new StdioClientTransport({
    ...cliCommand(["mcp", "serve", ...extra]),
    env: { ...cliEnv(f.home), ...env },
    cwd: f.ws,
    stderr: "pipe",
  });
  let err = "";
  transport.stderr?.on("data", (c: Uint8Array) => err += new TextDecoder().decode(c));
  await client.connect(transport);
  return { client, asked, stderr: () => err };
}

function text(result: unknown): string {
  const r = result as CallToolResult;
  return r.content.map((c) => (c.type === "text" ? c.text : "")).join("");
}

interface AuditRow {
  sessionId: string;
  decision: string;
  action: { kind: string; resource: string; detail?: { mcpClient?: { name: string } } };
}

async function auditRows(f: Fixture): Promise<AuditRow[]> {
  const run = await runCli(["audit", "list", "--json", "--limit", "1000"], {
    home: f.home,
    cwd: f.ws,
  });
  equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout);
}

/** `astrid mcp serve --transport http --port 0` in the workspace, until disposed (SIGTERM). */
async function httpServer(f: Fixture, extra: string[] = []) {
  const cmd = cliCommand(["mcp", "serve", "--transport", "http", "--port", "0", ...extra]);
  const child = new Deno.Command(cmd.command, {
    args: cmd.args,
    cwd: f.ws,
    env: cliEnv(f.home),
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let err = "";
  let url: string | undefined;
  while (url === undefined) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the server ended: ${err}`);
    err += value;
    url = /listening on (http:\/\/127\.0\.0\.\d+:\d+\/mcp)/.exec(err)?.[1];
  }
  const token = (await Deno.readTextFile(join(f.home, "mcp", "token"))).trim();
  const drained = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      err += value;
    }
  })();
  let stopped = false;
  return {
    url,
    token,
    stderr: () => err,
    async [Symbol.asyncDispose]() {
      if (stopped) return;
      stopped = true;
      child.kill("SIGTERM");
      await child.status;
      await drained;
    },
  };
}

Deno.test("mcp serve over stdio: tools/list carries schemas and hints, read_file works inside the workspace, a write outside is deferred and audited with the client", async () => {
  await using f = await fixture();
  const outside = join(f.home, "..", `astrid-mcp-outside-${crypto.randomUUID()}.txt`);
  const { client, stderr } = await stdioClient(f, "test-agent");
  try {
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    ok(byName.has("read_file") && byName.has("write_file") && byName.has("bash"), stderr());
    equal(byName.has("task"), false, "task is not served without a sub-agent runner");
    const read = byName.get("read_file")!;
    equal(read.inputSchema.type, "object");
    deepEqual(read.inputSchema.required, ["file_path"]);
    deepEqual(read.annotations, {
      readOnlyHint: true,
      destructiveHint: false,
      openWorldHint: false,
    });
    equal(byName.get("write_file")!.annotations?.destructiveHint, true);
    equal(byName.get("bash")!.annotations?.openWorldHint, true);

    const ok1 = await client.callTool({ name: "read_file", arguments: { file_path: "notes.txt" } });
    equal(ok1.isError, false, text(ok1));
    match(text(ok1), /alpha/);

    const write = await client.callTool({
      name: "write_file",
      arguments: { file_path: outside, content: "x" },
    });
    equal(write.isError, true);
    const id = /astrid approvals approve ([0-9a-f-]{36})/.exec(text(write))?.[1];
    ok(id, text(write));
    equal((write._meta as Record<string, unknown>)["astrid/approvalId"], id);

    const unknown = await client.callTool({ name: "no_such_tool", arguments: {} });
    equal(unknown.isError, true, "an unknown tool is a tool error, not a protocol error");

    const pending = await client.readResource({ uri: "astrid://approvals/pending" });
    const listed = JSON.parse((pending.contents[0] as { text: string }).text);
    ok(listed.some((p: { id: string }) => p.id === id));
  } finally {
    await client.close();
  }
  await Deno.stat(outside).then(() => ok(false, "the write must not have happened"), () => {});

  const rows = (await auditRows(f)).filter((r) => r.sessionId.startsWith("mcp-test-agent-"));
  const read = rows.find((r) => r.action.kind === "file_read");
  equal(read?.action.detail?.mcpClient?.name, "test-agent");
  const deferred = rows.find((r) => r.decision === "deferred");
  equal(deferred?.action.resource, `file://${outside}`);
  equal(deferred?.action.detail?.mcpClient?.name, "test-agent");

  const sessions = await runCli(["sessions", "list", "--json"], { home: f.home, cwd: f.ws });
  const headers = JSON.parse(sessions.stdout) as { id: string; model: string; title: string }[];
  const mine = headers.find((h) => h.id.startsWith("mcp-test-agent-"));
  equal(mine?.model, "test-agent");
  match(mine?.title ?? "", /MCP client test-agent 9\.9\.9/);
});

Deno.test("mcp serve asks through elicitation: accepted runs a capsule tool, declined denies a write outside", async () => {
  await using f = await fixture({ hello: true });
  const outside = join(f.home, "..", `astrid-mcp-declined-${crypto.randomUUID()}.txt`);
  const { client, asked, stderr } = await stdioClient(f, "eliciting-agent", [
    { action: "accept", content: { decision: "once" } },
    { action: "decline" },
  ]);
  try {
    const { tools } = await client.listTools();
    const hello = tools.find((t) => t.name === "hello__greet");
    ok(hello, stderr());
    equal(hello.inputSchema.type, "object");

    const greet = await client.callTool({ name: "hello__greet", arguments: { name: "Ada" } });
    equal(greet.isError, false, text(greet));
    match(text(greet), /Hello, Ada!/);
    match(asked[0] ?? "", /risk: /);
    match(asked[0] ?? "", /capsule:\/\/hello/);

    const write = await client.callTool({
      name: "write_file",
      arguments: { file_path: outside, content: "x" },
    });
    equal(write.isError, true);
    match(text(write), /Denied \(HUMAN_DENIED\)/);
    match(text(write), /declined through eliciting-agent/);
  } finally {
    await client.close();
  }
  await Deno.stat(outside).then(() => ok(false, "the write must not have happened"), () => {});
  const rows = (await auditRows(f)).filter((r) => r.sessionId.startsWith("mcp-eliciting-agent-"));
  const denied = rows.find((r) => r.decision === "denied");
  equal(denied?.action.resource, `file://${outside}`);
  equal(denied?.action.detail?.mcpClient?.name, "eliciting-agent");
  ok(rows.some((r) => r.action.kind === "capsule_tool_call" && r.decision === "allowed"));
});

Deno.test("mcp serve --transport http requires the bearer token (401 without it) and serves with it", async () => {
  await using f = await fixture();
  await using server = await httpServer(f);
  const { url, token } = server;
  {
    match(server.stderr(), /created a bearer token in .*mcp\/token \(mode 0600\)/);
    equal((await Deno.stat(join(f.home, "mcp", "token"))).mode! & 0o777, 0o600);

    const init = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "x", version: "1" },
      },
    };
    const headers = {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    };
    for (
      const auth of [
        undefined,
        "Bearer wrong-token-0123456789",
        `Basic ${token}`,
        `Bearer ${token}x`,
      ]
    ) {
      const res: Response = await fetch(url, {
        method: "POST",
        headers: auth ? { ...headers, authorization: auth } : headers,
        body: JSON.stringify(init),
      });
      await res.body?.cancel();
      equal(res.status, 401, `authorization ${auth}`);
    }

    const client = new Client({ name: "http-agent", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    try {
      const { tools } = await client.listTools();
      ok(tools.some((t) => t.name === "read_file"));
      const read = await client.callTool({
        name: "read_file",
        arguments: { file_path: "notes.txt" },
      });
      equal(read.isError, false, text(read));
      match(text(read), /beta/);
      const head = await client.readResource({ uri: "astrid://audit/head" });
      ok(JSON.parse((head.contents[0] as { text: string }).text).seq > 0);
    } finally {
      await client.close();
    }
  }
  await server[Symbol.asyncDispose]();
  const sessions = await runCli(["sessions", "list", "--json"], { home: f.home, cwd: f.ws });
  ok(
    (JSON.parse(sessions.stdout) as { model: string }[]).some((h) => h.model === "http-agent"),
    sessions.stdout,
  );
});

Deno.test("a real third-party client, the MCP Inspector CLI (npm @modelcontextprotocol/inspector-cli), lists and calls our tools", async () => {
  await using f = await fixture();
  // The CLI picks its package.json by a path relative to its cwd (`../package.json`), then
  // imports it relative to its module: run it from a folder whose parent has one.
  const cwd = join(f.home, "inspector", "run");
  await Deno.mkdir(cwd, { recursive: true });
  await Deno.writeTextFile(join(f.home, "inspector", "package.json"), "{}");
  const denoDir = Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache/deno");
  const server = cliCommand(["--workspace", f.ws, "mcp", "serve"]);
  const inspector = async (method: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-lock",
        "--quiet",
        "npm:@modelcontextprotocol/inspector-cli@1.0.3/build/index.js",
        server.command,
        ...server.args,
        ...method,
      ],
      cwd,
      env: { ...cliEnv(f.home), DENO_DIR: denoDir },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return JSON.parse(stdout);
  };
  const listed = await inspector(["--method", "tools/list"]);
  ok(listed.tools.some((t: { name: string }) => t.name === "read_file"));
  const called = await inspector([
    "--method",
    "tools/call",
    "--tool-name",
    "read_file",
    "--tool-arg",
    "file_path=notes.txt",
  ]);
  equal(called.isError, false);
  match(called.content[0].text, /alpha/);
  const sessions = await runCli(["sessions", "list", "--json"], { home: f.home, cwd: f.ws });
  ok(
    (JSON.parse(sessions.stdout) as { model: string }[]).some((h) => h.model === "inspector-cli"),
    sessions.stdout,
  );
});

/**
 * The server scenarios of the official conformance suite that apply to a server with our own
 * tools (the others call fixture tools, prompts and resources such a server does not have:
 * `test_simple_text`, `test://static-text`, …). The suite sends no bearer token, so it talks to
 * a loopback proxy that adds ours; the server itself runs unchanged.
 */
const CONFORMANCE_SCENARIOS = [
  "server-initialize",
  "ping",
  "logging-set-level",
  "tools-list",
  "tools-call-error",
  "resources-list",
  "dns-rebinding-protection",
];

Deno.test("mcp serve passes the official conformance suite's applicable server scenarios", async () => {
  await using f = await fixture();
  await using server = await httpServer(f);
  const target = new URL(server.url);
  await using proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    const headers = new Headers(req.headers);
    headers.set("authorization", `Bearer ${server.token}`);
    return fetch(new URL(url.pathname + url.search, target), {
      method: req.method,
      headers,
      body: req.body,
    });
  });
  const url = `http://127.0.0.1:${proxy.addr.port}/mcp`;
  const failed: string[] = [];
  for (const scenario of CONFORMANCE_SCENARIOS) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        "npm:@modelcontextprotocol/conformance@0.1.16",
        "server",
        "--url",
        url,
        "--scenario",
        scenario,
      ],
      cwd: f.home,
      env: { NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    if (out.code !== 0 || !/Passed: (\d+)\/\1, 0 failed/.test(text)) {
      failed.push(`${scenario}: ${text.slice(-600)}`);
    }
  }
  deepEqual(failed, []);
});

Deno.test("mcp serve: --tools filters by glob; bad flags are usage errors (exit 2)", async () => {
  await using f = await fixture();
  const { client } = await stdioClient(f, "filtered", undefined, ["--tools", "read_*", "gl?b"]);
  try {
    const names = (await client.listTools()).tools.map((t) => t.name);
    deepEqual(names, ["read_file", "glob"]);
    const hidden = await client.callTool({ name: "bash", arguments: { command: "true" } });
    equal(hidden.isError, true, "a tool the filter hides cannot be called either");
  } finally {
    await client.close();
  }
  for (
    const args of [
      ["mcp", "serve", "--port", "99999"],
      ["mcp", "serve", "--transport", "carrier-pigeon"],
      ["mcp", "serve", "--listen", "0.0.0.0"],
      ["mcp", "serve", "--tools", "x".repeat(300)],
    ]
  ) {
    const run = await runCli(args, { home: f.home, cwd: f.ws });
    equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
  }
});

Deno.test("mcp serve --listen ADDR binds that address (granted by the launcher) and warns about TLS", async () => {
  const scan = scanArgs(
    ["mcp", "serve", "--transport", "http", "--listen", "10.1.2.3", "--tools", "a*", "b*"],
    "/u",
  );
  deepEqual(scan.command, ["mcp", "serve"]);
  deepEqual(scan.net, ["10.1.2.3"]);
  await using f = await fixture();
  await using server = await httpServer(f, ["--listen", "127.0.0.2"]);
  match(server.url, /^http:\/\/127\.0\.0\.2:\d+\/mcp$/);
  match(server.stderr(), /not loopback: put TLS in front/);
  const res = await fetch(server.url, { method: "POST", body: "{}" });
  await res.body?.cancel();
  equal(res.status, 401);
});

Deno.test("mcp serve serves task when a model is configured: the sub-agent's answer comes back through the gate; without a key task is absent", async () => {
  await using f = await fixture();
  {
    const { client } = await stdioClient(f, "no-model");
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      equal(names.includes("task"), false, "no key: task is not served");
    } finally {
      await client.close();
    }
  }
  const fake = startFakeAnthropic([
    { text: "Sub-agent report: the answer is 42.", usage: { inputTokens: 12, outputTokens: 8 } },
  ]);
  const model = { ANTHROPIC_API_KEY: "sk-ant-fake", ANTHROPIC_BASE_URL: fake.url };
  try {
    const { client, asked, stderr } = await stdioClient(
      f,
      "task-agent",
      [{ action: "accept", content: { decision: "once" } }],
      [],
      model,
    );
    try {
      const task = (await client.listTools()).tools.find((t) => t.name === "task");
      ok(task, stderr());
      deepEqual(task.inputSchema.required, ["description", "prompt"]);
      deepEqual(task.annotations, {
        readOnlyHint: false,
        destructiveHint: false,
        openWorldHint: true,
      });
      const result = await client.callTool({
        name: "task",
        arguments: { description: "find the answer", prompt: "What is the answer? Reply briefly." },
      });
      equal(result.isError, false, `${text(result)}\n${stderr()}`);
      equal(text(result), "Sub-agent report: the answer is 42.");
      match(asked[0] ?? "", /Spawn a sub-agent: find the answer/);
    } finally {
      await client.close();
    }
    equal(fake.requests.length, 1);
    match(JSON.stringify(fake.requests[0]), /What is the answer\? Reply briefly\./);
    match(JSON.stringify([...fake.headers[0]!.entries()]), /sk-ant-fake/);
  } finally {
    await fake.close();
  }
  const rows = await auditRows(f);
  const spawn = rows.find((r) =>
    r.sessionId.startsWith("mcp-task-agent-") && r.action.kind === "sub_agent_spawn" &&
    r.decision === "event"
  );
  equal(spawn?.action.detail?.mcpClient?.name, "task-agent");
  const child = spawn?.action.resource.replace("session://", "");
  ok(child, JSON.stringify(rows.map((r) => [r.sessionId, r.action.kind, r.decision])));
  const start = rows.find((r) => r.sessionId === child && r.action.kind === "sub_agent_start");
  equal(
    start?.action.detail?.mcpClient?.name,
    "task-agent",
    "the child is audited with the client",
  );
  ok(
    rows.some((r) =>
      r.action.kind === "sub_agent_end" && r.action.resource === `session://${child}`
    ),
  );
});
