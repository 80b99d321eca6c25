import { deepEqual, ok } from "node:assert/strict";
import { CREDENTIAL_PATHS, hiddenPaths } from "./hide.ts";

async function tree(paths: string[]): Promise<string> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-hide-" }));
  for (const p of paths) {
    if (p.endsWith("/")) await Deno.mkdir(`${root}/${p}`, { recursive: true });
    else {
      await Deno.mkdir(`${root}/${p.slice(0, p.lastIndexOf("/"))}`, { recursive: true });
      await Deno.writeTextFile(`${root}/${p}`, "x");
    }
  }
  return root;
}

Deno.test("hiddenPaths() hides the user's credentials but keeps the rest of the home", async () => {
  const r = await tree([
    "me/.ssh/",
    "me/.aws/credentials",
    "me/.netrc",
    "me/.cache/deno/",
    "me/src/",
  ]);
  const hidden = await hiddenPaths({
    extra: [],
    userHome: `${r}/me`,
    passwd: "",
    homesDir: `${r}/none`,
    uid: null,
  });
  for (const p of [".ssh", ".aws", ".netrc"]) ok(hidden.includes(`${r}/me/${p}`), p);
  for (const p of ["", "/.cache", "/src"]) ok(!hidden.includes(`${r}/me${p}`), p);
});

Deno.test("hiddenPaths() hides other users' homes, the passwd ones and /home's, not the user's own", async () => {
  const r = await tree(["home/me/", "home/alice/", "srv/bob/", "svc/"]);
  const passwd = [
    `alice:x:1000:1000::${r}/home/alice:/bin/sh`,
    `bob:x:1001:1001::${r}/srv/bob:/bin/sh`,
    `me:x:1002:1002::${r}/home/me:/bin/sh`,
    `daemon:x:1:1::${r}/svc:/usr/sbin/nologin`,
  ].join("\n");
  const hidden = await hiddenPaths({
    extra: [],
    userHome: null,
    passwd,
    homesDir: `${r}/home`,
    uid: 1002,
  });
  ok(hidden.includes(`${r}/home/alice`));
  ok(hidden.includes(`${r}/srv/bob`));
  ok(!hidden.includes(`${r}/home/me`), "the passwd home of the uid is the user's own");
  ok(!hidden.includes(`${r}/svc`), "service accounts' folders are not homes");
});

Deno.test("hiddenPaths() follows symlinks, drops missing paths and nested duplicates", async () => {
  const r = await tree(["real-ssh/", "me/", "state/keys/"]);
  await Deno.symlink(`${r}/real-ssh`, `${r}/me/.ssh`);
  const hidden = await hiddenPaths({
    extra: [`${r}/state`, `${r}/state/keys`, `${r}/missing`],
    userHome: `${r}/me`,
    passwd: "",
    homesDir: `${r}/none`,
    uid: null,
  });
  ok(hidden.includes(`${r}/real-ssh`), "a symlinked credential folder is hidden where it leads");
  ok(hidden.includes(`${r}/state`));
  ok(!hidden.includes(`${r}/state/keys`), "already inside a hidden folder");
  ok(!hidden.some((p) => p.endsWith("/missing")));
  deepEqual(hidden.filter((p) => p === "/"), []);
});

Deno.test("the credential list has no absolute or climbing entries", () => {
  for (const p of CREDENTIAL_PATHS) ok(!p.startsWith("/") && !p.split("/").includes(".."), p);
});
