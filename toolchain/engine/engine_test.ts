/**
 * End-to-end tests of the capsule engine: build (or reuse) engine.wasm, embed a small capsule,
 * pre-initialise it with Wizer and run it under @extism/extism on this thread.
 * If the engine cannot be built, every test here fails with the build's reason.
 */
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import createPlugin, { type CallContext, type Plugin } from "@extism/extism";
import { buildEngine, type EngineBuild } from "./build.ts";
import { EmbedError, embedSource } from "./embed.ts";
import { wizen, WizerError } from "./wizer.ts";
import { ALL_HOST_FUNCTION_NAMES } from "./abi.ts";

let built: Promise<{ build: EngineBuild; bytes: Uint8Array<ArrayBuffer> }> | undefined;
function engine(): Promise<{ build: EngineBuild; bytes: Uint8Array<ArrayBuffer> }> {
  built ??= (async () => {
    const build = await buildEngine({ log: () => {} });
    return { build, bytes: await Deno.readFile(build.path) };
  })();
  return built;
}

const CAPSULE = `
const host = globalThis.__astrid_host;
const call = (name, args) => JSON.parse(host[name](JSON.stringify(args)));
const tools = {
  echo: (args) => ({ echoed: args }),
  read: (args) => call("read-file", { path: args.path }),
  slow: async (args) => {
    const got = call("kv-get", { key: args.key });
    const more = await Promise.resolve(1);
    return { got, more };
  },
  random: () => [Math.random(), Math.random()],
  bytes: () => Array.from(crypto.getRandomValues(new Uint8Array(12))),
  loop: () => { for (;;) {} },
  microtasks: () => new Promise(() => {
    for (let i = 0; i < 50; i++) { const f = () => Promise.resolve().then(f); f(); }
  }),
  bomb: () => { const keep = []; for (;;) keep.push("x".repeat(4096) + keep.length); },
  alloc: (args) => "y".repeat(args.bytes).length,
  recurse: () => { const f = (n) => f(n + 1) + 1; return f(0); },
  recurse_caught: () => {
    let depth = 0;
    const f = () => { depth++; f(); };
    try { f(); } catch (e) { return { depth, error: String(e) }; }
  },
  nested_json: () => { let o = {}; for (let i = 0; i < 200000; i++) o = { o }; return JSON.stringify(o).length; },
  never: () => new Promise(() => {}),
  bad_host: () => { try { host["fs-stat"]("{}"); } catch (e) { return { error: String(e) }; } },
  throws: () => { throw new TypeError("Cannot greet: current value is 42"); },
};
globalThis.__astrid = {
  describe: () => ({ tools: Object.keys(tools) }),
  call_tool: async (input) => {
    const { name, args } = JSON.parse(input);
    return await tools[name](args);
  },
  on_hook: (input) => "hook:" + input,
};
`;

let capsule: Promise<Uint8Array<ArrayBuffer>> | undefined;
function capsuleBytes(): Promise<Uint8Array<ArrayBuffer>> {
  capsule ??= engine().then(({ bytes }) => wizen(embedSource(bytes, CAPSULE)));
  return capsule;
}

type HostFn = (cp: CallContext, offset: bigint) => bigint | Promise<bigint>;

interface TestHost {
  plugin: Plugin;
  /** Host calls seen, as [name, parsed JSON argument]. */
  calls: [string, unknown][];
  /** Runs one tool and returns its parsed output, or throws the plugin's error. */
  tool(name: string, args?: unknown): Promise<unknown>;
}

/** Instantiates the capsule with a CPU budget per call (`budgetMs`) and optional overrides. */
async function load(
  opts: {
    budgetMs?: number;
    seed?: bigint;
    overrides?: Record<string, HostFn>;
    config?: Record<string, string>;
  } = {},
): Promise<TestHost> {
  const module = new WebAssembly.Module(await capsuleBytes());
  const calls: [string, unknown][] = [];
  let started = performance.now();
  const user: Record<string, (cp: CallContext, ...args: bigint[]) => unknown> = {};
  for (const name of ALL_HOST_FUNCTION_NAMES) {
    user[name] = (cp: CallContext, offset?: bigint) => {
      const arg: unknown = JSON.parse(cp.read(offset!)!.text());
      calls.push([name, arg]);
      return cp.store(JSON.stringify({ ok: true, from: name, arg }));
    };
  }
  for (const [name, fn] of Object.entries(opts.overrides ?? {})) user[name] = fn;
  user["astrid-deadline"] = () =>
    BigInt(Math.round((opts.budgetMs ?? 30_000) - (performance.now() - started)));
  user["astrid-random-seed"] = () => opts.seed ?? crypto.getRandomValues(new BigUint64Array(1))[0]!;
  user["astrid-now"] = () => BigInt(Date.now()) * 1000n;
  const plugin = await createPlugin({ wasm: [{ module }] }, {
    functions: { "extism:host/user": user },
    config: opts.config ?? {},
  });
  return {
    plugin,
    calls,
    async tool(name: string, args: unknown = {}) {
      started = performance.now();
      const out = await plugin.call("call_tool", JSON.stringify({ name, args }));
      return JSON.parse(out!.text());
    },
  };
}

