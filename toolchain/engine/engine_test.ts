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
  b64_encode: (args) => args.inputs.map((a) => b64.encode(new Uint8Array(a))),
  b64_decode: (args) =>
    args.inputs.map((s) => { const r = b64.decode(s); return r === null ? null : Array.from(r); }),
  b64_latin1: (args) => args.inputs.map((s) => b64.encode(s)),
  b64_forgiving: (args) => args.inputs.map((s) => b64.decode(s, 0, undefined, true)),
  b64_large: (args) => {
    const bytes = b64.decode(args.text);
    const again = b64.encode(bytes);
    const made = new Uint8Array(args.make);
    for (let i = 0; i < made.length; i++) made[i] = (i * 131 + (i >> 8)) & 255;
    return { length: bytes.length, same: again === args.text, made: b64.encode(made) };
  },
  b64_forms: () => {
    const bytes = new Uint8Array([9, 0, 255, 128, 7]);
    const wide = new Uint16Array([0x0100, 0xffff]);
    const errors = [];
    for (const f of [
      () => b64.encode({ length: 3 }),
      () => b64.encode(new DataView(new ArrayBuffer(2))),
      () => b64.encode(bytes, 1),
      () => b64.encode(bytes, "", {}),
      () => b64.decode(42),
      () => b64.decode("AAAA", 3, 2),
      () => b64.decode("AAAA", 0, 5),
      () => b64.decode("AAAA", -1),
    ]) {
      try { f(); errors.push("no error"); } catch (e) { errors.push(e.name); }
    }
    return {
      view: b64.encode(bytes.subarray(1, 4)),
      buffer: b64.encode(bytes.buffer),
      wide: b64.encode(wide),
      framed: b64.encode(new Uint8Array([0, 255]), '{"a":"', '"}'),
      framedEmpty: b64.encode(new Uint8Array(0), "[", "]"),
      framedText: b64.encode(new Uint8Array([1]), "é", "€"),
      slice: Array.from(b64.decode('{"ok":"AP8="}', 7, 11)),
      sliceBad: b64.decode('{"ok":"AP8="}', 6, 11),
      isUint8Array: b64.decode("AP8=") instanceof Uint8Array,
      fresh: b64.decode("AP8=").buffer.byteLength,
      errors,
    };
  },
};
const b64 = globalThis.__astrid_base64;
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

// ---- native base64 (`__astrid_base64`, which the prelude takes off globalThis) ----

/** The host's decoder (runtime/capsule/host/_encoding.ts): padded, standard alphabet, strict. */
function hostDecode(text: string): number[] | null {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  try {
    return Array.from(Uint8Array.fromBase64(text, { lastChunkHandling: "strict" }));
  } catch {
    return null;
  }
}

/** Every string of `length` characters over `alphabet`. */
function strings(alphabet: string[], length: number): string[] {
  let out = [""];
  for (let i = 0; i < length; i++) out = out.flatMap((s) => alphabet.map((c) => s + c));
  return out;
}

Deno.test("native base64 encodes every byte value and every length 0..64 like the host", async () => {
  const host = await load();
  const inputs: number[][] = [Array.from({ length: 256 }, (_, i) => i)];
  for (let n = 0; n <= 64; n++) {
    inputs.push(Array.from({ length: n }, (_, i) => (i * 97 + n) & 255));
  }
  for (let n = 0; n <= 64; n++) {
    inputs.push(Array.from({ length: n }, (_, i) => 255 - ((i + n) & 15)));
  }
  const encoded = await host.tool("b64_encode", { inputs }) as string[];
  deepEqual(encoded, inputs.map((a) => new Uint8Array(a).toBase64()));
  deepEqual(await host.tool("b64_decode", { inputs: encoded }), inputs);
});

Deno.test("native base64 round-trips large payloads byte for byte", async () => {
  const host = await load();
  for (const size of [(3 << 20) + 1, (1 << 20) + 2, 65536 * 3]) {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
    const made = new Uint8Array(size);
    for (let i = 0; i < size; i++) made[i] = (i * 131 + (i >> 8)) & 255;
    const out = await host.tool("b64_large", { text: bytes.toBase64(), make: size }) as {
      length: number;
      same: boolean;
      made: string;
    };
    deepEqual(out, { length: size, same: true, made: made.toBase64() });
  }
});

Deno.test("native base64 rejects exactly what the host decoder rejects", async () => {
  const host = await load();
  // Zero and non-zero padding bits (A, B, Q, g), both extra characters, padding, whitespace,
  // the URL alphabet's "-" and "_", a NUL, and characters outside ASCII and Latin-1.
  const short = strings(["A", "B", "Q", "g", "/", "+", "=", " ", "-", "\n", "é", "€"], 4);
  const long = strings(["A", "B", "Q", "=", "_"], 8);
  const odd = [0, 1, 2, 3, 5, 6, 7, 9].flatMap((n) => strings(["A", "="], n));
  const inputs = [
    ...short,
    ...long,
    ...odd,
    "\0AAA",
    "AAAA\0",
    "AP8=\n",
    " AP8=",
    "AP8=AP8=",
    "AA=A",
  ];
  const got = await host.tool("b64_decode", { inputs }) as (number[] | null)[];
  const want = inputs.map(hostDecode);
  const differ = inputs.filter((_, i) => JSON.stringify(got[i]) !== JSON.stringify(want[i]));
  deepEqual(differ, [], "inputs decoded differently from the host");
  ok(want.filter((w) => w === null).length > inputs.length / 2, "the corpus is mostly invalid");
  ok(want.filter((w) => w !== null).length > 1000, "the corpus has valid inputs too");
});

Deno.test("native base64 backs atob/btoa: forgiving decoding and Latin-1 strings like Deno's", async () => {
  const host = await load();
  const latin1 = [
    "",
    "a",
    "hé!",
    String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i)),
    "€",
    "a\ud800",
    "ÿ\u0100",
  ];
  const encoded = await host.tool("b64_latin1", { inputs: latin1 }) as (string | null)[];
  deepEqual(
    encoded,
    latin1.map((s) => {
      try {
        return btoa(s);
      } catch {
        return null;
      }
    }),
  );
  const forgiving = [
    ...strings(["A", "B", "=", " ", "\n", "é", "-"], 5),
    ...strings(["Q", "=", "\t"], 6),
    " AP8= ",
    "AP8",
    "A",
    "====",
    "\f\rAP 8\n=",
  ];
  const decoded = await host.tool("b64_forgiving", { inputs: forgiving }) as (string | null)[];
  const want = forgiving.map((s) => {
    try {
      return atob(s);
    } catch {
      return null;
    }
  });
  const differ = forgiving.filter((_, i) => decoded[i] !== want[i]);
  deepEqual(differ, [], "inputs decoded differently from Deno's atob");
});

Deno.test("native base64 takes views and buffers, frames host arguments, and refuses non-strings", async () => {
  const host = await load();
  deepEqual(await host.tool("b64_forms"), {
    view: new Uint8Array([0, 255, 128]).toBase64(),
    buffer: new Uint8Array([9, 0, 255, 128, 7]).toBase64(),
    wide: new Uint8Array(new Uint16Array([0x0100, 0xffff]).buffer).toBase64(),
    framed: '{"a":"AP8="}',
    framedEmpty: "[]",
    framedText: "éAQ==€",
    slice: [0, 255],
    sliceBad: null,
    isUint8Array: true,
    fresh: 2,
    errors: [
      "TypeError",
      "TypeError",
      "TypeError",
      "TypeError",
      "TypeError",
      "RangeError",
      "RangeError",
      "RangeError",
    ],
  });
});
