/**
 * The example capsules (examples/notes, examples/weather), end to end: compiled by the real
 * toolchain into a temporary folder, installed, and called through `callCapsuleTool` with a
 * real gate (`openGate`: interceptor, audit log, in-memory store). Nobody answers prompts, so
 * everything that runs does so because of a standing `[permissions] allow` rule, and the audit
 * log says so (`proof: rule:…`).
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { compileCapsule } from "../toolchain/compile.ts";
import { buildEngine } from "../toolchain/engine/build.ts";
import { openStore, type Store } from "../runtime/storage/mod.ts";
import { generateSeed, signerFromSeed } from "../runtime/crypto/mod.ts";
import { AuditLog } from "../runtime/audit/mod.ts";
import { type AstridConfig, DEFAULT_CONFIG } from "../runtime/config/mod.ts";
import { openGate } from "../runtime/security/gate.ts";
import type { SecurityInterceptor } from "../runtime/security/interceptor.ts";
import { testInstall, testRecords } from "../runtime/capsule/_testing.ts";
import {
  callCapsuleTool,
  capsuleDirs,
  type CapsuleHost,
  envFilePath,
  listInstalled,
  writeEnvFile,
} from "../runtime/capsule/mod.ts";

const EXAMPLES = decodeURIComponent(
  new URL("../examples/", import.meta.url).pathname,
);
const LIMITS = { timeoutMs: 10_000, memoryMb: 64 };

let engine: Promise<Uint8Array> | undefined;
function engineBytes(): Promise<Uint8Array> {
  engine ??= buildEngine({ log: () => {} }).then((b) => Deno.readFile(b.path));
  return engine;
}

const compiled = new Map<string, Promise<string>>();

/** Compiles `examples/<name>` (with its type-check) once into a temporary folder. */
function compileExample(name: string): Promise<string> {
  let built = compiled.get(name);
  if (!built) {
    built = (async () => {
      const out = await Deno.makeTempDir({ prefix: `astrid-example-${name}-` });
      await compileCapsule(`${EXAMPLES}${name}`, {
        out,
        engine: await engineBytes(),
      });
      return out;
    })();
    compiled.set(name, built);
  }
  return built;
}

interface World extends AsyncDisposable {
  readonly interceptor: SecurityInterceptor;
  readonly audit: AuditLog;
  readonly store: Store;
  readonly root: string;
  readonly home: string;
}

/** A real gate for a fresh workspace; nobody answers prompts. */
async function world(
  permissions: Partial<AstridConfig["permissions"]>,
): Promise<World> {
  const store = await openStore(":memory:");
  const signer = signerFromSeed(generateSeed());
  const audit = await AuditLog.open(store, signer);
  const root = await Deno.realPath(
    await Deno.makeTempDir({ prefix: "astrid-ws-" }),
  );
  const home = await Deno.makeTempDir({ prefix: "astrid-home-" });
  const config: AstridConfig = {
    ...DEFAULT_CONFIG,
    permissions: { ...DEFAULT_CONFIG.permissions, ...permissions },
  };
  const { interceptor } = await openGate({
    store,
    signer,
    audit,
    config,
    workspaceRoot: root,
    workspaceId: "ws-examples",
    sessionId: "s-examples",
    frontend: null,
  });
  return {
    interceptor,
    audit,
    store,
    root,
    home,
    async [Symbol.asyncDispose]() {
      await audit.close();
      store.close();
      await Deno.remove(root, { recursive: true }).catch(() => {});
      await Deno.remove(home, { recursive: true }).catch(() => {});
    },
  };
}

/** Installs the compiled capsule in `w.home` (user scope) and returns the host for calls. */
async function install(
  w: World,
  built: string,
  env?: Record<string, string>,
): Promise<CapsuleHost> {
  const dirs = capsuleDirs(w.home, null);
  using records = await testRecords(w.store);
  const { loaded } = await testInstall(dirs, built, records, { env: env ?? {} });
  if (env) {
    await writeEnvFile(
      envFilePath(w.home, null, loaded.manifest.package.name),
      env,
    );
  }
  const { capsules, broken } = await listInstalled(dirs, { requireHash: true, records });
  deepEqual(broken, []);
  return { capsules, workspaceRoot: w.root, store: w.store, limits: LIMITS };
}

async function call(w: World, host: CapsuleHost, name: string, args: unknown) {
  return await callCapsuleTool(w.interceptor, host, name, args);
}

