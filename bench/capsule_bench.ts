/**
 * Capsule engine benchmarks (issue 4 targets): compile of examples/hello once the engine is
 * built, cold start (instantiate + first tool call), warm tool call, host-call overhead and
 * BLAKE3 of a 1 MiB capsule. Runs on the same thread under @extism/extism rc13.
 *
 * Two layers are measured: the bare Extism plugin (stub host functions), and the runtime's
 * `CapsuleInstance` with the real `hostFunctions`, where a gated host call (`fs-exists`) passes
 * confinement and then a real interceptor (`openGate`, an allow rule, a file-backed KV store and
 * audit log) or, for comparison, an interceptor stand-in that allows without auditing.
 * "Batched" is how `callCapsuleTool` runs: host calls queue their audit entries in the tool
 * call's AuditBatch, flushed (one group commit) at the end of the call. Writes (`write-file`)
 * first write their entry ahead to the audit journal (a `write()`, no fsync), so a crash before
 * the flush still leaves the record. Each group shows the calls alone and with the flush.
 *
 * Issue 15 groups: "runtime path" (load + verify + instantiate + first call: cold from the
 * bytes, as every call paid before, and warm, an installed capsule whose fingerprint matches its
 * record and whose module this process already verified and compiled; the bare precompiled
 * plugin is the floor), and "blake3 …" (hash-wasm, blake3-jit and runtime/crypto/blake3.ts,
 * which picks per size, on an audit entry's 300 bytes, 4 KiB, 1 MiB and 64 MiB).
 *
 * Cold from bytes against ComponentizeJS (issue 15 target: ≥ 30× faster): ComponentizeJS is not
 * run here (it needs its own toolchain and network); its cold start is the recorded
 * {@link COMPONENTIZE_JS_COLD_MS}. On load, this file times the runtime path cold from bytes
 * (median of {@link RATIO_ROUNDS} rounds) and prints the ratio. The "cold parts" group shows
 * the alternatives measured for it: BLAKE3 then the synchronous compile (what loader.ts did
 * before), async `WebAssembly.compile` (slower, even overlapped with BLAKE3), BLAKE3 then V8's
 * streaming compile (what loader.ts does: only verified bytes are compiled), the streaming
 * compile started before BLAKE3 to overlap the two (no faster), and the read with and without
 * async file calls. The capsule's data segments are packed by the toolchain
 * (toolchain/engine/pack_data.ts); "… Wizer's segments" uses the same capsule as Wizer wrote it.
 * The printed ratio is measured for the path as it is now and as it was before this change
 * (synchronous compile, Wizer's segments), interleaved.
 */
import createPlugin, { type CallContext } from "@extism/extism";
import { blake3Hex, loadFastBlake3 } from "../runtime/crypto/blake3.ts";
import { compileCapsule } from "../toolchain/compile.ts";
import { buildEngine } from "../toolchain/engine/build.ts";
import { openStore } from "../runtime/storage/mod.ts";
import { generateSeed, signerFromSeed } from "../runtime/crypto/mod.ts";
import { AuditLog } from "../runtime/audit/mod.ts";
import { type AstridConfig, DEFAULT_CONFIG } from "../runtime/config/mod.ts";
import { openGate } from "../runtime/security/gate.ts";
import type { Allowed, SecurityInterceptor } from "../runtime/security/interceptor.ts";
import type { AuditBatch } from "../runtime/security/audit_batch.ts";
import { CapsuleInstance, type HostEnv, loadCapsule, ModuleCache } from "../runtime/capsule/mod.ts";
import { fileFingerprint } from "../runtime/capsule/loader.ts";
import { createBLAKE3 } from "hash-wasm";
import { hash as blake3Jit } from "blake3-jit";

// The capsule loader awaits this before it hashes a wasm (runtime/crypto/blake3.ts): BLAKE3 of a
// large buffer by blake3-jit, as every hash below measures.
await loadFastBlake3();
import { ALL_HOST_FUNCTION_NAMES } from "../toolchain/engine/abi.ts";

const root = decodeURIComponent(new URL("../", import.meta.url).pathname);
const engine = await Deno.readFile((await buildEngine({ log: () => {} })).path);
const out = await Deno.makeTempDir({ prefix: "astrid-bench-" });

