import { equal, ok, rejects } from "node:assert/strict";
import { ToolError } from "../types.ts";
import { insideRoots, openForRead, openForWrite, verifyOpened } from "./_safe_fs.ts";

async function dirs() {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-safe-" }));
  const outside = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-out-" }));
  return { root, outside, roots: { read: [root], write: [root] } };
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
  const { root, outside } = await dirs();
  await Deno.writeTextFile(`${root}/a.txt`, "mine");
  await Deno.writeTextFile(`${outside}/secret`, "secret");
  using file = await Deno.open(`${root}/a.txt`);
  await Deno.remove(`${root}/a.txt`);
  await Deno.symlink(`${outside}/secret`, `${root}/a.txt`); // the race: swapped after open
  await rejects(verifyOpened(file, `${root}/a.txt`, [root], "read"), code("NOT_CAPABLE"));
});

Deno.test("verifyOpened() refuses when the path names a different file than the one opened", async () => {
  const { root } = await dirs();
  await Deno.writeTextFile(`${root}/a.txt`, "a");
  await Deno.writeTextFile(`${root}/b.txt`, "b");
  using file = await Deno.open(`${root}/a.txt`);
  await Deno.rename(`${root}/b.txt`, `${root}/a.txt`);
  await rejects(verifyOpened(file, `${root}/a.txt`, [root], "read"), (err) => {
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
