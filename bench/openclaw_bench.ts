/**
 * OpenClaw plugin benchmarks, on the largest fixture (testdata/openclaw/heavy: axios, openapi-fetch,
 * zod, yaml and TypeBox bundled with the plugin-sdk shim):
 *
 * - compile: `compileCapsule` of the plugin folder with the engine already built (detect, bundle
 *   with the shim, register(api) at compile time, Wizer, Capsule.toml);
 * - cold start: from the capsule's bytes, compile the wasm module, `CapsuleInstance.create`, run
 *   the first tool call (`inventory`: an axios GET through the gated `http-request` host function
 *   to a 127.0.0.1 service, YAML parse, zod check) and close; and the same with the module
 *   already compiled, which is what the runtime's module cache gives every later call;
 * - a warm call of the same tool on a live instance, as the baseline.
 *
 * The gate is real (`openGate`, an allow rule for `capsule://heavy/*`, an in-memory KV and
 * audit log); the service answers from memory.
 */
import { buildEngine } from "../toolchain/engine/build.ts";
import { compileCapsule } from "../toolchain/compile.ts";
import { openStore } from "../runtime/storage/mod.ts";
import { generateSeed, signerFromSeed } from "../runtime/crypto/mod.ts";
import { AuditLog } from "../runtime/audit/mod.ts";
import { type AstridConfig, DEFAULT_CONFIG } from "../runtime/config/mod.ts";
import { openGate } from "../runtime/security/gate.ts";
import {
  CapsuleInstance,
  type HostEnv,
  loadCapsule,
  type LoadedCapsule,
} from "../runtime/capsule/mod.ts";

const HEAVY = decodeURIComponent(new URL("../testdata/openclaw/heavy", import.meta.url).pathname);
const engine = await Deno.readFile((await buildEngine({ log: () => {} })).path);
const out = await Deno.makeTempDir({ prefix: "astrid-oc-bench-" });
globalThis.addEventListener("unload", () => Deno.removeSync(out, { recursive: true }));

const INVENTORY =
  "warehouse: north\nitems:\n  - sku: A-1\n    count: 3\n  - sku: B-2\n    count: 4\n";
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
  const path = new URL(req.url).pathname;
  if (path === "/inventory/north.yaml") return new Response(INVENTORY);
  if (path === "/items/A-1") return Response.json({ sku: "A-1", count: 3 });
  return new Response("not found", { status: 404 });
});
globalThis.addEventListener("unload", () => void server.shutdown());

const compiled = await compileCapsule(HEAVY, { out: `${out}/heavy`, engine, typeCheck: false });
const bytes = await Deno.readFile(compiled.wasmPath);
const loaded = await loadCapsule(`${out}/heavy`, { requireHash: true });

const store = await openStore(":memory:");
const signer = signerFromSeed(generateSeed());
const audit = await AuditLog.open(store, signer);
const workspaceRoot = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-oc-ws-" }));
globalThis.addEventListener("unload", () => Deno.removeSync(workspaceRoot, { recursive: true }));
const config: AstridConfig = {
  ...DEFAULT_CONFIG,
  permissions: { ...DEFAULT_CONFIG.permissions, allow: ["capsule://heavy/*"] },
};
const { interceptor } = await openGate({
  store,
  signer,
  audit,
  config,
  workspaceRoot,
  workspaceId: "ws-oc-bench",
  sessionId: "s-oc-bench",
  frontend: null,
});
const env: HostEnv = {
  capsule: "heavy",
  manifest: loaded.manifest,
  workspaceRoot,
  interceptor,
  store,
  config: { baseUrl: `http://127.0.0.1:${server.addr.port}` },
  secretKeys: new Set(),
};
const limits = { timeoutMs: 30_000, memoryMb: 64 };
const args = { warehouse: "north" };

/** Fails the bench if the tool did not answer with the inventory's summary. */
function check(result: unknown): void {
  if (!JSON.stringify(result).includes("total: 7")) {
    throw new Error(`Cannot bench: current result is ${JSON.stringify(result)}`);
  }
}

const warm = await CapsuleInstance.create(loaded, env, limits);
check(await warm.callTool("inventory", args));

Deno.bench(
  `compile testdata/openclaw/heavy (${compiled.bytes} bytes of wasm; engine built)`,
  { group: "compile", n: 10, warmup: 1 },
  async () => {
    await compileCapsule(HEAVY, { out: `${out}/heavy-again`, engine, typeCheck: false });
  },
);

/**
 * `bytes` with a custom section named `bench-<n>` appended: the same program, but bytes V8 has
 * not seen, so its native module cache cannot hand back an earlier compile.
 */
let copies = 0;
function freshBytes(): Uint8Array<ArrayBuffer> {
  const name = new TextEncoder().encode(`bench-${copies++}`);
  const section = new Uint8Array([0, name.length + 1, name.length, ...name]);
  const out = new Uint8Array(bytes.length + section.length);
  out.set(bytes);
  out.set(section, bytes.length);
  return out;
}

Deno.bench(
  "heavy cold start from bytes: compile module + create + first inventory call + close",
  { group: "start" },
  async () => {
    const module = new WebAssembly.Module(freshBytes());
    const fresh: LoadedCapsule = {
      ...loaded,
      wasm: { ...loaded.wasm!, module: () => Promise.resolve(module) },
    };
    const instance = await CapsuleInstance.create(fresh, env, limits);
    check(await instance.callTool("inventory", args));
    await instance.close();
  },
);

Deno.bench(
  "heavy cold start, module compiled (cached): create + first inventory call + close",
  { group: "start" },
  async () => {
    const instance = await CapsuleInstance.create(loaded, env, limits);
    check(await instance.callTool("inventory", args));
    await instance.close();
  },
);

Deno.bench(
  "heavy warm inventory call (live instance)",
  { group: "start", baseline: true },
  async () => {
    check(await warm.callTool("inventory", args));
  },
);
