import { equal, match, ok, rejects } from "node:assert/strict";
import { group } from "./servers.ts";
import { type TestDaemon, withTestDaemon } from "./_methods_testing.ts";
import { RpcError, RpcErrorCode } from "../types.ts";

const FIXTURE = new URL("../../../tests/fixtures/mcp_basic_server.ts", import.meta.url).pathname;

const basic = (extra = "") =>
  `[servers.basic]\ntransport = "stdio"\ncommand = ${JSON.stringify(Deno.execPath())}\n` +
  `args = ["run", "--allow-env", "--allow-read", ${JSON.stringify(FIXTURE)}]\n${extra}`;

type Row = { name: string; state: string; running: boolean; pid: number | null };

const statuses = (t: TestDaemon) =>
  t.events.flatMap((e) => e.type === "server.status" ? [`${e.name}:${e.state}`] : []);

Deno.test("servers.*: a real stdio server is started, listed running, its tools listed, stopped", async () => {
  await withTestDaemon(async (t) => {
    const stop = await group.start!(t.ctx);
    try {
      const before = await t.invoke(group, "servers.list", {}) as Row[];
      equal(before.length, 1);
      equal(before[0]?.state, "stopped");
      equal(before[0]?.running, false);
      equal((before[0] as { command?: string }).command, Deno.execPath(), "config is shown");

      const started = await t.invoke(group, "servers.start", { name: "basic" }) as {
        pid: number;
        tools: number;
        persistent: boolean;
      };
      ok(started.pid > 0);
      ok(started.tools > 0);
      equal(started.persistent, true);

      const running = await t.invoke(group, "servers.running", {}) as Row[];
      equal(running.length, 1);
      equal(running[0]?.state, "running");
      equal(running[0]?.pid, started.pid);
      equal((await t.invoke(group, "servers.list", {}) as Row[])[0]?.running, true);

      const tools = await t.invoke(group, "servers.tools", { name: "basic" }) as {
        name: string;
      }[];
      ok(tools.some((x) => x.name === "mcp__basic__echo"), JSON.stringify(tools));

      const stopped = await t.invoke(group, "servers.stop", { name: "basic" }) as {
        wasRunning: boolean;
      };
      equal(stopped.wasRunning, true);
      equal((await t.invoke(group, "servers.running", {}) as Row[]).length, 0);
      // The process is gone.
      let alive = true;
      for (let i = 0; i < 100 && alive; i++) {
        try {
          Deno.kill(started.pid, "SIGCONT");
          await new Promise((r) => setTimeout(r, 20));
        } catch {
          alive = false;
        }
      }
      equal(alive, false, "the server process ended");
      const again = await t.invoke(group, "servers.stop", { name: "basic" }) as {
        wasRunning: boolean;
      };
      equal(again.wasRunning, false);
      const seen = statuses(t);
      ok(seen.includes("basic:starting") && seen.includes("basic:running"), seen.join());
      ok(seen.includes("basic:stopped"), seen.join());
    } finally {
      await stop?.();
    }
  }, { config: basic() });
});

Deno.test("servers.*: unknown names are NotFound; auto_start servers start with the daemon and stop with it", async () => {
  await withTestDaemon(async (t) => {
    const stop = await group.start!(t.ctx);
    let pid = 0;
    try {
      for (const m of ["servers.start", "servers.stop", "servers.tools"]) {
        await rejects(
          t.invoke(group, m, { name: "nope" }),
          (e: unknown) => e instanceof RpcError && e.code === RpcErrorCode.NotFound,
        );
      }
      // Params are checked against the schema before a handler runs.
      await rejects(t.invoke(group, "servers.start", { name: "basic", x: 1 }), /params/);
      for (let i = 0; i < 300 && !statuses(t).includes("basic:running"); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const [row] = await t.invoke(group, "servers.running", {}) as Row[];
      equal(row?.state, "running", "auto_start = true starts it at boot");
      pid = row!.pid!;
    } finally {
      await stop?.();
    }
    match(statuses(t).at(-1) ?? "", /^basic:stopped$/);
    ok(pid > 0);
  }, { config: basic("auto_start = true\n") });
});

Deno.test("servers.start: a binary_hash mismatch is an Integrity error and a failed event", async () => {
  await withTestDaemon(async (t) => {
    const stop = await group.start!(t.ctx);
    try {
      await rejects(
        t.invoke(group, "servers.start", { name: "basic" }),
        (e: unknown) => e instanceof RpcError && e.code === RpcErrorCode.Integrity,
      );
      ok(statuses(t).includes("basic:failed"), statuses(t).join());
    } finally {
      await stop?.();
    }
  }, { config: basic(`binary_hash = "blake3:${"0".repeat(64)}"\n`) });
});
