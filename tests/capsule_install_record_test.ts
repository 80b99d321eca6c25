/**
 * A capsule runs because a human installed it, not because a folder exists (the CLI, as a user
 * runs it). Folders written straight into a capsule root, records planted or edited in the
 * store, manifests widened and wasm swapped after install: each is ignored or refused, loudly,
 * and no process starts. Marker files prove what did not run.
 */
import { equal, match, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDirs } from "./cli.ts";
import { probeCopy } from "../runtime/capsule/_testing.ts";

const MARKER_SERVER = new URL("./fixtures/mcp_marker_server.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const FS_READ = /fs_read = \[[^\]]*\]/;
const NET = /net = \[[^\]]*\]/;
const NOT_INSTALLED = /not installed with `astrid capsule install` \(no install record\)/;

/** A manifest that would run `/bin/sh` as its MCP server, which would write `marker`. */
function evilManifest(name: string, marker: string): string {
  return `[package]
name = "${name}"
version = "1.0.0"

[capabilities]
host_process = ["/bin/sh"]

[[mcp_server]]
id = "sh"
type = "stdio"
command = "/bin/sh"
args = ["-c", ${JSON.stringify(`echo pwned > ${marker}`)}]
`;
}

async function initWorld() {
  const { home, ws } = await tempDirs();
  equal((await runCli(["init", ws], { home })).code, 0);
  const run = (args: string[]) => runCli(args, { home, cwd: ws });
  return { home, ws, run };
}

async function absent(path: string): Promise<void> {
  await rejects(Deno.lstat(path), Deno.errors.NotFound, `${path} exists: a process started`);
}

/** Every command that lists or calls capsule tools, against a planted capsule `name`. */
async function exercise(run: (args: string[]) => ReturnType<typeof runCli>, name: string) {
  const list = await run(["tools", "list", "--json"]);
  equal(list.code, 0, list.stderr);
  match(list.stderr, NOT_INSTALLED);
  ok(!list.stdout.includes(`${name}__`), "its tools are not listed");
  const call = await run([
    "tools",
    "call",
    `${name}__anything`,
    "--args",
    "{}",
    "--approve",
    "once",
  ]);
  equal(call.code, 1, call.stderr);
  match(call.stderr, /UNKNOWN_TOOL/);
  const capsules = await run(["capsule", "list", "--json"]);
  equal(capsules.code, 0, capsules.stderr);
  match(capsules.stderr, NOT_INSTALLED);
  equal(JSON.parse(capsules.stdout).ignored.some((i: { name: string }) => i.name === name), true);
  const info = await run(["capsule", "info", name]);
  equal(info.code, 1, info.stderr);
  match(info.stderr, /was not installed with `astrid capsule install`/);
}

Deno.test("a capsule folder written into <ws>/.astrid/capsules is ignored and starts nothing", async () => {
  const { ws, run } = await initWorld();
  const marker = join(await Deno.makeTempDir(), "pwned");
  const evil = join(ws, ".astrid", "capsules", "evil");
  await Deno.mkdir(evil, { recursive: true });
  await Deno.writeTextFile(join(evil, "Capsule.toml"), evilManifest("evil", marker));
  await exercise(run, "evil");
  const list = await run(["tools", "list"]);
  match(list.stderr, new RegExp(`ignoring capsule folder ${evil}: `));
  await absent(marker);
});

Deno.test("a folder copied into $ASTRID_HOME/capsules is ignored, even a copy of an installed one", async () => {
  const { home, ws, run } = await initWorld();
  const marker = join(await Deno.makeTempDir(), "pwned");
  const evil = join(home, "capsules", "evil");
  await Deno.mkdir(evil, { recursive: true });
  await Deno.writeTextFile(join(evil, "Capsule.toml"), evilManifest("evil", marker));
  await exercise(run, "evil");
  // A genuine install, copied for the user: the copy has no record of its own.
  equal(
    (await run(["capsule", "install", await probeCopy(), "--scope", "workspace", "--yes"])).code,
    0,
  );
  const installed = join(ws, ".astrid", "capsules", "probe");
  await Deno.mkdir(join(home, "capsules", "probe"));
  for (const f of ["Capsule.toml", "capsule.wasm"]) {
    await Deno.copyFile(join(installed, f), join(home, "capsules", "probe", f));
  }
  await Deno.remove(installed, { recursive: true });
  const list = await run(["tools", "list", "--json"]);
  match(list.stderr, new RegExp(`ignoring capsule folder ${join(home, "capsules", "probe")}: `));
  match(list.stderr, /capsule probe \(workspace\) was installed in .*, which is gone/);
  ok(!list.stdout.includes("probe__"));
  await absent(marker);
});

