import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { parse as parseToml } from "smol-toml";
import createPlugin, { type CallContext, type Plugin } from "@extism/extism";
import { blake3Hex } from "../runtime/crypto/blake3.ts";
import { compileCapsule, CompileError, formatTypeErrors } from "./compile.ts";
import { buildEngine } from "./engine/build.ts";
import { ALL_HOST_FUNCTION_NAMES } from "./engine/abi.ts";

const HELLO = decodeURIComponent(new URL("../examples/hello", import.meta.url).pathname);
const SDK = decodeURIComponent(new URL("./sdk/mod.ts", import.meta.url).pathname);

let engine: Promise<Uint8Array> | undefined;
function engineBytes(): Promise<Uint8Array> {
  engine ??= buildEngine({ log: () => {} }).then((b) => Deno.readFile(b.path));
  return engine;
}

/** Instantiates a capsule with hosts that answer `{ok: ...}` from `replies` and record calls. */
async function instantiate(
  wasm: Uint8Array<ArrayBuffer>,
  replies: Record<string, (arg: Record<string, unknown>) => unknown | Promise<unknown>> = {},
): Promise<{ plugin: Plugin; calls: [string, unknown][] }> {
  const calls: [string, unknown][] = [];
  const user: Record<string, (cp: CallContext, ...args: bigint[]) => unknown> = {};
  for (const name of ALL_HOST_FUNCTION_NAMES) {
    const reply = replies[name];
    const handle = (cp: CallContext, arg: Record<string, unknown>, value: unknown) => {
      calls.push([name, arg]);
      return cp.store(JSON.stringify({ ok: value ?? null }));
    };
    user[name] = reply?.constructor.name === "AsyncFunction"
      ? async (cp: CallContext, off?: bigint) => {
        const arg = cp.read(off!)!.json();
        return handle(cp, arg, await reply(arg));
      }
      : (cp: CallContext, off?: bigint) => {
        const arg = cp.read(off!)!.json();
        return handle(cp, arg, reply?.(arg));
      };
  }
  user["astrid-deadline"] = () => 30_000n;
  user["astrid-random-seed"] = () => 3n;
  user["astrid-now"] = () => BigInt(Date.now()) * 1000n;
  const plugin = await createPlugin({ wasm: [{ module: new WebAssembly.Module(wasm) }] }, {
    functions: { "extism:host/user": user },
  });
  return { plugin, calls };
}

