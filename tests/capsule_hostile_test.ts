/**
 * Hostile capsules: TypeScript written inline, compiled by the real toolchain (`compileCapsule`)
 * and run by `CapsuleInstance` with a real gate (`openGate`: interceptor, audit log, in-memory
 * store). Each test checks that the attack is contained, that the host says why, and that the
 * runtime keeps working afterwards.
 */
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { compileCapsule } from "../toolchain/compile.ts";
import { buildEngine } from "../toolchain/engine/build.ts";
import { openStore, type Store } from "../runtime/storage/mod.ts";
import { generateSeed, signerFromSeed } from "../runtime/crypto/mod.ts";
import { AuditLog } from "../runtime/audit/mod.ts";
import { type AstridConfig, DEFAULT_CONFIG } from "../runtime/config/mod.ts";
import { openGate } from "../runtime/security/gate.ts";
import type { SecurityInterceptor } from "../runtime/security/interceptor.ts";
import {
  capsuleDirs,
  CapsuleError,
  CapsuleInstance,
  type CapsuleLogLine,
  type HostEnv,
  listInstalled,
  loadCapsule,
  MAX_OUTPUT_BYTES,
  ModuleCache,
} from "../runtime/capsule/mod.ts";
import { MAX_HOST_CALLS } from "../runtime/capsule/host/functions.ts";
import { testInstall, testRecords } from "../runtime/capsule/_testing.ts";

/** One capsule with a tool per attack. It is plain JS (compiled without type-check). */
const HOSTILE_SOURCE = `
import { defineCapsule, fs, kv } from "@astrid/sdk";
const raw = globalThis.__astrid_host;
const attempt = async (f) => {
  try { return { ok: await f() }; } catch (e) { return { error: e.code ?? "?", message: String(e.message) }; }
};
export default defineCapsule({
  tools: {
    echo: { description: "echo", run: (a) => a },
    spin: { description: "an infinite loop", run: () => { for (;;) {} } },
    bomb: { description: "a memory bomb", run: () => {
      const keep = [];
      for (let i = 0; ; i++) keep.push(new Array(1 << 16).fill(i));
    } },
    strings: { description: "ever longer strings", run: () => {
      const keep = [];
      for (let n = 1; ; n *= 2) keep.push("x".repeat(n));
    } },
    recurse: { description: "deep recursion", run: () => { const f = (n) => f(n + 1) + 1; return f(0); } },
    read: { description: "reads a file", run: (a) => attempt(() => fs.readFile(a.path)) },
    write: { description: "writes a file", run: (a) => attempt(() => fs.writeFile(a.path, "x".repeat(a.mb << 20))) },
    fetch: { description: "fetches", run: (a) => attempt(async () => {
      const res = await fetch(a.url);
      return { status: res.status, location: res.headers.get("location") };
    }) },
    huge: { description: "a huge output", run: (a) => "x".repeat(a.mb << 20) },
    longlog: { description: "a huge log line", run: (a) => { console.log("y".repeat(a.mb << 20)); return 1; } },
    logs: { description: "n raw log calls", run: (a) => {
      for (let i = 0; i < a.n; i++) raw.log('{"level":"debug","message":"flood"}');
      return a.n;
    } },
    kvs: { description: "n kv.get calls", run: async (a) => {
      for (let i = 0; i < a.n; i++) await kv.get("k");
      return a.n;
    } },
    swallow: { description: "host calls forever, errors ignored", run: (a) => {
      for (;;) try { raw[a.fn](a.arg); } catch { /* keep going */ }
    } },
  },
});
`;

const HOSTILE_MANIFEST = `[package]
name = "hostile"
version = "0.1.0"

[capabilities]
fs_read = ["."]
fs_write = ["out"]
net = ["127.0.0.1"]
kv = true
`;

const cache = new ModuleCache();
let built: Promise<{ dir: string; other: string }> | undefined;

