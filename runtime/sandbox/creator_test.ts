import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { CreateError, Sandbox, WalledCreator } from "./mod.ts";
import { NO_WALLS } from "../security/walls.ts";

async function dirs() {
  // Outside /tmp: the wall's private /tmp would hide both.
  const base = await Deno.realPath(
    await Deno.makeTempDir({ dir: "/var/tmp", prefix: "astrid-create-" }),
  );
  const ws = `${base}/ws`;
  const outside = `${base}/outside`;
  await Deno.mkdir(`${ws}/d`, { recursive: true });
  await Deno.mkdir(outside);
  return { base, ws, outside };
}

const sandbox = await Sandbox.open(NO_WALLS);
if (!(sandbox instanceof Sandbox)) throw new Error(`no sandbox here: ${sandbox}`);

Deno.test("WalledCreator creates files and folders in the workspace, nothing elsewhere", async () => {
  const { base, ws, outside } = await dirs();
  await using creator = new WalledCreator(sandbox, ws);
  await creator.mkdir(`${ws}/a/b`);
  await creator.createFile(`${ws}/a/b/new.txt`);
  ok((await Deno.lstat(`${ws}/a/b/new.txt`)).isFile);
  await Deno.writeTextFile(`${ws}/keep.txt`, "kept");
  await creator.createFile(`${ws}/keep.txt`); // an existing file is left alone
  equal(await Deno.readTextFile(`${ws}/keep.txt`), "kept");
  await Deno.symlink(outside, `${ws}/out`);
  for (const path of [`${ws}/out/x.txt`, `${outside}/y.txt`, `${ws}/.astrid/capsules/evil`]) {
    await rejects(creator.createFile(path), CreateError, path);
  }
  await rejects(creator.mkdir(`${ws}/out/sub`), CreateError);
  await rejects(creator.createFile("relative.txt"), TypeError);
  deepEqual([...Deno.readDirSync(outside)], []);
  await Deno.remove(base, { recursive: true });
});

Deno.test("a folder swapped for a symlink 3,000 times never lets a file appear outside", async () => {
  const { base, ws, outside } = await dirs();
  // The attacker: a separate process swapping ws/d with a symlink to the outside, nonstop.
  const swapper = new Deno.Command("/bin/bash", {
    args: ["-c", `cd ${ws}; while :; do mv d d.real; ln -s ${outside} d; rm d; mv d.real d; done`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  let created = 0;
  try {
    await using creator = new WalledCreator(sandbox, ws);
    for (let i = 0; i < 3000; i++) {
      await creator.createFile(`${ws}/d/f${i}`).then(() => created++, () => {});
    }
  } finally {
    swapper.kill("SIGKILL");
    await swapper.status;
  }
  deepEqual([...Deno.readDirSync(outside)].map((e) => e.name), [], "no file outside");
  ok(created > 0, "the race was run (some creations landed in the real folder)");
  await Deno.remove(base, { recursive: true }).catch(() => Deno.remove(base, { recursive: true }));
});