const sdk = `${root}toolchain/sdk/mod.ts`;
const project = await Deno.makeTempDir({ prefix: "astrid-bench-src-" });
await Deno.writeTextFile(
  `${project}/Capsule.toml`,
  '[package]\nname = "bench"\nversion = "0.1.0"\n[capabilities]\nfs_read = ["."]\nfs_write = ["w"]\nkv = true\n',
);
await Deno.writeTextFile(
  `${project}/mod.ts`,
  `import { defineCapsule } from "${sdk}";
const host = (globalThis as any).__astrid_host;
export default defineCapsule({ tools: {
  echo: { description: "echo", run: (a: unknown) => a },
  host100: { description: "100 host calls", run: () => {
    for (let i = 0; i < 100; i++) host["kv-get"]('{"key":"k"}');
    return 100;
  } },
  log100: { description: "100 log calls (not gated)", run: () => {
    for (let i = 0; i < 100; i++) host["log"]('{"message":"m"}');
    return 100;
  } },
  exists100: { description: "100 fs-exists calls (gated)", run: () => {
    for (let i = 0; i < 100; i++) host["fs-exists"]('{"path":"a.txt"}');
    return 100;
  } },
  mkdir100: { description: "100 fs-mkdir calls on an existing folder (gated, effectful)", run: () => {
    for (let i = 0; i < 100; i++) host["fs-mkdir"]('{"path":"w/d","recursive":true}');
    return 100;
  } },
  write100: { description: "100 write-file calls (gated, effectful)", run: () => {
    for (let i = 0; i < 100; i++) host["write-file"]('{"path":"w/b.txt","content":"b"}');
    return 100;
  } },
} });`,
);
const compiled = await compileCapsule(project, {
  out: `${out}/bench`,
  engine,
  typeCheck: false,
});
const module = new WebAssembly.Module(await Deno.readFile(compiled.wasmPath));

const user: Record<string, (cp: CallContext, ...args: bigint[]) => unknown> = {};
for (const name of ALL_HOST_FUNCTION_NAMES) {
  user[name] = (cp: CallContext) => cp.store('{"ok":null}');
}
user["astrid-deadline"] = () => 30_000n;
user["astrid-random-seed"] = () => 9n;
user["astrid-now"] = () => BigInt(Date.now()) * 1000n;
const options = { functions: { "extism:host/user": user } };
const echo = JSON.stringify({ name: "echo", args: { a: 1 } });
const warm = await createPlugin({ wasm: [{ module }] }, options);
await warm.call("call_tool", echo);

Deno.bench(
  "compile examples/hello (engine built, without type-check)",
  { group: "compile" },
  async () => {
    await compileCapsule(`${root}examples/hello`, {
      out: `${out}/hello`,
      engine,
      typeCheck: false,
    });
  },
);

let copies = 0;
Deno.bench(
  "compile a fresh copy of examples/hello (type-check included, nothing cached for it)",
  { group: "compile", n: 20, warmup: 2 },
  async (b) => {
    const copy = `${out}/hello-copy-${copies++}`;
    await Deno.mkdir(`${copy}/src`, { recursive: true });
    await Deno.copyFile(`${root}examples/hello/Capsule.toml`, `${copy}/Capsule.toml`);
    await Deno.copyFile(`${root}examples/hello/src/mod.ts`, `${copy}/src/mod.ts`);
    b.start();
    await compileCapsule(copy, { out: `${copy}/dist`, engine });
    b.end();
  },
);

Deno.bench(
  "cold start: instantiate + first tool call",
  { group: "call" },
  async () => {
    const plugin = await createPlugin({ wasm: [{ module }] }, options);
    await plugin.call("call_tool", echo);
  },
);

Deno.bench(
  "warm tool call (echo)",
  { group: "call", baseline: true },
  async () => {
    await warm.call("call_tool", echo);
  },
);

Deno.bench(
  "tool making 100 host calls (overhead = (this - echo) / 100)",
  { group: "call" },
  async () => {
    await warm.call("call_tool", JSON.stringify({ name: "host100", args: {} }));
  },
);

