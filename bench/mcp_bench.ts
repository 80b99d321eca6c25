/**
 * MCP benchmarks (targets from issue 6):
 * - tool-call overhead through the interceptor, over stdio to a trivial server: ≤ 3 ms median;
 * - server start to first tools/list for a Deno test server: ≤ 300 ms.
 *
 * Run: `deno bench -A bench/mcp_bench.ts`
 *
 * @module
 */
import { openStore } from "../runtime/storage/mod.ts";
import { generateSeed, signerFromSeed } from "../runtime/crypto/mod.ts";
import { AuditLog } from "../runtime/audit/mod.ts";
import { type AstridConfig, DEFAULT_CONFIG } from "../runtime/config/mod.ts";
import { openGate } from "../runtime/security/gate.ts";
import { callMcpTool, McpServerManager, type StdioServerConfig } from "../runtime/mcp/mod.ts";

const FIXTURE = new URL("../tests/fixtures/mcp_basic_server.ts", import.meta.url).pathname;
const server: StdioServerConfig = {
  name: "basic",
  transport: "stdio",
  command: Deno.execPath(),
  args: ["run", "--allow-env", "--allow-read", FIXTURE],
  env: {},
  autoStart: false,
  restartPolicy: "never",
  sandbox: { network: false, writable: [] },
};
const opts = { servers: [server], parentEnv: { PATH: Deno.env.get("PATH") }, baseDir: Deno.cwd() };

const store = await openStore(":memory:");
const signer = signerFromSeed(generateSeed());
const audit = await AuditLog.open(store, signer);
const config = structuredClone(DEFAULT_CONFIG) as AstridConfig;
config.permissions.allow = ["mcp://basic/echo"]; // a standing rule: no prompt in the loop
const root = await Deno.makeTempDir();
const { interceptor } = await openGate({
  store,
  signer,
  audit,
  config,
  workspaceRoot: root,
  workspaceId: "ws",
  sessionId: "bench",
  frontend: null,
});
const warm = new McpServerManager(opts);
await warm.start("basic");

Deno.bench("MCP tool call over stdio, through the interceptor (audited)", {
  group: "call",
  baseline: false,
}, async () => {
  const outcome = await callMcpTool(interceptor, warm, "basic", "echo", { text: "x" });
  if (outcome.status !== "ok") throw new Error(JSON.stringify(outcome));
});

Deno.bench("MCP tool call over stdio, bare (no interceptor)", {
  group: "call",
  baseline: true,
}, async () => {
  await warm.callTool("basic", "echo", { text: "x" });
});

Deno.bench(
  "server start to first tools/list (Deno test server)",
  { n: 15, warmup: 2 },
  async () => {
    const manager = new McpServerManager(opts);
    await manager.listTools("basic");
    await manager.close();
  },
);

globalThis.addEventListener("unload", () => {
  // Best effort: deno bench gives no async teardown hook.
  warm.close();
});
