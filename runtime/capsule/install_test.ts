import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { CapsuleError } from "./errors.ts";
import {
  capsuleDirs,
  checkInstallSource,
  countCapsuleData,
  installCapsule,
  removeCapsule,
  resetCapsuleData,
  sourceDir,
} from "./install.ts";
import { openStore } from "../storage/mod.ts";
import { listInstalled } from "./installed.ts";
import { envFilePath, readEnvFile, writeEnvFile } from "./env_store.ts";
import { probeCopy, testInstall, testRecords } from "./_testing.ts";

const code = (c: string) => (e: unknown) => e instanceof CapsuleError && e.code === c;

async function dirs(withWorkspace = false) {
  const home = await Deno.realPath(await Deno.makeTempDir());
  const ws = withWorkspace ? await Deno.realPath(await Deno.makeTempDir()) : null;
  return capsuleDirs(home, ws);
}

Deno.test("installCapsule() copies only the named files, verified, records and lists them", async () => {
  const d = await dirs();
  using records = await testRecords();
  const src = await probeCopy();
  await Deno.writeTextFile(`${src}/junk.txt`, "not copied");
  const { loaded, record, replaced } = await testInstall(d, src, records);
  equal(loaded.dir, `${d.user}/probe`);
  equal(replaced, false);
  const names = [];
  for await (const e of Deno.readDir(loaded.dir)) names.push(e.name);
  deepEqual(names.sort(), ["Capsule.toml", "capsule.wasm"]);
  equal(record.dir, loaded.dir);
  equal(record.wasmHash, loaded.wasm?.hash);
  deepEqual(record.capabilities.fs_write, ["out"]);
  deepEqual(Object.keys(record.env).sort(), ["TOKEN", "UNITS"]);
  ok(record.tools.some((t) => t.name === "echo" && t.server === undefined));
  equal(record.publisher, null);
  const { capsules, broken, ignored } = await listInstalled(d, { requireHash: true, records });
  deepEqual(capsules.map((c) => c.record.name), ["probe"]);
  deepEqual([broken.length, ignored.length], [0, 0]);
});

Deno.test("installing over an install replaces the folder and the record (the upgrade path)", async () => {
  const d = await dirs();
  using records = await testRecords();
  await testInstall(d, await probeCopy(), records);
  await writeEnvFile(envFilePath(d.home, null, "probe"), { TOKEN: "t" });
  const wider = await probeCopy(
    "probe",
    (t) => t.replace(/fs_read = \[[^\]]*\]/, 'fs_read = [".", "x"]'),
  );
  const { record, replaced } = await testInstall(d, wider, records);
  equal(replaced, true);
  deepEqual(record.capabilities.fs_read, [".", "x"]);
  const { capsules, broken } = await listInstalled(d, { requireHash: true, records });
  deepEqual([capsules.length, broken.length], [1, 0]);
  deepEqual(capsules[0]?.env, { TOKEN: "t" }, "stored values survive an upgrade");
  const left = (await Array.fromAsync(Deno.readDir(d.user))).map((e) => e.name);
  deepEqual(left, ["probe"], "no staging or old folder is left behind");
});

Deno.test("re-installing from the installed folder itself (edited in place) re-pins it", async () => {
  const d = await dirs();
  using records = await testRecords();
  const { loaded } = await testInstall(d, await probeCopy(), records);
  const toml = `${loaded.dir}/Capsule.toml`;
  await Deno.writeTextFile(
    toml,
    (await Deno.readTextFile(toml)).replace("kv = true", "kv = false"),
  );
  const before = await listInstalled(d, { requireHash: true, records });
  equal(before.broken[0]?.error instanceof CapsuleError, true);
  const { record } = await testInstall(d, loaded.dir, records);
  equal(record.capabilities.kv, false);
  const after = await listInstalled(d, { requireHash: true, records });
  deepEqual([after.capsules.length, after.broken.length], [1, 0]);
});

Deno.test("a source changed after the human saw it is refused (expect pins)", async () => {
  const d = await dirs();
  using records = await testRecords();
  const src = await probeCopy();
  await rejects(
    installCapsule(d, src, {
      scope: "user",
      requireHash: true,
      records,
      tools: () => Promise.resolve([]),
      expect: { manifestHash: `blake3:${"1".repeat(64)}`, wasmHash: null },
    }),
    (e: unknown) => code("INTEGRITY")(e) && /changed while/.test((e as Error).message),
  );
  await rejects(Deno.lstat(`${d.user}/probe`), Deno.errors.NotFound);
  equal((await records.list("user", null)).size, 0);
});

