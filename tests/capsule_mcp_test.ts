/**
 * The capsule MCP host engine: a capsule's [[mcp_server]] starts only when host_process grants
 * its command, gets the capsule's [env] plus PATH and HOME and nothing else, and its tools are
 * the capsule's tools, gated as capsule actions.
 */
import { equal, match, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { openStore, type Store } from "../runtime/storage/mod.ts";
import { generateSeed, signerFromSeed } from "../runtime/crypto/mod.ts";
import { AuditLog } from "../runtime/audit/mod.ts";
import { DEFAULT_CONFIG } from "../runtime/config/mod.ts";
import { openGate } from "../runtime/security/gate.ts";
import { PresetFrontend } from "../runtime/security/approval.ts";
import {
  callCapsuleTool,
  capsuleDirs,
  CapsuleError,
  installCapsule,
  listCapsuleTools,
  listInstalled,
} from "../runtime/capsule/mod.ts";
import { testInstall, testRecords } from "../runtime/capsule/_testing.ts";

const SERVER = new URL("./fixtures/mcp_basic_server.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

async function capsuleSource(granted: boolean): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "mcp-capsule-" });
  const deno = Deno.execPath();
  await Deno.writeTextFile(
    join(dir, "Capsule.toml"),
    `[package]
name = "bridge"
version = "0.1.0"

[capabilities]
host_process = ${JSON.stringify(granted ? [deno] : [])}

[env.BRIDGE_MODE]
type = "string"
default = "demo"

[[mcp_server]]
id = "basic"
type = "stdio"
command = ${JSON.stringify(deno)}
args = ${JSON.stringify(["run", "-A", "--quiet", "--config", CONFIG, SERVER])}
`,
  );
  return dir;
}

/** A gate over `store` for workspace `ws` that answers every prompt "once". */
async function gateFor(store: Store, ws: string) {
  const signer = signerFromSeed(generateSeed());
  const audit = await AuditLog.open(store, signer);
  const gate = await openGate({
    store,
    signer,
    audit,
    config: DEFAULT_CONFIG,
    workspaceRoot: ws,
    workspaceId: "ws",
    sessionId: "s",
    frontend: new PresetFrontend({ choice: "once" }),
  });
  return { gate, audit };
}

async function setup(granted: boolean) {
  const home = await Deno.makeTempDir();
  const ws = await Deno.realPath(await Deno.makeTempDir());
  const dirs = capsuleDirs(home, ws);
  const store = await openStore(":memory:");
  using records = await testRecords(store);
  if (granted) {
    await testInstall(dirs, await capsuleSource(granted), records, {
      env: { BRIDGE_MODE: "demo" },
    });
  } else {
    // The install refuses to list an ungranted server; a record that claims the tool anyway
    // (as an older install might) still cannot start it.
    await installCapsule(dirs, await capsuleSource(granted), {
      scope: "user",
      requireHash: true,
      records,
      tools: () =>
        Promise.resolve([{ name: "echo", description: "", inputSchema: {}, server: "basic" }]),
    });
  }
  const { capsules } = await listInstalled(dirs, { requireHash: true, records });
  const { gate, audit } = await gateFor(store, ws);
  const host = {
    capsules,
    workspaceRoot: ws,
    store,
    limits: { timeoutMs: 30_000, memoryMb: 64 },
    parentEnv: { PATH: Deno.env.get("PATH"), HOME: Deno.env.get("HOME"), LEAKY_SECRET: "x" },
  };
  return {
    host,
    gate,
    audit,
    close: async () => {
      await audit.close();
      store.close();
    },
  };
}

Deno.test("a capsule's MCP server's tools are capsule tools, gated as capsule actions", async () => {
  const w = await setup(true);
  const tools = await listCapsuleTools(w.host.capsules);
  ok(tools.every((t) => t.name.startsWith("bridge__")));
  ok(tools.some((t) => t.name === "bridge__echo"), tools.map((t) => t.name).join());
  const echo = await callCapsuleTool(w.gate.interceptor, w.host, "bridge__echo", { text: "hi" });
  equal(echo.status, "ok", JSON.stringify(echo));
  if (echo.status === "ok") equal(echo.result.output, "hi");
  const entries = await w.audit.list();
  ok(
    entries.some((e) => e.action.resource === "capsule://bridge/echo" && e.decision === "allowed"),
  );
  await w.close();
});

