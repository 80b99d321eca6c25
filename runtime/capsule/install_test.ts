import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { CapsuleError } from "./errors.ts";
import { capsuleDirs, installCapsule, listInstalled, removeCapsule, sourceDir } from "./install.ts";
import { envFilePath, readEnvFile, writeEnvFile } from "./env_store.ts";
import { probeCopy } from "./_testing.ts";

const code = (c: string) => (e: unknown) => e instanceof CapsuleError && e.code === c;

async function dirs(withWorkspace = false) {
  const home = await Deno.realPath(await Deno.makeTempDir());
  const ws = withWorkspace ? await Deno.realPath(await Deno.makeTempDir()) : null;
  return capsuleDirs(home, ws);
}

Deno.test("installCapsule() copies only the named files, verified, and lists them", async () => {
  const d = await dirs();
  const src = await probeCopy();
  await Deno.writeTextFile(`${src}/junk.txt`, "not copied");
  const loaded = await installCapsule(d, src, { scope: "user", requireHash: true });
  equal(loaded.dir, `${d.user}/probe`);
  const names = [];
  for await (const e of Deno.readDir(loaded.dir)) names.push(e.name);
  deepEqual(names.sort(), ["Capsule.toml", "capsule.wasm"]);
  const { capsules, broken } = await listInstalled(d, { requireHash: true });
  deepEqual(capsules.map((c) => c.loaded.manifest.package.name), ["probe"]);
  equal(broken.length, 0);
  await rejects(installCapsule(d, src, { scope: "user", requireHash: true }), code("INSTALL"));
});

Deno.test("a capsule.wasm swapped after install is reported broken with INTEGRITY", async () => {
  const d = await dirs();
  await installCapsule(d, await probeCopy(), { scope: "user", requireHash: true });
  const other = await probeCopy();
  const bytes = await Deno.readFile(`${other}/capsule.wasm`);
  bytes[100]! ^= 0xff;
  await Deno.writeFile(`${d.user}/probe/capsule.wasm`, bytes);
  const { capsules, broken } = await listInstalled(d, { requireHash: true });
  equal(capsules.length, 0);
  ok(code("INTEGRITY")(broken[0]?.error));
});

Deno.test("symlinks in the source are refused: the folder, the wasm, a static file", async () => {
  const d = await dirs();
  const src = await probeCopy();
  const link = `${await Deno.makeTempDir()}/link`;
  await Deno.symlink(src, link);
  await rejects(sourceDir(link), code("INSTALL"));
  const wasmLinked = await probeCopy();
  await Deno.rename(`${wasmLinked}/capsule.wasm`, `${wasmLinked}/real.wasm`);
  await Deno.symlink(`${wasmLinked}/real.wasm`, `${wasmLinked}/capsule.wasm`);
  await rejects(
    installCapsule(d, wasmLinked, { scope: "user", requireHash: true }),
    code("INSTALL"),
  );
  const ctx = await probeCopy("ctx", (t) => `${t}\n[[context_file]]\npath = "CONTEXT.md"\n`);
  await Deno.symlink("/etc/passwd", `${ctx}/CONTEXT.md`);
  await rejects(installCapsule(d, ctx, { scope: "user", requireHash: true }), code("INSTALL"));
  equal((await listInstalled(d, { requireHash: true })).capsules.length, 0);
});

Deno.test("a tampered source is refused before anything is copied", async () => {
  const d = await dirs();
  const src = await probeCopy();
  const bytes = await Deno.readFile(`${src}/capsule.wasm`);
  bytes[200]! ^= 1;
  await Deno.writeFile(`${src}/capsule.wasm`, bytes);
  await rejects(installCapsule(d, src, { scope: "user", requireHash: true }), code("INTEGRITY"));
  await rejects(Deno.lstat(`${d.user}/probe`), Deno.errors.NotFound);
});

Deno.test("workspace installs shadow user ones; remove takes the workspace one first", async () => {
  const d = await dirs(true);
  await installCapsule(d, await probeCopy(), { scope: "user", requireHash: true });
  await installCapsule(d, await probeCopy(), { scope: "workspace", requireHash: true });
  const { capsules } = await listInstalled(d, { requireHash: true });
  deepEqual(capsules.map((c) => c.scope), ["workspace"]);
  const envPath = envFilePath(d.home, d.workspaceRoot, "probe");
  await writeEnvFile(envPath, { TOKEN: "t" });
  equal(await removeCapsule(d, "probe"), "workspace");
  deepEqual(await readEnvFile(envPath), {});
  equal(await removeCapsule(d, "probe"), "user");
  await rejects(removeCapsule(d, "probe"), code("NOT_FOUND"));
  await rejects(removeCapsule(d, "../probe"), code("NOT_FOUND"));
});

Deno.test("an env file readable by others is refused", async () => {
  const path = `${await Deno.makeTempDir()}/x.json`;
  await writeEnvFile(path, { A: "1" });
  await Deno.chmod(path, 0o644);
  await rejects(readEnvFile(path), /0600/);
});
