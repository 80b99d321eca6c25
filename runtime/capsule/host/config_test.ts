import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { CONFIG_FUNCTIONS, MAX_CONFIG_VALUE_CHARS } from "./config.ts";
import { KV_FUNCTIONS } from "./kv.ts";
import { type HostEnv, HostError, newCallState } from "./context.ts";
import { parseManifest } from "../manifest.ts";
import { testGate } from "../_testing.ts";
import { capsuleConfig, readEnvFile, writeEnvFile } from "../env_store.ts";
import type { ApprovalRequest, Frontend } from "../../security/approval.ts";
import type { ApprovalChoice } from "../../security/approval.ts";
import { hostEnv } from "../registry.ts";
import type { InstalledCapsule } from "../install.ts";

const MANIFEST = `[package]
name = "prefs"
version = "1"
[env.units]
default = "metric"
[env.TOKEN]
type = "secret"
`;

const SECRET = "tok-0123456789-very-secret";

/** A frontend that answers `choice` and keeps every request it was asked. */
function recording(choice: ApprovalChoice): Frontend & { asked: ApprovalRequest[] } {
  const asked: ApprovalRequest[] = [];
  return {
    asked,
    canAsk: () => true,
    ask: (request) => {
      asked.push(request);
      return Promise.resolve({ choice });
    },
  };
}

/** A gate, an env file holding `stored`, and the host env of capsule prefs over both. */
async function setup(frontend: Frontend | null, stored: Record<string, string> = {}) {
  const gate = await testGate({ frontend });
  const home = await Deno.makeTempDir({ prefix: "astrid-config-" });
  const envPath = `${home}/capsule_env/user/prefs.json`;
  await writeEnvFile(envPath, stored);
  const { manifest } = parseManifest(MANIFEST);
  const { values, secretKeys } = capsuleConfig(manifest, stored);
  const env: HostEnv = {
    capsule: "prefs",
    manifest,
    workspaceRoot: gate.root,
    interceptor: gate.interceptor,
    store: gate.store,
    config: values,
    secretKeys,
    envPath,
  };
  return {
    gate,
    env,
    envPath,
    set: (args: Record<string, unknown>, state = newCallState("prefs__t")) =>
      CONFIG_FUNCTIONS["set-config"]!(env, state, args),
    get: (key: string) => KV_FUNCTIONS["get-config"]!(env, newCallState(), { key }),
    async [Symbol.asyncDispose]() {
      await gate[Symbol.asyncDispose]();
      await Deno.remove(home, { recursive: true });
    },
  };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    ok(e instanceof HostError, String(e));
    return e.code;
  }
  throw new Error("expected a HostError");
}

Deno.test("set-config: an approved change is stored (0600) and a later get-config sees it", async () => {
  const frontend = recording("once");
  await using t = await setup(frontend, { TOKEN: "old" });
  equal(await t.get("units"), "metric");
  equal(await t.set({ key: "units", value: "imperial" }), null);
  equal(await t.get("units"), "imperial");
  deepEqual(await readEnvFile(t.envPath), { TOKEN: "old", units: "imperial" });
  equal((await Deno.stat(t.envPath)).mode! & 0o777, 0o600);
  equal(frontend.asked.length, 1);
  const asked = frontend.asked[0]!;
  equal(asked.info.resource, "capsule://prefs/config/units");
  equal(asked.info.permission, "write");
  equal(asked.info.summary, 'Capsule prefs: change its config key units to "imperial"');
  const entries = await t.gate.audit.list();
  const allowed = entries.find((e) => e.decision === "allowed");
  equal(allowed?.action.kind, "capsule_config_write");
  equal(allowed?.action.resource, "capsule://prefs/config/units");
  ok(entries.some((e) => e.decision === "outcome"), "the write's outcome is audited");
});