function okOutput(outcome: Awaited<ReturnType<typeof call>>): unknown {
  equal(outcome.status, "ok", JSON.stringify(outcome));
  if (outcome.status !== "ok") throw new Error("unreachable");
  equal(outcome.trust, "untrusted");
  return JSON.parse(outcome.result.output);
}

async function entries(w: World) {
  return (await w.audit.list()).map((e) => ({
    kind: e.action.kind,
    resource: String(e.action.resource ?? ""),
    decision: e.decision,
    proof: e.proof,
  }));
}

Deno.test("examples/notes: add_note, list_notes and read_note write real files and KV, audited", async () => {
  const built = await compileExample("notes");
  await using w = await world({ allow: ["capsule://notes/*"] });
  const host = await install(w, built);

  const added = okOutput(
    await call(w, host, "notes__add_note", {
      title: "Shopping list",
      body: "- eggs\n- flour",
      tags: ["home"],
    }),
  );
  deepEqual(added, {
    title: "Shopping list",
    slug: "shopping-list",
    tags: ["home"],
    bytes: 14,
  });
  okOutput(
    await call(w, host, "notes__add_note", {
      title: "Ideas",
      body: "Ünïcode ✓",
    }),
  );

  equal(
    await Deno.readTextFile(`${w.root}/notes/shopping-list.md`),
    "# Shopping list\n\n- eggs\n- flour\n",
  );
  equal(
    await Deno.readTextFile(`${w.root}/notes/ideas.md`),
    "# Ideas\n\nÜnïcode ✓\n",
  );
  const index = (await w.store.get(["capsule_kv", "notes", "index"])).value as {
    slug: string;
  }[];
  deepEqual(index.map((e) => e.slug), ["ideas", "shopping-list"]);

  const all = okOutput(await call(w, host, "notes__list_notes", {})) as {
    title: string;
  }[];
  deepEqual(all.map((n) => n.title), ["Ideas", "Shopping list"]);
  const home = okOutput(
    await call(w, host, "notes__list_notes", { tag: "home" }),
  ) as {
    title: string;
  }[];
  deepEqual(home.map((n) => n.title), ["Shopping list"]);
  // The note is read back from the file, not from KV: edit the file and read it.
  await Deno.writeTextFile(
    `${w.root}/notes/ideas.md`,
    "# Ideas\n\nedited outside\n",
  );
  deepEqual(
    okOutput(await call(w, host, "notes__read_note", { title: "Ideas" })),
    {
      title: "Ideas",
      text: "# Ideas\n\nedited outside\n",
    },
  );

  const log = await entries(w);
  const tools = log.filter((e) => e.kind === "capsule_tool_call" && e.decision === "allowed");
  equal(tools.length, 5);
  ok(
    tools.every((e) => e.proof === "rule:capsule://notes/*"),
    JSON.stringify(tools),
  );
  ok(
    log.some((e) => e.resource === "capsule://notes/write_file" && e.decision === "allowed"),
  );
  ok(
    log.some((e) => e.resource === "capsule://notes/fs_mkdir" && e.decision === "allowed"),
  );
  ok(
    log.some((e) => e.resource === "capsule://notes/read_file" && e.decision === "allowed"),
  );
  equal(log.filter((e) => e.decision === "denied").length, 0);
});

Deno.test("examples/notes: the zod schema refuses bad arguments and a hostile title stays in notes/", async () => {
  const built = await compileExample("notes");
  await using w = await world({ allow: ["capsule://notes/*"] });
  const host = await install(w, built);

  const bad = await call(w, host, "notes__add_note", { title: "", body: "x" });
  equal(bad.status, "error");
  if (bad.status === "error") {
    equal(bad.code, "THROWN");
    match(bad.message, /Cannot use title/);
  }
  const missing = await call(w, host, "notes__read_note", { title: "nope" });
  equal(missing.status, "error");
  if (missing.status === "error") match(missing.message, /no such note/);

  okOutput(
    await call(w, host, "notes__add_note", {
      title: "../../etc/passwd",
      body: "x",
    }),
  );
  deepEqual([...Deno.readDirSync(`${w.root}/notes`)].map((e) => e.name), [
    "etc-passwd.md",
  ]);
  deepEqual(
    (await w.store.get(["capsule_kv", "notes", "index"])).value,
    [{ title: "../../etc/passwd", slug: "etc-passwd", tags: [], bytes: 1 }],
  );
});

