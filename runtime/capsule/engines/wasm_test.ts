/**
 * The WASM engine and its host functions, end to end: a probe capsule compiled by the real
 * toolchain runs under Extism with a real interceptor and audit log.
 */
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { PresetFrontend } from "../../security/approval.ts";
import type { Frontend } from "../../security/approval.ts";
import { CapsuleError } from "../errors.ts";
import { loadCapsule, ModuleCache } from "../loader.ts";
import { capsuleConfig } from "../env_store.ts";
import type { CapsuleLogLine, HostEnv } from "../host/context.ts";
import { probeCopy, type TestGate, testGate } from "../_testing.ts";
import { CapsuleInstance } from "./wasm.ts";

const cache = new ModuleCache();

async function start(
  gate: TestGate,
  dir: string,
  opts: {
    stored?: Record<string, string>;
    fetch?: typeof fetch;
    log?: (l: CapsuleLogLine) => void;
    timeoutMs?: number;
  } = {},
): Promise<CapsuleInstance> {
  const loaded = await loadCapsule(dir, { requireHash: true, cache });
  const { values, secretKeys } = capsuleConfig(loaded.manifest, opts.stored ?? {});
  const env: HostEnv = {
    capsule: loaded.manifest.package.name,
    manifest: loaded.manifest,
    workspaceRoot: gate.root,
    interceptor: gate.interceptor,
    store: gate.store,
    config: values,
    secretKeys,
    log: opts.log,
    fetch: opts.fetch,
  };
  return await CapsuleInstance.create(loaded, env, {
    timeoutMs: opts.timeoutMs ?? 10_000,
    memoryMb: 64,
  });
}

const once = () => new PresetFrontend({ choice: "once" });

async function deniedEntries(gate: TestGate): Promise<string[]> {
  return (await gate.audit.list()).filter((e) => e.decision === "denied").map((e) =>
    `${e.action.resource} ${e.proof}`
  );
}

Deno.test("describe() lists the probe's tools and callTool() runs one", async () => {
  await using gate = await testGate({ frontend: once() });
  const probe = await start(gate, await probeCopy());
  const { tools } = await probe.describe();
  ok(tools.some((t) => t.name === "read"));
  deepEqual(await probe.callTool("echo", { a: [1, "ü"] }), { a: [1, "ü"] });
  await probe.close();
});

Deno.test("read-file reads inside fs_read once the interceptor allows it, and audits it", async () => {
  await using gate = await testGate({ frontend: once() });
  await Deno.writeTextFile(`${gate.root}/notes.md`, "hello notes");
  const probe = await start(gate, await probeCopy());
  deepEqual(await probe.callTool("read", { path: "notes.md" }), { ok: "hello notes" });
  const allowed = (await gate.audit.list()).filter((e) => e.decision === "allowed");
  ok(allowed.some((e) => e.action.resource === "capsule://probe/read_file"));
  await probe.close();
});

Deno.test("read-file('../../etc/passwd') and '/etc/passwd' are refused by confinement and audited", async () => {
  await using gate = await testGate({ frontend: once() });
  const probe = await start(gate, await probeCopy());
  for (const path of ["../../etc/passwd", "/etc/passwd", `${gate.root}/../../etc/passwd`]) {
    const out = await probe.callTool("read", { path }) as { error: string; message: string };
    equal(out.error, "CONFINED", path);
    match(out.message, /outside the workspace/);
  }
  const denied = await deniedEntries(gate);
  equal(denied.filter((d) => d.includes("tool://capsule:probe/read-file")).length, 3);
  // Nothing was allowed: the frontend (which would say yes) was never asked.
  equal((await gate.audit.list()).filter((e) => e.decision === "allowed").length, 0);
  // The second check refuses the same action on its own (admin policy denies /etc/**).
  const d = await gate.interceptor.intercept({
    kind: "capsule_file_access",
    capsule: "probe",
    capability: "read_file",
    path: "/etc/passwd",
  }, { capsule: "probe" });
  equal(d.outcome, "denied");
  await probe.close();
});