/** Extracts the engine's JSON error report from an Extism plugin error. */
function report(e: unknown): { code: string; message: string; stack?: string } {
  ok(e instanceof Error, `expected an Error, got ${String(e)}`);
  const prefix = "Plugin-originated error: ";
  ok(e.message.startsWith(prefix), `not a plugin error: ${e.message}`);
  return JSON.parse(e.message.slice(prefix.length));
}

async function failure(
  p: Promise<unknown>,
): Promise<{ code: string; message: string; stack?: string }> {
  try {
    await p;
  } catch (e) {
    return report(e);
  }
  throw new Error("expected the call to fail");
}

Deno.test("buildEngine() builds an engine with only Extism imports, then reuses it", async () => {
  const { build, bytes } = await engine();
  ok(bytes.length > 100_000 && bytes.length < 1_000_000, `engine is ${bytes.length} bytes`);
  const module = new WebAssembly.Module(bytes);
  const modules = new Set(WebAssembly.Module.imports(module).map((i) => i.module));
  deepEqual([...modules].sort(), ["extism:host/env", "extism:host/user"]);
  const exports = WebAssembly.Module.exports(module).map((e) => e.name).sort();
  for (const name of ["call_tool", "describe", "on_cron", "on_hook", "wizer.initialize"]) {
    ok(exports.includes(name), `missing export ${name}`);
  }
  const again = await buildEngine({ log: () => {} });
  equal(again.cached, true);
  equal(again.inputsHash, build.inputsHash);
});

Deno.test("wizen() output is byte-identical across builds and drops the initialiser", async () => {
  const { bytes } = await engine();
  const a = await capsuleBytes();
  const b = await wizen(embedSource(bytes, CAPSULE));
  equal(a.length, b.length);
  ok(a.every((x, i) => x === b[i]), "two wizened capsules differ");
  const exports = WebAssembly.Module.exports(new WebAssembly.Module(a));
  ok(!exports.some((e) => e.name === "wizer.initialize"));
  const text = new TextDecoder().decode(a);
  ok(!text.includes("recurse_caught: () =>"), "the capsule source leaked into the snapshot");
});

Deno.test("describe and call_tool return the capsule's results through host functions", async () => {
  const host = await load();
  const described = await host.plugin.call("describe");
  deepEqual(described!.json().tools.slice(0, 3), ["echo", "read", "slow"]);
  deepEqual(await host.tool("echo", { hello: "wörld" }), { echoed: { hello: "wörld" } });
  deepEqual(await host.tool("read", { path: "notes.md" }), {
    ok: true,
    from: "read-file",
    arg: { path: "notes.md" },
  });
  deepEqual(host.calls, [["read-file", { path: "notes.md" }]]);
  equal((await host.plugin.call("on_hook", "x"))!.text(), "hook:x");
  const missing = await failure(host.plugin.call("on_cron", "{}"));
  equal(missing.code, "THROWN");
  match(missing.message, /Cannot call on_cron/);
});

Deno.test("an async host function suspends the capsule (JSPI) while the event loop keeps ticking", async () => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  try {
    const host = await load({
      overrides: {
        "kv-get": async (cp, offset) => {
          const arg = cp.read(offset)!.json();
          await new Promise((resolve) => setTimeout(resolve, 300));
          return cp.store(JSON.stringify({ value: `v-${arg.key}` }));
        },
      },
    });
    const out = await host.tool("slow", { key: "k1" });
    deepEqual(out, { got: { value: "v-k1" }, more: 1 });
    ok(ticks >= 10, `event loop ticked only ${ticks} times during a 300 ms suspension`);
  } finally {
    clearInterval(timer);
  }
});

Deno.test("an infinite loop is interrupted at the deadline and the next call works", async () => {
  const host = await load({ budgetMs: 100 });
  const err = await failure(host.tool("loop"));
  equal(err.code, "DEADLINE");
  deepEqual(await host.tool("echo", 1), { echoed: 1 });
  const flood = await failure(host.tool("microtasks"));
  equal(flood.code, "DEADLINE");
  deepEqual(await host.tool("echo", 2), { echoed: 2 });
});