/** Opens the CLI's state store (no CLI is running meanwhile). */
async function withState<T>(home: string, fn: (kv: Deno.Kv) => Promise<T>): Promise<T> {
  const kv = await Deno.openKv(join(home, "state.kv"));
  try {
    return await fn(kv);
  } finally {
    kv.close();
  }
}

Deno.test("an install record edited or planted in the state store is refused", async () => {
  const { home, run } = await initWorld();
  equal((await run(["capsule", "install", await probeCopy(), "--yes"])).code, 0);
  await withState(home, async (kv) => {
    const key = ["capsule_install", "user", "probe", 0];
    const part = (await kv.get<{ n: number; data: Uint8Array }>(key)).value!;
    const envelope = JSON.parse(new TextDecoder().decode(part.data));
    // The same genuine record, filed for a planted folder "evil".
    await kv.set(["capsule_install", "user", "evil", 0], part);
    envelope.record.capabilities.fs_read = ["."];
    envelope.record.capabilities.net.push("evil.example");
    await kv.set(key, { n: 1, data: new TextEncoder().encode(JSON.stringify(envelope)) });
  });
  await Deno.mkdir(join(home, "capsules", "evil"));
  await Deno.copyFile(
    join(home, "capsules", "probe", "Capsule.toml"),
    join(home, "capsules", "evil", "Capsule.toml"),
  );
  const list = await run(["tools", "list", "--json"]);
  equal(list.code, 0, list.stderr);
  match(
    list.stderr,
    /ignoring capsule folder .*\/probe: .*its install record is refused: its signature does not verify/,
  );
  match(list.stderr, /ignoring capsule folder .*\/evil: .*filed under another name/);
  ok(!list.stdout.includes("probe__") && !list.stdout.includes("evil__"));
  const call = await run(["tools", "call", "probe__echo", "--args", "{}", "--approve", "once"]);
  equal(call.code, 1, call.stderr);
  match(call.stderr, /UNKNOWN_TOOL/);
  // The human's install is the way back.
  equal((await run(["capsule", "install", join(home, "capsules", "probe"), "--yes"])).code, 0);
  equal((await run(["tools", "call", "probe__echo", "--args", "{}", "--approve", "once"])).code, 0);
});

Deno.test("a widened manifest is exit 5 until `capsule install` shows the diff and re-pins it", async () => {
  const { home, run } = await initWorld();
  const src = await probeCopy("probe", (t) => t.replace(FS_READ, 'fs_read = ["src"]'));
  equal((await run(["capsule", "install", src, "--yes"])).code, 0);
  const dir = join(home, "capsules", "probe");
  const toml = join(dir, "Capsule.toml");
  const call = ["tools", "call", "probe__echo", "--args", '{"x":1}', "--approve", "once"];
  equal((await run(call)).code, 0);
  const edits: [(t: string) => string, RegExp][] = [
    [(t) => t.replace(FS_READ, 'fs_read = ["."]'), /\+ read files under: \./],
    [(t) => t.replace(NET, 'net = ["127.0.0.1", "evil.example"]'), /\+ network: evil\.example/],
    [(t) => `${t}\n[env.STOLEN]\ndefault = "x"\n`, /\+ asks for: env STOLEN/],
  ];
  for (const [edit, diff] of edits) {
    await Deno.writeTextFile(toml, edit(await Deno.readTextFile(toml)));
    const refused = await run(call);
    equal(refused.code, 5, refused.stderr);
    match(
      refused.stderr,
      /INTEGRITY: Cannot load capsule probe: its capabilities changed since install/,
    );
    match(refused.stderr, diff);
    match(refused.stderr, /astrid capsule install /);
    const list = await run(["tools", "list", "--json"]);
    equal(list.code, 0, list.stderr);
    match(list.stderr, /warning: capsule at .*probe not loaded: .*capabilities changed/);
    ok(!list.stdout.includes("probe__echo"));
    const unconfirmed = await run(["capsule", "install", dir]);
    equal(unconfirmed.code, 2, "no terminal and no --yes");
    match(unconfirmed.stderr, /Changes since it was installed/);
    match(unconfirmed.stderr, diff);
    const reinstall = await run(["capsule", "install", dir, "--yes"]);
    equal(reinstall.code, 0, reinstall.stderr);
    match(reinstall.stdout, /reinstalled probe/);
    const ok2 = await run(call);
    equal(ok2.code, 0, ok2.stderr);
  }
});

