import { deepEqual, ok, rejects } from "node:assert/strict";
import { openConfined, openConfinedWith } from "./_open_confined.ts";
import { Sandbox, WalledCreator } from "../sandbox/mod.ts";
import { NO_WALLS } from "./walls.ts";
import { raceDirs, swapRace } from "../sandbox/_race_testing.ts";

Deno.test("openConfined() removes a file created through a folder swapped mid-create", async () => {
  const { base, ws, outside } = await raceDirs();
  await rejects(
    openConfinedWith("d/new.txt", ws, { write: true, create: true }, {
      beforeCreate: async () => {
        await Deno.rename(`${ws}/d`, `${ws}/d.real`);
        await Deno.symlink(outside, `${ws}/d`);
      },
    }),
    /swapped/,
  );
  deepEqual([...Deno.readDirSync(outside)], [], "the stray file was removed by its inode");
  await Deno.remove(base, { recursive: true });
});

Deno.test("openConfined() creates through the walled creator, never outside, in a 3,000-try race", async () => {
  const sandbox = await Sandbox.open(NO_WALLS);
  if (!(sandbox instanceof Sandbox)) throw new Error(sandbox);
  const dirs = await raceDirs();
  await using creator = new WalledCreator(sandbox, dirs.ws);
  const race = await swapRace(dirs, 3000, async (i) => {
    using f = await openConfined(`d/f${i}`, dirs.ws, { write: true, create: true }, creator);
    await f.write(new TextEncoder().encode("x"));
  });
  deepEqual(race.outside, []);
  ok(race.succeeded > 0, "some writes went through between swaps");
});