Deno.test("set-config: a secret's value is in neither the prompt, the action nor the audit log", async () => {
  const frontend = recording("once");
  await using t = await setup(frontend);
  await t.set({ key: "TOKEN", value: SECRET });
  equal(await t.get("TOKEN"), SECRET, "the capsule itself sees its new secret");
  deepEqual(await readEnvFile(t.envPath), { TOKEN: SECRET });
  const asked = frontend.asked[0]!;
  equal(asked.info.summary, "Capsule prefs: change its secret config key TOKEN (value hidden)");
  deepEqual(asked.action, {
    kind: "capsule_config_write",
    capsule: "prefs",
    key: "TOKEN",
    secret: true,
  });
  const log = JSON.stringify(await t.gate.audit.list());
  ok(log.includes("capsule://prefs/config/TOKEN"), "the change itself is recorded");
  ok(!log.includes(SECRET), "the value is not");
  ok(!log.includes(SECRET.slice(0, 12)), "nor a prefix of it");
});

Deno.test("set-config: a secret deferred for lack of a human leaves no trace of its value", async () => {
  await using t = await setup(null, { TOKEN: "old" });
  const state = newCallState("prefs__t");
  equal(await code(t.set({ key: "TOKEN", value: SECRET }, state)), "DEFERRED");
  equal(typeof state.deferred?.id, "string");
  deepEqual(await readEnvFile(t.envPath), { TOKEN: "old" });
  equal(await t.get("TOKEN"), "old");
  const log = JSON.stringify(await t.gate.audit.list());
  ok(log.includes('"deferred"'), log);
  ok(!log.includes(SECRET), "the deferred entry holds no value");
});

Deno.test("set-config: a denied change leaves the env file and the config view unchanged", async () => {
  await using t = await setup(recording("deny"), { units: "metric" });
  const before = await Deno.readFile(t.envPath);
  equal(await code(t.set({ key: "units", value: "imperial" })), "DENIED");
  deepEqual(await Deno.readFile(t.envPath), before);
  equal(await t.get("units"), "metric");
  const entries = await t.gate.audit.list();
  equal(entries.at(-1)?.decision, "denied");
  equal(entries.at(-1)?.action.kind, "capsule_config_write");
});

Deno.test("set-config: a key the manifest does not declare is refused, audited, and never asked", async () => {
  const frontend = recording("once");
  await using t = await setup(frontend);
  const before = await Deno.readFile(t.envPath);
  for (const key of ["OTHER", "__proto__", "constructor", "../prefs", "units\0"]) {
    equal(await code(t.set({ key, value: "x" })), "CAPABILITY", key);
  }
  await rejects(t.set({ key: "OTHER", value: "x" }), /does not declare it in \[env\]/);
  equal(frontend.asked.length, 0, "nobody is asked about an undeclared key");
  deepEqual(await Deno.readFile(t.envPath), before);
  const entries = await t.gate.audit.list();
  ok(entries.length > 0 && entries.every((e) => e.decision === "denied"));
  equal(await t.get("OTHER"), null);
});

Deno.test("set-config: malformed arguments are refused on entry and nothing is written", async () => {
  const frontend = recording("once");
  await using t = await setup(frontend);
  const before = await Deno.readFile(t.envPath);
  const cases: [Record<string, unknown>, string][] = [
    [{ key: "units", value: 42 }, "BAD_ARGS"],
    [{ key: "units", value: null }, "BAD_ARGS"],
    [{ key: "units", value: ["imperial"] }, "BAD_ARGS"],
    [{ key: "units", value: { s: "imperial" } }, "BAD_ARGS"],
    [{ key: "units" }, "BAD_ARGS"],
    [{ key: 7, value: "x" }, "BAD_ARGS"],
    [{ key: ["units"], value: "x" }, "BAD_ARGS"],
    [{ key: "", value: "x" }, "BAD_ARGS"],
    [{ value: "x" }, "BAD_ARGS"],
    [{ key: "units", value: "metric\0; rm -rf /" }, "BAD_ARGS"],
    [{ key: "units", value: "x".repeat(MAX_CONFIG_VALUE_CHARS + 1) }, "TOO_LARGE"],
    [{ key: "TOKEN", value: "y".repeat(1 << 20) }, "TOO_LARGE"],
  ];
  for (const [args, expected] of cases) {
    equal(await code(t.set(args)), expected, JSON.stringify(args).slice(0, 60));
  }
  equal(frontend.asked.length, 0);
  deepEqual(await Deno.readFile(t.envPath), before);
  // Exactly the limit is accepted.
  await t.set({ key: "units", value: "z".repeat(MAX_CONFIG_VALUE_CHARS) });
  equal((await t.get("units") as string).length, MAX_CONFIG_VALUE_CHARS);
});