Deno.test("a swapped capsule.wasm is exit 5 naming the capsule and both hashes", async () => {
  const { run } = await initWorld();
  equal((await run(["capsule", "install", await probeCopy(), "--yes"])).code, 0);
  const info = JSON.parse((await run(["capsule", "info", "probe", "--json"])).stdout);
  match(info.wasm.hash, /^blake3:/);
  equal(info.record.wasmHash, info.wasm.hash);
  equal(info.record.dir, info.dir);
  equal(info.record.publisher, null);
  const bytes = await Deno.readFile(info.wasm.path);
  bytes[bytes.length - 3]! ^= 0xff;
  await Deno.writeFile(info.wasm.path, bytes);
  const { blake3Hex } = await import("../runtime/crypto/mod.ts");
  const actual = `blake3:${blake3Hex(bytes)}`;
  const call = await run(["tools", "call", "probe__echo", "--args", "{}", "--approve", "once"]);
  equal(call.code, 5, call.stderr);
  match(call.stderr, /capsule probe/);
  ok(call.stderr.includes(info.wasm.hash), "names the recorded hash");
  ok(call.stderr.includes(actual), "names the actual hash");
  const list = await run(["tools", "list"]);
  equal(list.code, 0, list.stderr);
  match(list.stderr, /warning: capsule at .*probe not loaded/);
  equal((await run(["capsule", "info", "probe"])).code, 5);
});

Deno.test("an MCP capsule's tools are listed from its record: the server starts only to install and to call", async () => {
  const { ws, run } = await initWorld();
  const src = await Deno.makeTempDir({ prefix: "mcp-capsule-" });
  const deno = Deno.execPath();
  await Deno.mkdir(join(ws, "markers"));
  const marker = join(ws, "markers", "started");
  await Deno.writeTextFile(
    join(src, "Capsule.toml"),
    `[package]
name = "bridge"
version = "0.1.0"

[capabilities]
host_process = [${JSON.stringify(deno)}]
fs_write = ["markers"]

[[mcp_server]]
id = "basic"
type = "stdio"
command = ${JSON.stringify(deno)}
args = ${JSON.stringify(["run", "-A", "--quiet", "--config", CONFIG, MARKER_SERVER, marker])}
`,
  );
  const starts = async () =>
    (await Deno.readTextFile(marker).catch(() => "")).split("\n").filter(Boolean).length;
  const install = await run(["capsule", "install", src, "--yes", "--json"]);
  equal(install.code, 0, install.stderr);
  ok(JSON.parse(install.stdout).tools.includes("echo"));
  equal(await starts(), 1, "started once, by the human's install, to list its tools");
  const list = await run(["tools", "list", "--json"]);
  equal(list.code, 0, list.stderr);
  const names: string[] = JSON.parse(list.stdout).map((t: { name: string }) => t.name);
  ok(names.includes("bridge__echo"), names.join());
  ok(!names.some((n) => n.includes("..")), "the hostile tool name was dropped at install");
  equal((await run(["capsule", "info", "bridge", "--json"])).code, 0);
  equal((await run(["capsule", "list"])).code, 0);
  equal(await starts(), 1, "listing started nothing");
  const call = await run([
    "tools",
    "call",
    "bridge__echo",
    "--args",
    '{"text":"hi"}',
    "--approve",
    "once",
  ]);
  equal(call.code, 0, call.stderr);
  match(call.stdout, /hi/);
  equal(await starts(), 2, "an allowed call starts it");
});

Deno.test("installing a new version over an install shows the diff, asks, and replaces it", async () => {
  const { home, run } = await initWorld();
  equal((await run(["capsule", "install", await probeCopy(), "--yes"])).code, 0);
  const v2 = await probeCopy("probe", (t) =>
    t.replace('version = "0.1.0"', 'version = "0.2.0"')
      .replace(NET, 'net = ["127.0.0.1", "api.example.com"]'));
  const asked = await run(["capsule", "install", v2]);
  equal(asked.code, 2, asked.stderr);
  match(asked.stderr, /\+ network: api\.example\.com/);
  match(asked.stderr, /--yes/);
  equal(JSON.parse((await run(["capsule", "info", "probe", "--json"])).stdout).version, "0.1.0");
  const done = await run(["capsule", "install", v2, "--yes", "--json"]);
  equal(done.code, 0, done.stderr);
  const result = JSON.parse(done.stdout);
  equal(result.replaced, true);
  ok(result.changes.includes("+ network: api.example.com"));
  const info = JSON.parse((await run(["capsule", "info", "probe", "--json"])).stdout);
  equal(info.version, "0.2.0");
  equal(info.dir, join(home, "capsules", "probe"));
});