Deno.test("a failing tool listing fails the install and leaves the earlier install intact", async () => {
  const d = await dirs();
  using records = await testRecords();
  const first = await testInstall(d, await probeCopy(), records);
  await rejects(
    installCapsule(d, await probeCopy(), {
      scope: "user",
      requireHash: true,
      records,
      tools: () => Promise.reject(new CapsuleError("INSTALL", "Cannot install probe: no tools")),
    }),
    code("INSTALL"),
  );
  const { capsules } = await listInstalled(d, { requireHash: true, records });
  equal(capsules[0]?.record.installedAt, first.record.installedAt);
});

Deno.test("symlinks in the source are refused: the folder, the wasm, a static file", async () => {
  const d = await dirs();
  using records = await testRecords();
  const src = await probeCopy();
  const link = `${await Deno.makeTempDir()}/link`;
  await Deno.symlink(src, link);
  await rejects(sourceDir(link), code("INSTALL"));
  const wasmLinked = await probeCopy();
  await Deno.rename(`${wasmLinked}/capsule.wasm`, `${wasmLinked}/real.wasm`);
  await Deno.symlink(`${wasmLinked}/real.wasm`, `${wasmLinked}/capsule.wasm`);
  await rejects(testInstall(d, wasmLinked, records), code("INSTALL"));
  const ctx = await probeCopy("ctx", (t) => `${t}\n[[context_file]]\npath = "CONTEXT.md"\n`);
  await Deno.symlink("/etc/passwd", `${ctx}/CONTEXT.md`);
  await rejects(testInstall(d, ctx, records), code("INSTALL"));
  equal((await listInstalled(d, { requireHash: true, records })).capsules.length, 0);
});

Deno.test("a tampered source is refused before anything is copied", async () => {
  const d = await dirs();
  using records = await testRecords();
  const src = await probeCopy();
  const bytes = await Deno.readFile(`${src}/capsule.wasm`);
  bytes[200]! ^= 1;
  await Deno.writeFile(`${src}/capsule.wasm`, bytes);
  await rejects(testInstall(d, src, records), code("INTEGRITY"));
  await rejects(Deno.lstat(`${d.user}/probe`), Deno.errors.NotFound);
});

Deno.test("workspace installs shadow user ones; remove takes the workspace one first", async () => {
  const d = await dirs(true);
  using records = await testRecords();
  await testInstall(d, await probeCopy(), records);
  await testInstall(d, await probeCopy(), records, { scope: "workspace" });
  const { capsules } = await listInstalled(d, { requireHash: true, records });
  deepEqual(capsules.map((c) => c.scope), ["workspace"]);
  equal(capsules[0]?.record.workspace?.root, d.workspaceRoot);
  const envPath = envFilePath(d.home, d.workspaceRoot, "probe");
  await writeEnvFile(envPath, { TOKEN: "t" });
  equal(await removeCapsule(d, "probe", records), "workspace");
  deepEqual(await readEnvFile(envPath), {});
  equal(await records.read("workspace", d.workspaceRoot, "probe"), null);
  equal(await removeCapsule(d, "probe", records), "user");
  await rejects(removeCapsule(d, "probe", records), code("NOT_FOUND"));
  await rejects(removeCapsule(d, "../probe", records), code("NOT_FOUND"));
});

Deno.test("remove forgets a record whose folder is gone", async () => {
  const d = await dirs();
  using records = await testRecords();
  const { loaded } = await testInstall(d, await probeCopy(), records);
  await Deno.remove(loaded.dir, { recursive: true });
  const { missing } = await listInstalled(d, { requireHash: true, records });
  deepEqual(missing, [{ scope: "user", name: "probe", dir: loaded.dir }]);
  equal(await removeCapsule(d, "probe", records), "user");
  equal((await listInstalled(d, { requireHash: true, records })).missing.length, 0);
});

Deno.test("an env file readable by others is refused", async () => {
  const path = `${await Deno.makeTempDir()}/x.json`;
  await writeEnvFile(path, { A: "1" });
  await Deno.chmod(path, 0o644);
  await rejects(readEnvFile(path), /0600/);
});

Deno.test("sourceDir() accepts a Capsule.toml path and refuses other files", async () => {
  const src = await probeCopy();
  equal(await sourceDir(`${src}/Capsule.toml`), src);
  await rejects(sourceDir(`${src}/capsule.wasm`), (e: unknown) => {
    match((e as Error).message, /Capsule\.toml/);
    return code("INSTALL")(e);
  });
});

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  for (const [rel, text] of Object.entries(files)) {
    await Deno.mkdir(`${dir}/${rel}`.replace(/\/[^/]*$/, ""), { recursive: true });
    await Deno.writeTextFile(`${dir}/${rel}`, text);
  }
  return dir;
}

const PKG = '[package]\nname = "n"\nversion = "1"\n';