Deno.test("a symlink inside the workspace pointing out of it is refused", async () => {
  await using gate = await testGate({ frontend: once() });
  await Deno.symlink("/etc", `${gate.root}/link`);
  const probe = await start(gate, await probeCopy());
  const out = await probe.callTool("read", { path: "link/passwd" }) as { error: string };
  equal(out.error, "CONFINED");
  const ls = await probe.callTool("ls", { path: "link" }) as { error: string };
  equal(ls.error, "CONFINED");
  await probe.close();
});

Deno.test("write-file is confined to fs_write; inside it the write happens", async () => {
  await using gate = await testGate({ frontend: once() });
  await Deno.mkdir(`${gate.root}/out`);
  const probe = await start(gate, await probeCopy());
  const outside = await probe.callTool("write", { path: "a.txt", content: "x" }) as {
    error: string;
    message: string;
  };
  equal(outside.error, "CONFINED");
  match(outside.message, /fs_write/);
  deepEqual(await probe.callTool("write", { path: "out/a.txt", content: "hi" }), {}); // ok: undefined
  equal(await Deno.readTextFile(`${gate.root}/out/a.txt`), "hi");
  await rejects(Deno.lstat(`${gate.root}/a.txt`), Deno.errors.NotFound);
  await probe.close();
});

Deno.test("the interceptor is the second check: a deny rule refuses a confined read", async () => {
  await using gate = await testGate({
    frontend: once(),
    config: {
      permissions: { allow: [], ask: [], deny: ["capsule://probe/read_file"] },
    },
  });
  await Deno.writeTextFile(`${gate.root}/notes.md`, "secret-ish");
  const probe = await start(gate, await probeCopy());
  const out = await probe.callTool("read", { path: "notes.md" }) as { error: string };
  equal(out.error, "DENIED");
  ok((await deniedEntries(gate)).some((d) => d.startsWith("capsule://probe/read_file")));
  await probe.close();
});

Deno.test("http-request to a host outside net is refused before any I/O and audited", async () => {
  await using gate = await testGate({ frontend: once() });
  let fetched = 0;
  const fakeFetch: typeof fetch = () => {
    fetched++;
    return Promise.resolve(new Response("no"));
  };
  const probe = await start(gate, await probeCopy(), { fetch: fakeFetch });
  for (const url of ["https://evil.example/x", "http://localhost:1/", "file:///etc/passwd"]) {
    const out = await probe.callTool("fetch", { url }) as { error: string };
    equal(out.error, "CONFINED", url);
  }
  equal(fetched, 0);
  equal(
    (await deniedEntries(gate)).filter((d) => d.includes("capsule:probe/http-request")).length,
    3,
  );
  await probe.close();
});

Deno.test("http-request to an allowed host reaches a local server", async () => {
  await using gate = await testGate({ frontend: once() });
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => new Response(`pong ${new URL(req.url).pathname}`, { headers: { "x-a": "1" } }),
  );
  const probe = await start(gate, await probeCopy());
  const out = await probe.callTool("fetch", {
    url: `http://127.0.0.1:${server.addr.port}/ping`,
  }) as { ok: { status: number; body: string; headers: Record<string, string> } };
  equal(out.ok.status, 200);
  equal(out.ok.body, "pong /ping");
  equal(out.ok.headers["x-a"], "1");
  await probe.close();
});

