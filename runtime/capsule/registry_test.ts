import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { type AuditInput, type AuditLog, verifyStore } from "../audit/mod.ts";
import type { AuditSink } from "../security/interceptor.ts";
import { PresetFrontend } from "../security/approval.ts";
import { DEFAULT_CONFIG } from "../config/mod.ts";
import { capsuleDirs } from "./install.ts";
import { listInstalled } from "./installed.ts";
import { callCapsuleTool, type CapsuleHost, listCapsuleTools } from "./registry.ts";
import { probeCopy, type TestGate, testGate, testInstall, testRecords } from "./_testing.ts";

const LIMITS = { timeoutMs: 5000, memoryMb: 64 };

async function host(gate: TestGate): Promise<CapsuleHost> {
  const d = capsuleDirs(await Deno.makeTempDir(), null);
  using records = await testRecords(gate.store);
  await testInstall(d, await probeCopy(), records);
  const { capsules } = await listInstalled(d, { requireHash: true, records });
  return { capsules, workspaceRoot: gate.root, store: gate.store, limits: LIMITS };
}

Deno.test("listCapsuleTools() names tools <capsule>__<tool> from the install record", async () => {
  await using gate = await testGate({ frontend: null });
  const { capsules } = await host(gate);
  const tools = await listCapsuleTools(capsules);
  const echo = tools.find((t) => t.name === "probe__echo");
  ok(echo);
  equal(echo.capsule, "probe");
  equal(echo.description, "Echoes its arguments");
  // The record is the list: the wasm is not asked again.
  const record = { ...capsules[0]!.record, tools: [] };
  deepEqual(await listCapsuleTools([{ ...capsules[0]!, record }]), []);
});

