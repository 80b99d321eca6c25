/**
 * A service instance's timers (../capsule/hooks.ts `ServiceInstance`, the prelude's
 * `astrid:timers` entry) on a real compiled capsule, with the elapsed time given explicitly
 * (no wall clock): timers outlive the call that armed them, fire only once due, in due order,
 * intervals re-arm at least 1 s after they fired, callback errors are reported and do not stop
 * the instance, `gateway_stop` sees the state `gateway_start` left, and a spinning callback is
 * cut off at the CPU deadline. The daemon end to end: tests/daemon_services_test.ts.
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { compileCapsule } from "../../toolchain/compile.ts";
import { capsuleDirs } from "../capsule/install.ts";
import { listInstalled } from "../capsule/installed.ts";
import { testGate, testInstall, testRecords } from "../capsule/_testing.ts";
import { ServiceInstance } from "../capsule/hooks.ts";
import type { CapsuleHost } from "../capsule/registry.ts";
import { CapsuleError } from "../capsule/errors.ts";

const SOURCE = `
import { defineCapsule } from "@astrid/sdk";
const svc = { log: [] };
export default defineCapsule({
  tools: { echo: { description: "Echoes", run: (a) => a } },
  hooks: {
    gateway_start: () => {
      svc.log.push("started");
      svc.every = setInterval(() => svc.log.push("tick"), 0);
      setTimeout(() => svc.log.push("once"), 3000);
      setTimeout(() => { throw new Error("boom"); }, 1500);
      setTimeout(async () => { await null; throw new Error("async boom"); }, 1500);
      setTimeout(() => setTimeout(() => svc.log.push("nested"), 10), 2000);
      return null;
    },
    gateway_stop: () => { clearInterval(svc.every); return svc.log.splice(0); },
    // Inside a call, its own timers still run on the virtual clock.
    sleepy: async () => { await new Promise((r) => setTimeout(r, 5000)); return "woke"; },
    spin_later: () => { setTimeout(() => { for (;;) {} }, 10); return null; },
  },
});
`;
const MANIFEST = `[package]
name = "svc"
version = "0.1.0"

[[interceptor]]
event = "gateway_start"

[[interceptor]]
event = "gateway_stop"
`;

async function setup(timeoutMs: number) {
  const gate = await testGate({ frontend: null });
  const records = await testRecords();
  const home = await Deno.makeTempDir({ prefix: "astrid-home-" });
  const src = await Deno.makeTempDir({ prefix: "astrid-svc-src-" });
  const out = await Deno.makeTempDir({ prefix: "astrid-svc-" });
  await Deno.writeTextFile(`${src}/Capsule.toml`, MANIFEST);
  await Deno.writeTextFile(`${src}/mod.ts`, SOURCE);
  await compileCapsule(src, { out, typeCheck: false });
  const dirs = capsuleDirs(home, gate.root);
  await testInstall(dirs, out, records);
  const { capsules } = await listInstalled(dirs, { requireHash: true, records });
  const host: CapsuleHost = {
    capsules,
    workspaceRoot: gate.root,
    store: gate.store,
    limits: { timeoutMs, memoryMb: 64 },
  };
  const instance = await ServiceInstance.open(host, capsules[0]!, gate.interceptor);
  return {
    instance,
    async [Symbol.asyncDispose]() {
      await instance.close();
      records[Symbol.dispose]();
      await gate[Symbol.asyncDispose]();
      for (const dir of [home, src, out]) await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("a service instance keeps its timers between calls and fires them only when due", async () => {
  await using s = await setup(30_000);
  const { instance } = s;
  deepEqual(await instance.timers(0, false), { next: null, errors: [] });
  equal(await instance.hook("gateway_start", { event: {}, ctx: {} }), null);
  deepEqual(await instance.timers(0, false), { next: 1, errors: [] });
  await instance.timers(1000, true); // the interval (due 1), clamped: next at 2000
  deepEqual(await instance.timers(1000, false), { next: 500, errors: [] });
  // Both throwers (1500), the interval and the outer nested timer (2000); a throw is reported at
  // once, a rejection once its jobs ran.
  deepEqual((await instance.timers(2000, true)).errors, ["boom"]);
  // "nested" was armed by a callback: for 2010, in real time.
  deepEqual(await instance.timers(2000, false), { next: 10, errors: ["async boom"] });
  await instance.timers(3000, true);
  equal(await instance.hook("sleepy", {}), "woke");
  // The virtual wait moved the clock to 8000 (it never runs backwards): the interval is due.
  deepEqual(await instance.timers(3000, false), { next: 0, errors: [] });
  deepEqual(await instance.hook("gateway_stop", { event: {}, ctx: {} }), [
    "started",
    "tick",
    "tick",
    "nested",
    "tick",
    "once",
  ]);
  deepEqual(await instance.timers(10_000, false), { next: null, errors: [] });
});

Deno.test("a service instance's spinning timer callback is cut off at the CPU deadline", async () => {
  await using s = await setup(1_000);
  await s.instance.timers(0, false);
  await s.instance.hook("spin_later", { event: {}, ctx: {} });
  const err = await rejects(s.instance.timers(5_000, true), (e: unknown) => {
    ok(e instanceof CapsuleError, String(e));
    equal(e.engineCode, "DEADLINE");
    return true;
  });
  equal(err, undefined);
});
