import { deepEqual, equal, match, ok } from "node:assert/strict";
import { compileCapsule } from "../../toolchain/compile.ts";
import { PresetFrontend } from "../security/approval.ts";
import { capsuleDirs } from "./install.ts";
import { listInstalled } from "./installed.ts";
import { runCapsuleCommand, slashCommands } from "./commands.ts";
import { testGate, testInstall, testRecords } from "./_testing.ts";

const SOURCE = `
import { defineCapsule } from "@astrid/sdk";
export default defineCapsule({
  tools: { ping: { description: "Pings", run: () => "pong" } },
  // The SDK's commands answer the engine's \`command:<name>\` hook with payload { args }.
  commands: { status: { description: "Status", run: (args) => ({ text: "status for " + args }) } },
});
`;
const MANIFEST = `[package]
name = "ops"
version = "0.1.0"
[[command]]
name = "status"
description = "Shows the status"
[[command]]
name = "plan"
prompt = "Plan {{args}} carefully."
`;

Deno.test("runCapsuleCommand() runs a wasm command's hook through the interceptor, audited", async () => {
  const src = await Deno.makeTempDir({ prefix: "astrid-cmd-src-" });
  await Deno.writeTextFile(`${src}/Capsule.toml`, MANIFEST);
  await Deno.writeTextFile(`${src}/mod.ts`, SOURCE);
  const out = await Deno.makeTempDir({ prefix: "astrid-cmd-" });
  await compileCapsule(src, { out, typeCheck: false });
  using records = await testRecords();
  const home = await Deno.makeTempDir();
  const dirs = capsuleDirs(home, null);
  await testInstall(dirs, out, records);
  const { capsules } = await listInstalled(dirs, { requireHash: true, records });
  const { commands } = await slashCommands(capsules, []);
  deepEqual(commands.map((c) => `${c.slash}:${c.kind}`), ["status:wasm", "plan:prompt"]);

  await using gate = await testGate({ frontend: new PresetFrontend({ choice: "once" }) });
  const host = {
    capsules,
    workspaceRoot: gate.root,
    store: gate.store,
    limits: { timeoutMs: 30_000, memoryMb: 64 },
  };
  const run = await runCapsuleCommand(gate.interceptor, host, commands[0]!, "prod");
  equal(run.kind, "outcome");
  if (run.kind !== "outcome" || run.outcome.status !== "ok") throw new Error(JSON.stringify(run));
  equal(run.outcome.result.output, "status for prod");
  const entries = await gate.audit.list({});
  ok(entries.some((e) => e.action.resource === "capsule://ops/command_status"));

  const plan = await runCapsuleCommand(gate.interceptor, host, commands[1]!, "the release");
  deepEqual(plan, { kind: "prompt", prompt: "Plan the release carefully." });

  await using nobody = await testGate({ frontend: null });
  const deferred = await runCapsuleCommand(
    nobody.interceptor,
    { ...host, workspaceRoot: nobody.root, store: nobody.store },
    commands[0]!,
    "",
  );
  if (deferred.kind !== "outcome") throw new Error("expected an outcome");
  match(deferred.outcome.status, /deferred|denied/);
  for (const d of [src, out, home]) await Deno.remove(d, { recursive: true });
});
