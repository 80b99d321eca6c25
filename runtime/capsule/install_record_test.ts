import { deepEqual, equal, match, notEqual, ok, rejects, throws } from "node:assert/strict";
import { openStore } from "../storage/mod.ts";
import { canonicalBytes, generateSeed, signerFromSeed, toBase64Url, toHex } from "../crypto/mod.ts";
import { CapsuleError } from "./errors.ts";
import { parseManifest } from "./manifest.ts";
import {
  type InstallRecord,
  InstallRecords,
  manifestHash,
  RECORD_DOMAIN,
  scopeKey,
} from "./install_record.ts";

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
  deepEqual(read?.ok && { ...read, stamp: undefined }, {
    ok: true,
    name: "docs",
    record: record(),
    stamp: undefined,
  });
  match(read?.ok ? read.stamp : "", /^[0-9a-f]{20}$/, "one part: one versionstamp");
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

// Hostile records: each is signed with the runtime key exactly as `write()` would sign it, then
// stored, so the signature verifies and the validator alone must refuse it.

/** A record with every optional field present and one of each nested entry. */
function full(): Record<string, unknown> {
  return {
    ...record({
      scope: "workspace",
      workspace: { root: "/ws", id: "w1" },
      wasmHash: `blake3:${"a".repeat(64)}`,
      capabilities: { net: ["a"], fs_read: ["r"], fs_write: ["w"], kv: true, host_process: ["/x"] },
      env: { KEY: { type: "secret", required: true, request: "why", default: "d" } },
      mcpServers: [{ id: "s", command: "c", args: ["1"] }],
      tools: [
        { name: "a", description: "", inputSchema: {} },
        { name: "b", description: "", inputSchema: {}, server: "s" },
        { name: "c.d-e_1", description: "d", inputSchema: { type: "object" }, server: "s" },
      ],
      wasmFingerprint: "1:2:3:-4:5",
      publisher: { fingerprint: "f", ref: "r", digest: `sha256:${"0".repeat(64)}` },
    }),
    capabilities: {
      net: ["a"],
      fs_read: ["r"],
      fs_write: ["w"],
      kv: true,
      host_process: ["/x"],
      llm: true,
    },
  };
}

/** The optional fields of {@link full}, as paths. */
const OPTIONAL = ["capabilities.llm", "env.KEY.request", "env.KEY.default", "wasmFingerprint"]
  .concat(["tools[1].server", "tools[2].server"]);

/** Every path of `value` down to its leaves (not into `inputSchema`). */
function paths(value: unknown, at = ""): string[] {
  if (typeof value !== "object" || value === null || at.endsWith("inputSchema")) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const p = Array.isArray(value) ? `${at}[${k}]` : at ? `${at}.${k}` : k;
    out.push(p, ...paths(v, p));
  }
  return out;
}

/** `value` with `f` applied to the parent object or array of `path` and its last step. */
function edit(
  value: Record<string, unknown>,
  path: string,
  f: (parent: Record<string, unknown>, key: string) => void,
): Record<string, unknown> {
  const copy = structuredClone(value);
  const steps = path.replace(/\[(\d+)\]/g, ".$1").split(".");
  let parent = copy;
  for (const s of steps.slice(0, -1)) parent = parent[s] as Record<string, unknown>;
  f(parent, steps.at(-1)!);
  return copy;
}

/**
 * Signs `rec` as `write()` would, stores it (part by part, so a record over one commit's limit
 * is stored too) in the scope it names, and reads it back from a KV store on disk.
 */