Deno.test("the server gets the capsule's [env] plus PATH and HOME, and nothing else", async () => {
  const w = await setup(true);
  const env = await callCapsuleTool(w.gate.interceptor, w.host, "bridge__env", {});
  equal(env.status, "ok", JSON.stringify(env));
  if (env.status === "ok") {
    const names = env.result.output.split(",");
    ok(names.includes("BRIDGE_MODE"));
    ok(!names.includes("LEAKY_SECRET"), env.result.output);
    // PWD is set by the wall (bwrap --chdir) to the server's own folder, not taken from us.
    for (const n of names) ok(["BRIDGE_MODE", "PATH", "HOME", "PWD"].includes(n), `leaked ${n}`);
  }
  await w.close();
});

Deno.test("a server whose command host_process does not grant never starts", async () => {
  const w = await setup(false);
  const r = await callCapsuleTool(w.gate.interceptor, w.host, "bridge__echo", { text: "hi" });
  equal(r.status, "error");
  if (r.status === "error") match(r.message, /not granted by \[capabilities\] host_process/);
  await w.close();
});

Deno.test("installing a capsule whose server is not granted fails with a clear error", async () => {
  const home = await Deno.makeTempDir();
  using records = await testRecords();
  await rejects(
    testInstall(capsuleDirs(home, null), await capsuleSource(false), records),
    (e: unknown) =>
      e instanceof CapsuleError && e.code === "INSTALL" &&
      /could not list their tools.*host_process/.test(e.message),
  );
  equal((await records.list("user", null)).size, 0);
});

const FS_SERVER = new URL("./fixtures/mcp_fs_server.ts", import.meta.url).pathname;

Deno.test("a capsule's server is walled: it writes only under fs_write, and $ASTRID_HOME is hidden but its own folder", async () => {
  const home = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-home-" }));
  const ws = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-ws-" }));
  await Deno.mkdir(join(ws, "out"));
  await Deno.writeTextFile(join(home, "secret"), "s3cret");
  const src = await Deno.makeTempDir({ prefix: "fs-capsule-" });
  const deno = Deno.execPath();
  await Deno.writeTextFile(
    join(src, "Capsule.toml"),
    `[package]
name = "walled"
version = "0.1.0"

[capabilities]
host_process = [${JSON.stringify(deno)}]
fs_write = ["out"]

[[mcp_server]]
id = "fs"
type = "stdio"
command = ${JSON.stringify(deno)}
args = ${JSON.stringify(["run", "-A", "--quiet", "--config", CONFIG, FS_SERVER])}
`,
  );
  const dirs = capsuleDirs(home, ws);
  const walls = { hidden: [home], userHome: null, sandboxHide: [] };
  const store = await openStore(":memory:");
  using records = await testRecords(store);
  await testInstall(dirs, src, records, { walls });
  const { capsules } = await listInstalled(dirs, { requireHash: true, records });
  const { gate, audit } = await gateFor(store, ws);
  const host = {
    capsules,
    workspaceRoot: ws,
    store,
    limits: { timeoutMs: 30_000, memoryMb: 64 },
    parentEnv: { PATH: Deno.env.get("PATH"), HOME: Deno.env.get("HOME") },
    walls,
  };
  const call = async (tool: string, args: unknown) => {
    const r = await callCapsuleTool(gate.interceptor, host, `walled__${tool}`, args);
    equal(r.status, "ok", JSON.stringify(r));
    return r.status === "ok" ? r.result.output : "";
  };
  try {
    match(await call("write", { path: join(ws, "out", "a.txt") }), /^ok/);
    match(await call("write", { path: join(ws, "b.txt") }), /^refused/);
    match(await call("write", { path: join(ws, ".astrid-x") }), /^refused/);
    match(await call("read", { path: join(home, "secret") }), /^refused/);
    match(await call("read", { path: join(home, "capsules", "walled", "Capsule.toml") }), /^ok/);
    equal(await call("pwd", {}), join(home, "capsules", "walled"));
    await rejects(Deno.lstat(join(ws, "b.txt")), Deno.errors.NotFound);
  } finally {
    await audit.close();
    store.close();
  }
});
