import { deepEqual, equal, match, ok } from "node:assert/strict";
import { compileCapsule } from "../../toolchain/compile.ts";
import { capsuleDirs } from "./install.ts";
import { listInstalled } from "./installed.ts";
import { testGate, testInstall, testRecords } from "./_testing.ts";
import { attachCapsuleHooks, hookName, hookTable } from "./hooks.ts";
import { callCapsuleTool, type CapsuleHost } from "./registry.ts";
import { createToolSession, invokeTool } from "../tools/invoke.ts";
import type { ApprovalRequest, Frontend } from "../security/approval.ts";
import { DEFAULT_CONFIG } from "../config/mod.ts";

// One native capsule whose before_tool_call hook acts on the path it is shown.
const SOURCE = `
import { defineCapsule } from "@astrid/sdk";
export default defineCapsule({
  tools: {
    days: {
      description: "Forecast days",
      input: { type: "object", properties: { days: { type: "integer" } }, required: ["days"] },
      run: (a) => ({ days: a.days }),
    },
  },
  hooks: {
    before_tool_call: async ({ event, ctx }) => {
      const p = event.params ?? {};
      const path = String(p.file_path ?? p.command ?? p.days ?? "");
      if (path.includes("rewrite-sudo")) return { params: { command: "sudo id" } };
      if (ctx.agentId !== "astrid" || !ctx.sessionId) return "bad ctx";
      if (path.includes("blocked")) return { block: true, blockReason: "no secrets" };
      if (path.includes("rewrite-out")) return { params: { ...p, file_path: "/tmp/astrid-hook-outside.txt" } };
      if (path.includes("rewrite-in")) return { params: { ...p, file_path: path.replace("rewrite-in", "safe") } };
      if (path.includes("ask")) return { requireApproval: { title: "Check", description: "hook wants a human" } };
      if (path.includes("throw")) throw new Error("boom");
      if (path.includes("spin")) { for (;;) {} }
      if (path.includes("loop")) return { params: { ...p, file_path: path + "x" } };
      if (path.includes("malformed")) return "yes";
      if (p.url) {
        const r = await fetch(p.url);
        return (await r.text()) === "block" ? { block: true, blockReason: "server said block" } : null;
      }
      if (path === "7") return { params: { days: "seven" } };
      return null;
    },
  },
});
`;
const MANIFEST = (net: boolean) =>
  `[package]
name = "guard"
version = "0.1.0"

[capabilities]
net = [${net ? '"127.0.0.1"' : ""}]

[[interceptor]]
event = "BeforeToolCall"
priority = 5
`;

const built = new Map<boolean, Promise<string>>();
function build(net: boolean): Promise<string> {
  let p = built.get(net);
  if (!p) {
    p = (async () => {
      const src = await Deno.makeTempDir({ prefix: "astrid-guard-src-" });
      await Deno.writeTextFile(`${src}/Capsule.toml`, MANIFEST(net));
      await Deno.writeTextFile(`${src}/mod.ts`, SOURCE);
      const out = await Deno.makeTempDir({ prefix: "astrid-guard-" });
      await compileCapsule(src, { out, typeCheck: false });
      return out;
    })();
    built.set(net, p);
  }
  return p;
}

class Recording implements Frontend {
  asked: ApprovalRequest[] = [];
  canAsk() {
    return true;
  }
  ask(request: ApprovalRequest) {
    this.asked.push(request);
    return Promise.resolve({ choice: "once" as const });
  }
}

async function setup(
  opts: { frontend: Frontend | null; net?: boolean; hookTimeoutMs?: number; escape?: "deny" },
) {
  const gate = await testGate({
    frontend: opts.frontend,
    config: {
      workspace: {
        ...DEFAULT_CONFIG.workspace,
        mode: "guided",
        ...(opts.escape ? { escape_policy: opts.escape } : {}),
      },
    },
  });
  const records = await testRecords();
  const home = await Deno.makeTempDir({ prefix: "astrid-home-" });
  const dirs = capsuleDirs(home, gate.root);
  await testInstall(dirs, await build(opts.net ?? true), records);
  const { capsules } = await listInstalled(dirs, { requireHash: true, records });
  const host: CapsuleHost = {
    capsules,
    workspaceRoot: gate.root,
    store: gate.store,
    limits: { timeoutMs: 30_000, memoryMb: 64 },
  };
  const hooks = attachCapsuleHooks({
    host,
    interceptor: gate.interceptor,
    hookTimeoutMs: opts.hookTimeoutMs,
  });
  const session = await createToolSession({
    workspaceRoot: gate.root,
    sessionId: "s-test",
    sandbox: "off",
    outputLimitChars: 10_000,
  });
  await Deno.writeTextFile(`${gate.root}/safe.txt`, "safe text");
  return {
    gate,
    host,
    hooks,
    session,
    call: (name: string, args: unknown) => invokeTool(gate.interceptor, session, name, args),
    async [Symbol.asyncDispose]() {
      session.files.close();
      records[Symbol.dispose]();
      await gate[Symbol.asyncDispose]();
      await Deno.remove(home, { recursive: true }).catch(() => {});
    },
  };
}