async function plant(rec: unknown, name = "docs") {
  const dir = await Deno.makeTempDir({ prefix: "astrid-record-" });
  try {
    using store = await openStore(`${dir}/kv`);
    const signer = signerFromSeed(generateSeed());
    const sig = signer.sign(canonicalBytes(RECORD_DOMAIN, rec));
    const envelope = { record: rec, key: toHex(signer.publicKey), sig: toBase64Url(sig) };
    const bytes = new TextEncoder().encode(JSON.stringify(envelope));
    const root = (rec as { workspace?: { root?: unknown } } | null)?.workspace?.root;
    const ws = (rec as { scope?: unknown } | null)?.scope === "workspace" &&
        typeof root === "string"
      ? root
      : null;
    const base = ["capsule_install", scopeKey(ws === null ? "user" : "workspace", ws), name];
    const n = Math.ceil(bytes.length / 60_000);
    for (let i = 0; i < n; i++) {
      await store.set([...base, i], { n, data: bytes.slice(i * 60_000, (i + 1) * 60_000) });
    }
    const read = ws === null
      ? await new InstallRecords(store, signer).read("user", null, name)
      : await new InstallRecords(store, signer).read("workspace", ws, name);
    ok(read !== null);
    return read;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The reason a planted record is refused ("" when it is accepted). */
async function refusal(rec: unknown, name?: string): Promise<string> {
  const read = await plant(rec, name);
  return read.ok ? "" : read.reason;
}

Deno.test("read() accepts the full record, and each optional field left out", async () => {
  const user = { ...full(), scope: "user", workspace: null };
  equal(await refusal(user), "");
  for (const path of OPTIONAL) {
    equal(await refusal(edit(user, path, (p, k) => delete p[k])), "", path);
  }
});

Deno.test("read() refuses a record missing any required field, naming it", async () => {
  const required = (p: string) => !OPTIONAL.includes(p) && !/\]$/.test(p) && p !== "env.KEY";
  for (const path of paths(full()).filter(required)) {
    const reason = await refusal(edit(full(), path, (p, k) => delete p[k]));
    ok(reason.startsWith("its fields do not validate ("), path);
    ok(reason.includes(` at ${path}: expected `), `${path}: ${reason}`);
  }
});

Deno.test("read() refuses a wrong type in any field, naming it", async () => {
  for (const path of paths(full())) {
    for (const wrong of [42, "x", null, [], {}, true]) {
      const rec = edit(full(), path, (p, k) => (p[k] = wrong));
      const before = path.replace(/\[(\d+)\]/g, ".$1").split(".").reduce<unknown>(
        (v, step) => (v as Record<string, unknown>)[step],
        full(),
      );
      // The same type (and null where null is allowed) is not a wrong type.
      if (typeof before === typeof wrong && Array.isArray(before) === Array.isArray(wrong)) {
        continue;
      }
      if (wrong === null && ["workspace", "workspace.id", "wasmHash", "publisher"].includes(path)) {
        continue;
      }
      const reason = await refusal(rec);
      ok(reason.includes(` at ${path}`), `${path} = ${JSON.stringify(wrong)}: ${reason}`);
    }
  }
});

Deno.test("read() refuses an unknown key at every level of the record", async () => {
  // Where each object of {@link full} opens in its JSON text.
  const opens: Record<string, string> = {
    "": "{",
    workspace: '"workspace":{',
    capabilities: '"capabilities":{',
    "env.KEY": '"KEY":{',
    "mcpServers[0]": '"mcpServers":[{',
    "tools[2]": '{"name":"c.d-e_1",',
    publisher: '"publisher":{',
  };
  for (const [at, open] of Object.entries(opens)) {
    for (const key of ["extra", "__proto__", "constructor", "toString", "0"]) {
      // Built from JSON text, as a stored record is: `__proto__` is then an own key.
      const json = JSON.stringify(full()).replace(open, `${open}"${key}":1,`);
      const reason = await refusal(JSON.parse(json));
      const step = /^\d/.test(key) ? `["${key}"]` : at ? `.${key}` : key;
      ok(reason.includes(` at ${at}${step}: expected no such key`), `${at} ${key}: ${reason}`);
    }
  }
});

Deno.test("read() refuses hostile tool entries, naming the entry", async () => {
  const names = ["a..b", "..", "", "a".repeat(129), "a/b", "a b", "é", "a\u0000"];
  for (const name of names) {
    const rec = edit(full(), "tools[2].name", (p, k) => (p[k] = name));
    ok((await refusal(rec, "docs")).includes(" at tools[2].name: expected a string matching"));
  }
  equal(await refusal(edit(full(), "tools[2].name", (p, k) => (p[k] = "a".repeat(128)))), "");
  equal(await refusal(edit(full(), "tools[2].name", (p, k) => (p[k] = ".a.b."))), "");
  for (const entry of [null, [], "t", 1]) {
    ok((await refusal(edit(full(), "tools[2]", (p, k) => (p[k] = entry)))).includes("tools[2]:"));
  }
  ok((await refusal({ ...full(), tools: { 0: {} } })).includes("at tools: expected an array"));
  ok((await refusal({ ...full(), tools: [[]] })).includes("at tools[0]: expected an object"));
  const schema = edit(full(), "tools[0].inputSchema", (p, k) => (p[k] = ["type"]));
  ok((await refusal(schema)).includes("at tools[0].inputSchema: expected an object"));
});

Deno.test("read() refuses malformed hashes, digests and fingerprints", async () => {
  const bad: [string, unknown][] = [
    ["wasmHash", `blake3:${"A".repeat(64)}`],
    ["wasmHash", `blake3:${"a".repeat(63)}`],
    ["wasmHash", `blake3:${"a".repeat(65)}`],
    ["wasmHash", `sha256:${"a".repeat(64)}`],
    ["wasmHash", ` blake3:${"a".repeat(64)}`],
    ["wasmHash", `blake3:${"a".repeat(64)}\n`],
    ["manifestHash", null],
    ["manifestHash", "blake3:"],
    ["publisher.digest", `blake3:${"0".repeat(64)}`],
    ["publisher.digest", `sha256:${"g".repeat(64)}`],
    ["wasmFingerprint", "1:2:3:4"],
    ["wasmFingerprint", "1:2:3:4:5:6"],
    ["wasmFingerprint", "1:2:3:4:x"],
    ["wasmFingerprint", "--1:2:3:4:5"],
    ["v", 2],
    ["v", "1"],
    ["scope", "User"],
    ["env.KEY.type", "number"],
  ];
  for (const [path, value] of bad) {
    const reason = await refusal(edit(full(), path, (p, k) => (p[k] = value)));
    ok(reason.includes(` at ${path}: expected `), `${path}: ${reason}`);
  }
});

Deno.test("read() drops __proto__ from env and inputSchema and never takes a prototype", async () => {
  const json = JSON.stringify(full())
    .replace('"env":{', '"env":{"__proto__":{"polluted":true},')
    .replace('"inputSchema":{}', '"inputSchema":{"__proto__":{"polluted":true},"constructor":1}');
  const read = await plant(JSON.parse(json));
  ok(read.ok, read.ok ? "" : read.reason);
  deepEqual(Object.keys(read.record.env), ["KEY"]);
  deepEqual(Object.keys(read.record.tools[0]!.inputSchema), ["constructor"]);
  equal(Object.getPrototypeOf(read.record.env), Object.prototype);
  equal(Object.getPrototypeOf(read.record.tools[0]!.inputSchema), Object.prototype);
  equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("read() refuses a record that is not an object and never crashes on its shape", async () => {
  for (const rec of [null, [], "r", 1, true, [full()]]) {
    ok((await refusal(rec)).startsWith("its fields do not validate (Cannot accept"), `${rec}`);
  }
  let deep: unknown = "x";
  for (let i = 0; i < 50; i++) deep = { d: deep };
  ok((await refusal({ ...full(), workspace: deep })).includes("at workspace.d: expected no"));
  ok((await refusal({ ...full(), env: { K: deep } })).includes("at env.K.d: expected no"));
  const read = await plant(edit(full(), "tools[0].inputSchema", (p, k) => (p[k] = { deep })));
  ok(read.ok, "a deep input schema is kept, not walked");
});

Deno.test("a 1 MB record reads back whole, and a 1 MB bad field is refused briefly", async () => {
  const tools = Array.from({ length: 2_000 }, (_, i) => ({
    name: `tool_${i}`,
    description: "d".repeat(500),
    inputSchema: { type: "object", properties: { [`p${i}`]: { type: "string" } } },
  }));
  const big = { ...full(), tools };
  ok(JSON.stringify(big).length > 1_000_000);
  const read = await plant(big);
  ok(read.ok, read.ok ? "" : read.reason);
  deepEqual(read.record, big);
  const late = { ...big, tools: [...tools, { ...tools[0]!, name: "a..b" }] };
  ok((await refusal(late)).includes(" at tools[2000].name: expected "));
  const reason = await refusal({ ...full(), manifestHash: "x".repeat(1_000_000) });
  ok(reason.includes(" at manifestHash: expected "), reason);
  ok(reason.length < 300, `${reason.length}`);
});

Deno.test("write() throws a TypeError naming the field of an invalid record", async () => {
  using store = await openStore(":memory:");
  const records = new InstallRecords(store, signerFromSeed(generateSeed()));
  const bad = edit(full(), "tools[2].name", (p, k) => (p[k] = "a..b")) as InstallRecord;
  await rejects(
    () => records.write(bad),
    (e: unknown) =>
      e instanceof TypeError &&
      e.message ===
        "Cannot accept the install record at tools[2].name: expected a string matching " +
          '/^[A-Za-z0-9_.-]{1,128}$/ without "..", current value is "a..b"',
  );
  equal(await records.read("workspace", "/ws", "docs"), null);
});
