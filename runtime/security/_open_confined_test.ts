import { deepEqual, ok, rejects } from "node:assert/strict";
import { openConfined, openConfinedWith } from "./_open_confined.ts";
import { Sandbox, WalledCreator } from "../sandbox/mod.ts";
import { NO_WALLS } from "./walls.ts";

async function dirs() {
  // Outside /tmp: the wall's private /tmp would hide them from the creator.
  const base = await Deno.realPath(
    await Deno.makeTempDir({ dir: "/var/tmp", prefix: "astrid-open-" }),
  );
  await Deno.mkdir(`${base}/ws/d`, { recursive: true });
  await Deno.mkdir(`${base}/outside`);
  return { base, ws: `${base}/ws`, outside: `${base}/outside` };
}

Deno.test("openConfined() removes a file created through a folder swapped mid-create", async () => {
  const { base, ws, outside } = await dirs();
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
  const { base, ws, outside } = await dirs();
  const swapper = new Deno.Command("/bin/bash", {
    args: ["-c", `cd ${ws}; while :; do mv d d.real; ln -s ${outside} d; rm d; mv d.real d; done`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  let written = 0;
  try {
    await using creator = new WalledCreator(sandbox, ws);
    for (let i = 0; i < 3000; i++) {
      try {
        using f = await openConfined(`d/f${i}`, ws, { write: true, create: true }, creator);
        await f.write(new TextEncoder().encode("x"));
        written++;
      } catch {
        // refused while the folder was swapped
      }
    }
  } finally {
    swapper.kill("SIGKILL");
    await swapper.status;
  }
  deepEqual([...Deno.readDirSync(outside)].map((e) => e.name), []);
  ok(written > 0, "some writes went through between swaps");
  await Deno.remove(base, { recursive: true }).catch(() => {});
});