Deno.test("kv is isolated per capsule and needs capabilities.kv", async () => {
  await using gate = await testGate({ frontend: once() });
  const alpha = await start(gate, await probeCopy("alpha"));
  const beta = await start(gate, await probeCopy("beta"));
  ok(!("error" in (await alpha.callTool("kvset", { key: "k", value: { n: 1 } }) as object)));
  deepEqual(await beta.callTool("kvget", { key: "k" }), { ok: null });
  await beta.callTool("kvset", { key: "k", value: 2 });
  deepEqual(await alpha.callTool("kvget", { key: "k" }), { ok: { n: 1 } });
  deepEqual(await beta.callTool("kvget", { key: "k" }), { ok: 2 });
  equal((await gate.store.get(["capsule_kv", "alpha", "k"])).value !== null, true);
  const nokv = await start(
    gate,
    await probeCopy("nokv", (t) => t.replace("kv = true", "kv = false")),
  );
  equal((await nokv.callTool("kvget", { key: "k" }) as { error: string }).error, "CAPABILITY");
  await Promise.all([alpha.close(), beta.close(), nokv.close()]);
});

Deno.test("get-config sees only the capsule's env; secrets are redacted from its logs", async () => {
  await using gate = await testGate({ frontend: once() });
  const lines: CapsuleLogLine[] = [];
  const probe = await start(gate, await probeCopy(), {
    stored: { TOKEN: "tok-12345", OTHER: "not-declared" },
    log: (l) => lines.push(l),
  });
  deepEqual(await probe.callTool("cfg", { key: "TOKEN" }), { ok: "tok-12345" });
  deepEqual(await probe.callTool("cfg", { key: "UNITS" }), { ok: "metric" });
  deepEqual(await probe.callTool("cfg", { key: "OTHER" }), { ok: null });
  deepEqual(await probe.callTool("cfg", { key: "HOME" }), { ok: null });
  await probe.callTool("say", { message: "token is tok-12345!" });
  deepEqual(lines, [{ capsule: "probe", level: "info", message: "token is [redacted]!" }]);
  await probe.close();
});

Deno.test("a host call nobody can approve defers the action and fails the whole call", async () => {
  await using gate = await testGate({ frontend: null });
  await Deno.writeTextFile(`${gate.root}/notes.md`, "x");
  const probe = await start(gate, await probeCopy());
  // The probe catches the host error, but the call still fails with DEFERRED.
  await rejects(
    probe.callTool("read", { path: "notes.md" }),
    (e: unknown) => e instanceof CapsuleError && e.code === "DEFERRED" && !!e.deferredId,
  );
  ok((await gate.audit.list()).some((e) => e.decision === "deferred"));
  deepEqual(await probe.callTool("echo", 1), 1);
  await probe.close();
});

Deno.test("waiting for a human does not count against the CPU deadline (JSPI suspension)", async () => {
  const slow: Frontend = {
    canAsk: () => true,
    ask: () => new Promise((resolve) => setTimeout(() => resolve({ choice: "once" }), 400)),
  };
  await using gate = await testGate({ frontend: slow });
  await Deno.writeTextFile(`${gate.root}/notes.md`, "worth the wait");
  const probe = await start(gate, await probeCopy(), { timeoutMs: 150 });
  deepEqual(await probe.callTool("read", { path: "notes.md" }), { ok: "worth the wait" });
  await probe.close();
});

Deno.test("an infinite loop stops at the deadline and the instance keeps working", async () => {
  await using gate = await testGate({ frontend: once() });
  const probe = await start(gate, await probeCopy(), { timeoutMs: 100 });
  await rejects(
    probe.callTool("spin", {}),
    (e: unknown) => e instanceof CapsuleError && e.engineCode === "DEADLINE",
  );
  deepEqual(await probe.callTool("echo", 2), 2);
  await probe.close();
});

Deno.test("a describe-only instance refuses every host call", async () => {
  const loaded = await loadCapsule(await probeCopy(), { requireHash: true, cache });
  const probe = await CapsuleInstance.create(loaded, null, { timeoutMs: 5000, memoryMb: 64 });
  equal((await probe.callTool("kvget", { key: "k" }) as { error: string }).error, "UNAVAILABLE");
  await probe.close();
});
