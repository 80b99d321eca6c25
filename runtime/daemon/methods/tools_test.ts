import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { capsuleDirs } from "../../capsule/install.ts";
import { InstallRecords } from "../../capsule/install_record.ts";
import { probeCopy, testInstall } from "../../capsule/_testing.ts";
import { openServerManager } from "../../cli/commands/servers.ts";
import { RpcError, RpcErrorCode } from "../types.ts";
import { CAPSULES_SERVICE, group, type LoadedCapsules } from "./tools.ts";
import { methodOf, type TestDaemon, withTestDaemon } from "./_methods_testing.ts";

const rpcCode = (code: number) => (err: unknown) => err instanceof RpcError && err.code === code;

/** Installs the real compiled probe capsule as `name` for the test's user. */
async function installProbe(t: TestDaemon, name: string): Promise<string> {
  const src = await probeCopy(name);
  try {
    const dirs = capsuleDirs(t.home, t.workspace);
    const { loaded } = await testInstall(dirs, src, new InstallRecords(t.rt.store, t.rt.key));
    return loaded.dir;
  } finally {
    await Deno.remove(src, { recursive: true });
  }
}

Deno.test("tools.list gives the built-in tools and an installed capsule's tools", async () => {
  await withTestDaemon(async (t) => {
    const before = await t.invoke(group, "tools.list", {}) as { tools: { name: string }[] };
    ok(before.tools.some((d) => d.name === "write_file"));
    ok(!before.tools.some((d) => d.name.includes("__")));
    await installProbe(t, "probe");
    const after = await t.invoke(group, "tools.list", { workspace: t.workspace }) as {
      tools: { name: string }[];
      errors: unknown[];
    };
    ok(after.tools.some((d) => d.name === "probe__echo"));
    deepEqual(after.errors, []);
    await rejects(
      methodOf(group, "tools.list").handler({ workspace: `${t.workspace}/nope` }, t.call()),
      rpcCode(RpcErrorCode.NotFound),
    );
  });
});

Deno.test("capsules.list, load and unload a real capsule; a tampered one is Integrity", async () => {
  await withTestDaemon(async (t) => {
    const dir = await installProbe(t, "probe");
    const list = await t.invoke(group, "capsules.list", {}) as {
      capsules: { name: string; hash: string | null; tools: string[] }[];
    };
    equal(list.capsules[0]?.name, "probe");
    ok(list.capsules[0]?.hash);
    ok(list.capsules[0]?.tools.includes("echo"));
    const loaded = await t.invoke(group, "capsules.load", { name: "probe" }) as { name: string };
    equal(loaded.name, "probe");
    const service = t.ctx.services.get<LoadedCapsules>(CAPSULES_SERVICE)!;
    deepEqual([...service.loaded.keys()], ["probe"]);
    await rejects(
      methodOf(group, "capsules.load").handler({ name: "ghost" }, t.call()),
      rpcCode(RpcErrorCode.NotFound),
    );
    deepEqual(await t.invoke(group, "capsules.unload", { name: "probe" }), {
      name: "probe",
      unloaded: true,
    });
    await rejects(
      methodOf(group, "capsules.unload").handler({ name: "probe" }, t.call()),
      rpcCode(RpcErrorCode.NotFound),
    );
    // One byte of the installed wasm changes: the install record no longer matches.
    const wasm = await Deno.readFile(`${dir}/capsule.wasm`);
    wasm[wasm.length - 1] = wasm[wasm.length - 1]! ^ 1;
    await Deno.writeFile(`${dir}/capsule.wasm`, wasm);
    await rejects(
      methodOf(group, "capsules.load").handler({ name: "probe" }, t.call()),
      rpcCode(RpcErrorCode.Integrity),
    );
    const broken = await t.invoke(group, "capsules.list", {}) as {
      capsules: unknown[];
      broken: { name: string; code: string }[];
    };
    deepEqual(broken.capsules, []);
    deepEqual(broken.broken.map((b) => [b.name, b.code]), [["probe", "INTEGRITY"]]);
  });
});

const MCP_SERVER = new URL("../../../tests/fixtures/mcp_basic_server.ts", import.meta.url).pathname;
const CONFIG = new URL("../../../deno.json", import.meta.url).pathname;

Deno.test("tools.list adds MCP tools only when the daemon runs a server manager", async () => {
  await withTestDaemon(async (t) => {
    const without = await t.invoke(group, "tools.list", {}) as { tools: { name: string }[] };
    ok(!without.tools.some((d) => d.name.startsWith("mcp__")));
    await using manager = openServerManager(t.rt.config, {
      env: t.rt.io.env,
      cwd: t.workspace,
      workspaceRoot: t.workspace,
      walls: t.rt.walls,
    });
    t.ctx.services.set("servers", manager);
    const listed = await t.invoke(group, "tools.list", {}) as {
      tools: { name: string }[];
      errors: unknown[];
    };
    ok(listed.tools.some((d) => d.name.startsWith("mcp__basic__")), JSON.stringify(listed));
    deepEqual(listed.errors, []);
  }, {
    config: `[servers.basic]\ncommand = ${JSON.stringify(Deno.execPath())}\nargs = ${
      JSON.stringify(["run", "-A", "--quiet", "--config", CONFIG, MCP_SERVER])
    }\n`,
  });
});
