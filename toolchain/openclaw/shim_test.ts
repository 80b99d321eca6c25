// deno-lint-ignore-file ban-types -- the tests drive OpenClaw's loosely typed plugin API
// Tests of the capsule-side JavaScript: the prelude's web globals and timers (in a real compiled
// capsule), the Node compatibility modules (compiled into a capsule), the OpenClaw SDK shim and
// the adapter (driven in Deno over an in-memory host API), and one OpenClaw plugin end to end.
import { deepEqual, equal, match, ok, rejects, throws } from "node:assert/strict";
import { compileCapsule } from "../compile.ts";
import { loadCapsule } from "../../runtime/capsule/loader.ts";
import { CapsuleInstance } from "../../runtime/capsule/engines/wasm.ts";
import { toCapsule } from "./adapter.js";
import { definePluginEntry, emptyPluginConfigSchema } from "./sdk/plugin-entry.js";
import { defineToolPlugin, getToolPluginMetadata } from "./sdk/tool-plugin.js";
import { jsonResult, textResult } from "./sdk/tool-results.js";
import { createPluginRuntimeStore } from "./sdk/runtime-store.js";
import { SUBPATHS } from "./sdk/subpaths.ts";
import { NODE_COMPAT } from "./node/modules.ts";

type Json = unknown;
type Dict = Record<string, unknown>;