/** Compiles the hostile capsule (and a harmless one, for the swap test) once per process. */
function build(): Promise<{ dir: string; other: string }> {
  built ??= (async () => {
    const engine = await Deno.readFile(
      (await buildEngine({ log: () => {} })).path,
    );
    const compile = async (manifest: string, source: string) => {
      const src = await Deno.makeTempDir({ prefix: "astrid-hostile-src-" });
      await Deno.writeTextFile(`${src}/Capsule.toml`, manifest);
      await Deno.writeTextFile(`${src}/mod.ts`, source);
      const out = await Deno.makeTempDir({ prefix: "astrid-hostile-" });
      await compileCapsule(src, { out, engine, typeCheck: false });
      return out;
    };
    const dir = await compile(HOSTILE_MANIFEST, HOSTILE_SOURCE);
    const other = await compile(
      HOSTILE_MANIFEST,
      `import { defineCapsule } from "@astrid/sdk";
       export default defineCapsule({ tools: { echo: { description: "other", run: () => "other" } } });`,
    );
    return { dir, other };
  })();
  return built;
}

interface World extends AsyncDisposable {
  readonly interceptor: SecurityInterceptor;
  readonly audit: AuditLog;
  readonly store: Store;
  readonly root: string;
}

/** A real gate over a fresh workspace. A standing allow rule covers the capsule's own actions. */
async function world(): Promise<World> {
  const store = await openStore(":memory:");
  const signer = signerFromSeed(generateSeed());
  const audit = await AuditLog.open(store, signer);
  const root = await Deno.realPath(
    await Deno.makeTempDir({ prefix: "astrid-ws-" }),
  );
  const config: AstridConfig = {
    ...DEFAULT_CONFIG,
    permissions: {
      ...DEFAULT_CONFIG.permissions,
      allow: ["capsule://hostile/*"],
    },
  };
  const { interceptor } = await openGate({
    store,
    signer,
    audit,
    config,
    workspaceRoot: root,
    workspaceId: "ws-hostile",
    sessionId: "s-hostile",
    frontend: null,
  });
  return {
    interceptor,
    audit,
    store,
    root,
    async [Symbol.asyncDispose]() {
      await audit.close();
      store.close();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    },
  };
}

async function start(
  w: World,
  opts: {
    timeoutMs?: number;
    memoryMb?: number;
    log?: (l: CapsuleLogLine) => void;
  } = {},
): Promise<CapsuleInstance> {
  const loaded = await loadCapsule((await build()).dir, {
    requireHash: true,
    cache,
  });
  const env: HostEnv = {
    capsule: "hostile",
    manifest: loaded.manifest,
    workspaceRoot: w.root,
    interceptor: w.interceptor,
    store: w.store,
    config: {},
    secretKeys: new Set(),
    log: opts.log,
  };
  return await CapsuleInstance.create(loaded, env, {
    timeoutMs: opts.timeoutMs ?? 10_000,
    memoryMb: opts.memoryMb ?? 64,
  });
}

function engineCode(code: string, message?: RegExp) {
  return (e: unknown): boolean => {
    ok(e instanceof CapsuleError, String(e));
    equal(e.engineCode, code, e.message);
    if (message) match(e.message, message);
    return true;
  };
}

async function denied(w: World): Promise<string[]> {
  return (await w.audit.list()).filter((e) => e.decision === "denied").map((
    e,
  ) => String(e.action.resource));
}

Deno.test("an infinite loop is interrupted at the deadline; the instance and a fresh one keep working", async () => {
  await using w = await world();
  const capsule = await start(w, { timeoutMs: 100 });
  await rejects(capsule.callTool("spin", {}), engineCode("DEADLINE"));
  await rejects(capsule.callTool("spin", {}), engineCode("DEADLINE"));
  deepEqual(await capsule.callTool("echo", { after: "spin" }), {
    after: "spin",
  });
  await capsule.close();
  const fresh = await start(w, { timeoutMs: 100 });
  deepEqual(await fresh.callTool("echo", 1), 1);
  await fresh.close();
});

