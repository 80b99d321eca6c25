import { deepEqual, equal, rejects } from "node:assert/strict";
import { KV_FUNCTIONS } from "./kv.ts";
import { parseManifest } from "../manifest.ts";
import { type TestGate, testGate } from "../_testing.ts";
import {
  type CallState,
  flushAudit,
  gate,
  type HostEnv,
  MAX_QUEUED_AUDIT,
  newCallState,
} from "./context.ts";

const manifest = parseManifest(`[package]
name = "n"
version = "1"
[capabilities]
fs_read = ["."]
`).manifest;

const ALLOW = { permissions: { allow: ["capsule://n/*"], ask: [], deny: [] } };

/** Host functions' view of capsule `n` over a test gate, with a fresh audit batch. */
function envOf(g: TestGate, extra: Partial<HostEnv> = {}): HostEnv {
  return {
    capsule: "n",
    manifest,
    workspaceRoot: g.root,
    interceptor: g.interceptor,
    store: g.store,
    config: {},
    secretKeys: new Set(),
    auditBatch: g.interceptor.openBatch(),
    ...extra,
  };
}

/** Gates a batched read of `name` and completes it. */
async function read(env: HostEnv, state: CallState, g: TestGate, name: string): Promise<void> {
  await (await gate(env, state, {
    kind: "capsule_file_access",
    capsule: "n",
    capability: "fs_exists",
    path: `${g.root}/${name}`,
  }, { batched: true })).complete({ ok: true });
}

Deno.test("gate() flushes a full audit batch before queueing one more read", async () => {
  await using g = await testGate({ frontend: null, config: ALLOW });
  const env = envOf(g);
  const state = newCallState("n__t");
  for (let i = 0; i < MAX_QUEUED_AUDIT; i++) await read(env, state, g, `f${i}`);
  equal((await g.audit.list()).length, 0);
  await read(env, state, g, `f${MAX_QUEUED_AUDIT}`);
  equal((await g.audit.list()).length, MAX_QUEUED_AUDIT);
  equal(env.auditBatch?.pending, 1);
});

Deno.test("flushAudit() turns a failed flush into an AUDIT_FAILED host error", async () => {
  let failing = false;
  await using g = await testGate({
    frontend: null,
    config: ALLOW,
    sink: (log) => ({
      append: (input) => failing ? Promise.reject(new Error("disk full")) : log.append(input),
    }),
  });
  const env = envOf(g);
  const state = newCallState("n__t");
  await read(env, state, g, "a");
  failing = true;
  await rejects(flushAudit(env, state, "write-file"), (e: Error & { code?: string }) => {
    equal(e.code, "AUDIT_FAILED");
    return /disk full/.test(e.message);
  });
  failing = false;
  await rejects(flushAudit(env, state, "http-request"), /disk full/);
});

Deno.test("log and kv-set write the queued reads ahead to the journal before they act", async () => {
  await using g = await testGate({ frontend: null, config: ALLOW });
  const lines: string[] = [];
  const env = envOf(g, {
    manifest: parseManifest(`[package]\nname = "n"\nversion = "1"\n[capabilities]\nkv = true\n`)
      .manifest,
    log: (line) => lines.push(`${line.message} after ${g.audit.journal?.outstanding} records`),
  });
  const state = newCallState("n__t");
  await read(env, state, g, "f");
  equal(g.audit.journal?.outstanding, 0, "a read alone is not written ahead");
  await KV_FUNCTIONS.log!(env, state, { message: "hello" });
  deepEqual(lines, ["hello after 1 records"]);
  await KV_FUNCTIONS["kv-set"]!(env, state, { key: "k", value: 1 });
  equal(g.audit.journal?.outstanding, 1, "nothing new to write ahead");
  equal((await g.audit.list()).length, 0, "still one group commit at the end of the call");
  await env.auditBatch?.flush();
  equal(g.audit.journal?.outstanding, 0);
  equal((await g.audit.list()).length, 1);
});

Deno.test("log refuses to print when the queued reads cannot be written ahead", async () => {
  await using g = await testGate({ frontend: null, config: ALLOW });
  const lines: string[] = [];
  const env = envOf(g, { log: (line) => lines.push(line.message) });
  const state = newCallState("n__t");
  await read(env, state, g, "f");
  g.audit.journal?.close();
  await rejects(
    KV_FUNCTIONS.log!(env, state, { message: "leak?" }),
    (e: Error & { code?: string }) => e.code === "AUDIT_FAILED",
  );
  deepEqual(lines, []);
});
