/**
 * OpenClaw plugins, end to end through the real CLI: each fixture in testdata/openclaw is
 * compiled with `astrid capsule compile`, installed with `astrid capsule install` into a fresh
 * ASTRID_HOME, and then used the way a person or an agent uses it: `tools list`, `tools call`,
 * `capsule run`, and one `chat -p` turn against the loopback Anthropic replay server. The
 * services the plugins talk to (an inventory service, a policy service) are `Deno.serve`s on
 * 127.0.0.1 inside the test; everything else is the real thing.
 */
import { deepEqual, equal, match, notEqual, ok } from "node:assert/strict";
import { join } from "node:path";
import { startFakeAnthropic } from "../runtime/llm/replay_anthropic.ts";
import { type CliRun, jsonIn, nobodyWorld, runCli, tempDirs } from "./cli.ts";
import { connectDaemon } from "../runtime/daemon/client.ts";

const FIXTURES = decodeURIComponent(new URL("../testdata/openclaw", import.meta.url).pathname);

/** The exit codes of runtime/cli/errors.ts, as a user sees them. */
const EXIT = { ok: 0, usage: 2, denied: 3, deferred: 4 } as const;

/** Compiled outputs, one per fixture for the whole file (each test installs its own copy). */
const BUILDS = await Deno.makeTempDir({ prefix: "astrid-oc-e2e-builds-" });
globalThis.addEventListener("unload", () => {
  Deno.removeSync(BUILDS, { recursive: true });
});
const built = new Map<string, Promise<string>>();

/** `astrid capsule compile testdata/openclaw/NAME -o OUT`, once per fixture. */
function compiled(name: string): Promise<string> {
  let out = built.get(name);
  if (!out) {
    out = (async () => {
      const dir = join(BUILDS, name);
      const r = await runCli(["capsule", "compile", join(FIXTURES, name), "-o", dir], {
        home: BUILDS,
      });
      equal(r.code, EXIT.ok, `compile ${name}: ${r.stderr}`);
      return dir;
    })();
    built.set(name, out);
  }
  return out;
}

interface World extends AsyncDisposable {
  readonly home: string;
  readonly ws: string;
  /** Runs `astrid ...args` in the workspace. */
  cli(args: string[], env?: Record<string, string>): Promise<CliRun>;
  /** `astrid tools call NAME --args JSON ...extra`. */
  call(tool: string, args: unknown, ...extra: string[]): Promise<CliRun>;
  /** `astrid audit list --json`. */
  audit(): Promise<AuditEntry[]>;
}

interface AuditEntry {
  decision: string;
  proof?: string;
  action: {
    kind: string;
    resource: string;
    detail?: { hooks?: { capsule: string; hook: string; decision: string }[] };
  };
}

/** A fresh home and workspace (`astrid init`-ed), with `config` as the user's config.toml. */
async function world(config = ""): Promise<World> {
  const { home, ws } = await tempDirs();
  equal((await runCli(["init", ws], { home })).code, EXIT.ok);
  if (config) await Deno.writeTextFile(join(home, "config.toml"), config);
  const cli = (args: string[], env?: Record<string, string>) =>
    runCli(args, { home, cwd: ws, ...(env ? { env } : {}) });
  return {
    home,
    ws,
    cli,
    call: (tool, args, ...extra) =>
      cli(["tools", "call", tool, "--args", JSON.stringify(args), ...extra]),
    async audit() {
      const r = await cli(["audit", "list", "--json"]);
      equal(r.code, EXIT.ok, r.stderr);
      return JSON.parse(r.stdout) as AuditEntry[];
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(home, { recursive: true }).catch(() => {});
      await Deno.remove(ws, { recursive: true }).catch(() => {});
    },
  };
}

/** Compiles (once) and installs fixture `name` for the user, with `--env KEY=VALUE`s. */
async function install(w: World, name: string, env: Record<string, string> = {}) {
  const dir = await compiled(name);
  const flags = Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]);
  const r = await w.cli(["capsule", "install", dir, "--yes", ...flags]);
  equal(r.code, EXIT.ok, `install ${name}: ${r.stderr}`);
  return r;
}