Deno.test("examples/notes: a deny rule on write_file stops add_note; nothing is written", async () => {
  const built = await compileExample("notes");
  await using w = await world({
    allow: ["capsule://notes/*"],
    deny: ["capsule://notes/write_file"],
  });
  const host = await install(w, built);
  const out = await call(w, host, "notes__add_note", { title: "t", body: "b" });
  equal(out.status, "error");
  if (out.status === "error") match(out.message, /DENIED|denied/);
  equal(await Deno.lstat(`${w.root}/notes/t.md`).catch(() => null), null);
  equal((await w.store.get(["capsule_kv", "notes", "index"])).value, null);
  const denied = (await entries(w)).filter((e) => e.decision === "denied");
  deepEqual(denied.map((e) => e.resource), ["capsule://notes/write_file"]);
});

interface Served extends AsyncDisposable {
  readonly base: string;
  readonly requests: {
    path: string;
    city: string | null;
    accept: string | null;
  }[];
}

/** A local weather service on 127.0.0.1 answering `/current?city=…` with JSON. */
function weatherServer(): Served {
  const temps: Record<string, number> = { Oslo: -3, Lisbon: 19, Cairo: 31 };
  const requests: Served["requests"] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, (req) => {
    const url = new URL(req.url);
    const city = url.searchParams.get("city");
    requests.push({
      path: url.pathname,
      city,
      accept: req.headers.get("accept"),
    });
    if (url.pathname !== "/current" || city === null || !(city in temps)) {
      return Response.json({ error: "unknown city" }, { status: 404 });
    }
    const tempC = temps[city]!;
    return Response.json({
      city,
      tempC,
      summary: tempC > 25 ? "hot" : "mild",
      extra: "dropped",
    });
  });
  return {
    base: `http://127.0.0.1:${server.addr.port}`,
    requests,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("examples/weather: async fetch() reaches a local server on 127.0.0.1, audited", async () => {
  const built = await compileExample("weather");
  await using server = weatherServer();
  await using w = await world({ allow: ["capsule://weather/*"] });
  const host = await install(w, built, { WEATHER_URL: server.base });

  deepEqual(
    okOutput(await call(w, host, "weather__current", { city: "Oslo" })),
    {
      city: "Oslo",
      tempC: -3,
      summary: "mild",
    },
  );
  const compared = okOutput(
    await call(w, host, "weather__compare", {
      cities: ["Oslo", "Cairo", "Lisbon"],
    }),
  ) as { city: string }[];
  deepEqual(compared.map((c) => c.city), ["Cairo", "Lisbon", "Oslo"]);
  deepEqual(server.requests.map((r) => r.city), [
    "Oslo",
    "Oslo",
    "Cairo",
    "Lisbon",
  ]);
  ok(
    server.requests.every((r) => r.path === "/current" && r.accept === "application/json"),
  );

  const missing = await call(w, host, "weather__current", { city: "Atlantis" });
  equal(missing.status, "error");
  if (missing.status === "error") match(missing.message, /HTTP 404/);

  const http = (await entries(w)).filter((e) => e.resource === "capsule://weather/http_request");
  equal(http.filter((e) => e.decision === "allowed").length, 5);
  ok(http.every((e) => e.decision !== "denied"));
});

Deno.test("examples/weather: a service URL outside net (localhost) is refused before any request", async () => {
  const built = await compileExample("weather");
  await using server = weatherServer();
  await using w = await world({ allow: ["capsule://weather/*"] });
  const port = new URL(server.base).port;
  const host = await install(w, built, {
    WEATHER_URL: `http://localhost:${port}`,
  });
  const out = await call(w, host, "weather__current", { city: "Oslo" });
  equal(out.status, "error");
  if (out.status === "error") match(out.message, /not in net|net/);
  equal(server.requests.length, 0);
  const denied = (await entries(w)).filter((e) => e.decision === "denied");
  deepEqual(denied.map((e) => e.resource), [
    "tool://capsule:weather/http-request",
  ]);
});

Deno.test("examples/weather: without an allow rule and nobody to ask, the call is deferred", async () => {
  const built = await compileExample("weather");
  await using server = weatherServer();
  await using w = await world({});
  const host = await install(w, built, { WEATHER_URL: server.base });
  const out = await call(w, host, "weather__current", { city: "Oslo" });
  equal(out.status, "deferred");
  equal(server.requests.length, 0);
  ok((await entries(w)).some((e) => e.decision === "deferred"));
});