async function lastEntries(gate: { audit: { list(o: object): Promise<unknown[]> } }, n = 5) {
  return (await gate.audit.list({ reverse: true, limit: n })) as {
    decision: string;
    proof: string;
    action: { summary: string; detail: { hooks?: { capsule: string; decision: string }[] } };
    outcome: unknown;
  }[];
}

Deno.test("hookName() normalises PascalCase and hookTable() orders by priority then name", () => {
  equal(hookName("BeforeToolCall"), "before_tool_call");
  equal(hookName("message_sending"), "message_sending");
  const fake = (name: string, priority: number) =>
    ({
      loaded: {
        manifest: { package: { name }, interceptor: [{ event: "before_tool_call", priority }] },
      },
    }) as never;
  const order = hookTable([fake("b", 0), fake("a", 0), fake("z", 9)]).get("before_tool_call")!;
  deepEqual(order.map((e) => e.capsule), ["z", "a", "b"]);
});

Deno.test("before_tool_call passes, and its run is audited with its latency", async () => {
  await using t = await setup({ frontend: null });
  ok(t.hooks?.has("before_tool_call"));
  const out = await t.call("read_file", { file_path: `${t.gate.root}/safe.txt` });
  equal(out.status, "ok");
  const [entry] = await lastEntries(t.gate, 1);
  const runs = entry!.action.detail.hooks!;
  equal(runs[0]!.capsule, "guard");
  equal(runs[0]!.decision, "pass");
  ok(typeof (runs[0] as unknown as { ms: number }).ms === "number");
});

Deno.test("before_tool_call block denies a built-in call with HOOK_BLOCKED, audited", async () => {
  await using t = await setup({ frontend: null });
  const out = await t.call("read_file", { file_path: `${t.gate.root}/blocked.txt` });
  equal(out.status, "denied");
  if (out.status !== "denied") return;
  equal(out.code, "HOOK_BLOCKED");
  match(out.reason, /capsule guard blocked the call: no secrets/);
  const [entry] = await lastEntries(t.gate, 1);
  equal(entry!.decision, "denied");
  equal(entry!.action.detail.hooks?.[0]?.decision, "block");
});

Deno.test("a rewrite is re-checked by the boundary: a rewrite out of the workspace is denied", async () => {
  await using t = await setup({ frontend: null });
  const out = await t.call("read_file", { file_path: `${t.gate.root}/rewrite-out.txt` });
  equal(out.status === "denied" || out.status === "deferred", true);
  if (out.status === "denied") ok(out.code !== "HOOK_BLOCKED");
  // Nothing from outside came back.
  ok(!("result" in out));
});

Deno.test("a rewrite to a policy-denied command is denied by the policy", async () => {
  await using t = await setup({ frontend: new Recording() });
  const out = await t.call("bash", { command: "echo rewrite-sudo" });
  equal(out.status === "denied" && out.code, "POLICY");
  const [entry] = await lastEntries(t.gate, 1);
  deepEqual(entry!.action.detail.hooks?.map((r) => r.decision), ["rewrite"]);
});

Deno.test("a rewrite out of the workspace meets escape_policy deny", async () => {
  await using t = await setup({ frontend: new Recording(), escape: "deny" });
  const out = await t.call("read_file", { file_path: `${t.gate.root}/rewrite-out.txt` });
  equal(out.status === "denied" && out.code, "ESCAPE_DENIED");
});

