import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { CreateError, Sandbox, WalledCreator } from "./mod.ts";
import { NO_WALLS } from "../security/walls.ts";
import { raceDirs, swapRace } from "./_race_testing.ts";

async function dirs() {
  const { base, ws, outside } = await raceDirs();
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
  const dirs = await raceDirs();
  await using creator = new WalledCreator(sandbox, dirs.ws);
  const race = await swapRace(dirs, 3000, (i) => creator.createFile(`${dirs.ws}/d/f${i}`));
  deepEqual(race.outside, [], "no file outside");
  ok(race.succeeded > 0, "the race was run (some creations landed in the real folder)");
});
