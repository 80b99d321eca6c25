import { deepEqual, equal, match, ok } from "node:assert/strict";
import { PresetFrontend } from "../security/approval.ts";
import { DEFAULT_CONFIG } from "../config/mod.ts";
import { capsuleDirs, installCapsule, listInstalled } from "./install.ts";
import { callCapsuleTool, type CapsuleHost, listCapsuleTools } from "./registry.ts";
import { probeCopy, type TestGate, testGate } from "./_testing.ts";

const LIMITS = { timeoutMs: 5000, memoryMb: 64 };

async function host(gate: TestGate): Promise<CapsuleHost> {
  const d = capsuleDirs(await Deno.makeTempDir(), null);
  await installCapsule(d, await probeCopy(), { scope: "user", requireHash: true });
  const { capsules } = await listInstalled(d, { requireHash: true });
  return { capsules, workspaceRoot: gate.root, store: gate.store, limits: LIMITS };
}

Deno.test("listCapsuleTools() names tools <capsule>__<tool> from the wasm's describe", async () => {
  await using gate = await testGate({ frontend: null });
  const tools = await listCapsuleTools((await host(gate)).capsules, LIMITS);
  const echo = tools.find((t) => t.name === "probe__echo");
  ok(echo);
  equal(echo.capsule, "probe");
  equal(echo.description, "Echoes its arguments");
});

Deno.test("callCapsuleTool() passes the interceptor first, then runs the tool", async () => {
  await using gate = await testGate({ frontend: new PresetFrontend({ choice: "once" }) });
  const out = await callCapsuleTool(gate.interceptor, await host(gate), "probe__echo", { x: 1 });
  equal(out.status, "ok");
  if (out.status !== "ok") return;
  deepEqual(JSON.parse(out.result.output), { x: 1 });
  equal(out.trust, "untrusted");
  const kinds = (await gate.audit.list()).map((e) => `${e.action.kind}:${e.decision}`);
  deepEqual(kinds, ["capsule_tool_call:allowed", "capsule_tool_call:outcome"]);
});

Deno.test("callCapsuleTool() returns denied, deferred and unknown outcomes without running", async () => {
  await using blocked = await testGate({
    frontend: new PresetFrontend({ choice: "once" }),
    config: { policy: { ...DEFAULT_CONFIG.policy, blocked_capsules: ["probe"] } },
  });
  const denied = await callCapsuleTool(blocked.interceptor, await host(blocked), "probe__echo", {});
  equal(denied.status, "denied");
  await using nobody = await testGate({ frontend: null });
  const h = await host(nobody);
  const deferred = await callCapsuleTool(nobody.interceptor, h, "probe__echo", {});
  equal(deferred.status, "deferred");
  const unknown = await callCapsuleTool(nobody.interceptor, h, "nope__echo", {});
  equal(unknown.status, "error");
  if (unknown.status === "error") match(unknown.message, /no such capsule tool/);
});

Deno.test("a host call deferred inside an allowed tool call makes the outcome deferred", async () => {
  await using gate = await testGate({ frontend: null });
  await Deno.writeTextFile(`${gate.root}/n.md`, "x");
  const out = await callCapsuleTool(gate.interceptor, await host(gate), "probe__read", {
    path: "n.md",
  }, { answer: { choice: "once" } });
  equal(out.status, "deferred");
});