/** Compiles `files` (a project folder) and returns a describe-only instance. */
async function compiled(files: Record<string, string>): Promise<CapsuleInstance> {
  const src = await Deno.makeTempDir({ prefix: "astrid-shim-src-" });
  const out = await Deno.makeTempDir({ prefix: "astrid-shim-out-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${src}/${name}`, text);
    }
    await compileCapsule(src, { out, typeCheck: false });
    const loaded = await loadCapsule(out, { requireHash: true });
    return await CapsuleInstance.create(loaded, null, { timeoutMs: 30_000, memoryMb: 64 });
  } finally {
    await Deno.remove(src, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
}

const MANIFEST = '[package]\nname = "shimprobe"\nversion = "0.1.0"\n';

const PRELUDE_PROBE = `
import { defineCapsule } from "@astrid/sdk";
export default defineCapsule({
  tools: {
    url: { description: "URL", run: () => {
      const u = new URL("/x/../y?a=1&b=two words#frag", "https://Ex.AMPLE.com:443/c/d");
      u.searchParams.append("c", "é&=");
      const v = new URL("http://a.b/p");
      v.pathname = "/q r";
      v.search = "k=1";
      v.hash = "h";
      const p = new URLSearchParams([["q", "a b"], ["r", "1+1"], ["q", "2"]]);
      p.sort();
      const bad = [];
      for (const s of ["nope", "http://", "http://a b/", "https://h:99999/"]) bad.push(URL.canParse(s));
      return {
        href: u.href, host: u.host, origin: u.origin, search: u.search,
        rel: new URL("../z?w", "http://a.b/c/d/e").href, sameScheme: new URL("//h2/x", "https://a.b").href,
        v: v.href, p: p.toString(), all: p.getAll("q"), obj: new URLSearchParams({ x: "1" }).get("x"),
        bad, mailto: new URL("mailto:a@b.c").pathname, port: new URL("http://h:8080/p").port,
        ip6: new URL("http://[::1]:3000/").host, file: new URL("file:///etc/x").href,
      };
    } },
    timers: { description: "Timers", run: async () => {
      const log = [];
      setTimeout(() => log.push("t200"), 200);
      setTimeout(() => log.push("t100"), 100);
      const gone = setTimeout(() => log.push("cleared"), 10);
      clearTimeout(gone);
      let n = 0;
      const iv = setInterval(() => { log.push("i" + (++n)); if (n === 3) clearInterval(iv); }, 50);
      await new Promise((r) => setTimeout(r, 1000));
      const deadline = AbortSignal.timeout(5000);
      const ac = new AbortController();
      let fired = 0;
      ac.signal.addEventListener("abort", () => fired++);
      ac.signal.onabort = () => fired++;
      ac.abort();
      ac.abort();
      const any = AbortSignal.any([deadline, ac.signal]);
      const late = AbortSignal.timeout(10);
      await new Promise((r) => setTimeout(r, 20));
      setInterval(() => {}, 10); // never cleared: dropped when the call settles
      return { log, deadline: deadline.aborted, fired, reason: ac.signal.reason.name,
        any: any.aborted, late: [late.aborted, late.reason?.name], unref: typeof setTimeout(() => {}, 1).unref };
    } },
    after: { description: "A later call starts with no timers", run: async () => {
      let ticks = 0;
      const iv = setInterval(() => ticks++, 100);
      await new Promise((r) => setTimeout(r, 250));
      clearInterval(iv);
      return ticks;
    } },
    web: { description: "Headers, Request, Response, fetch", run: async () => {
      const h = new Headers([["X-A", "1"], ["x-a", "2"]]);
      h.set("Content-Type", "text/plain");
      const req = new Request("https://a.b/p", { method: "post", body: new URLSearchParams({ k: "v w" }), headers: { "X-B": "b" } });
      const bytes = new Request("https://a.b/p", { method: "PUT", body: new TextEncoder().encode("héllo") });
      const res = Response.json({ ok: 1 }, { status: 201 });
      const copy = res.clone();
      let aborted = "", refused = "", getBody = "";
      try { await fetch("https://a.b/", { signal: AbortSignal.abort() }); } catch (e) { aborted = e.name; }
      try { await fetch("https://a.b/"); } catch (e) { refused = String(e.message).length > 0 ? "refused" : ""; }
      try { new Request("https://a.b/", { body: "x" }); } catch (e) { getBody = e.name; }
      return {
        get: h.get("x-A"), keys: [...h.keys()], has: h.has("content-type"),
        method: req.method, ct: req.headers.get("content-type"), xb: req.headers.get("x-b"),
        body: await req.clone().text(), bytes: await bytes.text(),
        json: await res.json(), status: copy.status, ok: copy.ok, ctype: copy.headers.get("content-type"),
        copyText: await copy.text(), used: res.bodyUsed,
        aborted, refused, getBody,
        b64: btoa("hi"), un: atob("aGk="), sc: structuredClone({ a: [1, { b: 2 }], d: new Map([[1, 2]]) }).a,
        dom: new DOMException("m", "AbortError").code,
      };
    } },
  },
});
`;

Deno.test("prelude: URL, URLSearchParams, timers, AbortSignal, Headers/Request/Response in a capsule", async () => {
  const cap = await compiled({ "Capsule.toml": MANIFEST, "mod.ts": PRELUDE_PROBE });
  try {
    const described = await cap.describe();
    deepEqual(described.tools.map((t) => t.name), ["url", "timers", "after", "web"]);

    const url = await cap.callTool("url", {}) as Dict;
    equal(url.href, "https://ex.ample.com/y?a=1&b=two+words&c=%C3%A9%26%3D#frag");
    equal(url.host, "ex.ample.com");
    equal(url.origin, "https://ex.ample.com");
    equal(url.search, "?a=1&b=two+words&c=%C3%A9%26%3D");
    equal(url.rel, "http://a.b/c/z?w");
    equal(url.sameScheme, "https://h2/x");
    equal(url.v, "http://a.b/q%20r?k=1#h");
    equal(url.p, "q=a+b&q=2&r=1%2B1");
    deepEqual(url.all, ["a b", "2"]);
    equal(url.obj, "1");
    deepEqual(url.bad, [false, false, false, false]);
    equal(url.mailto, "a@b.c");
    equal(url.port, "8080");
    equal(url.ip6, "[::1]:3000");
    equal(url.file, "file:///etc/x");

    const timers = await cap.callTool("timers", {}) as Dict;
    // Due order on the virtual clock; ties keep arming order; a cleared timer never fires.
    deepEqual(timers.log, ["i1", "t100", "i2", "i3", "t200"]);
    equal(timers.deadline, false, "a 5 s deadline does not fire while work completes");
    equal(timers.fired, 2, "one listener and onabort, once");
    equal(timers.reason, "AbortError");
    equal(timers.any, true);
    deepEqual(timers.late, [true, "TimeoutError"]);
    equal(timers.unref, "function");
    // The uncleared interval of the previous call was dropped: this call sees only its own.
    equal(await cap.callTool("after", {}), 2);

    const web = await cap.callTool("web", {}) as Dict;
    equal(web.get, "1, 2");
    deepEqual(web.keys, ["content-type", "x-a"]);
    equal(web.has, true);
    equal(web.method, "POST");
    equal(web.ct, "application/x-www-form-urlencoded;charset=UTF-8");
    equal(web.xb, "b");
    equal(web.body, "k=v+w");
    equal(web.bytes, "héllo");
    deepEqual(web.json, { ok: 1 });
    equal(web.status, 201);
    equal(web.ok, true);
    equal(web.ctype, "application/json");
    equal(web.copyText, '{"ok":1}');
    equal(web.used, true);
    equal(web.aborted, "AbortError");
    equal(web.refused, "refused", "fetch goes through the gated http-request host function");
    equal(web.getBody, "TypeError");
    equal(web.b64, "aGk=");
    equal(web.un, "hi");
    deepEqual(web.sc, [1, { b: 2 }]);
    equal(web.dom, 20);
  } finally {
    await cap.close();
  }
});

const NODE_PROBE = `
import { defineCapsule } from "@astrid/sdk";
import path from "node:path";
import { join as posixJoin } from "node:path/posix";
import crypto, { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import EventEmitter, { once } from "node:events";
import { Buffer } from "node:buffer";
import { access, readFile } from "node:fs/promises";
export default defineCapsule({
  tools: {
    node: { description: "Node compat", run: async () => {
      const e = new EventEmitter();
      const got = [];
      e.on("x", (v) => got.push(v));
      e.emit("x", 1);
      const waited = once(e, "y");
      e.emit("y", 2);
      const codes = [];
      for (const f of [() => access("missing.txt"), () => readFile("x.txt", "utf8")]) {
        try { await f(); } catch (err) { codes.push(typeof err.code); }
      }
      return {
        sha256: createHash("sha256").update("abc").digest("hex"),
        sha1: createHash("sha1").update("a").update("bc").digest("base64"),
        md5: createHash("md5").update("616263", "hex").digest("hex"),
        sha512len: createHash("sha512").update(new Uint8Array([1, 2])).digest().length,
        hmac: createHmac("sha256", "key").update("The quick brown fox jumps over the lazy dog").digest("hex"),
        b64url: createHash("sha256").update("").digest("base64url"),
        rand: randomBytes(20).length, uuid: crypto.randomUUID().length,
        tse: [timingSafeEqual(Buffer.from("ab"), Buffer.from("ab")), timingSafeEqual(Buffer.from("ab"), Buffer.from("ac"))],
        join: path.join("a", "../b", "c.txt"), posix: posixJoin("/x", "y"), resolve: path.resolve("a/b", "../c"),
        rel: path.relative("a/b", "a/c/d"), ext: path.extname("f.tar.gz"),
        got, waited: await waited, buf: Buffer.from("héllo").toString("hex"), globalBuffer: typeof globalThis.Buffer,
        codes,
      };
    } },
  },
});
`;

Deno.test("node compat: path, crypto, events, buffer and fs/promises compile into a capsule and work", async () => {
  const cap = await compiled({ "Capsule.toml": MANIFEST, "mod.ts": NODE_PROBE });
  try {
    const out = await cap.callTool("node", {}) as Dict;
    equal(out.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    equal(out.sha1, "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
    equal(out.md5, "900150983cd24fb0d6963f7d28e17f72");
    equal(out.sha512len, 64);
    // RFC 4231-style known answer (HMAC-SHA256 of the pangram under "key").
    equal(out.hmac, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
    equal(out.b64url, "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
    equal(out.rand, 20);
    equal(out.uuid, 36);
    deepEqual(out.tse, [true, false]);
    equal(out.join, "b/c.txt");
    equal(out.posix, "/x/y");
    equal(out.resolve, "/a/c");
    equal(out.rel, "../c/d");
    equal(out.ext, ".gz");
    deepEqual(out.got, [1]);
    deepEqual(out.waited, [2]);
    equal(out.buf, "68c3a96c6c6f");
    equal(out.globalBuffer, "function");
    deepEqual(out.codes, ["string", "string"], "refused host calls surface with a code");
  } finally {
    await cap.close();
  }
});

Deno.test("SUBPATHS and NODE_COMPAT point at files that exist", async () => {
  for (
    const sub of [
      "",
      "plugin-entry",
      "tool-plugin",
      "core",
      "runtime-store",
      "tool-results",
      "types",
    ]
  ) {
    ok(SUBPATHS[sub], `subpath "${sub}"`);
  }
  for (const path of [...Object.values(SUBPATHS), ...Object.values(NODE_COMPAT)]) {
    ok((await Deno.stat(path)).isFile, path);
  }
  deepEqual(Object.keys(NODE_COMPAT).sort(), [
    "buffer",
    "crypto",
    "events",
    "fs/promises",
    "path",
    "path/posix",
  ]);
});

// ---- the adapter, over an in-memory host API ----

interface FakeHost {
  config: Record<string, string>;
  /** Every `config.set` the adapter made, in order (key, stored text). */
  sets: [string, unknown][];
  kv: Map<string, Json>;
  logs: string[];
  llm: Dict[];
}

/** Installs an in-memory `globalThis.__astrid_api` for the duration of `fn`. */
async function withHost(
  config: Record<string, string>,
  fn: (host: FakeHost) => Promise<void>,
): Promise<void> {
  const host: FakeHost = { config, sets: [], kv: new Map(), logs: [], llm: [] };
  const api = {
    config: {
      get: (key: string) =>
        key === "broken"
          ? Promise.reject(Object.assign(new Error("nope"), { code: "DENIED" }))
          : Promise.resolve(config[key] ?? null),
      // As set-config answers: the human says no to `tags`.
      set: (key: string, value: unknown) => {
        host.sets.push([key, value]);
        if (key === "tags") return Promise.reject(new Error("Cannot proceed: no (DENIED)"));
        config[key] = String(value);
        return Promise.resolve(null);
      },
    },
    kv: {
      get: (key: string) => Promise.resolve(structuredClone(host.kv.get(key) ?? null)),
      set: (key: string, value: Json) => {
        host.kv.set(key, structuredClone(value));
        return Promise.resolve(null);
      },
    },
    log: (level: string, message: string) => {
      host.logs.push(`${level}: ${message}`);
      return Promise.resolve(null);
    },
    llm: {
      complete: (req: Dict) => {
        host.llm.push(req);
        return Promise.resolve({
          text: "hi",
          model: "m1",
          provider: "p1",
          usage: { inputTokens: 3, outputTokens: 1 },
          stopReason: "stop",
        });
      },
    },
  };
  Object.defineProperty(globalThis, "__astrid_api", { value: api, configurable: true });
  try {
    await fn(host);
  } finally {
    delete (globalThis as { __astrid_api?: unknown }).__astrid_api;
  }
}

interface Capsule {
  tools: Record<
    string,
    { description: string; input: Dict; run: (a: unknown) => Promise<unknown> }
  >;
  hooks: Record<string, (payload: unknown) => Promise<unknown>>;
  commands: Record<
    string,
    { description: string; acceptsArgs: boolean; run: (a: string) => Promise<unknown> }
  >;
  providers: Record<string, unknown>;
  cron: Record<string, unknown>;
  notes: string[];
  prepare: () => Promise<void>;
}

const META = {
  id: "demo",
  name: "Demo",
  description: "A demo",
  version: "1.0.0",
  configSchema: {
    type: "object",
    properties: {
      greeting: { type: "string", default: "Hello" },
      limit: { type: "integer", default: 3 },
      tags: { type: "array" },
      flag: { type: "boolean" },
      raw: { type: "object" },
    },
  },
  uiHints: {},
  configKeys: [
    { key: "greeting", type: "string" },
    { key: "limit", type: "integer" },
    { key: "tags", type: "array" },
    { key: "flag", type: "boolean" },
    { key: "raw", type: "object" },
    { key: "broken", type: "string" },
  ],
};

async function adapt(entry: unknown): Promise<Capsule> {
  const cap = toCapsule(entry, META) as Capsule;
  await cap.prepare();
  return cap;
}

Deno.test("toCapsule() registers lazily, loads pluginConfig by type with defaults, freezes api.config", async () => {
  await withHost({ limit: "7", tags: '["a","b"]', flag: "true", raw: "{not json" }, async () => {
    let seen: Dict | undefined;
    let calls = 0;
    const cap = toCapsule(
      {
        default: definePluginEntry({
          id: "demo",
          name: "Demo",
          description: "d",
          register(api: Dict) {
            calls++;
            seen = api;
          },
        }),
      },
      META,
    ) as Capsule;
    equal(calls, 0, "nothing runs at module evaluation");
    await cap.prepare();
    await cap.prepare();
    equal(calls, 1);
    const api = seen!;
    deepEqual(api.pluginConfig, {
      greeting: "Hello",
      limit: 7,
      tags: ["a", "b"],
      flag: true,
      raw: "{not json",
    });
    const config = api.config as { plugins: { entries: Record<string, { config: Dict }> } };
    equal(config.plugins.entries.demo!.config.limit, 7);
    ok(Object.isFrozen(config.plugins.entries.demo!.config));
    equal(api.source, "astrid-capsule");
    equal(api.registrationMode, "full");
    const runtime = api.runtime as {
      version: string;
      config: { current(): unknown; mutateConfigFile(): Promise<unknown> };
    };
    equal(runtime.version, "astrid");
    equal(runtime.config.current(), api.config);
    await rejects(runtime.config.mutateConfigFile(), /no mutate\(draft\) function given/);
  });
});

/** Prepares a plugin over META and returns its `api.runtime.config` and `api.pluginConfig`. */
async function runtimeConfig(): Promise<{
  rc: {
    current(): { plugins: { entries: Record<string, { config: Dict }> } };
    mutateConfigFile(arg: unknown): Promise<Dict>;
    replaceConfigFile(arg: unknown): Promise<Dict>;
  };
  pluginConfig: Dict;
}> {
  let seen: Dict | undefined;
  const cap = toCapsule(
    {
      default: definePluginEntry({
        id: "demo",
        name: "Demo",
        register: (api: Dict) => {
          seen = api;
        },
      }),
    },
    META,
  ) as Capsule;
  await cap.prepare();
  const api = seen!;
  return {
    rc: (api.runtime as { config: never }).config,
    pluginConfig: api.pluginConfig as Dict,
  };
}

Deno.test("runtime.config.mutateConfigFile() writes each changed key through config.set, as parseValue reads it back", async () => {
  await withHost({ limit: "7" }, async (host) => {
    const { rc, pluginConfig } = await runtimeConfig();
    const before = rc.current();
    const res = await rc.mutateConfigFile({
      afterWrite: { mode: "auto" },
      mutate: (draft: { plugins: { entries: Record<string, { config: Dict }> } }) => {
        const c = draft.plugins.entries.demo!.config;
        c.limit = 9;
        c.flag = false;
        c.greeting = "Hi";
        c.raw = { a: 1 };
        return "done";
      },
    });
    deepEqual(host.sets, [
      ["flag", "false"],
      ["greeting", "Hi"],
      ["limit", "9"],
      ["raw", '{"a":1}'],
    ]);
    deepEqual(res.changed, ["flag", "greeting", "limit", "raw"]);
    equal(res.ok, true);
    equal(res.result, "done");
    const now = rc.current();
    equal(res.nextConfig, now);
    ok(now !== before && Object.isFrozen(now.plugins.entries.demo!.config));
    deepEqual(now.plugins.entries.demo!.config, {
      greeting: "Hi",
      limit: 9,
      flag: false,
      raw: { a: 1 },
    });
    equal(before.plugins.entries.demo!.config.limit, 7, "an earlier snapshot is unchanged");
    equal(pluginConfig.limit, 9, "api.pluginConfig follows");
    // A bare function is a mutate; nothing changed means nothing written.
    const none = await rc.mutateConfigFile(() => {});
    deepEqual(none.changed, []);
    equal(host.sets.length, 4);
  });
});

Deno.test("runtime.config.replaceConfigFile() takes { nextConfig }, { config } or the configuration itself", async () => {
  await withHost({}, async (host) => {
    const { rc } = await runtimeConfig();
    const next = (limit: number) => {
      const c = structuredClone(rc.current());
      c.plugins.entries.demo!.config.limit = limit;
      return c;
    };
    await rc.replaceConfigFile({ nextConfig: next(4) });
    await rc.replaceConfigFile({ config: next(5) });
    await rc.replaceConfigFile(next(6));
    deepEqual(host.sets, [["limit", "4"], ["limit", "5"], ["limit", "6"]]);
    equal(rc.current().plugins.entries.demo!.config.limit, 6);
  });
});

Deno.test("runtime.config refuses changes outside the plugin's own config, removals and undeclared keys, writing nothing", async () => {
  await withHost({}, async (host) => {
    const { rc } = await runtimeConfig();
    type Draft = Dict & { plugins: Dict & { entries: Record<string, { config: Dict }> } };
    const own = (d: Draft) => d.plugins.entries.demo!.config;
    const cases: [(d: Draft) => void, RegExp][] = [
      [(d) => {
        d.gateway = { port: 1 };
      }, /Cannot change gateway: not supported by Astrid/],
      [
        (d) => {
          d.plugins.entries.other = { config: { x: 1 } };
        },
        /Cannot change plugins\.entries\.other: not supported by Astrid/,
      ],
      [(d) => {
        d.plugins.load = ["x"];
      }, /Cannot change plugins\.load: not supported/],
      [
        (d) => {
          (d.plugins.entries.demo as Dict).enabled = false;
        },
        /Cannot change plugins\.entries\.demo\.enabled: not supported/,
      ],
      [(d) => {
        delete own(d).limit;
      }, /Cannot remove plugins\.entries\.demo\.config\.limit/],
      [(d) => {
        own(d).limit = undefined;
      }, /Cannot remove plugins\.entries\.demo\.config\.limit/],
      [(d) => {
        own(d).sneaky = "x";
      }, /configSchema does not declare it/],
      [(d) => {
        own(d).limit = () => 1;
      }, /DataCloneError|could not be cloned|not JSON/i],
      [(d) => {
        d.plugins.entries.demo!.config = [] as never;
      }, /must stay an object/],
    ];
    for (const [mutate, message] of cases) {
      await rejects(
        rc.mutateConfigFile((d: Draft) => {
          own(d).greeting = "changed too";
          mutate(d);
        }),
        message,
      );
    }
    await rejects(rc.replaceConfigFile(null), /not an object/);
    await rejects(rc.replaceConfigFile({ nextConfig: "x" }), /not an object/);
    deepEqual(host.sets, [], "nothing reached the host");
    equal(rc.current().plugins.entries.demo!.config.greeting, "Hello");
  });
});

Deno.test("runtime.config: a refused key stops the write; what was approved before it stays visible", async () => {
  await withHost({}, async (host) => {
    const { rc, pluginConfig } = await runtimeConfig();
    await rejects(
      rc.mutateConfigFile((d: { plugins: { entries: Record<string, { config: Dict }> } }) => {
        Object.assign(d.plugins.entries.demo!.config, { tags: ["t"], greeting: "Yo", limit: 1 });
      }),
      /DENIED/,
    );
    deepEqual(host.sets, [["greeting", "Yo"], ["limit", "1"], ["tags", '["t"]']]);
    const now = rc.current().plugins.entries.demo!.config;
    deepEqual(now, { greeting: "Yo", limit: 1 });
    equal(pluginConfig.greeting, "Yo");
    equal(pluginConfig.tags, undefined);
  });
});

Deno.test("toCapsule() accepts every entry form and refuses a module without one", async () => {
  await withHost({}, async () => {
    const tool = {
      name: "t",
      description: "T",
      parameters: { type: "object" },
      execute: () => "ok",
    };
    const forms = [
      { default: (api: { registerTool(t: unknown): void }) => api.registerTool(tool) },
      {
        default: { register: (api: { registerTool(t: unknown): void }) => api.registerTool(tool) },
      },
      { register: (api: { registerTool(t: unknown): void }) => api.registerTool(tool) },
      {
        default: {
          default: {
            register: (api: { registerTool(t: unknown): void }) => api.registerTool(tool),
          },
        },
      },
    ];
    for (const form of forms) equal(await (await adapt(form)).tools.t!.run({}), "ok");
    const empty = toCapsule({ default: 42 }, META) as Capsule;
    await rejects(
      empty.prepare(),
      /Cannot load the OpenClaw plugin: its entry exports no register\(api\)/,
    );
  });
});

Deno.test("registerTool(): objects, factories, v2 descriptors, results and malformed tools", async () => {
  await withHost({}, async () => {
    let factoryCtx: Dict | undefined;
    let executeArgs: unknown[] = [];
    const cap = await adapt({
      default: definePluginEntry({
        id: "demo",
        name: "Demo",
        description: "d",
        register(api: Dict & { registerTool: Function }) {
          api.registerTool({
            name: "rich",
            description: "Rich",
            parameters: {
              type: "object",
              properties: { n: { type: "number" } },
              [Symbol("kind")]: "x",
            },
            prepareArguments: (a: Dict) => ({ ...a, prepared: true }),
            execute: (...args: unknown[]) => {
              executeArgs = args;
              return Promise.resolve({
                content: [{ type: "text", text: "one" }, { type: "image", data: "..." }, {
                  type: "text",
                  text: "two",
                }],
                details: { hidden: true },
              });
            },
          });
          api.registerTool((ctx: Dict) => {
            factoryCtx = ctx;
            return [
              {
                name: "json",
                description: "J",
                parameters: {},
                execute: () => Promise.resolve({ a: 1 }),
              },
              {
                name: "str",
                description: "S",
                parameters: {},
                execute: () => Promise.resolve("plain"),
              },
            ];
          });
          api.registerTool({
            contextVersion: 2,
            create: (ctx: Dict) => ({
              name: "v2",
              description: String(typeof ctx.assertInvocationCurrent),
              parameters: {},
              execute: () => Promise.resolve(textResult("v2!", null)),
            }),
          });
          api.registerTool(() => null, { name: "needs_host" });
          api.registerTool(() => undefined, { names: ["x", "y"] });
          api.registerTool({ description: "no name", parameters: {}, execute: () => {} });
          api.registerTool({ name: "noexec", parameters: {} });
          api.registerTool({ name: "noparams", execute: () => {} });
          api.registerTool({ name: "json", description: "dup", parameters: {}, execute: () => {} });
          api.registerTool(
            Promise.resolve({
              name: "later",
              description: "L",
              parameters: {},
              execute: () => "l",
            }),
          );
        },
      }),
    });
    deepEqual(Object.keys(cap.tools).sort(), ["json", "later", "rich", "str", "v2"]);
    deepEqual(cap.tools.rich!.input, { type: "object", properties: { n: { type: "number" } } });
    equal(await cap.tools.rich!.run({ n: 1 }), "one\n[image]\ntwo");
    match(String(executeArgs[0]), /^[0-9a-f-]{36}$/);
    deepEqual(executeArgs[1], { n: 1, prepared: true });
    equal((executeArgs[2] as AbortSignal).aborted, false);
    equal(typeof executeArgs[3], "function");
    equal(await cap.tools.json!.run({}), '{"a":1}');
    equal(await cap.tools.str!.run({}), "plain");
    equal(await cap.tools.v2!.run({}), "v2!");
    equal(cap.tools.v2!.description, "function");
    equal(factoryCtx!.sandboxed, true);
    equal(factoryCtx!.workspaceDir, ".");
    equal(factoryCtx!.agentId, "astrid");
    equal(factoryCtx!.messageChannel, "astrid");
    deepEqual(cap.notes, [
      "registerTool: factory needs_host returned null when sandboxed: no tool registered",
      "registerTool: factory x, y returned null when sandboxed: no tool registered",
      "registerTool: skipped a tool with no name",
      "registerTool: skipped tool noexec: execute is not a function",
      "registerTool: skipped tool noparams: it has no parameters object",
      "registerTool: skipped tool json: the name is already registered",
    ]);
  });
});

Deno.test("hooks: priority order and the before_tool_call / message_sending merge rules", async () => {
  await withHost({}, async (host) => {
    const order: string[] = [];
    const cap = await adapt({
      register(api: { on: Function; registerHook: Function }) {
        api.on("before_tool_call", (e: Dict) => {
          order.push(`low:${JSON.stringify(e.params)}`);
          return { block: true, blockReason: "too risky" };
        }, { priority: -1 });
        api.on("before_tool_call", (e: Dict) => {
          order.push(`high:${JSON.stringify(e.params)}`);
          return { params: { n: 2 } };
        }, { priority: 10 });
        api.on("before_tool_call", (e: Dict, ctx: Dict) => {
          order.push(`mid:${JSON.stringify(e.params)}:${ctx.toolName}`);
          return { requireApproval: { title: "t", description: "d" }, params: { n: 3 } };
        });
        api.on("message_sending", (e: Dict) => ({ content: `${e.content}!` }), { priority: 2 });
        api.on("message_sending", (e: Dict) => ({ content: `${e.content}?` }));
        api.on("agent_end", () => {
          throw new Error("observer broke");
        });
        api.on("agent_end", () => ({ seen: true }));
        api.on("before_tool_call", () => {
          order.push("exec-only");
          return undefined;
        }, { matcher: ["exec"] });
        api.on("nope", () => {});
        api.on("nope", () => {});
        api.registerHook(["session:start"], () => {});
      },
    });
    const blocked = await cap.hooks.before_tool_call!({
      event: { toolName: "x", params: { n: 1 } },
      ctx: { toolName: "x" },
    });
    // The approval freezes the params of the handler that asked for it; later ones can only block.
    deepEqual(blocked, {
      block: true,
      blockReason: "too risky",
      params: { n: 3 },
      requireApproval: { title: "t", description: "d" },
    });
    // As in OpenClaw, each handler sees the original event, not earlier rewrites.
    deepEqual(order, ['high:{"n":1}', 'mid:{"n":1}:x', 'low:{"n":1}']);
    deepEqual(await cap.hooks.message_sending!({ event: { content: "hi" }, ctx: {} }), {
      content: "hi?",
    });
    order.length = 0;
    await cap.hooks.before_tool_call!({ event: { toolName: "bash", params: {} }, ctx: {} });
    ok(order.includes("exec-only"), "OpenClaw's exec matcher selects Astrid's bash");
    deepEqual(await cap.hooks.agent_end!({ event: {}, ctx: {} }), { seen: true });
    await new Promise((r) => setTimeout(r, 0));
    ok(host.logs.some((l) => l.includes("observer broke")), "a failing observer is logged");
    deepEqual(cap.notes, [
      'on: unknown hook "nope" ignored',
      'registerHook: unknown hook "session:start" ignored',
    ]);
  });
});

Deno.test("hooks: before_tool_call without a decision returns null; a cancel wins message_sending", async () => {
  await withHost({}, async () => {
    const cap = await adapt({
      register(api: { on: Function }) {
        api.on("before_tool_call", () => ({ block: false }));
        api.on("message_sending", () => ({ content: "rewritten" }), { priority: 1 });
        api.on("message_sending", () => ({ cancel: true, cancelReason: "spam" }));
      },
    });
    equal(await cap.hooks.before_tool_call!({ event: { params: {} }, ctx: {} }), null);
    deepEqual(await cap.hooks.message_sending!({ event: { content: "x" }, ctx: {} }), {
      cancel: true,
      cancelReason: "spam",
      content: "rewritten",
    });
  });
});

/** The part of OpenClawPluginApi the command/service test touches. */
interface LooseApi {
  registerCommand(c: unknown): void;
  registerService(s: unknown): void;
  on(name: string, fn: Function): void;
  registerCli(fn: unknown): void;
  registerGatewayMethod(name: string, fn: unknown): void;
  registerHttpRoute(r: unknown): void;
  registerChannel(c: unknown): void;
  registerProvider(p: unknown): void;
  registerSomethingFromTheFuture(x: unknown): void;
  session: { workflow: { enqueueNextTurnInjection(x: unknown): void } };
  runContext: { setRunContext(x: unknown): boolean };
  getRunContext(x: unknown): unknown;
}

Deno.test("registerCommand(), registerService() and unsupported register* calls", async () => {
  await withHost({}, async () => {
    const events: string[] = [];
    let ctx: Dict | undefined;
    const cap = await adapt({
      register(api: LooseApi) {
        api.registerCommand({
          name: "ping",
          description: "Pong",
          acceptsArgs: true,
          handler: (c: Dict) => {
            ctx = c;
            return { text: `pong ${c.args}` };
          },
        });
        api.registerService({
          id: "svc",
          start: (c: Dict) => events.push(`start:${c.stateDir}`),
          stop: () => events.push("stop"),
        });
        api.registerService({
          id: "bad",
          start: () => {
            throw new Error("boom");
          },
        });
        api.on("session_start", () => {
          events.push("hook");
        });
        api.registerCli(() => {});
        api.registerGatewayMethod("demo.status", () => {});
        api.registerHttpRoute({ path: "/x" });
        api.registerChannel({ plugin: { id: "chat" } });
        api.registerProvider({ id: "acme" });
        api.registerSomethingFromTheFuture({ name: "future" });
        api.session.workflow.enqueueNextTurnInjection({});
        equal(api.runContext.setRunContext({}), false);
        equal(api.getRunContext({}), undefined);
      },
    });
    deepEqual(await cap.commands.ping!.run("now"), { text: "pong now" });
    equal(cap.commands.ping!.acceptsArgs, true);
    equal(ctx!.commandBody, "/ping now");
    equal(ctx!.channel, "astrid");
    equal(ctx!.isAuthorizedSender, true);
    deepEqual(await (ctx!.detachConversationBinding as Function)(), { removed: false });
    equal(await (ctx!.getCurrentConversationBinding as Function)(), null);
    equal((await (ctx!.requestConversationBinding as Function)()).status, "error");
    await cap.hooks.session_start!({ event: {}, ctx: {} });
    await cap.hooks.session_end!({ event: {}, ctx: {} });
    deepEqual(
      events,
      ["start:.astrid-state", "hook", "stop"],
      "a failing service does not fail the session",
    );
    deepEqual(cap.notes, [
      "not supported by Astrid: api.registerCli",
      "not supported by Astrid: api.registerGatewayMethod (demo.status)",
      "not supported by Astrid: api.registerHttpRoute (/x)",
      "not supported by Astrid: api.registerChannel (chat)",
      "not supported by Astrid: api.registerProvider (acme)",
      "not supported by Astrid: api.registerSomethingFromTheFuture (future)",
      "not supported by Astrid: api.session.workflow.enqueueNextTurnInjection",
    ]);
  });
});

Deno.test("a session inside the daemon (ctx.servicesHosted) does not start a second copy of the services", async () => {
  await withHost({}, async () => {
    const events: string[] = [];
    let seen: Dict | undefined;
    const cap = await adapt({
      register(api: LooseApi) {
        api.registerService({
          id: "svc",
          start: () => events.push("start"),
          stop: () => events.push("stop"),
        });
        api.on("session_start", (_e: unknown, c: Dict) => {
          seen = c;
          events.push("hook");
        });
      },
    });
    const hosted = { sessionId: "s1", servicesHosted: true };
    await cap.hooks.session_start!({ event: {}, ctx: hosted });
    await cap.hooks.session_end!({ event: {}, ctx: hosted });
    deepEqual(events, ["hook"], "the plugin's own session hooks still run");
    equal(seen!.servicesHosted, undefined, "the marker is not handed to the plugin");
    equal(seen!.sessionId, "s1");
    await cap.hooks.gateway_start!({ event: {}, ctx: {} });
    await cap.hooks.gateway_stop!({ event: {}, ctx: {} });
    deepEqual(events, ["hook", "start", "stop"]);
  });
});

Deno.test("api.resolvePath() normalises inside the workspace and refuses escapes", async () => {
  await withHost({}, async () => {
    let resolve: ((p: string) => string) | undefined;
    await adapt({
      register: (api: { resolvePath: (p: string) => string }) => void (resolve = api.resolvePath),
    });
    equal(resolve!("a/./b/../c.txt"), "a/c.txt");
    equal(resolve!(""), ".");
    equal(resolve!("a/.."), ".");
    for (const bad of ["/etc/passwd", "../x", "a/../../x", "~/.ssh", "C:/x", "a\0b"]) {
      throws(() => resolve!(bad), /it leaves the workspace/, bad);
    }
  });
});

Deno.test("runtime.state.openKeyedStore(): register, ttl, eviction, consume, entries over KV", async () => {
  await withHost({}, async (host) => {
    let runtime:
      | { state: Dict & { openKeyedStore: Function; openSyncKeyedStore: Function } }
      | undefined;
    await adapt({ register: (api: { runtime: typeof runtime }) => void (runtime = api.runtime) });
    throws(
      () => runtime!.state.openSyncKeyedStore({ namespace: "n", maxEntries: 1 }),
      /use openKeyedStore/,
    );
    throws(() => runtime!.state.openKeyedStore({ namespace: "a:b", maxEntries: 1 }), TypeError);
    const store = runtime!.state.openKeyedStore({ namespace: "ns", maxEntries: 2 });
    await store.register("a", { n: 1 });
    await Promise.all([store.register("b", 2), store.registerIfAbsent("b", 99)]);
    equal(await store.lookup("b"), 2);
    await store.register("c", 3); // evicts "a", the oldest
    equal(await store.lookup("a"), undefined);
    deepEqual((await store.entries()).map((e: Dict) => [e.key, e.value]), [["b", 2], ["c", 3]]);
    equal(await store.registerIfAbsent("c", 4), false);
    equal(await store.update("c", (v: number) => v + 10), true);
    equal(await store.consume("c"), 13);
    equal(await store.consume("c"), undefined);
    equal(await store.deleteIfEqual("b", 3), false);
    equal(await store.deleteIfEqual("b", 2), true);
    equal(await store.delete("b"), false);
    await store.register("short", "x", { ttlMs: 1 });
    await new Promise((r) => setTimeout(r, 10));
    equal(await store.lookup("short"), undefined);
    ok([...host.kv.keys()].every((k) => k.startsWith("oc:ns:") || k === "oc-index:ns"));
    await rejects(store.register("bad", undefined), TypeError);
    const full = runtime!.state.openKeyedStore({
      namespace: "strict",
      maxEntries: 1,
      overflowPolicy: "reject-new",
    });
    await full.register("one", 1);
    await rejects(full.register("two", 2), RangeError);
  });
});

Deno.test("runtime.llm.complete() maps to the host's llm.complete and back", async () => {
  await withHost({}, async (host) => {
    let runtime: { llm: { complete: Function } } | undefined;
    await adapt({ register: (api: { runtime: typeof runtime }) => void (runtime = api.runtime) });
    const out = await runtime!.llm.complete({
      messages: [{ role: "user", content: "hello" }],
      systemPrompt: "be brief",
      maxTokens: 10,
      purpose: "test",
      agentId: "ignored",
    });
    deepEqual(host.llm, [{
      messages: [{ role: "user", content: "hello" }],
      systemPrompt: "be brief",
      maxTokens: 10,
      purpose: "test",
    }]);
    equal(out.text, "hi");
    equal(out.model, "m1");
    equal(out.provider, "p1");
    equal(out.stopReason, "stop");
    deepEqual(out.usage, { inputTokens: 3, outputTokens: 1 });
    equal(out.audit.caller.id, "demo");
  });
});

Deno.test("defineToolPlugin(): static execute results are wrapped, metadata is attached", async () => {
  await withHost({ greeting: "Hey" }, async () => {
    const entry = defineToolPlugin({
      id: "demo",
      name: "Demo",
      description: "d",
      configSchema: { type: "object", properties: { greeting: { type: "string", default: "Hi" } } },
      tools: (tool: (d: Dict) => unknown) => [
        tool({
          name: "hello",
          description: "Hello",
          parameters: { type: "object", properties: { who: { type: "string" } } },
          execute: (p: Dict, config: Dict, context: Dict) =>
            `${config.greeting}, ${p.who} (${typeof context.toolCallId})`,
        }),
        tool({ name: "data", description: "Data", parameters: {}, execute: () => ({ a: [1] }) }),
        tool({ name: "made", description: "Made", parameters: {}, factory: () => null }),
      ],
    });
    const meta = getToolPluginMetadata(entry);
    deepEqual(meta.tools.map((t: Dict) => t.name), ["hello", "data", "made"]);
    equal(typeof entry.register, "function");
    const cap = await adapt({ default: entry });
    equal(await cap.tools.hello!.run({ who: "Ada" }), "Hey, Ada (string)");
    equal(await cap.tools.data!.run({}), JSON.stringify({ a: [1] }, null, 2));
    deepEqual(cap.notes, [
      "registerTool: factory made returned null when sandboxed: no tool registered",
    ]);
    throws(
      () =>
        defineToolPlugin({
          id: "x",
          name: "x",
          description: "x",
          tools: (t: Function) => [t({ name: "", parameters: {} })],
        }),
      TypeError,
    );
  });
});

Deno.test("SDK helpers: results, config schemas and runtime stores", () => {
  deepEqual(textResult("a", { b: 1 }), {
    content: [{ type: "text", text: "a" }],
    details: { b: 1 },
  });
  deepEqual(jsonResult({ x: 1 }), {
    content: [{ type: "text", text: '{\n  "x": 1\n}' }],
    details: { x: 1 },
  });
  const empty = emptyPluginConfigSchema();
  equal(empty.safeParse({}).success, true);
  equal(empty.safeParse({ extra: 1 }).success, false);
  throws(() => definePluginEntry({ id: "x" }), TypeError);
  const store = createPluginRuntimeStore("not ready");
  throws(() => store.getRuntime(), /not ready/);
  store.setRuntime({ ok: 1 });
  deepEqual(store.getRuntime(), { ok: 1 });
  const a = createPluginRuntimeStore({ pluginId: "p", errorMessage: "x" });
  const b = createPluginRuntimeStore({ pluginId: "p", errorMessage: "x" });
  a.setRuntime(5);
  equal(b.getRuntime(), 5, "named slots are shared");
});

Deno.test("an OpenClaw plugin compiles, registers sandboxed and runs its tools and commands", async () => {
  const cap = await compiled({
    "openclaw.plugin.json": JSON.stringify({
      id: "demo-plugin",
      name: "Demo",
      description: "A demo",
      version: "1.2.3",
      configSchema: {
        type: "object",
        properties: { greeting: { type: "string", default: "Hello" } },
      },
    }),
    "package.json": JSON.stringify({
      name: "demo-plugin",
      version: "1.2.3",
      type: "module",
      openclaw: { extensions: ["./index.ts"] },
    }),
    "index.ts": `
import { definePluginEntry } from "openclaw/plugin-sdk/plugin-entry";
import { jsonResult } from "openclaw/plugin-sdk/tool-results";
import { createHash } from "node:crypto";
export default definePluginEntry({
  id: "demo-plugin", name: "Demo", description: "A demo",
  register(api) {
    api.registerTool({ name: "greet", description: "Greets", parameters: { type: "object", properties: { who: { type: "string" } } },
      async execute(_id, params) {
        await new Promise((r) => setTimeout(r, 1000));
        return { content: [{ type: "text", text: api.pluginConfig.greeting + ", " + params.who + "!" }] };
      } });
    api.registerTool({ name: "digest", description: "Digest", parameters: { type: "object" },
      async execute() { return jsonResult({ sha: createHash("sha256").update("abc").digest("hex") }); } });
    api.registerTool(() => null, { name: "needs_host" });
    api.registerCommand({ name: "ping", description: "Pong", handler: () => ({ text: "pong" }) });
    api.on("before_tool_call", () => ({ block: true, blockReason: "no" }));
    api.registerProvider({ id: "acme" });
  },
});
`,
  });
  try {
    const d = await cap.describe();
    deepEqual(d.tools.map((t) => t.name), ["greet", "digest"]);
    deepEqual(d.hooks, ["before_tool_call"]);
    equal(await cap.callTool("greet", { who: "Ada" }), "Hello, Ada!");
    match(
      String(await cap.callTool("digest", {})),
      /ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad/,
    );
  } finally {
    await cap.close();
  }
});