Deno.test("a memory bomb is contained by the heap limit and the instance keeps working", async () => {
  await using w = await world();
  const capsule = await start(w, { memoryMb: 16 });
  await rejects(capsule.callTool("bomb", {}), engineCode("MEMORY"));
  await rejects(capsule.callTool("strings", {}), engineCode("MEMORY"));
  deepEqual(await capsule.callTool("echo", "still here"), "still here");
  await capsule.close();
});

Deno.test("deep recursion fails with STACK and the instance keeps working", async () => {
  await using w = await world();
  const capsule = await start(w);
  await rejects(capsule.callTool("recurse", {}), engineCode("STACK"));
  deepEqual(await capsule.callTool("echo", 2), 2);
  await capsule.close();
});

Deno.test("read-file of ../../etc/passwd and of an absolute path is refused by both checks, every time, and audited", async () => {
  await using w = await world();
  const capsule = await start(w);
  const paths = [
    "../../etc/passwd",
    "/etc/passwd",
    "../../etc/passwd",
    "/etc/passwd",
  ];
  for (const path of paths) {
    const out = await capsule.callTool("read", { path }) as {
      error: string;
      message: string;
    };
    equal(out.error, "CONFINED", path);
    match(out.message, /outside the workspace/);
  }
  deepEqual(
    await denied(w),
    paths.map(() => "tool://capsule:hostile/read-file"),
  );
  // The allow rule never let anything through: nothing was allowed.
  equal(
    (await w.audit.list()).filter((e) => e.decision === "allowed").length,
    0,
  );
  // Second check on its own: even under the allow rule, the interceptor refuses /etc/passwd.
  const second = await w.interceptor.intercept({
    kind: "capsule_file_access",
    capsule: "hostile",
    capability: "read_file",
    path: "/etc/passwd",
  }, { capsule: "hostile" });
  equal(second.outcome, "denied");
  equal((await denied(w)).length, 5);
  // A file inside the workspace is still readable afterwards.
  await Deno.writeTextFile(`${w.root}/ok.txt`, "fine");
  deepEqual(await capsule.callTool("read", { path: "ok.txt" }), { ok: "fine" });
  await capsule.close();
});

Deno.test("http to a host not in net is refused before any request; a redirect away is not followed", async () => {
  await using w = await world();
  const seen: string[] = [];
  let away = "";
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (r): Response => {
      seen.push(new URL(r.url).pathname);
      return new Response(null, { status: 302, headers: { location: away } });
    },
  );
  away = `http://localhost:${server.addr.port}/stolen`;
  const capsule = await start(w);
  const port = server.addr.port;
  for (
    const url of [
      `http://localhost:${port}/x`,
      "http://198.51.100.7/",
      "file:///etc/passwd",
    ]
  ) {
    const out = await capsule.callTool("fetch", { url }) as { error: string };
    equal(out.error, "CONFINED", url);
  }
  deepEqual(seen, []);
  deepEqual(
    await denied(w),
    [1, 2, 3].map(() => "tool://capsule:hostile/http-request"),
  );
  const redirected = await capsule.callTool("fetch", {
    url: `http://127.0.0.1:${port}/go`,
  });
  deepEqual(redirected, {
    ok: { status: 302, location: `http://localhost:${port}/stolen` },
  });
  deepEqual(seen, ["/go"]);
  await capsule.close();
});

Deno.test("a capsule.wasm swapped after install fails its hash check and never loads", async () => {
  const { dir, other } = await build();
  const home = await Deno.makeTempDir({ prefix: "astrid-home-" });
  const dirs = capsuleDirs(home, null);
  using records = await testRecords();
  await testInstall(dirs, dir, records);
  const installed = `${dirs.user}/hostile/capsule.wasm`;
  // A different, valid capsule put in its place: only the hash can tell.
  await Deno.copyFile(`${other}/capsule.wasm`, installed);
  const { capsules, broken } = await listInstalled(dirs, { requireHash: true, records });
  deepEqual(capsules, []);
  equal(broken.length, 1);
  ok(broken[0]!.error instanceof CapsuleError);
  equal((broken[0]!.error as CapsuleError).code, "INTEGRITY");
  await rejects(
    loadCapsule(`${dirs.user}/hostile`, { requireHash: true, cache }),
    (e: unknown) => e instanceof CapsuleError && e.code === "INTEGRITY",
  );
  // The module cache is keyed by the manifest hash; it must not hand out the trusted module.
  await rejects(
    loadCapsule(`${dirs.user}/hostile`, { requireHash: true, cache }),
    (e: unknown) => e instanceof CapsuleError && e.code === "INTEGRITY",
  );
  await Deno.remove(home, { recursive: true });
});