// ---- The runtime layer: CapsuleInstance, real host functions, real or stand-in interceptor ----
const cache = new ModuleCache();
const loaded = await loadCapsule(`${out}/bench`, { requireHash: true, cache });
const state = await Deno.makeTempDir({ prefix: "astrid-bench-kv-" });
const store = await openStore(`${state}/astrid.kv`);
const signer = signerFromSeed(generateSeed());
// As the CLI opens it: with the write-ahead journal next to the KV file.
const audit = await AuditLog.open(store, signer, {
  journalDir: `${state}/astrid.kv-audit-journal`,
});
const workspaceRoot = await Deno.realPath(
  await Deno.makeTempDir({ prefix: "astrid-bench-ws-" }),
);
await Deno.writeTextFile(`${workspaceRoot}/a.txt`, "a");
await Deno.mkdir(`${workspaceRoot}/w`);
// The bench's folders go when it ends (Deno.bench has no teardown hook).
globalThis.addEventListener("unload", () => {
  for (const dir of [out, project, state, workspaceRoot]) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* already gone */ }
  }
});
const config: AstridConfig = {
  ...DEFAULT_CONFIG,
  permissions: { ...DEFAULT_CONFIG.permissions, allow: ["capsule://bench/*"] },
};
const { interceptor } = await openGate({
  store,
  signer,
  audit,
  config,
  workspaceRoot,
  workspaceId: "ws-bench",
  sessionId: "s-bench",
  frontend: null,
});
// The same gate over an in-memory KV: what the checks cost without durable writes.
const memStore = await openStore(":memory:");
const memAudit = await AuditLog.open(memStore, signer);
const { interceptor: memInterceptor } = await openGate({
  store: memStore,
  signer,
  audit: memAudit,
  config,
  workspaceRoot,
  workspaceId: "ws-bench",
  sessionId: "s-bench-mem",
  frontend: null,
});
const allowAll: Allowed = {
  outcome: "allowed",
  proof: "bench",
  auditSeq: 0,
  complete: () => Promise.resolve(),
};
/** Allows everything without auditing: the "ungated" baseline for the same host call. */
const ungated = {
  intercept: () => Promise.resolve(allowAll),
} as unknown as SecurityInterceptor;
const env = (gate: SecurityInterceptor, auditBatch?: AuditBatch): HostEnv => ({
  capsule: "bench",
  manifest: loaded.manifest,
  workspaceRoot,
  interceptor: gate,
  store,
  config: {},
  secretKeys: new Set(),
  auditBatch,
});
const limits = { timeoutMs: 30_000, memoryMb: 64 };
const gated = await CapsuleInstance.create(loaded, env(interceptor), limits);
const open = await CapsuleInstance.create(loaded, env(ungated), limits);
const gatedMem = await CapsuleInstance.create(
  loaded,
  env(memInterceptor),
  limits,
);
const batch = interceptor.openBatch();
const gatedBatched = await CapsuleInstance.create(loaded, env(interceptor, batch), limits);
await gatedBatched.callTool("exists100", {});
await batch.flush();
await gated.callTool("echo", { a: 1 });
await open.callTool("echo", { a: 1 });

Deno.bench(
  "CapsuleInstance cold start: loadCapsule (cached module) + create + first call + close",
  { group: "instance" },
  async () => {
    const l = await loadCapsule(`${out}/bench`, { requireHash: true, cache });
    const instance = await CapsuleInstance.create(l, env(ungated), limits);
    await instance.callTool("echo", { a: 1 });
    await instance.close();
  },
);

Deno.bench(
  "CapsuleInstance cold start: create + first call + close (module loaded)",
  { group: "instance" },
  async () => {
    const instance = await CapsuleInstance.create(loaded, env(ungated), limits);
    await instance.callTool("echo", { a: 1 });
    await instance.close();
  },
);

Deno.bench("CapsuleInstance warm call (echo)", {
  group: "instance",
  baseline: true,
}, async () => {
  await open.callTool("echo", { a: 1 });
});

Deno.bench(
  "100 log calls through hostFunctions (no gate)",
  { group: "host" },
  async () => {
    await open.callTool("log100", {});
  },
);

Deno.bench(
  "100 fs-exists through hostFunctions, stand-in interceptor (ungated)",
  { group: "host", baseline: true },
  async () => {
    await open.callTool("exists100", {});
  },
);

Deno.bench(
  "100 fs-exists through hostFunctions + real interceptor (allow rule, 2 audit entries each)",
  { group: "host" },
  async () => {
    await gated.callTool("exists100", {});
  },
);

Deno.bench(
  "gated fs-exists host call overhead (batched): 100 calls + the end-of-call flush",
  { group: "host" },
  async () => {
    await gatedBatched.callTool("exists100", {});
    await batch.flush();
  },
);

Deno.bench(
  "gated fs-exists host call overhead (batched): 100 calls, flush not timed",
  { group: "host" },
  async (b) => {
    b.start();
    await gatedBatched.callTool("exists100", {});
    b.end();
    await batch.flush();
  },
);