async function toolNames(w: World): Promise<string[]> {
  const r = await w.cli(["tools", "list", "--json"]);
  equal(r.code, EXIT.ok, r.stderr);
  return (JSON.parse(r.stdout) as { name: string }[]).map((t) => t.name);
}

function sha256Hex8(text: string): Promise<string> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)).then((d) =>
    Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("").slice(0, 8)
  );
}

/** A 127.0.0.1 service on a random port that records every request it answers. */
function loopback(
  handle: (req: Request, url: URL) => Response | Promise<Response>,
): { url: string; seen: { path: string; headers: Headers; body: string }[] } & AsyncDisposable {
  const seen: { path: string; headers: Headers; body: string }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    seen.push({ path: url.pathname, headers: req.headers, body: await req.text() });
    return handle(req, url);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

// ---- forecast: a TypeBox tool plugin with config ----

Deno.test("forecast: installed with --env, its tools list, run through the gate and see the config", async () => {
  await using w = await world();
  await install(w, "forecast", { units: "imperial", apiKey: "k-123" });
  const names = await toolNames(w);
  ok(names.includes("forecast__forecast"), names.join());
  ok(names.includes("forecast__config_echo"), names.join());
  ok(
    !names.some((n) => n.includes("local_radar")),
    "the desktop-only tool opts out when sandboxed",
  );

  const args = { city: "Oslo", days: 2 };
  equal((await w.call("forecast__forecast", args)).code, EXIT.deferred, "safe mode defers");
  const r = await w.call("forecast__forecast", args, "--approve", "once");
  equal(r.code, EXIT.ok, r.stderr);
  match(r.stdout, /day 1: \w+, \d+°F/);
  match(r.stdout, /day 2: \w+, \d+°F/);
  ok(!r.stdout.includes("day 3"), r.stdout);
  match(r.stdout, / in Oslo:/);

  const echo = await w.call("forecast__config_echo", {}, "--approve", "once");
  equal(echo.code, EXIT.ok, echo.stderr);
  const config = jsonIn(echo.stdout);
  equal(config.units, "imperial");
  equal(config.hasKey, true);
  equal(config.maxDays, 5, "the configSchema default");
  ok(!echo.stdout.includes("k-123"), "the secret itself is not echoed");
});

Deno.test("forecast: without apiKey hasKey is false and units default to metric", async () => {
  await using w = await world();
  await install(w, "forecast");
  const echo = await w.call("forecast__config_echo", {}, "--approve", "once");
  equal(echo.code, EXIT.ok, echo.stderr);
  const config = jsonIn(echo.stdout);
  equal(config.units, "metric");
  equal(config.hasKey, false);
});

Deno.test("forecast: arguments that break the schema are a usage error naming the field; the capsule is never entered", async () => {
  await using w = await world();
  await install(w, "forecast");
  const before = (await w.audit()).length;
  const call = (args: unknown) => w.call("forecast__forecast", args, "--approve", "once");
  const missing = await call({ city: "Oslo" });
  const tooMany = await call({ city: "Oslo", days: 9 });
  const entered = (await w.audit()).slice(before).filter((e) =>
    e.action.resource.startsWith("capsule://forecast/")
  );
  deepEqual(entered, [], "no action of the capsule reached the gate");
  for (const r of [missing, tooMany]) {
    match(r.stderr, /INVALID_ARGS: Cannot call forecast__forecast: days: /);
    equal(r.stdout, "");
    equal(r.code, EXIT.usage, `exit ${r.code}: ${r.stderr}`);
  }
});

// ---- quotes: defineToolPlugin, dist-only, with a factory tool ----

Deno.test("quotes: a defineToolPlugin's plain result and its factory tool run", async () => {
  await using w = await world();
  await install(w, "quotes");
  const names = await toolNames(w);
  for (const t of ["quotes__quote", "quotes__quote_text", "quotes__watchlist"]) {
    ok(names.includes(t), `${t} in ${names.join()}`);
  }
  ok(!names.some((n) => n.includes("desk_ticker")), "the factory returned null when sandboxed");

  const q = await w.call("quotes__quote", { symbol: "acme" }, "--approve", "once");
  equal(q.code, EXIT.ok, q.stderr);
  const quote = jsonIn(q.stdout);
  equal(quote.symbol, "ACME");
  equal(typeof quote.price, "number");
  equal(quote.currency, "USD");

  const text = await w.call("quotes__quote_text", { symbol: "acme" }, "--approve", "once");
  equal(text.code, EXIT.ok, text.stderr);
  match(text.stdout, new RegExp(`ACME trades at ${quote.price}`));

  const list = await w.call("quotes__watchlist", { symbols: ["acme", "zzz"] }, "--approve", "once");
  equal(list.code, EXIT.ok, list.stderr);
  match(list.stdout, new RegExp(`ACME: ${quote.price}`));
  match(list.stdout, /ZZZ: \d+(\.\d+)?/);
});

Deno.test("quotes: a config schema declared only in code is asked for at install and reaches the tool", async () => {
  await using w = await world();
  await install(w, "quotes", { currency: "EUR" });
  const q = await w.call("quotes__quote", { symbol: "acme" }, "--approve", "once");
  equal(q.code, EXIT.ok, q.stderr);
  equal(jsonIn(q.stdout).currency, "EUR");
  // A key the schema does not declare is named, not silently dropped.
  const again = await install(w, "quotes", { currency: "EUR", region: "eu" });
  match(again.stderr, /--env region ignored: quotes declares no such \[env\] entry/);
});

Deno.test("quotes: a symbol that breaks the tool's pattern is a usage error naming the field", async () => {
  await using w = await world();
  await install(w, "quotes");
  const bad = await w.call("quotes__quote", { symbol: "not a symbol!" }, "--approve", "once");
  equal(bad.code, EXIT.usage, `exit ${bad.code}: ${bad.stderr}`);
  match(bad.stderr, /symbol/);
});

// ---- notes: commands, a keyed store in capsule KV, Node built-ins, resolvePath ----

Deno.test("notes: /note saves to capsule KV, /notes and notes_search find it from later processes", async () => {
  await using w = await world();
  await install(w, "notes");
  const id = await sha256Hex8("buy milk");
  const saved = await w.cli([
    "capsule",
    "run",
    "notes",
    "note",
    "buy",
    "milk",
    "--approve",
    "once",
  ]);
  equal(saved.code, EXIT.ok, saved.stderr);
  match(saved.stdout, new RegExp(`saved note ${id} \\(8 bytes\\)`));

  const listed = await w.cli(["capsule", "run", "notes", "notes", "--approve", "once"]);
  equal(listed.code, EXIT.ok, listed.stderr);
  match(listed.stdout, new RegExp(`^${id}: buy milk$`, "m"));

  const found = await w.call("notes__notes_search", { word: "milk" }, "--approve", "once");
  equal(found.code, EXIT.ok, found.stderr);
  match(found.stdout, new RegExp(`${id}: buy milk`));
  const none = await w.call("notes__notes_search", { word: "eggs" }, "--approve", "once");
  equal(none.code, EXIT.ok, none.stderr);
  match(none.stdout, /no match/);

  const empty = await w.cli(["capsule", "run", "notes", "note", "--approve", "once"]);
  equal(empty.code, EXIT.ok, empty.stderr);
  match(empty.stdout, /usage: \/note TEXT/);
});

Deno.test("notes: its service starts when the daemon starts (gateway_start) and stops when it stops", async () => {
  await using w = await world('[permissions]\nallow = ["capsule://notes/*"]\n');
  await install(w, "notes");
  // The service records its start and stop in the capsule's KV; `/notes` lists what is there.
  const notes = async () => {
    const r = await w.cli(["capsule", "run", "notes", "notes"]);
    equal(r.code, EXIT.ok, r.stderr);
    return r.stdout.trim();
  };
  equal(await notes(), "no notes");
  const start = await w.cli(["daemon", "start"]);
  equal(start.code, EXIT.ok, start.stderr);
  try {
    const client = await connectDaemon(w.home, "test");
    ok(client, "the daemon answers");
    try {
      const { services } = await client.call<{ services: { capsule: string; state: string }[] }>(
        "services.list",
      );
      deepEqual(services.map((s) => [s.capsule, s.state]), [["notes", "running"]]);
    } finally {
      client.close();
    }
    equal(await notes(), "service: started");
  } finally {
    equal((await w.cli(["daemon", "stop"])).code, EXIT.ok);
  }
  equal(await notes(), "service: stopped after 0 saves");
});

Deno.test("notes: notes_path never resolves outside the workspace", async () => {
  await using w = await world();
  await install(w, "notes");
  const path = (name: string) => w.call("notes__notes_path", { name }, "--approve", "once");
  const inside = await path("today");
  equal(inside.code, EXIT.ok, inside.stderr);
  equal(inside.stdout, "notes/today.md\n");
  for (const name of ["../../etc/passwd", "../../../../../../etc/passwd"]) {
    const r = await path(name);
    notEqual(r.code, EXIT.ok, `${name} resolved to ${r.stdout}`);
    match(r.stderr, /leaves the workspace/);
    equal(r.stdout, "");
  }
  // An absolute name is joined under notes/ by path.join: still a relative, inside path.
  const absolute = await path("/etc/passwd");
  equal(absolute.code, EXIT.ok, absolute.stderr);
  const where = absolute.stdout.trim();
  ok(!where.startsWith("/"), `resolved to an absolute path: ${where}`);
  ok(!where.split("/").includes(".."), `resolved to ${where}`);
});

// ---- heavy: axios (fetch adapter), openapi-fetch, zod and yaml against a loopback service ----

Deno.test("heavy: axios and openapi-fetch reach a 127.0.0.1 inventory service and parse its answers", async () => {
  await using service = loopback((_req, url) => {
    const inv = url.pathname.match(/^\/inventory\/([^/]+)\.yaml$/);
    if (inv) {
      const body = `warehouse: ${decodeURIComponent(inv[1]!)}\nitems:\n` +
        "  - sku: A-1\n    count: 3\n  - sku: B-2\n    count: 4\n";
      return new Response(body, { headers: { "content-type": "application/yaml" } });
    }
    const item = url.pathname.match(/^\/items\/([^/]+)$/);
    if (item && item[1] === "A-1") return Response.json({ sku: "A-1", count: 3 });
    return Response.json({ error: "not found" }, { status: 404 });
  });
  await using w = await world();
  await install(w, "heavy", { baseUrl: service.url });

  const inv = await w.call("heavy__inventory", { warehouse: "north" }, "--approve", "once");
  equal(inv.code, EXIT.ok, inv.stderr);
  match(inv.stdout, /warehouse: north/);
  match(inv.stdout, /skus: 2/);
  match(inv.stdout, /total: 7/);
  const hit = service.seen.find((s) => s.path === "/inventory/north.yaml");
  ok(hit, service.seen.map((s) => s.path).join());
  equal(hit.headers.get("x-client"), "heavy");

  const item = await w.call("heavy__item", { sku: "A-1" }, "--approve", "once");
  equal(item.code, EXIT.ok, item.stderr);
  match(item.stdout, /A-1: 3/);
  ok(service.seen.some((s) => s.path === "/items/A-1"));

  const missing = await w.call("heavy__item", { sku: "Z-9" }, "--approve", "once");
  notEqual(missing.code, EXIT.ok);
  match(missing.stdout + missing.stderr, /item Z-9 not found/);
  ok(service.seen.some((s) => s.path === "/items/Z-9"));
});

// ---- guard: a before_tool_call hook that asks a loopback policy service ----

interface Verdict {
  action: "allow" | "block" | "rewrite" | "ask";
  reason?: string;
  params?: Record<string, unknown>;
}

/** Autonomous mode (reads in the workspace need nobody) and guard's own calls allowed. */
const GUARD_CONFIG = '[workspace]\nmode = "autonomous"\n\n' +
  '[permissions]\nallow = ["capsule://guard/*"]\n';

Deno.test("guard: the policy service's block, rewrite, ask and failures decide built-in tool calls", async () => {
  let verdict: Verdict | { status: number } = { action: "allow" };
  await using policy = loopback(() =>
    "status" in verdict ? new Response("down", { status: verdict.status }) : Response.json(verdict)
  );
  await using w = await world(GUARD_CONFIG);
  await install(w, "guard", { policyUrl: policy.url });
  await Deno.writeTextFile(join(w.ws, "a.txt"), "alpha-content\n");
  await Deno.writeTextFile(join(w.ws, "b.txt"), "bravo-content\n");
  const outside = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-oc-outside-" }));
  await Deno.writeTextFile(join(outside, "secret.txt"), "outside-secret\n");
  const read = (file_path: string) => w.call("read_file", { file_path });

  const allowed = await read("a.txt");
  equal(allowed.code, EXIT.ok, allowed.stderr);
  match(allowed.stdout, /alpha-content/);
  const asked = JSON.parse(policy.seen.at(-1)!.body);
  equal(asked.tool, "read_file");
  deepEqual(asked.params, { file_path: "a.txt" });

  verdict = { action: "block", reason: "reads are closed today" };
  const blocked = await read("a.txt");
  equal(blocked.code, EXIT.denied, blocked.stderr);
  match(blocked.stderr, /HOOK_BLOCKED.*capsule guard blocked the call: reads are closed today/);
  ok(!blocked.stdout.includes("alpha-content"));

  // A rewrite is checked again: the admin policy's walls, then the workspace boundary.
  verdict = { action: "rewrite", params: { file_path: "/etc/passwd" } };
  const walled = await read("a.txt");
  equal(walled.code, EXIT.denied, walled.stderr);
  match(walled.stderr, /\/etc\/passwd/);
  ok(!/root:/.test(walled.stdout), "/etc/passwd was read");
  verdict = { action: "rewrite", params: { file_path: join(outside, "secret.txt") } };
  const escaped = await read("a.txt");
  equal(
    escaped.code,
    EXIT.deferred,
    `an escape needs a human, and nobody is there: ${escaped.stderr}`,
  );
  ok(!escaped.stdout.includes("outside-secret"), "the file outside the workspace was read");
  await Deno.remove(outside, { recursive: true });

  verdict = { action: "rewrite", params: { file_path: "b.txt" } };
  const rewritten = await read("a.txt");
  equal(rewritten.code, EXIT.ok, rewritten.stderr);
  match(rewritten.stdout, /bravo-content/);
  ok(!rewritten.stdout.includes("alpha-content"));

  verdict = { action: "ask", reason: "a human should look" };
  const ask = await read("a.txt");
  equal(ask.code, EXIT.deferred, `nobody to ask: ${ask.stderr}`);
  ok(!ask.stdout.includes("alpha-content"));

  verdict = { status: 500 };
  const failing = await read("a.txt");
  equal(failing.code, EXIT.denied, failing.stderr);
  match(failing.stderr, /policy service answered 500/);
  ok(!failing.stdout.includes("alpha-content"));

  const audit = await w.audit();
  const runs = audit.flatMap((e) => e.action.detail?.hooks ?? []);
  ok(runs.some((r) => r.capsule === "guard" && r.decision === "block"), JSON.stringify(runs));
  ok(runs.some((r) => r.capsule === "guard" && r.decision === "rewrite"), JSON.stringify(runs));
  ok(runs.some((r) => r.capsule === "guard" && r.decision === "approve"), JSON.stringify(runs));
  ok(runs.every((r) => r.capsule === "guard" && r.hook === "before_tool_call"));
  ok(
    audit.some((e) => e.decision === "denied" && e.proof === "hook_blocked"),
    "the block is a denial in the audit log",
  );
  ok(
    audit.some((e) =>
      e.action.resource === "capsule://guard/http_request" && e.decision === "allowed"
    ),
    "the hook's own request went through the gate",
  );
});

Deno.test("guard: a policy service that is down fails closed", async () => {
  // A port that was just open and is now closed: nothing listens there.
  const gone = loopback(() => new Response("never"));
  const url = gone.url;
  await gone[Symbol.asyncDispose]();
  await using w = await world(GUARD_CONFIG);
  await install(w, "guard", { policyUrl: url });
  await Deno.writeTextFile(join(w.ws, "a.txt"), "alpha-content\n");
  const r = await w.call("read_file", { file_path: "a.txt" });
  equal(r.code, EXIT.denied, r.stderr);
  match(r.stderr, /\(HOOK_FAILED\): .*capsule guard/);
  ok(!r.stdout.includes("alpha-content"));
});

// ---- an agent turn ----

Deno.test("an agent turn calls forecast__forecast and the tool result reaches the model", async () => {
  const fake = startFakeAnthropic([
    { toolCalls: [{ id: "t1", name: "forecast__forecast", args: { city: "Oslo", days: 2 } }] },
    { text: "Oslo looks fine for two days." },
  ]);
  try {
    await using w = await world();
    await install(w, "forecast");
    const r = await w.cli(["chat", "-p", "weather in Oslo?", "--approve", "once"], {
      ANTHROPIC_API_KEY: "sk-test",
      ANTHROPIC_BASE_URL: fake.url,
    });
    equal(r.code, EXIT.ok, r.stderr);
    match(r.stdout, /Oslo looks fine for two days\./);
    equal(fake.requests.length, 2);
    const first = fake.requests[0] as { tools: { name: string }[] };
    ok(first.tools.some((t) => t.name === "forecast__forecast"), "the tool is offered");
    const second = JSON.stringify(fake.requests[1]);
    match(second, /tool_result/);
    match(second, /day 1: /);
    match(second, /day 2: /);
    match(second, /untrusted/);
  } finally {
    await fake.close();
  }
});

Deno.test("an agent turn fires guard's message_sending (a leaked key is redacted) and after_tool_call", async () => {
  await using policy = loopback(() => Response.json({ action: "allow" }));
  const fake = startFakeAnthropic([
    { toolCalls: [{ id: "t1", name: "read_file", args: { file_path: "a.txt" } }] },
    { text: "The key in a.txt is sk-live-AbC123 as requested." },
  ]);
  try {
    await using w = await world(GUARD_CONFIG);
    await install(w, "guard", { policyUrl: policy.url });
    await Deno.writeTextFile(join(w.ws, "a.txt"), "sk-live-AbC123\n");
    const r = await w.cli(["chat", "-p", "what is in a.txt?"], {
      ANTHROPIC_API_KEY: "sk-test",
      ANTHROPIC_BASE_URL: fake.url,
    });
    equal(r.code, EXIT.ok, r.stderr);
    match(r.stdout, /The key in a\.txt is \[redacted\] as requested\./);
    ok(!r.stdout.includes("sk-live-AbC123"), "the hook rewrote the reply before it was shown");
    ok(policy.seen.some((s) => s.path === "/check"), "before_tool_call asked the service");
    const after = policy.seen.find((s) => s.path === "/after");
    ok(after, "after_tool_call ran");
    deepEqual(JSON.parse(after.body), { tool: "read_file", ok: true });
  } finally {
    await fake.close();
  }
});

Deno.test("a plugin's service starts with a chat session and stops at its end", async () => {
  const fake = startFakeAnthropic([{ text: "hello" }]);
  try {
    await using w = await world('[permissions]\nallow = ["capsule://notes/*"]\n');
    await install(w, "notes");
    const r = await w.cli(["chat", "-p", "hi"], {
      ANTHROPIC_API_KEY: "sk-test",
      ANTHROPIC_BASE_URL: fake.url,
    });
    equal(r.code, EXIT.ok, r.stderr);
    const listed = await w.cli(["capsule", "run", "notes", "notes", "--approve", "once"]);
    equal(listed.code, EXIT.ok, listed.stderr);
    match(listed.stdout, /service: stopped after 0 saves/);
  } finally {
    await fake.close();
  }
});

Deno.test("a plugin tool's api.runtime.llm.complete is a gated, budgeted call to the configured model", async () => {
  const fake = startFakeAnthropic([{ text: "Buy milk." }]);
  try {
    await using w = await world('[permissions]\nallow = ["capsule://notes/*"]\n');
    await install(w, "notes");
    const env = { ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: fake.url };
    const saved = await w.cli(["capsule", "run", "notes", "note", "buy milk"], env);
    equal(saved.code, EXIT.ok, saved.stderr);
    const r = await w.cli(["tools", "call", "notes__notes_summary", "--args", "{}"], env);
    equal(r.code, EXIT.ok, r.stderr);
    match(r.stdout, /summary \(.+\): Buy milk\./);
    equal(fake.requests.length, 1);
    match(JSON.stringify(fake.requests[0]), /buy milk/);
    const llm = (await w.audit()).filter((e) => e.action.kind === "capsule_llm_call");
    ok(llm.some((e) => e.decision === "allowed"), JSON.stringify(llm));
  } finally {
    await fake.close();
  }
});

// ---- refusals ----

Deno.test("capsule compile refuses a plugin that imports child_process, naming file:line", async () => {
  const { home, ws } = await tempDirs();
  try {
    const out = join(home, "out");
    const r = await runCli(
      ["capsule", "compile", join(FIXTURES, "refuse/child-process"), "-o", out],
      { home },
    );
    notEqual(r.code, EXIT.ok);
    match(r.stderr, /src\/run\.ts:3/);
    match(r.stderr, /child_process/);
    equal(await Deno.lstat(join(out, "capsule.wasm")).catch(() => null), null);
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
    await Deno.remove(ws, { recursive: true }).catch(() => {});
  }
});

// ---- as an unprivileged user ----

const isRoot = Deno.uid() === 0;

Deno.test({
  name: "as the unprivileged user nobody: compile and call an OpenClaw plugin",
  ignore: !isRoot,
  async fn() {
    await using w = await nobodyWorld("astrid-oc-nobody-", ["ws"]);
    const home = w.home;
    const ws = w.dirs.ws!;
    const init = await w.run(["init", ws], ws);
    equal(init.code, EXIT.ok, init.stderr);
    const out = join(home, "forecast-build");
    const compile = await w.run(["capsule", "compile", join(FIXTURES, "forecast"), "-o", out], ws);
    equal(compile.code, EXIT.ok, compile.stderr);
    equal((await Deno.stat(join(out, "capsule.wasm"))).uid, 65534);
    const inst = await w.run(["capsule", "install", out, "--yes", "--env", "units=imperial"], ws);
    equal(inst.code, EXIT.ok, inst.stderr);
    const call = await w.run([
      "tools",
      "call",
      "forecast__forecast",
      "--args",
      JSON.stringify({ city: "Oslo", days: 2 }),
      "--approve",
      "once",
    ], ws);
    equal(call.code, EXIT.ok, call.stderr);
    match(call.stdout, /day 2: \w+, \d+°F/);
    // The install kept the records' listing mirror, private to nobody, and a later command's
    // cached flags hold against it.
    const mirror = await Deno.stat(join(home, "state.kv-listings", "capsule_install.json"));
    deepEqual([mirror.uid, mirror.mode! & 0o777], [65534, 0o600]);
    const list = await w.run(["tools", "list"], ws);
    equal(list.code, EXIT.ok, list.stderr);
    match(list.stdout, /forecast__forecast/);
  },
});
