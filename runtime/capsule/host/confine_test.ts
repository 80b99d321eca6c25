import { deepEqual, equal, ok } from "node:assert/strict";
import { parseManifest } from "../manifest.ts";
import { canonicalizePath, canonicalizePathSync } from "../../security/workspace.ts";
import { confinePath, confineUrl, fileBases } from "./confine.ts";

const manifest = parseManifest(`[package]
name = "n"
version = "1"
[capabilities]
fs_read = ["docs"]
fs_write = ["out"]
net = ["api.example.com:443", "*.cdn.example", "127.0.0.1"]
`).manifest;

async function workspace(): Promise<string> {
  const root = await Deno.realPath(await Deno.makeTempDir());
  await Deno.mkdir(`${root}/docs`);
  await Deno.mkdir(`${root}/out`);
  return root;
}

const refused = (v: unknown) => typeof v === "object" && v !== null && "refused" in v;

Deno.test("confinePath() keeps reads under fs_read/fs_write and writes under fs_write", async () => {
  const root = await workspace();
  equal(await confinePath(manifest, root, "docs/a.md", "read"), `${root}/docs/a.md`);
  equal(await confinePath(manifest, root, "out/x", "read"), `${root}/out/x`);
  equal(await confinePath(manifest, root, "out/x", "write"), `${root}/out/x`);
  ok(refused(await confinePath(manifest, root, "docs/a.md", "write")));
  ok(refused(await confinePath(manifest, root, "secret.txt", "read")));
});

Deno.test("confinePath() refuses traversal, prefix tricks, control characters and non-strings", async () => {
  const root = await workspace();
  for (
    const p of [
      "docs/../../etc/passwd",
      "/etc/passwd",
      `${root}-evil/docs/a`,
      "docs/\u0000x",
      "docs/\u202ex",
      "",
      42,
      null,
      "x".repeat(5000),
    ]
  ) {
    ok(refused(await confinePath(manifest, root, p, "read")), String(p).slice(0, 40));
  }
});

Deno.test("confinePath() follows symlinks: a link out of the workspace or into another capability is refused", async () => {
  const root = await workspace();
  await Deno.symlink("/etc", `${root}/docs/etc`);
  await Deno.symlink(`${root}/docs`, `${root}/out/docs-link`);
  ok(refused(await confinePath(manifest, root, "docs/etc/passwd", "read")));
  // Writing through out/docs-link would land in docs/, which is read-only for this capsule.
  ok(refused(await confinePath(manifest, root, "out/docs-link/a.md", "write")));
  // A capability folder that is itself a link outside grants nothing.
  await Deno.remove(`${root}/docs`, { recursive: true });
  await Deno.symlink("/etc", `${root}/docs`);
  ok(refused(await confinePath(manifest, root, "docs/passwd", "read")));
});

Deno.test("confinePath() with bases canonicalised earlier refuses a capability folder swapped since", async () => {
  const root = await workspace();
  const bases = fileBases(manifest, root);
  // out/ (writable) becomes a link to docs/ (read-only): writes through it must not land there.
  await Deno.remove(`${root}/out`, { recursive: true });
  await Deno.symlink(`${root}/docs`, `${root}/out`);
  ok(refused(confinePath(manifest, root, "out/a.md", "write", bases)));
  // docs/ becomes a link out of the workspace: the path itself is still resolved on every call.
  await Deno.remove(`${root}/docs`, { recursive: true });
  await Deno.symlink("/etc", `${root}/docs`);
  ok(refused(confinePath(manifest, root, "docs/passwd", "read", bases)));
});

Deno.test("canonicalizePathSync() gives the same answer or error as canonicalizePath() on hostile paths", async () => {
  const root = await workspace();
  await Deno.symlink("/etc", `${root}/docs/etc`);
  await Deno.symlink(`${root}/loop-b`, `${root}/loop-a`);
  await Deno.symlink(`${root}/loop-a`, `${root}/loop-b`);
  await Deno.symlink(`${root}/out/new-target`, `${root}/dangling`);
  await Deno.symlink("../..", `${root}/docs/up`);
  const cases = [
    "docs/a.md",
    "docs/../../etc/passwd",
    "docs/etc/passwd",
    "docs/up/x",
    "docs/missing/../../out/x",
    "loop-a",
    "loop-a/x",
    "dangling",
    "dangling/deeper",
    "/etc/../etc/./hosts",
    "docs/\u0000x",
    "docs/\u200bx",
    "x".repeat(5000),
    "",
  ];
  const settle = async <T>(f: () => T | Promise<T>) => {
    try {
      return { value: await f() };
    } catch (e) {
      return { error: `${(e as Error).name}: ${(e as Error).message}` };
    }
  };
  for (const p of cases) {
    const sync = await settle(() => canonicalizePathSync(p, root));
    const async = await settle(() => canonicalizePath(p, root));
    deepEqual(sync, async, p.slice(0, 40));
  }
  equal(canonicalizePathSync("dangling", root), `${root}/out/new-target`);
  ok("error" in await settle(() => canonicalizePathSync("loop-a", root)));
});

Deno.test("confineUrl() allows only listed hosts and ports over http(s)", () => {
  ok(confineUrl(manifest, "https://api.example.com/v1") instanceof URL);
  ok(refused(confineUrl(manifest, "http://api.example.com/v1"))); // port 80, not 443
  ok(confineUrl(manifest, "https://img.cdn.example/a.png") instanceof URL);
  ok(refused(confineUrl(manifest, "https://cdn.example.evil.test/")));
  ok(refused(confineUrl(manifest, "https://evilcdn.example/")));
  ok(confineUrl(manifest, "http://127.0.0.1:9999/") instanceof URL);
  ok(refused(confineUrl(manifest, "http://user:pw@127.0.0.1/")));
  ok(refused(confineUrl(manifest, "ftp://127.0.0.1/")));
  // URL normalises a numeric host, so the check sees the host that will really be contacted.
  equal((confineUrl(manifest, "http://2130706433/") as URL).hostname, "127.0.0.1");
  ok(refused(confineUrl(manifest, "http://127.0.0.1.evil.test/")));
  ok(refused(confineUrl(manifest, "not a url")));
  ok(refused(confineUrl(manifest, 7)));
});

Deno.test('confinePath() never lets a capsule write configuration, even with fs_write = ["."]', async () => {
  const root = await Deno.realPath(await Deno.makeTempDir());
  await Deno.mkdir(`${root}/.astrid`);
  const wide = parseManifest(
    '[package]\nname = "n"\nversion = "1"\n[capabilities]\nfs_write = [".", ".astrid"]\n',
  ).manifest;
  for (const p of [".astrid/config.toml", ".astrid/capsules/evil/Capsule.toml", "sub/.astrid/x"]) {
    const r = confinePath(wide, root, p, "write");
    ok(typeof r !== "string" && /configuration/.test(r.refused), p);
  }
  equal(confinePath(wide, root, ".astrid/config.toml", "read"), `${root}/.astrid/config.toml`);
  equal(confinePath(wide, root, "out.txt", "write"), `${root}/out.txt`);
});
