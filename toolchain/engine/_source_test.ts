import { equal, match, ok, rejects, throws } from "node:assert/strict";
import { archiveUriFrom, ensureSource, QUICKJS_SHA256, TARBALL } from "./_source.ts";
import { EngineBuildError, sha256Hex } from "./_util.ts";

const BOOKWORM = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
`;

Deno.test("archiveUriFrom() picks the main archive, not security, comments or lookalikes", () => {
  equal(archiveUriFrom([BOOKWORM], ""), "http://deb.debian.org/debian");
  const securityFirst = "URIs: http://deb.debian.org/debian-security\n";
  equal(archiveUriFrom([securityFirst, BOOKWORM], ""), "http://deb.debian.org/debian");
  equal(
    archiveUriFrom(
      [],
      "deb [arch=amd64 signed-by=/k.gpg] https://mirror.example/pub/debian/ bookworm main\n",
    ),
    "https://mirror.example/pub/debian",
  );
  const hostile = [
    "# URIs: http://evil.example/debian\nURIs: http://deb.debian.org/debian-security\n",
    "URIs: file:///tmp/debian\n",
    "URIs: http://evil.example/debian?x=/debian\n",
  ];
  for (const text of hostile) {
    throws(
      () => archiveUriFrom([text], ""),
      (e: unknown) => e instanceof EngineBuildError && e.code === "SOURCE",
    );
  }
});

Deno.test("ensureSource() fails with the reason when apt has no Debian archive", async () => {
  const apt = await Deno.makeTempDir();
  const build = await Deno.makeTempDir();
  await Deno.mkdir(`${apt}/sources.list.d`);
  await Deno.writeTextFile(
    `${apt}/sources.list.d/x.sources`,
    "URIs: http://deb.debian.org/debian-security\n",
  );
  await rejects(ensureSource(build, apt), (e: unknown) => {
    ok(e instanceof EngineBuildError && e.code === "SOURCE", String(e));
    match(e.message, /Cannot find a Debian archive/);
    return true;
  });
});

Deno.test("ensureSource() replaces a tampered cached tarball with a verified one", async () => {
  const build = await Deno.makeTempDir();
  await Deno.mkdir(`${build}/quickjs`);
  const target = `${build}/quickjs/${TARBALL}`;
  await Deno.writeTextFile(target, "not the real QuickJS");
  match(await ensureSource(build), /sha256 verified/);
  equal(await sha256Hex(await Deno.readFile(target)), QUICKJS_SHA256);
  equal(await ensureSource(build), "cached");
  await Deno.remove(build, { recursive: true });
});
