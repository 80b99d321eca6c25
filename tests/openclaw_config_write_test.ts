/**
 * An OpenClaw plugin changes its own configuration (`api.runtime.config.mutateConfigFile` /
 * `replaceConfigFile`), end to end through the real CLI: testdata/openclaw/prefs is compiled
 * with `astrid capsule compile` (on an engine rebuilt from engine.c), installed into a fresh
 * ASTRID_HOME, and called with `astrid tools call`. Each changed key is a
 * `capsule_config_write` action a human approves; what was approved is in the capsule's env
 * file, which the next call reads.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { buildEngine } from "../toolchain/engine/build.ts";
import { envFilePath, readEnvFile } from "../runtime/capsule/env_store.ts";
import { type CliRun, jsonIn, runCli, tempDirs } from "./cli.ts";

const FIXTURES = decodeURIComponent(new URL("../testdata/openclaw", import.meta.url).pathname);

/** The exit codes of runtime/cli/errors.ts, as a user sees them. */
const EXIT = { ok: 0, denied: 3, deferred: 4 } as const;

/** A rule that lets the plugin's tools run, so only its config writes need a human. */
const RUN_TOOLS = '[permissions]\nallow = ["capsule://prefs/*"]\n';

const SECRET = "sync-token-5f2a9c0e77";

// The CLI compiles with .build/engine/engine.wasm: bring it up to date with engine.c first.
await buildEngine({ log: () => {} });

const BUILDS = await Deno.makeTempDir({ prefix: "astrid-oc-config-builds-" });
globalThis.addEventListener("unload", () => {
  Deno.removeSync(BUILDS, { recursive: true });
});
let build: Promise<string> | undefined;

/** `astrid capsule compile testdata/openclaw/prefs -o OUT`, once for the file. */
function compiled(): Promise<string> {
  build ??= (async () => {
    const dir = join(BUILDS, "prefs");
    const r = await runCli(["capsule", "compile", join(FIXTURES, "prefs"), "-o", dir], {
      home: BUILDS,
    });
    equal(r.code, EXIT.ok, `compile prefs: ${r.stderr}`);
    return dir;
  })();
  return build;
}

interface AuditEntry {
  decision: string;
  action: { kind: string; resource: string; summary: string };
}

interface World extends AsyncDisposable {
  readonly envPath: string;
  /** `astrid tools call prefs__TOOL --args JSON ...extra`. */
  call(tool: string, args: unknown, ...extra: string[]): Promise<CliRun>;
  /** The plugin's config as its show_prefs tool reports it (run under `--approve once`). */
  shown(): Promise<Record<string, unknown>>;
  /** `astrid audit list --json`. */
  audit(): Promise<AuditEntry[]>;
}

