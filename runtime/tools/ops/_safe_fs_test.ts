import { equal, ok, rejects } from "node:assert/strict";
import { ToolError } from "../types.ts";
import { insideRoots, openForRead, openForWrite, verifyOpened } from "./_safe_fs.ts";

async function dirs() {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-safe-" }));
  const outside = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-out-" }));
  const hidden = `${root}/astrid-home`;
  await Deno.mkdir(hidden);
  return { root, outside, hidden, roots: { read: [root], write: [root], hidden: [hidden] } };
}

function code(c: string) {
  return (err: unknown) => err instanceof ToolError && err.code === c;
}

Deno.test("insideRoots() accepts the root and below, never a sibling prefix", () => {
  ok(insideRoots("/ws", ["/ws"]));
  ok(insideRoots("/ws/a/b", ["/ws"]));
  ok(!insideRoots("/ws-evil/a", ["/ws"]));
  ok(!insideRoots("/", ["/ws"]));
});

Deno.test("verifyOpened() refuses a file swapped for an outside symlink after opening", async () => {
  const { root, outside, roots } = await dirs();
  await Deno.writeTextFile(`${root}/a.txt`, "mine");
  await Deno.writeTextFile(`${outside}/secret`, "secret");
  using file = await Deno.open(`${root}/a.txt`);
  await Deno.remove(`${root}/a.txt`);
  await Deno.symlink(`${outside}/secret`, `${root}/a.txt`); // the race: swapped after open
  await rejects(verifyOpened(file, `${root}/a.txt`, roots, "read", "read"), code("NOT_CAPABLE"));
});

Deno.test("verifyOpened() refuses when the path names a different file than the one opened", async () => {
  const { root, roots } = await dirs();
  await Deno.writeTextFile(`${root}/a.txt`, "a");
  await Deno.writeTextFile(`${root}/b.txt`, "b");
  using file = await Deno.open(`${root}/a.txt`);
  await Deno.rename(`${root}/b.txt`, `${root}/a.txt`);
  await rejects(verifyOpened(file, `${root}/a.txt`, roots, "read", "read"), (err) => {
    ok(code("NOT_CAPABLE")(err));
    return /changed between opening and checking/.test((err as Error).message);
  });
});

Deno.test("openForWrite() never creates a file through a dangling symlink", async () => {
  const { root, outside, roots } = await dirs();
  await Deno.symlink(`${outside}/planted.txt`, `${root}/dangling`);
  await rejects(openForWrite(`${root}/dangling`, roots, { create: true }));
  await rejects(Deno.lstat(`${outside}/planted.txt`), Deno.errors.NotFound);
});

Deno.test("openForWrite() refuses to create folders through a symlinked folder", async () => {
  const { root, outside, roots } = await dirs();
  await Deno.symlink(outside, `${root}/out`);
  await rejects(openForWrite(`${root}/out/x/y.txt`, roots, { create: true }), code("NOT_CAPABLE"));
  equal([...Deno.readDirSync(outside)].length, 0);
});

Deno.test("openForRead() opens a plain file and refuses a directory", async () => {
  const { root, roots } = await dirs();
  await Deno.writeTextFile(`${root}/a.txt`, "hi");
  (await openForRead(`${root}/a.txt`, roots)).close();
  await rejects(openForRead(root, roots), code("INVALID_ARGS"));
});

Deno.test("openForWrite() never writes into a .astrid folder, whatever the roots say", async () => {
  const { root, roots } = await dirs();
  await Deno.mkdir(`${root}/.astrid/capsules`, { recursive: true });
  await Deno.writeTextFile(`${root}/.astrid/config.toml`, "[workspace]\n");
  for (
    const target of [".astrid/config.toml", ".astrid/capsules/evil/Capsule.toml", "sub/.astrid/x"]
  ) {
    await rejects(openForWrite(`${root}/${target}`, roots, { create: true }), code("NOT_CAPABLE"));
  }
  // Through a symlink planted in the workspace, too.
  await Deno.symlink(`${root}/.astrid`, `${root}/cfg`);
  await rejects(
    openForWrite(`${root}/cfg/config.toml`, roots, { create: true }),
    code("NOT_CAPABLE"),
  );
  equal(await Deno.readTextFile(`${root}/.astrid/config.toml`), "[workspace]\n");
  await rejects(Deno.lstat(`${root}/.astrid/capsules/evil`), Deno.errors.NotFound);
  // Reading configuration is allowed.
  (await openForRead(`${root}/.astrid/config.toml`, roots)).close();
});

Deno.test("hidden paths are neither read nor written, directly or through a symlink", async () => {
  const { root, hidden, roots } = await dirs();
  await Deno.writeTextFile(`${hidden}/runtime.key`, "secret");
  await Deno.symlink(hidden, `${root}/innocent`);
  for (const path of [`${hidden}/runtime.key`, `${root}/innocent/runtime.key`]) {
    await rejects(openForRead(path, roots), code("NOT_CAPABLE"));
    await rejects(openForWrite(path, roots, { create: false }), code("NOT_CAPABLE"));
  }
  await rejects(openForWrite(`${hidden}/new.txt`, roots, { create: true }), code("NOT_CAPABLE"));
  equal(await Deno.readTextFile(`${hidden}/runtime.key`), "secret");
});