Deno.test("a 100 MB output is refused with a clear error, without exhausting the host", async () => {
  await using w = await world();
  const capsule = await start(w);
  // 100 MB does not fit in the capsule's heap (64 MiB at most).
  await rejects(capsule.callTool("huge", { mb: 100 }), engineCode("MEMORY"));
  // 8 MB fits in the heap but not through the output cap.
  await rejects(
    capsule.callTool("huge", { mb: 8 }),
    engineCode("OUTPUT_TOO_LARGE", new RegExp(`max ${MAX_OUTPUT_BYTES}`)),
  );
  // The same bytes through write-file are refused by the host's file cap; nothing is written.
  await Deno.mkdir(`${w.root}/out`);
  const wrote = await capsule.callTool("write", {
    path: "out/big.txt",
    mb: 20,
  }) as {
    error: string;
  };
  equal(wrote.error, "TOO_LARGE");
  equal(await Deno.lstat(`${w.root}/out/big.txt`).catch(() => null), null);
  deepEqual(await capsule.callTool("echo", "small"), "small");
  await capsule.close();
});

Deno.test("a huge log line is cut to the host's limit", async () => {
  await using w = await world();
  const lines: CapsuleLogLine[] = [];
  const capsule = await start(w, { log: (l) => lines.push(l) });
  equal(await capsule.callTool("longlog", { mb: 10 }), 1);
  equal(lines.length, 1);
  equal(lines[0]!.message.length, 4096);
  await capsule.close();
});

Deno.test("a flood of 100k host calls is bounded, the host stays responsive, and the deadline applies", async () => {
  await using w = await world();
  let lines = 0;
  const capsule = await start(w, { timeoutMs: 60_000, log: () => lines++ });
  const ticked = async (run: () => Promise<unknown>) => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      await run();
    } finally {
      clearInterval(timer);
    }
    return ticks;
  };
  // Under the per-call limit the calls all run, and host timers keep firing meanwhile.
  ok(
    await ticked(() => capsule.callTool("kvs", { n: MAX_HOST_CALLS - 1 })) > 0,
  );
  ok(await ticked(() => capsule.callTool("logs", { n: MAX_HOST_CALLS })) > 0);
  equal(lines, MAX_HOST_CALLS);
  // 100k: the host serves MAX_HOST_CALLS of them, then the call fails (refused or interrupted).
  const flooded = (e: unknown): boolean => {
    ok(e instanceof CapsuleError, String(e));
    ok(
      e.engineCode === "DEADLINE" ||
        (e.engineCode === "THROWN" && /host calls|none/.test(e.message)),
      e.message,
    );
    return true;
  };
  await rejects(capsule.callTool("logs", { n: 100_000 }), flooded);
  equal(lines, 2 * MAX_HOST_CALLS);
  await rejects(capsule.callTool("kvs", { n: 100_000 }), flooded);
  // The limit is per call: the same instance serves the next call.
  equal(await capsule.callTool("logs", { n: 3 }), 3);
  equal(lines, 2 * MAX_HOST_CALLS + 3);
  await capsule.close();

  // A capsule that swallows every refusal is interrupted: the deadline still applies.
  const swallow = await start(w, { timeoutMs: 300, log: () => {} });
  for (
    const [fn, arg] of [["log", '{"message":"x"}'], ["kv-get", '{"key":"k"}']]
  ) {
    await rejects(
      swallow.callTool("swallow", { fn, arg }),
      engineCode("DEADLINE"),
    );
  }
  deepEqual(
    await swallow.callTool("echo", "after the flood"),
    "after the flood",
  );
  await swallow.close();
});