async function project(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "astrid-capsule-" });
  for (const [name, text] of Object.entries(files)) {
    const path = `${dir}/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, text.replaceAll("$SDK", SDK));
  }
  return dir;
}

Deno.test("compileCapsule() builds examples/hello into a working, hashed capsule", async () => {
  const engine = await engineBytes();
  const out = await Deno.makeTempDir();
  const lines: string[] = [];
  const res = await compileCapsule(HELLO, { out, engine, log: (l) => lines.push(l) });
  ok(res.bytes < 1_000_000, `capsule is ${res.bytes} bytes`);
  const wasm = await Deno.readFile(res.wasmPath);
  equal(res.hash, `blake3:${blake3Hex(wasm)}`);
  const manifest = parseToml(await Deno.readTextFile(res.manifestPath)) as {
    package: { name: string };
    component: { entrypoint: string; hash: string };
  };
  equal(manifest.package.name, "hello");
  deepEqual(manifest.component, { entrypoint: "capsule.wasm", hash: res.hash });
  ok(lines.some((l) => l.startsWith("compile: wizer:")), lines.join("\n"));
  ok(lines.some((l) => l.startsWith("compile: type-check")), lines.join("\n"));

  const { plugin } = await instantiate(wasm);
  const described = (await plugin.call("describe"))!.json();
  equal(described.tools[0].name, "greet");
  deepEqual(described.tools[0].input_schema.required, ["name"]);
  const out1 = await plugin.call(
    "call_tool",
    JSON.stringify({ name: "greet", args: { name: "Ada" } }),
  );
  equal(out1!.json(), "Hello, Ada!");
  await rejects(plugin.call("call_tool", JSON.stringify({ name: "nope", args: {} })), /not a tool/);
});

Deno.test("compileCapsule() is byte-identical across compiles", async () => {
  const engine = await engineBytes();
  const [a, b] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  const ra = await compileCapsule(HELLO, { out: a, engine, typeCheck: false });
  const rb = await compileCapsule(HELLO, { out: b, engine, typeCheck: false });
  equal(ra.hash, rb.hash);
  equal(await Deno.readTextFile(ra.manifestPath), await Deno.readTextFile(rb.manifestPath));
});

Deno.test("a multi-file capsule uses the host API, fetch, TextEncoder and timers", async () => {
  const dir = await project({
    "package.json": JSON.stringify({ name: "@me/notes", version: "1.2.3", main: "src/main.ts" }),
    "src/store.ts": `
      import { fs, kv } from "$SDK";
      export async function save(path: string, text: string): Promise<number> {
        await fs.writeFile(path, text);
        const count = ((await kv.get("count")) as number | null ?? 0) + 1;
        await kv.set("count", count);
        return count;
      }`,
    "src/main.ts": `
      import { defineCapsule } from "$SDK";
      import { save } from "./store.ts";
      const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
      export default defineCapsule({
        tools: {
          save: { description: "save", run: (a: { path: string; text: string }) => save(a.path, a.text) },
          weather: {
            description: "weather",
            run: async () => {
              await sleep(5);
              const res = await fetch("http://127.0.0.1:8080/w?q=1", { headers: { Accept: "json" } });
              const bytes = new TextEncoder().encode("héllo");
              return { status: res.status, body: await res.json(), n: bytes.length,
                back: new TextDecoder().decode(bytes), host: new URL(res.url).host,
                uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
                  .test(crypto.randomUUID()) };
            },
          },
        },
      });`,
  });
  const res = await compileCapsule(dir, { engine: await engineBytes(), typeCheck: false });
  const manifest = parseToml(await Deno.readTextFile(res.manifestPath)) as {
    package: { name: string };
  };
  equal(manifest.package.name, "notes");
  const { plugin, calls } = await instantiate(await Deno.readFile(res.wasmPath), {
    "kv-get": () => 41,
    "http-request": async (req) => {
      await new Promise((r) => setTimeout(r, 20));
      return { status: 200, headers: {}, body: JSON.stringify({ url: req.url, h: req.headers }) };
    },
  });
  const saved = await plugin.call(
    "call_tool",
    JSON.stringify({ name: "save", args: { path: "a.md", text: "x" } }),
  );
  equal(saved!.json(), 42);
  deepEqual(calls.map((c) => c[0]), ["write-file", "kv-get", "kv-set"]);
  deepEqual(calls[2]![1], { key: "count", value: 42 });
  const weather = await plugin.call("call_tool", JSON.stringify({ name: "weather", args: {} }));
  deepEqual(weather!.json(), {
    status: 200,
    body: { url: "http://127.0.0.1:8080/w?q=1", h: { accept: "json" } },
    n: 6,
    back: "héllo",
    host: "127.0.0.1:8080",
    uuid: true,
  });
});

Deno.test("compileCapsule() refuses node built-ins with a hint and points at syntax errors", async () => {
  const engine = await engineBytes();
  const child = await project({
    "Capsule.toml": '[package]\nname = "bad"\nversion = "0.1.0"\n',
    "mod.ts":
      'import { exec } from "node:child_process";\nexport default { tools: { x: exec } };\n',
  });
  await rejects(compileCapsule(child, { engine, typeCheck: false }), (e: unknown) => {
    ok(e instanceof CompileError, String(e));
    equal(e.code, "UNSUPPORTED_IMPORT");
    match(e.message, /node:child_process.*MCP server/);
    return true;
  });
  const syntax = await project({
    "Capsule.toml": '[package]\nname = "bad"\nversion = "0.1.0"\n',
    "mod.ts": "export default {\n  tools: {},\n};\nconst x: number = ;\n",
  });
  await rejects(compileCapsule(syntax, { engine, typeCheck: false }), (e: unknown) => {
    ok(e instanceof CompileError, String(e));
    equal(e.file, "mod.ts");
    equal(e.line, 4);
    return true;
  });
  const throws = await project({
    "Capsule.toml": '[package]\nname = "bad"\nversion = "0.1.0"\n',
    "mod.ts": "throw new Error('top-level failure');\n",
  });
  await rejects(compileCapsule(throws, { engine, typeCheck: false }), (e: unknown) => {
    ok(e instanceof CompileError && e.code === "INIT", String(e));
    match(e.message, /top-level failure/);
    return true;
  });
  const badName = await project({ "Capsule.toml": '[package]\nname = "../etc"\n', "mod.ts": "" });
  await rejects(
    compileCapsule(badName, { engine, typeCheck: false }),
    (e: unknown) => e instanceof CompileError && e.code === "MANIFEST",
  );
});

Deno.test("compileCapsule() reports type errors at the author's file and line", async () => {
  const dir = await project({
    "Capsule.toml": '[package]\nname = "typed"\nversion = "0.1.0"\n',
    "src/mod.ts": `import { defineCapsule } from "@astrid/sdk";
import { twice } from "./util.ts";
export default defineCapsule({ tools: { t: { description: "t", run: () => twice(2) } } });
`,
    "src/util.ts":
      "export function twice(n: number): number {\n  return n * 2;\n}\nconst s: string = twice(1);\n",
  });
  await rejects(compileCapsule(dir, { engine: await engineBytes() }), (e: unknown) => {
    ok(e instanceof CompileError, String(e));
    equal(e.code, "TYPE");
    equal(e.file, "src/util.ts");
    equal(e.line, 4);
    match(e.message, /not assignable/);
    return true;
  });
});

Deno.test("compileCapsule() type-checks against the sandbox: Deno and DOM APIs are type errors", async () => {
  const dir = await project({
    "Capsule.toml": '[package]\nname = "sandboxed"\nversion = "0.1.0"\n',
    "src/mod.ts": `import { defineCapsule } from "@astrid/sdk";
const ok = async () => (await fetch("http://127.0.0.1/")).status + new TextEncoder().encode("x").length;
export default defineCapsule({ tools: {
  t: { description: "t", run: async () => [await ok(), await Deno.readTextFile("/etc/passwd")] },
} });
`,
  });
  await rejects(compileCapsule(dir, { engine: await engineBytes() }), (e: unknown) => {
    ok(e instanceof CompileError, String(e));
    equal(e.code, "TYPE");
    equal(e.file, "src/mod.ts");
    equal(e.line, 4);
    match(e.message, /Cannot find name 'Deno'/);
    return true;
  });
  for (const dom of ["document.title", "window.location.href", "localStorage.getItem('k')"]) {
    await Deno.writeTextFile(
      `${dir}/src/mod.ts`,
      `import { defineCapsule } from "@astrid/sdk";\nexport default defineCapsule({ tools: { t: { description: "t", run: () => ${dom} } } });\n`,
    );
    await rejects(
      compileCapsule(dir, { engine: await engineBytes() }),
      (e: unknown) =>
        e instanceof CompileError && e.code === "TYPE" && /Cannot find name/.test(e.message),
    );
  }
});

Deno.test("compileCapsule() names an npm dependency that is not installed", async () => {
  const dir = await project({
    "Capsule.toml": '[package]\nname = "deps"\nversion = "0.1.0"\n',
    "src/mod.ts": `import { defineCapsule } from "@astrid/sdk";
import { nothing } from "not-installed-anywhere";
export default defineCapsule({ tools: { t: { description: "t", run: () => nothing } } });
`,
  });
  await rejects(
    compileCapsule(dir, { engine: await engineBytes(), typeCheck: false }),
    (e: unknown) => {
      ok(e instanceof CompileError, String(e));
      equal(e.code, "BUNDLE");
      match(e.message, /"not-installed-anywhere" is not installed/);
      return true;
    },
  );
});

Deno.test("compileCapsule() reports every type error, each at its file and line", async () => {
  const dir = await project({
    "Capsule.toml": '[package]\nname = "many"\nversion = "0.1.0"\n',
    "src/mod.ts": `import { defineCapsule } from "@astrid/sdk";
import { helper } from "./util.ts";
const x: number = "a";
Deno.readTextFile("x");
export default defineCapsule({ tools: { t: { description: "d", run: () => helper() + x } } });
`,
    "src/util.ts": "export function helper(): string {\n  const y: string = 1;\n  return y;\n}\n",
  });
  await rejects(compileCapsule(dir, { engine: await engineBytes() }), (e: unknown) => {
    ok(e instanceof CompileError, String(e));
    equal(e.code, "TYPE");
    deepEqual(e.errors.map((t) => `${t.file}:${t.line}`), [
      "src/mod.ts:3",
      "src/mod.ts:4",
      "src/util.ts:2",
    ]);
    match(e.message, /and 2 more/);
    const deno = e.errors[1]!.message;
    match(deno, /Deno APIs are not available inside the capsule sandbox/);
    match(deno, /@astrid\/sdk/);
    equal(/deno\.ns|target library/.test(deno), false, deno);
    deepEqual(formatTypeErrors(e.errors).filter((l) => !l.startsWith(" ")), [
      "src/mod.ts",
      "src/util.ts",
    ]);
    return true;
  });
});

Deno.test("compileCapsule() writes capsule.wasm.map: frames of the shimmed bundle map to the author's lines", async () => {
  const dir = await project({
    "Capsule.toml": '[package]\nname = "mapped"\nversion = "0.1.0"\n',
    "src/mod.ts": `import { defineCapsule } from "@astrid/sdk";
import { explode } from "./lib/boom.ts";
export default defineCapsule({
  tools: { t: { description: "d", run: (a: { n: number }) => explode(a.n) } },
});
`,
    "src/lib/boom.ts": `/** Throws. */
export function explode(n: number): string {
  if (n > 0) throw new Error("boom " + n);
  return "ok";
}
`,
  });
  const res = await compileCapsule(dir, { engine: await engineBytes(), typeCheck: false });
  equal(res.sourceMapPath, `${res.wasmPath}.map`);
  const map = JSON.parse(await Deno.readTextFile(res.sourceMapPath));
  equal(map.version, 3);
  equal(map.file, "capsule.js");
  ok(map.sources.includes("src/lib/boom.ts"), map.sources.join(","));
  ok(map.sources.includes("src/mod.ts"));
  equal(map.sourcesContent, undefined, "the author has the files: no copies in the map");
  // The hash covers the wasm only: the map is debug info.
  equal(res.hash, `blake3:${blake3Hex(await Deno.readFile(res.wasmPath))}`);
  const { plugin } = await instantiate(await Deno.readFile(res.wasmPath));
  const failure = await plugin.call("call_tool", JSON.stringify({ name: "t", args: { n: 1 } }))
    .then(() => "", (e: Error) => e.message);
  const stack: string = JSON.parse(failure.slice(failure.indexOf("{"))).stack;
  const at = /at explode \(capsule\.js:(\d+):(\d+)\)/.exec(stack);
  ok(at, stack);
  const { TraceMap, originalPositionFor } = await import("@jridgewell/trace-mapping");
  const pos = originalPositionFor(new TraceMap(map), {
    line: Number(at[1]),
    column: Number(at[2]) - 1,
  });
  equal(pos.source, "src/lib/boom.ts");
  equal(pos.line, 3);
  await plugin.close();
});
