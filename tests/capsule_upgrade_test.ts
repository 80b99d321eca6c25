/**
 * `astrid capsule upgrade NAME [REF]` and installing over an install, through the CLI as a user
 * runs it, with the probe capsule compiled by the real toolchain: the capability and `[env]`
 * diff is shown before anything changes, the env values that still apply survive (a retyped or
 * removed key's value does not), the capsule's KV data is kept by default and dropped only with
 * `--reset-data`; a source folder is refused with the compile hint; a capsule without wasm
 * installs only when its manifest is static; a v2 that names another capsule is refused.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDirs } from "./cli.ts";
import { probeCopy } from "../runtime/capsule/_testing.ts";
import { startRegistry } from "../runtime/registry/loopback_registry.ts";

const NOTES_SRC = new URL("../examples/notes", import.meta.url).pathname;

/** v1 declares TOKEN (secret), UNITS and MODE (strings). */
const v1 = () => probeCopy("probe", (t) => t.replace("[component]", "[env.MODE]\n\n[component]"));

/** v2 drops UNITS, retypes MODE as a secret, adds a required NEW and a network host. */
const v2 = (name = "probe") =>
  probeCopy(name, (t) =>
    t.replace('version = "0.1.0"', 'version = "0.2.0"')
      .replace(
        '[env.UNITS]\ndefault = "metric"\n',
        '[env.MODE]\ntype = "secret"\n\n[env.NEW]\nrequired = true\n',
      )
      .replace(/net = \[[^\]]*\]/, 'net = [ "127.0.0.1", "api.example.com" ]'));