Deno.bench(
  "audit flush of 100 queued fs-exists entries (one group commit)",
  { group: "host" },
  async (b) => {
    await gatedBatched.callTool("exists100", {});
    b.start();
    await batch.flush();
    b.end();
  },
);

for (
  const [fn, tool, what] of [
    ["write-file", "write100", ""],
    ["fs-mkdir", "mkdir100", " (existing folder)"],
  ] as const
) {
  const group = `host-${fn}`;
  Deno.bench(
    `100 ${fn}${what} through hostFunctions, stand-in interceptor (ungated)`,
    { group, baseline: true },
    async () => {
      await open.callTool(tool, {});
    },
  );
  Deno.bench(
    `gated ${fn} host call overhead (batched, written ahead): 100 calls, flush not timed`,
    { group },
    async (b) => {
      b.start();
      await gatedBatched.callTool(tool, {});
      b.end();
      await batch.flush();
    },
  );
  Deno.bench(
    `gated ${fn} host call overhead (batched, written ahead): 100 calls + the flush`,
    { group },
    async () => {
      await gatedBatched.callTool(tool, {});
      await batch.flush();
    },
  );
}

Deno.bench(
  "100 write-file through hostFunctions + real interceptor, unbatched (durable entry + outcome each)",
  { group: "host-write-file" },
  async () => {
    await gated.callTool("write100", {});
  },
);

Deno.bench(
  "100 fs-exists through hostFunctions + real interceptor over an in-memory KV",
  { group: "host" },
  async () => {
    await gatedMem.callTool("exists100", {});
  },
);

Deno.bench(
  "interceptor alone: intercept + complete of one capsule_file_access (allow rule)",
  { group: "interceptor" },
  async () => {
    const d = await interceptor.intercept({
      kind: "capsule_file_access",
      capsule: "bench",
      capability: "fs_exists",
      path: `${workspaceRoot}/a.txt`,
    }, { capsule: "bench" });
    if (d.outcome !== "allowed") {
      throw new Error(`Cannot bench: current value is ${d.outcome}`);
    }
    await d.complete({ ok: true });
  },
);

const gateBatch = interceptor.openBatch();
for (const [capability, writeAhead] of [["fs_exists", false], ["write_file", true]] as const) {
  Deno.bench(
    `interceptor alone: ${capability} batched${
      writeAhead ? " + written ahead to the journal" : ""
    } (intercept + complete)`,
    { group: "interceptor" },
    async (b) => {
      if (gateBatch.pending >= 400) await gateBatch.flush();
      b.start();
      const d = await interceptor.intercept({
        kind: "capsule_file_access",
        capsule: "bench",
        capability,
        path: `${workspaceRoot}/w/b.txt`,
      }, { capsule: "bench", auditBatch: gateBatch, writeAhead });
      if (d.outcome !== "allowed") {
        throw new Error(`Cannot bench: current value is ${d.outcome}`);
      }
      await d.complete({ ok: true });
      b.end();
    },
  );
}

const capsule = crypto.getRandomValues(new Uint8Array(1 << 16));
const mib = new Uint8Array(1 << 20);
for (let i = 0; i < 16; i++) mib.set(capsule, i << 16);
Deno.bench("BLAKE3 of a 1 MiB capsule", { group: "hash" }, () => {
  blake3Hex(mib);
});

// ---- Issue 15: the capsule runtime path, cold and warm ----
const wasmPath = `${out}/bench/capsule.wasm`;
const pinned = loaded.wasm!.hash;
const fingerprint = fileFingerprint(await Deno.lstat(wasmPath));
const pathCache = new ModuleCache();
const deferred = {
  requireHash: true,
  pinnedWasm: pinned,
  cache: pathCache,
  defer: { fingerprint },
};
await (await loadCapsule(`${out}/bench`, deferred)).wasm!.module(); // this process's full hash
Deno.bench(
  "runtime path, cold from bytes: read + BLAKE3 + compile + instantiate + first call",
  { group: "runtime path" },
  async () => {
    const l = await loadCapsule(`${out}/bench`, { requireHash: true, pinnedWasm: pinned });
    const instance = await CapsuleInstance.create(l, env(ungated), limits);
    await instance.callTool("echo", { a: 1 });
    await instance.close();
  },
);
Deno.bench(
  "runtime path, before issue 15: read + BLAKE3 + cached module + instantiate + first call",
  { group: "runtime path" },
  async () => {
    const l = await loadCapsule(`${out}/bench`, { requireHash: true, pinnedWasm: pinned, cache });
    const instance = await CapsuleInstance.create(l, env(ungated), limits);
    await instance.callTool("echo", { a: 1 });
    await instance.close();
  },
);
Deno.bench(
  "runtime path, warm: manifest + fingerprint + cached module + instantiate + first call",
  { group: "runtime path" },
  async () => {
    const l = await loadCapsule(`${out}/bench`, deferred);
    const instance = await CapsuleInstance.create(l, env(ungated), limits);
    await instance.callTool("echo", { a: 1 });
    await instance.close();
  },
);
Deno.bench(
  "bare precompiled plugin: instantiate + first call (the floor)",
  { group: "runtime path", baseline: true },
  async () => {
    const plugin = await createPlugin({ wasm: [{ module }] }, options);
    await plugin.call("call_tool", echo);
    await plugin.close();
  },
);
const wasmBytes = await Deno.readFile(wasmPath);
/** The same capsule as Wizer writes it, before its data segments are packed. */
const unpacked = await Deno.readFile(
  (await compileCapsule(project, {
    out: `${out}/unpacked`,
    engine,
    typeCheck: false,
    packData: false,
  })).wasmPath,
);
const unpackedModule = new WebAssembly.Module(unpacked);