Deno.test("checkInstallSource() accepts a compiled capsule and a manifest that is static by itself", async () => {
  deepEqual(await checkInstallSource(await probeCopy()), { ok: true, kind: "wasm" });
  const prompt = await folder({ "Capsule.toml": `${PKG}[[command]]\nname = "c"\nprompt = "p"\n` });
  deepEqual(await checkInstallSource(prompt), { ok: true, kind: "static" });
  const skill = await folder({
    "Capsule.toml": `${PKG}[[skill]]\nname = "s"\npath = "s.md"\n`,
    "s.md": "text",
  });
  deepEqual(await checkInstallSource(skill), { ok: true, kind: "static" });
  // An MCP capsule's server code may sit beside its manifest.
  const mcp = await folder({
    "Capsule.toml": `${PKG}[[mcp_server]]\nid = "s"\ntype = "stdio"\ncommand = "deno"\n` +
      'args = ["run", "server.ts"]\n[[tool]]\nname = "t"\n',
    "server.ts": "",
  });
  deepEqual(await checkInstallSource(mcp), { ok: true, kind: "static" });
});

Deno.test("checkInstallSource() refuses source folders with the compile hint", async () => {
  const refused = async (dir: string, reason: RegExp, hint = /astrid capsule compile/) => {
    const check = await checkInstallSource(dir);
    equal(check.ok, false);
    if (!check.ok) {
      match(check.reason, reason);
      match(check.hint, hint);
    }
  };
  // The shipped example, as an author would try it: sources and no wasm.
  const notes = new URL("../../examples/notes", import.meta.url).pathname;
  await refused(notes, /source folder \(it has package\.json, src\/mod\.ts/);
  // An OpenClaw plugin (no Capsule.toml at all).
  await refused(
    await folder({ "openclaw.plugin.json": "{}", "index.ts": "" }),
    /source folder \(it has index\.ts, openclaw\.plugin\.json\) without Capsule\.toml/,
  );
  // Static sections do not excuse code that was never compiled.
  await refused(
    await folder({
      "Capsule.toml": `${PKG}[[command]]\nname = "c"\nprompt = "p"\n`,
      "src/mod.ts": "",
    }),
    /source folder .* without capsule\.wasm/,
  );
  // A [component] whose wasm is missing, and [[tool]]s nothing can run.
  await refused(
    await folder({ "Capsule.toml": `${PKG}[component]\nentrypoint = "capsule.wasm"\n` }),
    /names capsule\.wasm, which is missing/,
  );
  await refused(
    await folder({ "Capsule.toml": `${PKG}[[tool]]\nname = "greet"\n` }),
    /declares \[\[tool\]\]s \(greet\) that no \[\[mcp_server\]\] serves/,
  );
  // Nothing a static capsule offers (cron and interceptors alone run nothing).
  await refused(
    await folder({ "Capsule.toml": `${PKG}[[interceptor]]\nevent = "session_start"\n` }),
    /declares nothing a static capsule offers/,
    /\[\[skill\]\]/,
  );
  await refused(await folder({}), /has no Capsule\.toml/, /compiled capsule folder/);
});

Deno.test("checkInstallSource() does not follow a symlinked wasm into accepting it", async () => {
  const src = await probeCopy();
  // The check only looks; the install itself refuses the symlink (see above) — here a dangling
  // one must not count as a wasm either.
  await Deno.remove(`${src}/capsule.wasm`);
  await Deno.symlink("/nonexistent/capsule.wasm", `${src}/capsule.wasm`);
  const check = await checkInstallSource(src);
  equal(check.ok, true, "lstat sees the link; the copy refuses it");
  using records = await testRecords();
  await rejects(testInstall(await dirs(), src, records), code("INSTALL"));
});

Deno.test("resetCapsuleData() deletes only that capsule's keys, past one commit's limit", async () => {
  using store = await openStore(":memory:");
  for (let at = 0; at < 2500; at += 500) {
    const op = store.atomic();
    for (let i = at; i < at + 500; i++) op.set(["capsule_kv", "notes", `k${i}`], i);
    await op.commit();
  }
  await store.set(["capsule_kv", "notes2", "k"], "other capsule");
  await store.set(["capsule_kv", "note", "k"], "prefix of the name");
  await store.set(["capsule_install", "user", "notes", 0], "the install record");
  equal(await countCapsuleData(store, "notes"), 2500);
  equal(await resetCapsuleData(store, "notes"), 2500);
  equal(await countCapsuleData(store, "notes"), 0);
  equal((await store.get(["capsule_kv", "notes2", "k"])).value, "other capsule");
  equal((await store.get(["capsule_kv", "note", "k"])).value, "prefix of the name");
  equal((await store.get(["capsule_install", "user", "notes", 0])).value, "the install record");
  equal(await resetCapsuleData(store, "notes"), 0);
});
