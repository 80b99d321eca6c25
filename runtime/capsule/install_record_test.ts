import { deepEqual, equal, match, notEqual, ok, throws } from "node:assert/strict";
import { openStore } from "../storage/mod.ts";
import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
import { CapsuleError } from "./errors.ts";
import { parseManifest } from "./manifest.ts";
import { type InstallRecord, InstallRecords, manifestHash, scopeKey } from "./install_record.ts";

function record(over: Partial<InstallRecord> = {}): InstallRecord {
  return {
    v: 1,
    name: "docs",
    version: "1",
    scope: "user",
    workspace: null,
    dir: "/h/capsules/docs",
    wasmHash: null,
    manifestHash: `blake3:${"0".repeat(64)}`,
    capabilities: { net: [], fs_read: [], fs_write: [], kv: false, host_process: [] },
    env: {},
    mcpServers: [],
    tools: [],
    installedAt: "2025-01-01T00:00:00.000Z",
    publisher: null,
    ...over,
  };
}

Deno.test("manifestHash() covers capabilities, env, servers and the wasm pin, not formatting", () => {
  const base = '[package]\nname = "n"\nversion = "1"\n';
  const pin = (extra: string) => manifestHash(parseManifest(base + extra).manifest);
  const pins = [
    "",
    '[capabilities]\nnet = ["a.example"]\n',
    '[capabilities]\nfs_write = ["out"]\n',
    "[capabilities]\nkv = true\n",
    '[capabilities]\nhost_process = ["/bin/sh"]\n',
    "[env.KEY]\n",
    '[env.KEY]\ntype = "secret"\n',
    '[[mcp_server]]\nid = "s"\ntype = "stdio"\ncommand = "x"\n',
    `[component]\nhash = "blake3:${"1".repeat(64)}"\n`,
    '[[tool]]\nname = "t"\n',
  ].map(pin);
  equal(new Set(pins).size, pins.length, "every change moves the pin");
  equal(pin("# a comment\n"), pins[0]);
  equal(pin("[capabilities]\nkv = false\n"), pins[0], "a default written out is the same manifest");
});

Deno.test("manifestHash() refuses a value it cannot encode instead of guessing", () => {
  const { manifest } = parseManifest(
    '[package]\nname = "n"\nversion = "1"\n[[tool]]\nname = "t"\n[tool.input_schema]\nwhen = 1979-05-27\n',
  );
  throws(
    () => manifestHash(manifest),
    (e: unknown) => e instanceof CapsuleError && e.code === "MANIFEST",
  );
});

Deno.test("scopeKey() separates the user and each workspace", () => {
  equal(scopeKey("user", "/ws"), "user");
  notEqual(scopeKey("workspace", "/a"), scopeKey("workspace", "/b"));
  throws(() => scopeKey("workspace", null), TypeError);
});

Deno.test("write() replaces a record, dropping parts a bigger earlier one left", async () => {
  using store = await openStore(":memory:");
  const records = new InstallRecords(store, signerFromSeed(generateSeed()));
  const big = record({
    tools: [{ name: "t", description: "x".repeat(150_000), inputSchema: { type: "object" } }],
  });
  await records.write(big);
  const count = async () =>
    (await Array.fromAsync(store.list({ prefix: ["capsule_install", "user", "docs"] }))).length;
  ok(await count() >= 3);
  await records.write(record());
  equal(await count(), 1);
  const read = await records.read("user", null, "docs");
  deepEqual(read?.ok && { ...read, digest: undefined }, {
    ok: true,
    name: "docs",
    record: record(),
    digest: undefined,
  });
  equal(await records.remove("user", null, "docs"), true);
  equal(await records.read("user", null, "docs"), null);
  equal(await records.remove("user", null, "docs"), false);
});

Deno.test("a workspace record only reads back in its own workspace", async () => {
  using store = await openStore(":memory:");
  const records = new InstallRecords(store, signerFromSeed(generateSeed()));
  const ws = record({ scope: "workspace", workspace: { root: "/ws", id: "w1" }, dir: "/ws/x" });
  await records.write(ws);
  equal((await records.read("workspace", "/ws", "docs"))?.ok, true);
  equal(await records.read("workspace", "/other", "docs"), null);
  equal(await records.read("user", null, "docs"), null);
  // Copied under the user scope, it says where it belongs and is refused there.
  for await (const e of store.list({ prefix: ["capsule_install", scopeKey("workspace", "/ws")] })) {
    await store.set(["capsule_install", "user", "docs", e.key[3]!], e.value);
  }
  const moved = await records.read("user", null, "docs");
  equal(moved?.ok, false);
  if (moved && !moved.ok) match(moved.reason, /filed under another name or scope/);
});

Deno.test("write() refuses a record that does not validate", async () => {
  using store = await openStore(":memory:");
  const records = new InstallRecords(store, signerFromSeed(generateSeed()));
  let failed = false;
  await records.write(record({ wasmHash: "md5:x" })).catch(() => (failed = true));
  ok(failed);
  equal(await records.read("user", null, "docs"), null);
});
