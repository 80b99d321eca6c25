/**
 * The write race from the review: while a folder of the workspace is swapped for a symlink to
 * the outside, nonstop, by another process, `write_file` into that folder must never create a
 * file outside (it did, 86 times in 3,000 before the fix).
 */
import { deepEqual, ok } from "node:assert/strict";
import { FileExecutor } from "./file_executor.ts";
import { workspaceCreator } from "../sandbox/mod.ts";
import { NO_WALLS } from "../security/walls.ts";
import { raceDirs, swapRace } from "../sandbox/_race_testing.ts";

Deno.test("write_file into a folder swapped for a symlink 3,000 times leaves nothing outside", async () => {
  const dirs = await raceDirs();
  const ws = dirs.ws;
  await using files = FileExecutor.create({ root: ws, creator: workspaceCreator(NO_WALLS, ws) });
  const race = await swapRace(
    dirs,
    3000,
    (i) => files.run("write_file", { file_path: `${ws}/d/f${i}`, content: "x" }),
  );
  deepEqual(race.outside, []);
  ok(race.succeeded > 0, "some writes went through between swaps");
});
