/**
 * The folder-swap race, for tests (private): a workspace with a folder `d`, an outside folder,
 * and another process that swaps `d` for a symlink to the outside and back, nonstop, while the
 * test tries to create files under `d`. Outside /tmp, because the wall gives every process a
 * private /tmp.
 *
 * @module
 */

/** The race's folders. */
export interface RaceDirs {
  readonly base: string;
  readonly ws: string;
  readonly outside: string;
}

/**
 * Makes fresh race folders under /var/tmp.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { raceDirs } from "./_race_testing.ts";
 * const d = await raceDirs();
 * ok((await Deno.stat(`${d.ws}/d`)).isDirectory);
 * await Deno.remove(d.base, { recursive: true });
 * ```
 */
export async function raceDirs(): Promise<RaceDirs> {
  const base = await Deno.realPath(
    await Deno.makeTempDir({ dir: "/var/tmp", prefix: "astrid-race-" }),
  );
  await Deno.mkdir(`${base}/ws/d`, { recursive: true });
  await Deno.mkdir(`${base}/outside`);
  return { base, ws: `${base}/ws`, outside: `${base}/outside` };
}

/**
 * Runs `attempt(i)` `tries` times while another process swaps `ws/d` for a symlink to the
 * outside; returns how many attempts succeeded and what ended up outside (which must be
 * nothing). Removes the folders afterwards.
 *
 * @example Plain writes to the workspace root are not affected by the swap
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { raceDirs, swapRace } from "./_race_testing.ts";
 * const d = await raceDirs();
 * const r = await swapRace(d, 10, (i) => Deno.writeTextFile(`${d.ws}/f${i}`, "x"));
 * deepEqual([r.succeeded, r.outside], [10, []]);
 * ```
 */
export async function swapRace(
  dirs: RaceDirs,
  tries: number,
  attempt: (i: number) => Promise<unknown>,
): Promise<{ succeeded: number; outside: string[] }> {
  const swapper = new Deno.Command("/bin/bash", {
    args: [
      "-c",
      `cd ${dirs.ws}; while :; do mv d d.real; ln -s ${dirs.outside} d; rm d; mv d.real d; done`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  let succeeded = 0;
  try {
    for (let i = 0; i < tries; i++) await attempt(i).then(() => succeeded++, () => {});
  } finally {
    swapper.kill("SIGKILL");
    await swapper.status;
  }
  const outside = [...Deno.readDirSync(dirs.outside)].map((e) => e.name);
  await Deno.remove(dirs.base, { recursive: true }).catch(() => {});
  return { succeeded, outside };
}