async function world() {
  const { home, ws } = await tempDirs();
  equal((await runCli(["init", ws], { home })).code, 0);
  const run = (args: string[]) => runCli(args, { home, cwd: ws });
  const envFile = join(home, "capsule_env", "user", "probe.json");
  const kv = async (tool: "kvset" | "kvget", args: Record<string, unknown>) => {
    const r = await run([
      "tools",
      "call",
      `probe__${tool}`,
      "--args",
      JSON.stringify(args),
      "--approve",
      "once",
    ]);
    equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  return {
    home,
    ws,
    run,
    kv,
    storedEnv: async () => JSON.parse(await Deno.readTextFile(envFile)) as Record<string, string>,
    async [Symbol.asyncDispose]() {
      await Deno.remove(home, { recursive: true }).catch(() => {});
      await Deno.remove(ws, { recursive: true }).catch(() => {});
    },
  };
}

Deno.test("capsule upgrade shows the capability and env diff, keeps what applies, keeps data unless --reset-data", async () => {
  await using w = await world();
  const env = ["--env", "TOKEN=t0k3n-v1", "--env", "UNITS=imperial", "--env", "MODE=fast"];
  const first = await w.run(["capsule", "install", await v1(), "--yes", ...env]);
  equal(first.code, 0, first.stderr);
  await w.kv("kvset", { key: "note", value: "written by v1" });
  const next = await v2();

  // Without a terminal and without --yes nothing changes, but the diff is shown.
  const asked = await w.run(["capsule", "upgrade", "probe", next]);
  equal(asked.code, 2, asked.stderr);
  match(asked.stderr, /Changes since it was installed \(0\.1\.0/);
  match(asked.stderr, /\+ network: api\.example\.com/);
  match(asked.stderr, /\[env\] changes:/);
  match(asked.stderr, /\+ env NEW \(string, required\)/);
  match(asked.stderr, /- env UNITS \(string\): its stored value is deleted/);
  match(asked.stderr, /~ env MODE: string → secret: its stored value is dropped and asked again/);
  match(asked.stderr, /\[env\] values kept: TOKEN/);
  match(asked.stderr, /Cannot install without confirmation/);
  ok(!asked.stderr.includes("t0k3n-v1"), "values are never shown");
  const still = JSON.parse((await w.run(["capsule", "info", "probe", "--json"])).stdout);
  equal(still.version, "0.1.0");

  // A new required key must come from --env (or a terminal).
  const missing = await w.run(["capsule", "upgrade", "probe", next, "--yes"]);
  equal(missing.code, 2, missing.stderr);
  match(missing.stderr, /\[env\] NEW is required/);

  const done = await w.run(["capsule", "upgrade", "probe", next, "--yes", "--env", "NEW=n3w"]);
  equal(done.code, 0, done.stderr);
  match(done.stdout, /reinstalled probe 0\.2\.0 \(user\)/);
  match(done.stderr, /data: 1 KV entry kept \(--reset-data drops them\)/);
  deepEqual(await w.storedEnv(), { TOKEN: "t0k3n-v1", NEW: "n3w" });
  const info = JSON.parse((await w.run(["capsule", "info", "probe", "--json"])).stdout);
  equal(info.version, "0.2.0");
  deepEqual(info.record.capabilities.net, ["127.0.0.1", "api.example.com"]);
  deepEqual(info.env, {
    TOKEN: { type: "secret", set: true },
    MODE: { type: "secret", set: false },
    NEW: { type: "string", set: true },
  });
  match(await w.kv("kvget", { key: "note" }), /written by v1/);

  // Without REF: the installed folder again; --reset-data drops the data once installed.
  const reset = await w.run(["capsule", "upgrade", "probe", "--yes", "--reset-data", "--json"]);
  equal(reset.code, 0, reset.stderr);
  const result = JSON.parse(reset.stdout);
  deepEqual([result.replaced, result.data], [true, { reset: 1 }]);
  deepEqual(result.changes, [], "the installed folder itself: nothing changed");
  ok(!(await w.kv("kvget", { key: "note" })).includes("written by v1"), "the data is gone");
  deepEqual(await w.storedEnv(), { TOKEN: "t0k3n-v1", NEW: "n3w" }, "env survives a reset");
});

Deno.test("capsule install over an install keeps the env values that apply and the data; both data flags are refused", async () => {
  await using w = await world();
  equal((await w.run(["capsule", "install", await v1(), "--yes", "--env", "MODE=m"])).code, 0);
  await w.kv("kvset", { key: "k", value: "kept" });
  const both = await w.run([
    "capsule",
    "install",
    await v2(),
    "--yes",
    "--env",
    "NEW=x",
    "--keep-data",
    "--reset-data",
  ]);
  equal(both.code, 2, both.stderr);
  match(both.stderr, /--keep-data with --reset-data/);
  const again = await w.run(["capsule", "install", await v2(), "--yes", "--env", "NEW=x"]);
  equal(again.code, 0, again.stderr);
  match(again.stdout, /reinstalled probe/);
  deepEqual(await w.storedEnv(), { NEW: "x" }, "MODE was retyped: its plain value is not kept");
  match(await w.kv("kvget", { key: "k" }), /kept/);
  // `remove` still deletes the env values and the record.
  equal((await w.run(["capsule", "remove", "probe"])).code, 0);
  equal(
    await Deno.lstat(join(w.home, "capsule_env", "user", "probe.json")).catch(() => null),
    null,
  );
  const gone = await w.run(["capsule", "info", "probe"]);
  equal(gone.code, 1, gone.stderr);
});

Deno.test("capsule install of a source folder is refused with the compile hint; nothing is installed", async () => {
  await using w = await world();
  const r = await w.run(["capsule", "install", NOTES_SRC, "--yes"]);
  equal(r.code, 2, r.stderr);
  match(r.stderr, /it is a source folder \(it has package\.json, src\/mod\.ts/);
  match(r.stderr, /compile it first: `astrid capsule compile .*examples\/notes`/);
  const listed = JSON.parse((await w.run(["capsule", "list", "--json"])).stdout);
  deepEqual(listed.capsules, []);
  equal(await Deno.lstat(join(w.home, "capsules", "notes")).catch(() => null), null);
});

Deno.test("a capsule without wasm installs only when its manifest is static", async () => {
  await using w = await world();
  const folder = async (name: string, body: string) => {
    const dir = join(w.home, `src-${name}`);
    await Deno.mkdir(dir);
    await Deno.writeTextFile(
      join(dir, "Capsule.toml"),
      `[package]\nname = "${name}"\nversion = "1"\n${body}`,
    );
    return dir;
  };
  const prompt = await folder("review", '[[command]]\nname = "review"\nprompt = "Review it"\n');
  const ok1 = await w.run(["capsule", "install", prompt, "--yes"]);
  equal(ok1.code, 0, ok1.stderr);
  match(ok1.stderr, /no wasm: static capsule/);
  const cases: [string, string, RegExp][] = [
    ["empty", "", /declares nothing a static capsule offers/],
    ["tools", '[[tool]]\nname = "greet"\n', /\[\[tool\]\]s \(greet\) that no \[\[mcp_server\]\]/],
    ["comp", '[component]\nentrypoint = "capsule.wasm"\n', /names capsule\.wasm, which is missing/],
  ];
  for (const [name, body, why] of cases) {
    const r = await w.run(["capsule", "install", await folder(name, body), "--yes"]);
    equal(r.code, 2, `${name}: ${r.stderr}`);
    match(r.stderr, why);
  }
  const listed = JSON.parse((await w.run(["capsule", "list", "--json"])).stdout);
  deepEqual(listed.capsules.map((c: { name: string }) => c.name), ["review"]);
});

Deno.test("hostile upgrades: another capsule's v2, an unknown name, a planted folder", async () => {
  await using w = await world();
  equal((await w.run(["capsule", "install", await v1(), "--yes"])).code, 0);
  const before = JSON.parse((await w.run(["capsule", "info", "probe", "--json"])).stdout);

  const other = await w.run(["capsule", "upgrade", "probe", await v2("evil"), "--yes"]);
  equal(other.code, 2, other.stderr);
  match(other.stderr, /Cannot upgrade probe: .* is capsule evil, not probe/);
  const listed = JSON.parse((await w.run(["capsule", "list", "--json"])).stdout);
  deepEqual(listed.capsules.map((c: { name: string }) => c.name), ["probe"]);
  const after = JSON.parse((await w.run(["capsule", "info", "probe", "--json"])).stdout);
  equal(after.record.manifestHash, before.record.manifestHash, "probe is untouched");

  for (const name of ["nope", "../probe", "PROBE"]) {
    const r = await w.run(["capsule", "upgrade", name, await v1(), "--yes"]);
    equal(r.code, 1, r.stderr);
    match(r.stderr, /no capsule of that name is installed/);
  }
  // A folder written into the capsule root without `capsule install` is not an install.
  const planted = join(w.home, "capsules", "ghost");
  await Deno.mkdir(planted, { recursive: true });
  await Deno.copyFile(join(await v1(), "Capsule.toml"), join(planted, "Capsule.toml"));
  const ghost = await w.run(["capsule", "upgrade", "ghost", "--yes"]);
  equal(ghost.code, 1, ghost.stderr);
  match(ghost.stderr, /Cannot upgrade "ghost": no capsule of that name is installed/);
});

Deno.test({
  name:
    "capsule upgrade from a registry: a newer tag, the recorded reference, and a re-signed one refused (exit 5)",
  ignore: !(await Deno.lstat("/usr/bin/docker-registry").catch(() => null)),
}, async () => {
  const registry = await startRegistry();
  await using w = await world();
  const publisher = await tempDirs();
  const stranger = await tempDirs();
  try {
    const publish = async (home: string, dir: string, tag: string) => {
      const r = await runCli(["capsule", "publish", dir, `${registry.url}/probe:${tag}`], {
        home,
        cwd: home,
      });
      equal(r.code, 0, r.stderr);
    };
    await publish(publisher.home, await v1(), "1");
    await publish(publisher.home, await v2(), "2");
    await publish(stranger.home, await v2(), "evil");
    const first = await w.run([
      "capsule",
      "install",
      `${registry.url}/probe:1`,
      "--yes",
      "--env",
      "TOKEN=t0k3n",
    ]);
    equal(first.code, 0, first.stderr);
    await w.kv("kvset", { key: "note", value: "from v1" });

    const up = await w.run([
      "capsule",
      "upgrade",
      "probe",
      `${registry.url}/probe:2`,
      "--yes",
      "--env",
      "NEW=n",
    ]);
    equal(up.code, 0, up.stderr);
    match(up.stderr, /- env UNITS/);
    const info = JSON.parse((await w.run(["capsule", "info", "probe", "--json"])).stdout);
    equal(info.version, "0.2.0");
    equal(info.record.publisher.ref, `${registry.url}/probe:2`);
    deepEqual(await w.storedEnv(), { TOKEN: "t0k3n", NEW: "n" });
    match(await w.kv("kvget", { key: "note" }), /from v1/);

    // Without REF: the recorded reference is pulled again.
    const again = await w.run(["capsule", "upgrade", "probe", "--yes"]);
    equal(again.code, 0, again.stderr);
    match(again.stderr, new RegExp(`Pulled ${registry.url}/probe:2`));

    // The same capsule signed by another key: refused before anything changes.
    const evil = await w.run([
      "capsule",
      "upgrade",
      "probe",
      `${registry.url}/probe:evil`,
      "--yes",
    ]);
    equal(evil.code, 5, evil.stderr);
    const after = JSON.parse((await w.run(["capsule", "info", "probe", "--json"])).stdout);
    equal(after.record.publisher.ref, `${registry.url}/probe:2`);
  } finally {
    await registry.stop();
    for (const d of [publisher, stranger]) {
      await Deno.remove(d.home, { recursive: true }).catch(() => {});
      await Deno.remove(d.ws, { recursive: true }).catch(() => {});
    }
  }
});
