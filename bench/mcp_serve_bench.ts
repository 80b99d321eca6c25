/**
 * `astrid mcp serve` benchmarks (targets from issue 16), measured end to end with the MCP
 * SDK's own client against the real server process (started through the launcher, as
 * `deno task astrid` does):
 * - a `read_file` round trip over stdio through the gate, for a small file (target ≤ 2 ms);
 * - `tools/list` with 20 capsules installed.
 *
 * Setup compiles examples/hello once and installs it 20 times under different names
 * (a few tens of seconds), in a temporary ASTRID_HOME.
 *
 * Run: `deno bench -A bench/mcp_serve_bench.ts`
 *
 * @module
 */
import { join } from "node:path";
import { Client, StdioClientTransport } from "../runtime/mcp_server/_testing.ts";
import { runCli, tempDirs } from "../tests/cli.ts";
import { openStore } from "../runtime/storage/mod.ts";
import { generateSeed, signerFromSeed } from "../runtime/crypto/mod.ts";
import { AuditLog } from "../runtime/audit/mod.ts";
import { type AstridConfig, DEFAULT_CONFIG } from "../runtime/config/mod.ts";
import { openGate } from "../runtime/security/gate.ts";
import { createToolSession, invokeTool } from "../runtime/tools/invoke.ts";

const LAUNCH = new URL("../runtime/cli/launch.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const HELLO = new URL("../examples/hello", import.meta.url).pathname;
const CAPSULES = 20;

async function must(args: string[], home: string, cwd: string): Promise<void> {
  const run = await runCli(args, { home, cwd });
  if (run.code !== 0) throw new Error(`astrid ${args.join(" ")}: ${run.stderr}`);
}

async function workspace(capsules: number): Promise<{ home: string; ws: string }> {
  const { home, ws } = await tempDirs();
  await must(["init", ws], home, home);
  await Deno.writeTextFile(join(home, "config.toml"), '[workspace]\nmode = "guided"\n');
  await Deno.writeTextFile(join(ws, "small.txt"), "a small file\n".repeat(10));
  if (capsules > 0) {
    const built = join(home, "hello-build");
    await must(["capsule", "compile", HELLO, "-o", built], home, ws);
    const manifest = await Deno.readTextFile(join(built, "Capsule.toml"));
    for (let i = 0; i < capsules; i++) {
      const dir = join(home, `hello${i}`);
      await Deno.mkdir(dir);
      for await (const e of Deno.readDir(built)) {
        if (e.isFile) await Deno.copyFile(join(built, e.name), join(dir, e.name));
      }
      await Deno.writeTextFile(
        join(dir, "Capsule.toml"),
        manifest.replace(/^name = "hello"$/m, `name = "hello${i}"`),
      );
      await must(["capsule", "install", dir, "--yes"], home, ws);
    }
  }
  return { home, ws };
}

async function connect(home: string, ws: string): Promise<Client> {
  const client = new Client({ name: "bench", version: "1" });
  await client.connect(
    new StdioClientTransport({
      command: Deno.execPath(),
      args: ["run", "-A", "--quiet", "--config", CONFIG, LAUNCH, "mcp", "serve"],
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: home,
        ASTRID_HOME: home,
        ASTRID_SYSTEM_CONFIG: `${home}/none.toml`,
      },
      cwd: ws,
      stderr: "ignore",
    }),
  );
  return client;
}

const plain = await workspace(0);
const plainClient = await connect(plain.home, plain.ws);
const many = await workspace(CAPSULES);
const manyClient = await connect(many.home, many.ws);
const listed = (await manyClient.listTools()).tools.filter((t) => t.name.includes("__")).length;
if (listed !== CAPSULES) throw new Error(`expected ${CAPSULES} capsule tools, got ${listed}`);

// The same call in process, through a gate over an on-disk KV store, without MCP: what the
// round trip costs beyond the gate and the executor.
const local = await Deno.realPath(await Deno.makeTempDir());
await Deno.writeTextFile(join(local, "small.txt"), "a small file\n".repeat(10));
const store = await openStore(join(local, "state.kv"));
const signer = signerFromSeed(generateSeed());
const audit = await AuditLog.open(store, signer);
const config = structuredClone(DEFAULT_CONFIG) as AstridConfig;
config.workspace.mode = "guided";
const gate = await openGate({
  store,
  signer,
  audit,
  config,
  workspaceRoot: local,
  workspaceId: "bench",
  sessionId: "bench",
  frontend: null,
});
const session = await createToolSession({
  workspaceRoot: local,
  sessionId: "bench",
  sandbox: "off",
  outputLimitChars: 30_000,
});
const provenance = { trust: "untrusted" as const, source: "MCP client bench" };

Deno.bench("in process: read_file through the gate (KV on disk, no MCP)", async () => {
  const r = await invokeTool(gate.interceptor, session, "read_file", { file_path: "small.txt" }, {
    provenance,
  });
  if (r.status !== "ok") throw new Error(JSON.stringify(r));
});

Deno.bench("mcp serve: read_file round trip over stdio through the gate (small file)", async () => {
  const r = await plainClient.callTool({
    name: "read_file",
    arguments: { file_path: "small.txt" },
  });
  if (r.isError) throw new Error(JSON.stringify(r.content));
});

Deno.bench(`mcp serve: tools/list with ${CAPSULES} capsules installed`, async () => {
  await manyClient.listTools();
});

globalThis.addEventListener("unload", () => {
  // Best effort: the clients' servers end when their stdin closes.
  void plainClient.close();
  session.files.close();
  store.close();
  void manyClient.close();
  for (const d of [plain.home, plain.ws, many.home, many.ws, local]) {
    try {
      Deno.removeSync(d, { recursive: true });
    } catch {
      // already gone
    }
  }
});