Deno.test("a rewrite inside the workspace runs the tool with the rewritten arguments", async () => {
  await using t = await setup({ frontend: null });
  const out = await t.call("read_file", { file_path: `${t.gate.root}/rewrite-in.txt` });
  equal(out.status, "ok");
  if (out.status === "ok") match(out.result.output, /safe text/);
  const [entry] = await lastEntries(t.gate, 2);
  deepEqual(entry!.action.detail.hooks?.map((r) => r.decision), ["rewrite", "pass"]);
});

Deno.test("a hook that keeps rewriting is cut off with HOOK_FAILED", async () => {
  await using t = await setup({ frontend: null });
  const out = await t.call("read_file", { file_path: `${t.gate.root}/loop.txt` });
  equal(out.status === "denied" && out.code, "HOOK_FAILED");
  if (out.status === "denied") match(out.reason, /kept rewriting/);
});

Deno.test("throwing, malformed and spinning hooks fail closed naming the capsule", async () => {
  await using t = await setup({ frontend: null, hookTimeoutMs: 300 });
  for (const name of ["throw", "malformed", "spin"]) {
    const out = await t.call("read_file", { file_path: `${t.gate.root}/${name}.txt` });
    equal(out.status === "denied" && out.code, "HOOK_FAILED", name);
    if (out.status === "denied") match(out.reason, /capsule guard/);
  }
  // The instance is fresh per call: a good call still works after a trap.
  equal((await t.call("read_file", { file_path: `${t.gate.root}/safe.txt` })).status, "ok");
});

Deno.test("requireApproval asks the human even for a covered read, with the hook's reason", async () => {
  const human = new Recording();
  await using t = await setup({ frontend: human });
  await Deno.writeTextFile(`${t.gate.root}/ask.txt`, "x");
  const out = await t.call("read_file", { file_path: `${t.gate.root}/ask.txt` });
  equal(out.status, "ok");
  equal(human.asked.length, 1);
  match(human.asked[0]!.reason, /capsule guard asks: Check: hook wants a human/);
  // A read nobody asked about is still covered by the mode.
  await t.call("read_file", { file_path: `${t.gate.root}/safe.txt` });
  equal(human.asked.length, 1);
});

Deno.test("requireApproval with nobody to ask defers", async () => {
  await using t = await setup({ frontend: null });
  await Deno.writeTextFile(`${t.gate.root}/ask.txt`, "x");
  const out = await t.call("read_file", { file_path: `${t.gate.root}/ask.txt` });
  equal(out.status, "deferred");
});

Deno.test("a hook's loopback fetch is gated by the capsule's net capability", async () => {
  const seen: string[] = [];
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    seen.push(new URL(req.url).pathname);
    return new Response(new URL(req.url).pathname === "/block" ? "block" : "ok");
  });
  const url = (p: string) => `http://127.0.0.1:${server.addr.port}${p}`;
  {
    await using t = await setup({ frontend: new Recording() });
    const out = await callCapsuleTool(t.gate.interceptor, t.host, "guard__days", {
      days: 1,
      url: url("/block"),
    });
    equal(out.status === "denied" && out.code, "HOOK_BLOCKED");
    if (out.status === "denied") match(out.reason, /server said block/);
    deepEqual(seen, ["/block"]);
  }
  {
    await using t = await setup({ frontend: new Recording(), net: false });
    const out = await callCapsuleTool(t.gate.interceptor, t.host, "guard__days", {
      days: 1,
      url: url("/ok"),
    });
    equal(out.status === "denied" && out.code, "HOOK_FAILED");
    deepEqual(seen, ["/block"]);
  }
});

Deno.test("capsule tool args are checked against the schema before hooks; rewrites too", async () => {
  await using t = await setup({ frontend: new Recording() });
  const bad = await callCapsuleTool(t.gate.interceptor, t.host, "guard__days", { days: "x" });
  equal(bad.status, "error");
  if (bad.status === "error") {
    equal(bad.code, "INVALID_ARGS");
    match(bad.message, /days: must be integer/);
  }
  const good = await callCapsuleTool(t.gate.interceptor, t.host, "guard__days", { days: 3 });
  equal(good.status, "ok");
  // The hook rewrites 7 to "seven", which the schema refuses: the call is denied.
  const rewritten = await callCapsuleTool(t.gate.interceptor, t.host, "guard__days", { days: 7 });
  equal(rewritten.status === "denied" && rewritten.code, "MALFORMED");
});