Deno.test("set-config: a non-secret value is shown quoted and shortened in the summary", async () => {
  const frontend = recording("once");
  await using t = await setup(frontend);
  const long = `"quoted" ${"v".repeat(200)}`;
  await t.set({ key: "units", value: long });
  const summary = frontend.asked[0]!.info.summary;
  ok(
    summary.startsWith('Capsule prefs: change its config key units to "\\"quoted\\" vvv'),
    summary,
  );
  ok(summary.endsWith('…"'), summary);
  ok(summary.length < 120, summary);
  equal(await t.get("units"), long, "the stored value is whole");
});

Deno.test("set-config: an env file others may read is not rewritten", async () => {
  await using t = await setup(recording("once"), { units: "metric" });
  await Deno.chmod(t.envPath, 0o644);
  equal(await code(t.set({ key: "units", value: "imperial" })), "IO");
  equal((await Deno.stat(t.envPath)).mode! & 0o777, 0o644);
  equal(await t.get("units"), "metric");
  const last = (await t.gate.audit.list()).at(-1);
  equal(last?.decision, "outcome");
  equal((last?.outcome as { ok?: boolean } | null)?.ok, false);
});

Deno.test("set-config: an env file swapped for a symlink is refused, its target untouched", async () => {
  await using t = await setup(recording("once"), { units: "metric" });
  const target = `${t.envPath}.target`;
  await Deno.writeTextFile(target, '{"units":"metric"}', { mode: 0o600 });
  await Deno.remove(t.envPath);
  await Deno.symlink(target, t.envPath);
  equal(await code(t.set({ key: "units", value: "imperial" })), "IO");
  equal(await Deno.readTextFile(target), '{"units":"metric"}');
  equal(await t.get("units"), "metric");
});

Deno.test("set-config: without an env file (not installed) the call is unavailable", async () => {
  await using t = await setup(recording("once"));
  for (const envPath of [undefined, "(not installed)", "rel/prefs.json"]) {
    const env: HostEnv = { ...t.env, envPath };
    await rejects(
      CONFIG_FUNCTIONS["set-config"]!(env, newCallState(), { key: "units", value: "x" }),
      (e: unknown) => e instanceof HostError && e.code === "UNAVAILABLE",
    );
  }
});

/**
 * The capsule installed with `units = "metric"`, and the host environment of one of its calls in a
 * session, each with its own audit batch (as the registry's `hostEnv` makes them).
 */
function sessionCalls(t: Awaited<ReturnType<typeof setup>>): { call: () => HostEnv } {
  const { manifest } = parseManifest(MANIFEST);
  const installed = {
    loaded: { manifest },
    env: { units: "metric" },
    envPath: t.envPath,
  } as unknown as InstalledCapsule;
  const host = {
    capsules: [installed],
    workspaceRoot: t.gate.root,
    store: t.gate.store,
    limits: { timeoutMs: 30_000, memoryMb: 64 },
  };
  return {
    call: () => hostEnv(host, installed, t.gate.interceptor, t.gate.interceptor.openBatch()),
  };
}

Deno.test("set-config: a later call of the same session (registry hostEnv) sees the approved value", async () => {
  await using t = await setup(recording("once"), { units: "metric" });
  const { call } = sessionCalls(t);
  const first = call();
  await CONFIG_FUNCTIONS["set-config"]!(first, newCallState(), { key: "units", value: "imperial" });
  await first.auditBatch?.flush();
  const later = call();
  equal(await KV_FUNCTIONS["get-config"]!(later, newCallState(), { key: "units" }), "imperial");
  deepEqual(await readEnvFile(t.envPath), { units: "imperial" });
});

Deno.test("set-config: a denied change does not reach the session's later calls", async () => {
  await using t = await setup(recording("deny"), { units: "metric" });
  const { call } = sessionCalls(t);
  const first = call();
  await rejects(
    CONFIG_FUNCTIONS["set-config"]!(first, newCallState(), { key: "units", value: "imperial" }),
  );
  const later = call();
  equal(await KV_FUNCTIONS["get-config"]!(later, newCallState(), { key: "units" }), "metric");
});
