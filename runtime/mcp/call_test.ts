import { deepEqual, equal, match, ok } from "node:assert/strict";
import { PresetFrontend } from "../security/approval.ts";
import { callMcpTool, listMcpTools } from "./call.ts";
import { McpServerManager } from "./manager.ts";
import { fixtureServer, openTestGate } from "./_testing.ts";

function basicManager() {
  return new McpServerManager({
    servers: [fixtureServer("basic", "mcp_basic_server.ts")],
    parentEnv: { PATH: Deno.env.get("PATH") },
    baseDir: Deno.cwd(),
  });
}

Deno.test("callMcpTool() runs an approved call and labels the result untrusted", async () => {
  await using gate = await openTestGate(new PresetFrontend({ choice: "once" }));
  await using manager = basicManager();
  const outcome = await callMcpTool(gate.interceptor, manager, "basic", "echo", { text: "hi" });
  equal(outcome.status, "ok");
  if (outcome.status !== "ok") return;
  equal(outcome.result.output, "hi");
  equal(outcome.trust, "untrusted");
  deepEqual(outcome.proofs, ["approval:once"]);
  const entries = await gate.audit.list();
  const resources = entries.map((e) => [e.decision, e.action.resource]);
  deepEqual(resources, [["allowed", "mcp://basic/echo"], ["outcome", "mcp://basic/echo"]]);
});

Deno.test("callMcpTool() never reaches the server when the human denies", async () => {
  await using gate = await openTestGate(new PresetFrontend({ choice: "deny" }));
  await using manager = basicManager();
  const outcome = await callMcpTool(gate.interceptor, manager, "basic", "echo", { text: "hi" });
  equal(outcome.status, "denied");
  equal(manager.status("basic")[0]?.state, "stopped");
});

Deno.test("callMcpTool() is denied by a [permissions] deny rule over mcp://", async () => {
  await using gate = await openTestGate(
    new PresetFrontend({ choice: "always" }),
    (c) => (c.permissions.deny = ["mcp://basic/*"]),
  );
  await using manager = basicManager();
  const outcome = await callMcpTool(gate.interceptor, manager, "basic", "echo", { text: "x" });
  equal(outcome.status, "denied");
  if (outcome.status === "denied") equal(outcome.code, "POLICY");
});

Deno.test("callMcpTool() defers with nobody to ask and stores an mcp execution", async () => {
  await using gate = await openTestGate(null);
  await using manager = basicManager();
  const outcome = await callMcpTool(gate.interceptor, manager, "basic", "echo", { text: "x" });
  equal(outcome.status, "deferred");
  if (outcome.status !== "deferred") return;
  const stored = await gate.deferred.get(outcome.id);
  deepEqual(stored?.execution, {
    executor: "mcp",
    payload: { server: "basic", tool: "echo", args: { text: "x" } },
  });
  equal(manager.status("basic")[0]?.state, "stopped");
});

Deno.test("callMcpTool() refuses hostile tool names and non-object arguments, on the record", async () => {
  await using gate = await openTestGate(new PresetFrontend({ choice: "always" }));
  await using manager = basicManager();
  for (
    const [tool, args] of [["../escape", {}], ["a/b", {}], ["*", {}], ["echo", [1]], [
      "echo",
      "s",
    ]] as const
  ) {
    const outcome = await callMcpTool(gate.interceptor, manager, "basic", tool, args);
    equal(outcome.status, "denied", `${tool} ${JSON.stringify(args)}`);
    if (outcome.status === "denied") equal(outcome.code, "MALFORMED");
  }
  equal(manager.status("basic")[0]?.state, "stopped");
  const entries = await gate.audit.list();
  equal(entries.filter((e) => e.decision === "denied").length, 5);
});

Deno.test("callMcpTool() reports an unknown server without auditing an action", async () => {
  await using gate = await openTestGate(new PresetFrontend({ choice: "always" }));
  await using manager = basicManager();
  const outcome = await callMcpTool(gate.interceptor, manager, "nope", "echo", {});
  deepEqual(outcome.status, "error");
});

Deno.test("callMcpTool() caps the output and reports tool errors as isError", async () => {
  await using gate = await openTestGate(new PresetFrontend({ choice: "session" }));
  await using manager = basicManager();
  const big = await callMcpTool(gate.interceptor, manager, "basic", "big", { n: 50_000 }, {
    outputLimitChars: 1000,
  });
  ok(big.status === "ok");
  if (big.status === "ok") {
    equal(big.result.output.length, 1000);
    equal(big.result.truncatedChars, 49_000);
  }
  const failed = await callMcpTool(gate.interceptor, manager, "basic", "fail", {});
  ok(failed.status === "ok" && failed.result.isError);
  const outcome = (await gate.audit.list()).filter((e) => e.decision === "outcome").at(-1);
  deepEqual((outcome?.outcome as { ok: boolean }).ok, false);
});

Deno.test("callMcpTool() turns a server-side argument error into an error outcome", async () => {
  await using gate = await openTestGate(new PresetFrontend({ choice: "session" }));
  await using manager = basicManager();
  const outcome = await callMcpTool(gate.interceptor, manager, "basic", "add", { a: "x" });
  // The SDK server answers invalid arguments with an isError result.
  ok(outcome.status === "ok" && outcome.result.isError);
  if (outcome.status === "ok") match(outcome.result.output, /Invalid|invalid/);
});

Deno.test("listMcpTools() names tools mcp__server__tool, hides hostile names, reports broken servers", async () => {
  await using manager = new McpServerManager({
    servers: [
      fixtureServer("basic", "mcp_basic_server.ts"),
      fixtureServer("broken", "mcp_basic_server.ts", { command: "/nonexistent/deno" }),
    ],
    parentEnv: {},
    baseDir: Deno.cwd(),
  });
  const listing = await listMcpTools(manager);
  const names = listing.tools.map((t) => t.name);
  ok(names.includes("mcp__basic__echo"));
  ok(!names.some((n) => n.includes("escape")));
  deepEqual(listing.errors.map((e) => [e.server, e.code]), [["broken", "START_FAILED"]]);
  const echo = listing.tools.find((t) => t.tool === "echo");
  equal(echo?.inputSchema.type, "object");
});
