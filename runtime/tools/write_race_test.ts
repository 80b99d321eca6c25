/**
 * The write race from the review: while a folder of the workspace is swapped for a symlink to
 * the outside, nonstop, by another process, `write_file` into that folder must never create a
 * file outside (it did, 86 times in 3,000 before the fix).
 */
import { deepEqual, ok } from "node:assert/strict";
import { FileExecutor } from "./file_executor.ts";
import { workspaceCreator } from "../sandbox/mod.ts";
import { NO_WALLS } from "../security/walls.ts";

Deno.test("write_file into a folder swapped for a symlink 3,000 times leaves nothing outside", async () => {
  // Outside /tmp: the creator's wall has a private /tmp.
  const base = await Deno.realPath(
    await Deno.makeTempDir({ dir: "/var/tmp", prefix: "astrid-write-race-" }),
  );
  const ws = `${base}/ws`;
  const outside = `${base}/outside`;
  await Deno.mkdir(`${ws}/d`, { recursive: true });
  await Deno.mkdir(outside);
  const swapper = new Deno.Command("/bin/bash", {
    args: ["-c", `cd ${ws}; while :; do mv d d.real; ln -s ${outside} d; rm d; mv d.real d; done`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  let written = 0;
  try {
    await using files = FileExecutor.create({ root: ws, creator: workspaceCreator(NO_WALLS, ws) });
    for (let i = 0; i < 3000; i++) {
      await files.run("write_file", { file_path: `${ws}/d/f${i}`, content: "x" }).then(
        () => written++,
        () => {},
      );
    }
  } finally {
    swapper.kill("SIGKILL");
    await swapper.status;
  }
  deepEqual([...Deno.readDirSync(outside)].map((e) => e.name), []);
  ok(written > 0, "some writes went through between swaps");
  await Deno.remove(base, { recursive: true }).catch(() => {});
});