/**
 * ComponentizeJS's cold start from bytes, in ms, as issue 15 recorded it: on main (fb88db7) the
 * capsule runtime path (load + hash + instantiate + first call) took 4.75 ms and was measured
 * 16× faster than ComponentizeJS, so 4.75 × 16 = 76 ms.
 */
const COMPONENTIZE_JS_COLD_MS = 4.75 * 16;
/** Rounds of the cold-from-bytes timing behind the printed ratio. */
const RATIO_ROUNDS = 100;
/**
 * The cold path as loader.ts ran it before (issue 15, this round): the manifest as a load
 * reads it, then the wasm read, BLAKE3-checked and compiled synchronously, with Wizer's own
 * data segments; then the same instantiate + first call + close.
 */
async function coldBefore(): Promise<void> {
  const l = await loadCapsule(`${out}/unpacked`, {
    requireHash: true,
    pinnedWasm: unpackedPin,
    defer: { fingerprint: unpackedFingerprint },
  });
  const bytes = Deno.readFileSync(l.wasm!.path);
  if (`blake3:${blake3Hex(bytes)}` !== unpackedPin) throw new Error("Cannot bench: hash");
  const module = new WebAssembly.Module(bytes);
  const loadedBefore = { ...l, wasm: { ...l.wasm!, module: () => Promise.resolve(module) } };
  const instance = await CapsuleInstance.create(loadedBefore, env(ungated), limits);
  await instance.callTool("echo", { a: 1 });
  await instance.close();
}
/** The cold path as loader.ts runs it now: read, BLAKE3, streaming compile, packed segments. */
async function coldNow(): Promise<void> {
  const l = await loadCapsule(`${out}/bench`, { requireHash: true, pinnedWasm: pinned });
  const instance = await CapsuleInstance.create(l, env(ungated), limits);
  await instance.callTool("echo", { a: 1 });
  await instance.close();
}
const unpackedPin = `blake3:${blake3Hex(unpacked)}`;
const unpackedFingerprint = fileFingerprint(await Deno.lstat(`${out}/unpacked/capsule.wasm`));
{
  // Interleaved, so both see the same load on a shared machine.
  const now: number[] = [];
  const before: number[] = [];
  for (let i = 0; i < RATIO_ROUNDS + 5; i++) {
    for (const [run, times] of [[coldNow, now], [coldBefore, before]] as const) {
      const start = performance.now();
      await run();
      if (i >= 5) times.push(performance.now() - start);
    }
  }
  const median = (t: number[]) => t.sort((a, b) => a - b)[t.length >> 1]!;
  for (const [what, times] of [["now", now], ["before (sync compile, Wizer's segments)", before]]) {
    const ms = median(times as number[]);
    console.log(
      `cold from bytes (read + BLAKE3 + compile + instantiate + first call), ${what}: median ` +
        `${ms.toFixed(2)} ms of ${RATIO_ROUNDS}; ComponentizeJS (recorded in issue 15) ` +
        `${COMPONENTIZE_JS_COLD_MS} ms: ${(COMPONENTIZE_JS_COLD_MS / ms).toFixed(1)}× faster ` +
        "(target ≥ 30×)",
    );
  }
}
Deno.bench(`cold from bytes, parts: BLAKE3 of the ${wasmBytes.length}-byte wasm`, {
  group: "cold parts",
}, () => {
  blake3Hex(wasmBytes);
});
Deno.bench("cold from bytes, parts: new WebAssembly.Module", { group: "cold parts" }, () => {
  new WebAssembly.Module(wasmBytes);
});
Deno.bench(
  "cold from bytes, parts: await WebAssembly.compile (async, off-thread)",
  { group: "cold parts" },
  async () => {
    await WebAssembly.compile(wasmBytes);
  },
);
Deno.bench(
  "cold from bytes, parts: async compile overlapped with BLAKE3",
  { group: "cold parts" },
  async () => {
    const compiling = WebAssembly.compile(wasmBytes);
    blake3Hex(wasmBytes);
    await compiling;
  },
);
Deno.bench(
  "cold from bytes, parts: BLAKE3, then new WebAssembly.Module (loader.ts before)",
  { group: "cold parts" },
  () => {
    blake3Hex(wasmBytes);
    new WebAssembly.Module(wasmBytes);
  },
);
const streamed = (bytes: Uint8Array<ArrayBuffer>) =>
  WebAssembly.compileStreaming(
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes);
          controller.close();
        },
      }),
      { headers: { "content-type": "application/wasm" } },
    ),
  );