Deno.test("callCapsuleTool() refuses a tool the record does not list, and reports a broken capsule", async () => {
  await using gate = await testGate({ frontend: new PresetFrontend({ choice: "once" }) });
  const h = await host(gate);
  const installed = h.capsules[0]!;
  const narrowed = { ...installed, record: { ...installed.record, tools: [] } };
  const out = await callCapsuleTool(
    gate.interceptor,
    { ...h, capsules: [narrowed] },
    "probe__echo",
    {},
  );
  equal(out.status, "error");
  if (out.status === "error") equal(out.code, "UNKNOWN_TOOL");
  equal((await gate.audit.list()).length, 0, "refused before the gate: nothing ran");
  const { CapsuleError } = await import("./errors.ts");
  const broken = [{
    scope: "user" as const,
    name: "probe",
    dir: "/x/probe",
    error: new CapsuleError("INTEGRITY", "Cannot load capsule probe: current wasm hash is A"),
  }];
  const integrity = await callCapsuleTool(
    gate.interceptor,
    { ...h, capsules: [], broken },
    "probe__echo",
    {},
  );
  deepEqual(integrity, {
    status: "error",
    code: "INTEGRITY",
    message: "Cannot load capsule probe: current wasm hash is A",
  });
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

const ALLOW_PROBE = {
  permissions: { ...DEFAULT_CONFIG.permissions, allow: ["capsule://probe/*"] },
};

/** Each entry as `<kind>/<last resource segment>:<decision>`. */
async function trail(gate: TestGate): Promise<string[]> {
  return (await gate.audit.list()).map((e) =>
    `${e.action.kind}/${e.action.resource.split("/").pop()}:${e.decision}`
  );
}

/** The real audit log, except that appends matching `fails` are refused like a full disk. */
function failingOn(fails: (input: AuditInput) => boolean): (log: AuditLog) => AuditSink {
  return (log) => ({
    append: (input) => fails(input) ? Promise.reject(new Error("disk full")) : log.append(input),
  });
}

/** Runs probe__copy from in.txt ("hello") to out/copy.txt. */
async function copyHello(gate: TestGate) {
  await Deno.writeTextFile(`${gate.root}/in.txt`, "hello");
  await Deno.mkdir(`${gate.root}/out`);
  return await callCapsuleTool(gate.interceptor, await host(gate), "probe__copy", {
    src: "in.txt",
    dst: "out/copy.txt",
  });
}

const isRead = (input: AuditInput) =>
  input.action.kind === "capsule_file_access" &&
  /\/(read_file|fs_exists)$/.test(input.action.resource);

Deno.test("callCapsuleTool() audits a tool call's reads in order, before its write's entry", async () => {
  await using gate = await testGate({ frontend: null, config: ALLOW_PROBE });
  const out = await copyHello(gate);
  equal(out.status, "ok");
  equal(await Deno.readTextFile(`${gate.root}/out/copy.txt`), "hello");
  deepEqual(await trail(gate), [
    "capsule_tool_call/copy:allowed",
    "capsule_file_access/read_file:allowed",
    "capsule_file_access/fs_exists:allowed",
    "capsule_file_access/write_file:allowed",
    "capsule_tool_call/copy:outcome",
  ]);
  const calls = (await gate.audit.list()).slice(1, 4);
  deepEqual(calls.map((e) => e.outcome), [1, 2, 3].map(() => ({ ok: true, detail: null })));
  equal(gate.audit.journal?.outstanding, 0, "the journal is emptied once the batch is written");
  await gate.audit.checkpoint();
  ok((await verifyStore(gate.store, gate.publicKey)).ok);
});

Deno.test("callCapsuleTool() withholds the result when the reads behind it cannot be audited", async () => {
  await using gate = await testGate({
    frontend: null,
    config: ALLOW_PROBE,
    sink: failingOn(isRead),
  });
  await Deno.writeTextFile(`${gate.root}/secret.txt`, "s3cret-value");
  const out = await callCapsuleTool(gate.interceptor, await host(gate), "probe__read", {
    path: "secret.txt",
  });
  equal(out.status, "error");
  if (out.status === "error") equal(out.code, "AUDIT_FAILED");
  ok(!JSON.stringify(out).includes("s3cret-value"), "the content never leaves");
  deepEqual(await trail(gate), [
    "capsule_tool_call/read:allowed",
    "capsule_tool_call/read:outcome",
  ]);
  deepEqual((await gate.audit.list())[1]?.outcome, {
    ok: false,
    detail: {
      message: "Cannot return the result of Call tool read of capsule probe: " +
        "Cannot flush the audit batch: an append failed (disk full)",
    },
  });
});

Deno.test("without a journal, a write flushes the reads first and does not run when that fails", async () => {
  await using gate = await testGate({
    frontend: null,
    config: ALLOW_PROBE,
    sink: failingOn(isRead),
  });
  await Deno.writeTextFile(`${gate.root}/in.txt`, "s3cret-value");
  await Deno.mkdir(`${gate.root}/out`);
  const out = await callCapsuleTool(gate.interceptor, await host(gate), "probe__copy", {
    src: "in.txt",
    dst: "out/copy.txt",
  });
  equal(out.status, "error");
  if (out.status === "error") equal(out.code, "AUDIT_FAILED");
  ok(!JSON.stringify(out).includes("s3cret-value"));
  await rejects(Deno.stat(`${gate.root}/out/copy.txt`), Deno.errors.NotFound);
  ok(!(await trail(gate)).some((t) => t.startsWith("capsule_file_access/write_file")));
});

Deno.test("a write whose entry cannot be written ahead to the journal does not run", async () => {
  await using gate = await testGate({ frontend: null, config: ALLOW_PROBE });
  await Deno.writeTextFile(`${gate.root}/in.txt`, "hello");
  await Deno.mkdir(`${gate.root}/out`);
  gate.audit.journal?.close(); // every journal write now fails
  const out = await callCapsuleTool(gate.interceptor, await host(gate), "probe__copy", {
    src: "in.txt",
    dst: "out/copy.txt",
  });
  equal(out.status, "ok");
  if (out.status === "ok") match(out.result.output, /AUDIT_FAILED|audit journal/);
  await rejects(Deno.stat(`${gate.root}/out/copy.txt`), Deno.errors.NotFound);
  deepEqual(await trail(gate), [
    "capsule_tool_call/copy:allowed",
    "capsule_file_access/read_file:allowed",
    "capsule_file_access/fs_exists:allowed",
    "capsule_file_access/write_file:denied",
    "capsule_tool_call/copy:outcome",
  ]);
});

Deno.test("a refused host call is audited at once, after the reads queued before it", async () => {
  await using gate = await testGate({ frontend: null, config: ALLOW_PROBE });
  await Deno.writeTextFile(`${gate.root}/in.txt`, "x");
  const out = await callCapsuleTool(gate.interceptor, await host(gate), "probe__copy", {
    src: "in.txt",
    dst: "../escape.txt",
  });
  equal(out.status, "ok");
  if (out.status === "ok") match(out.result.output, /CONFINED/);
  deepEqual(await trail(gate), [
    "capsule_tool_call/copy:allowed",
    "capsule_file_access/read_file:allowed",
    "capsule_file_access/fs_exists:allowed",
    "unclassified/write-file:denied",
    "capsule_tool_call/copy:outcome",
  ]);
});

Deno.test("a write that needs a human is audited after the reads queued before it", async () => {
  await using gate = await testGate({
    frontend: new PresetFrontend({ choice: "once" }),
    config: {
      permissions: {
        ...DEFAULT_CONFIG.permissions,
        allow: ["capsule://probe/copy", "capsule://probe/read_file", "capsule://probe/fs_exists"],
      },
    },
  });
  const out = await copyHello(gate);
  equal(out.status, "ok");
  equal(await Deno.readTextFile(`${gate.root}/out/copy.txt`), "hello");
  deepEqual(await trail(gate), [
    "capsule_tool_call/copy:allowed",
    "capsule_file_access/read_file:allowed",
    "capsule_file_access/fs_exists:allowed",
    "capsule_file_access/write_file:allowed",
    "capsule_file_access/write_file:outcome",
    "capsule_tool_call/copy:outcome",
  ]);
});