Deno.test("a memory bomb is contained by the heap limit and the memory backstop", async () => {
  const host = await load();
  const err = await failure(host.tool("bomb"));
  equal(err.code, "MEMORY");
  deepEqual(await host.tool("echo", 3), { echoed: 3 });
  const instance = await host.plugin.getInstance();
  const memory = instance.exports.memory;
  ok(memory instanceof WebAssembly.Memory);
  ok(memory.buffer.byteLength <= 128 << 20, `memory grew to ${memory.buffer.byteLength}`);
  equal(await host.tool("alloc", { bytes: 16 << 20 }), 16 << 20);
});

Deno.test("config can lower the memory limit but never raise it", async () => {
  const low = await load({ config: { "astrid.memory_limit": String(8 << 20) } });
  equal((await failure(low.tool("alloc", { bytes: 16 << 20 }))).code, "MEMORY");
  const high = await load({ config: { "astrid.memory_limit": String(1 << 30) } });
  equal((await failure(high.tool("alloc", { bytes: 100 << 20 }))).code, "MEMORY");
});

Deno.test("deep recursion fails cleanly with STACK and the instance keeps working", async () => {
  const host = await load();
  const err = await failure(host.tool("recurse"));
  equal(err.code, "STACK");
  const caught = await host.tool("recurse_caught") as { depth: number; error: string };
  ok(caught.depth > 500, `recursion depth ${caught.depth}`);
  match(caught.error, /stack overflow/);
  deepEqual(await host.tool("echo", 4), { echoed: 4 });
});

Deno.test("a native stack overflow traps; the instance then refuses with TRAPPED; a fresh one works", async () => {
  const host = await load();
  let trapped: unknown;
  try {
    await host.tool("nested_json");
  } catch (e) {
    trapped = e;
  }
  ok(trapped instanceof Error, "expected the host to see an error");
  if (!trapped.message.startsWith("Plugin-originated error: ")) {
    // V8 ran out of native stack inside the wasm: the instance must not be reused.
    ok(trapped instanceof RangeError, `unexpected trap ${trapped}`);
    equal((await failure(host.tool("echo", 5))).code, "TRAPPED");
  } else {
    equal(report(trapped).code, "STACK");
  }
  const fresh = await load();
  deepEqual(await fresh.tool("echo", 6), { echoed: 6 });
});

Deno.test("Math.random is reseeded from the host on an instance's first call", async () => {
  const [a, b, c] = await Promise.all([load({ seed: 7n }), load({ seed: 7n }), load({ seed: 8n })]);
  const ra = await a.tool("random");
  deepEqual(await b.tool("random"), ra);
  const rc = await c.tool("random") as number[];
  ok(rc[0] !== (ra as number[])[0]);
  const bytes = await c.tool("bytes") as number[];
  equal(bytes.length, 12);
  ok(bytes.some((b) => b !== 0));
});

Deno.test("capsule errors, unsettled promises and bad host replies are reported, not swallowed", async () => {
  const host = await load({ overrides: { "fs-stat": () => 0n } });
  const thrown = await failure(host.tool("throws"));
  equal(thrown.code, "THROWN");
  equal(thrown.message, "Cannot greet: current value is 42");
  match(thrown.stack ?? "", /capsule\.js/);
  match((await failure(host.tool("never"))).message, /never settled/);
  match((await host.tool("bad_host") as { error: string }).error, /host returned none/);
});

Deno.test("wizen() reports the capsule's own initialisation error", async () => {
  const { bytes } = await engine();
  await rejects(
    wizen(embedSource(bytes, "throw new Error('boom at init');")),
    (e: unknown) => e instanceof WizerError && e.code === "INIT" && /boom at init/.test(e.message),
  );
  await rejects(
    wizen(
      embedSource(bytes, "globalThis.__astrid = { describe: () => 1 }; __astrid_host.log('x');"),
    ),
    (e: unknown) => e instanceof WizerError && /initialising/.test(e.message),
  );
  await rejects(
    wizen(embedSource(bytes, "for (;;) {}")),
    (e: unknown) => e instanceof WizerError && /initialisation budget/.test(e.message),
  );
  await rejects(
    wizen(embedSource(bytes, "globalThis.x = 1;")),
    (e: unknown) => e instanceof WizerError && /__astrid is not an object/.test(e.message),
  );
});

Deno.test("embedSource() refuses malformed modules and sources beyond the memory maximum", async () => {
  const { bytes } = await engine();
  try {
    embedSource(bytes.slice(0, 100), "x");
    throw new Error("expected a failure");
  } catch (e) {
    ok(e instanceof EmbedError && e.code === "MALFORMED", String(e));
  }
  try {
    embedSource(bytes, new Uint8Array(100 << 20));
    throw new Error("expected a failure");
  } catch (e) {
    ok(e instanceof EmbedError && e.code === "TOO_LARGE", String(e));
  }
});