/** A fresh home and workspace with prefs installed for the user; `config` is config.toml. */
async function world(config = "", env: Record<string, string> = {}): Promise<World> {
  const { home, ws } = await tempDirs();
  equal((await runCli(["init", ws], { home })).code, EXIT.ok);
  if (config) await Deno.writeTextFile(join(home, "config.toml"), config);
  const cli = (args: string[]) => runCli(args, { home, cwd: ws });
  const flags = Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]);
  const installed = await cli(["capsule", "install", await compiled(), "--yes", ...flags]);
  equal(installed.code, EXIT.ok, installed.stderr);
  const call = (tool: string, args: unknown, ...extra: string[]) =>
    cli(["tools", "call", `prefs__${tool}`, "--args", JSON.stringify(args), ...extra]);
  return {
    envPath: envFilePath(home, null, "prefs"),
    call,
    async shown() {
      const r = await call("show_prefs", {}, "--approve", "once");
      equal(r.code, EXIT.ok, r.stderr);
      return jsonIn(r.stdout);
    },
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

const writes = (entries: AuditEntry[]) =>
  entries.filter((e) => e.action.kind === "capsule_config_write");

Deno.test("prefs: an approved mutateConfigFile changes the config, and the next call sees it", async () => {
  await using w = await world();
  deepEqual(await w.shown(), { units: "metric", favorites: [], hasToken: false });
  const r = await w.call(
    "set_prefs",
    { units: "imperial", favorites: ["tea", "rain"] },
    "--approve",
    "once",
  );
  equal(r.code, EXIT.ok, r.stderr);
  deepEqual(jsonIn(r.stdout), {
    ok: true,
    changed: ["favorites", "units"],
    result: "mutated",
    now: { units: "imperial", favorites: ["tea", "rain"], hasToken: false },
  });
  // Stored as text the way the adapter reads it back: a string as is, an array as JSON.
  deepEqual(await readEnvFile(w.envPath), { favorites: '["tea","rain"]', units: "imperial" });
  equal((await Deno.stat(w.envPath)).mode! & 0o777, 0o600);
  deepEqual(await w.shown(), { units: "imperial", favorites: ["tea", "rain"], hasToken: false });

  const allowed = writes(await w.audit()).filter((e) => e.decision === "allowed");
  deepEqual(allowed.map((e) => e.action.resource), [
    "capsule://prefs/config/favorites",
    "capsule://prefs/config/units",
  ]);
  equal(allowed[1]?.action.summary, 'Capsule prefs: change its config key units to "imperial"');
});

Deno.test("prefs: replaceConfigFile({ nextConfig }) goes through the same approved action", async () => {
  await using w = await world(RUN_TOOLS);
  const r = await w.call("replace_prefs", { units: "imperial" }, "--approve", "once");
  equal(r.code, EXIT.ok, r.stderr);
  deepEqual(jsonIn(r.stdout).changed, ["units"]);
  equal((await w.shown()).units, "imperial");
});

Deno.test("prefs: a secret key's new value is stored but never audited", async () => {
  await using w = await world(RUN_TOOLS);
  const r = await w.call("set_prefs", { apiToken: SECRET }, "--approve", "once");
  equal(r.code, EXIT.ok, r.stderr);
  equal((await w.shown()).hasToken, true);
  equal((await readEnvFile(w.envPath)).apiToken, SECRET);
  const entries = writes(await w.audit());
  ok(entries.some((e) => e.decision === "allowed"), JSON.stringify(entries));
  for (const e of entries) {
    equal(e.action.summary, "Capsule prefs: change its secret config key apiToken (value hidden)");
  }
  ok(!JSON.stringify(entries).includes(SECRET), "no config-write entry holds the token");
});

Deno.test("prefs: --approve deny refuses the write and leaves the config as it was", async () => {
  await using w = await world(RUN_TOOLS, { units: "metric" });
  const before = await Deno.readFile(w.envPath);
  const r = await w.call("set_prefs", { units: "imperial" }, "--approve", "deny");
  equal(r.code, EXIT.ok, `the plugin catches the refusal: ${r.stderr}`);
  const out = jsonIn(r.stdout);
  match(String(out.refused), /DENIED/);
  deepEqual(out.now, { units: "metric", favorites: [], hasToken: false });
  deepEqual(await Deno.readFile(w.envPath), before);
  equal((await w.shown()).units, "metric");
  deepEqual(writes(await w.audit()).map((e) => e.decision), ["denied"]);
});

Deno.test("prefs: with nobody to ask, the write is deferred and nothing changes", async () => {
  await using w = await world(RUN_TOOLS, { units: "metric" });
  const before = await Deno.readFile(w.envPath);
  // A rule lets the tool run; `capsule://prefs/*` does not reach its config keys.
  const r = await w.call("set_prefs", { units: "imperial" });
  equal(r.code, EXIT.deferred, `exit ${r.code}: ${r.stdout} ${r.stderr}`);
  deepEqual(await Deno.readFile(w.envPath), before);
  equal((await w.shown()).units, "metric");
  deepEqual(writes(await w.audit()).map((e) => e.decision), ["deferred"]);
});

Deno.test("prefs: a change outside the plugin's own entry, or a removal, is refused and writes nothing", async () => {
  await using w = await world(RUN_TOOLS);
  const before = await Deno.readFile(w.envPath);
  const cases: [string, RegExp][] = [
    ["other", /^Cannot change plugins\.entries\.forecast: not supported by Astrid/],
    ["gateway", /^Cannot change gateway: not supported by Astrid/],
    ["remove", /^Cannot remove plugins\.entries\.prefs\.config\.units: not supported by Astrid/],
  ];
  for (const [target, message] of cases) {
    const r = await w.call("escape_prefs", { target }, "--approve", "once");
    equal(r.code, EXIT.ok, r.stderr);
    const out = jsonIn(r.stdout);
    match(String(out.refused), message);
    deepEqual(out.now, { units: "metric", favorites: [], hasToken: false }, target);
  }
  deepEqual(writes(await w.audit()), [], "no write reached the gate");
  deepEqual(await Deno.readFile(w.envPath), before);
});