Deno.bench(
  "cold from bytes, parts: streaming compile alone",
  { group: "cold parts" },
  async () => {
    await streamed(wasmBytes);
  },
);
Deno.bench(
  "cold from bytes, parts: BLAKE3, then streaming compile (what loader.ts does)",
  { group: "cold parts", baseline: true },
  async () => {
    blake3Hex(wasmBytes);
    await streamed(wasmBytes);
  },
);
Deno.bench(
  "cold from bytes, parts: streaming compile started before BLAKE3 (overlapped)",
  { group: "cold parts" },
  async () => {
    const compiling = streamed(wasmBytes);
    blake3Hex(wasmBytes);
    await compiling;
  },
);
Deno.bench(
  "cold from bytes, parts: BLAKE3, then streaming compile, Wizer's segments",
  { group: "cold parts" },
  async () => {
    blake3Hex(unpacked);
    await streamed(unpacked);
  },
);
Deno.bench(
  "cold from bytes, parts: instantiate + first call + close, packed segments",
  { group: "cold parts, instantiate" },
  async () => {
    const plugin = await createPlugin({ wasm: [{ module }] }, options);
    await plugin.call("call_tool", echo);
    await plugin.close();
  },
);
Deno.bench(
  "cold from bytes, parts: instantiate + first call + close, Wizer's segments",
  { group: "cold parts, instantiate" },
  async () => {
    const plugin = await createPlugin({ wasm: [{ module: unpackedModule }] }, options);
    await plugin.call("call_tool", echo);
    await plugin.close();
  },
);
Deno.bench(
  "cold from bytes, parts: read the wasm, async calls (open + stat + read)",
  { group: "cold parts" },
  async () => {
    using file = await Deno.open(wasmPath);
    const into = new Uint8Array((await file.stat()).size);
    for (let at = 0; at < into.length;) at += (await file.read(into.subarray(at))) ?? into.length;
  },
);
Deno.bench(
  "cold from bytes, parts: read the wasm, sync calls (what loader.ts does)",
  { group: "cold parts" },
  () => {
    using file = Deno.openSync(wasmPath);
    const into = new Uint8Array(file.statSync().size);
    for (let at = 0; at < into.length;) at += file.readSync(into.subarray(at)) ?? into.length;
  },
);

// ---- Issue 15: BLAKE3 implementations side by side ----
const hashWasm = await createBLAKE3(256);
const filled = (n: number) => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
};
for (
  const [label, size] of [["300 B", 300], ["4 KiB", 4096], ["1 MiB", 1 << 20], [
    "64 MiB",
    64 << 20,
  ]] as const
) {
  const buf = filled(size);
  const few = size >= 64 << 20 ? { n: 10, warmup: 2 } : {};
  const group = `blake3 ${label}`;
  Deno.bench(`hash-wasm, ${label}`, { group, baseline: true, ...few }, () => {
    hashWasm.init();
    hashWasm.update(buf);
    hashWasm.digest("binary");
  });
  Deno.bench(`blake3-jit hash(), ${label}`, { group, ...few }, () => {
    blake3Jit(buf);
  });
  Deno.bench(`runtime blake3Hex (picks per size), ${label}`, { group, ...few }, () => {
    blake3Hex(buf);
  });
}
