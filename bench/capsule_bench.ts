/**
 * Capsule engine benchmarks (issue 4 targets): compile of examples/hello once the engine is
 * built, cold start (instantiate + first tool call), warm tool call, host-call overhead and
 * BLAKE3 of a 1 MiB capsule. Runs on the same thread under @extism/extism rc13.
 */
import createPlugin, { type CallContext } from "@extism/extism";
import { blake3Hex } from "../runtime/crypto/blake3.ts";
import { compileCapsule } from "../toolchain/compile.ts";
import { buildEngine } from "../toolchain/engine/build.ts";

const root = decodeURIComponent(new URL("../", import.meta.url).pathname);
const engine = await Deno.readFile((await buildEngine({ log: () => {} })).path);
const out = await Deno.makeTempDir({ prefix: "astrid-bench-" });

const sdk = `${root}toolchain/sdk/mod.ts`;
const project = await Deno.makeTempDir({ prefix: "astrid-bench-src-" });
await Deno.writeTextFile(
  `${project}/Capsule.toml`,
  '[package]\nname = "bench"\nversion = "0.1.0"\n',
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
} });`,
);
const compiled = await compileCapsule(project, { out: `${out}/bench`, engine, typeCheck: false });
const module = new WebAssembly.Module(await Deno.readFile(compiled.wasmPath));

const user: Record<string, (cp: CallContext, ...args: bigint[]) => unknown> = {};
for (
  const name of [
    "read-file",
    "write-file",
    "http-request",
    "fs-exists",
    "fs-mkdir",
    "fs-readdir",
    "fs-stat",
    "fs-unlink",
    "kv-get",
    "kv-set",
    "get-config",
    "log",
  ]
) user[name] = (cp: CallContext) => cp.store('{"ok":null}');
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

Deno.bench("cold start: instantiate + first tool call", { group: "call" }, async () => {
  const plugin = await createPlugin({ wasm: [{ module }] }, options);
  await plugin.call("call_tool", echo);
});

Deno.bench("warm tool call (echo)", { group: "call", baseline: true }, async () => {
  await warm.call("call_tool", echo);
});

Deno.bench(
  "tool making 100 host calls (overhead = (this - echo) / 100)",
  { group: "call" },
  async () => {
    await warm.call("call_tool", JSON.stringify({ name: "host100", args: {} }));
  },
);

const capsule = crypto.getRandomValues(new Uint8Array(1 << 16));
const mib = new Uint8Array(1 << 20);
for (let i = 0; i < 16; i++) mib.set(capsule, i << 16);
Deno.bench("BLAKE3 of a 1 MiB capsule", { group: "hash" }, () => {
  blake3Hex(mib);
});
