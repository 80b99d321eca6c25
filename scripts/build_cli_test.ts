import { equal, match, ok, throws } from "node:assert/strict";
import { buildCli, rewriteChunk, rewriteSource } from "./build_cli.ts";
import { currentBuild, freshBuild, MANIFEST_FORMAT, stampOf } from "../runtime/cli/_bundle.ts";

const REPO = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const CONFIG = `${REPO}/deno.json`;
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("rewriteSource makes lazy imports literal, keeping every line where it was", () => {
  const src = [
    'const a = await import(new URL("./a.ts", import.meta.url).href);',
    'const b = await lazy<typeof import("../b.ts")>(',
    '  "../b.ts",',
    ");",
    'const here = new URL("./x", import.meta.url);',
    "if (import.meta.main) run();",
    "const helper = (p: string) => import(new URL(p, import.meta.url).href);",
  ].join("\n");
  const out = rewriteSource(src, `${REPO}/runtime/cli/example.ts`);
  const lines = out.split("\n");
  equal(lines.length, 7);
  equal(lines[0], 'const a = await import("./a.ts");');
  match(lines[1]!, /^const b = await import\("\.\.\/b\.ts"$/);
  equal(lines[4], `const here = new URL("./x", "file://${REPO}/runtime/cli/example.ts");`);
  equal(lines[5], "if (false) run();");
  // A helper's own body can no longer load a second copy of a module from the sources.
  match(lines[6]!, /Promise\.reject\(new Error\(`Cannot load \$\{p\}: not in the CLI bundle/);
});

Deno.test("rewriteSource refuses what it cannot bundle, naming the module", () => {
  throws(
    () => rewriteSource("await import(new URL(`./x/${n}.ts`, import.meta.url).href);", "/r/a.ts"),
    /a\.ts: a computed import the CLI bundle cannot resolve/,
  );
  throws(() => rewriteSource("import.meta.resolve('./x');", "/r/b.ts"), /b\.ts: import\.meta/);
});

Deno.test("rewriteChunk makes a chunk's import of another computed again", () => {
  equal(
    rewriteChunk('const m = await import("./audit-Ab_1.js"); import("npm:x");'),
    'const m = await import(new URL("./audit-Ab_1.js", import.meta.url).href); import("npm:x");',
  );
});

/** A fake checkout with one source and a build of it under `.build/cli/`. */
async function fakeBuild(): Promise<{ repo: string; root: string; dir: string }> {
  const repo = await Deno.makeTempDir({ prefix: "astrid-bundle-" });
  await Deno.writeTextFile(`${repo}/a.ts`, "export const a = 1;\n");
  const root = `${repo}/.build/cli/`;
  const id = "0123456789abcdef";
  const dir = `${root}${id}/`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}entry.js`, "");
  await Deno.writeTextFile(
    `${dir}manifest.json`,
    JSON.stringify({
      format: MANIFEST_FORMAT,
      id,
      deno: Deno.version.deno,
      entry: "entry.js",
      sources: [stampOf(repo, "a.ts")],
    }),
  );
  await Deno.writeTextFile(`${root}current`, `${id}\n`);
  for (const p of [`${repo}/.build`, root, dir]) await Deno.chmod(p, 0o755);
  return { repo, root, dir };
}

Deno.test("a build is used only while its sources are unchanged", async (t) => {
  const changes: [string, (file: string) => Promise<void>][] = [
    ["rewritten, same size", async (file) => {
      await new Promise((r) => setTimeout(r, 5)); // the stamps hold milliseconds
      await Deno.writeTextFile(file, "export const a = 2;\n");
    }],
    ["replaced by a rename, its old mtime kept", async (file) => {
      const { mtime, atime } = await Deno.stat(file);
      await Deno.writeTextFile(`${file}.new`, "export const a = 3;\n");
      await Deno.utime(`${file}.new`, atime!, mtime!);
      await Deno.rename(`${file}.new`, file);
    }],
    ["removed", (file) => Deno.remove(file)],
  ];
  for (const [name, change] of changes) {
    await t.step(name, async () => {
      const { repo, root, dir } = await fakeBuild();
      try {
        equal(freshBuild(root), `${dir}entry.js`);
        await change(`${repo}/a.ts`);
        equal(freshBuild(root), null);
        ok(currentBuild(root) !== null, "the build itself is still there");
      } finally {
        await Deno.remove(repo, { recursive: true });
      }
    });
  }
});

Deno.test("a build is not used through a symlink or from a folder others can write", async () => {
  const { repo, root, dir } = await fakeBuild();
  try {
    await Deno.chmod(dir, 0o777);
    equal(currentBuild(root), null);
    await Deno.chmod(dir, 0o755);
    ok(currentBuild(root) !== null);
    await Deno.rename(`${root}current`, `${repo}/elsewhere`);
    await Deno.symlink(`${repo}/elsewhere`, `${root}current`);
    equal(currentBuild(root), null);
    await Deno.remove(`${root}current`);
    await Deno.writeTextFile(`${root}current`, "../../../etc\n");
    equal(currentBuild(root), null, "an id that is not 16 hex digits");
  } finally {
    await Deno.remove(repo, { recursive: true });
  }
});

Deno.test({
  name: "a real build runs the CLI: in place, and as the launcher of its own child",
  sanitizeResources: false,
  async fn() {
    const root = `${REPO}/.build/cli-test-${crypto.randomUUID().slice(0, 8)}/`;
    const home = await Deno.makeTempDir({ prefix: "astrid-bundle-home-" });
    const ws = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-bundle-ws-" }));
    try {
      const built = await buildCli({ root, force: true });
      equal(built.cached, false);
      ok(built.modules > 100, `${built.modules} modules`);
      const again = await buildCli({ root });
      equal(again.cached, true);
      equal(again.id, built.id);
      const entry = freshBuild(root);
      equal(entry, `${built.dir}entry.js`);
      const astrid = async (...args: string[]) => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "--quiet", "--config", CONFIG, entry!, ...args],
          cwd: ws,
          env: {
            ASTRID_HOME: home,
            HOME: home,
            ASTRID_SYSTEM_CONFIG: `${home}/none.toml`,
            NO_COLOR: "1",
            ASTRID_PROFILE: "1",
            ASTRID_DEBUG: "1",
          },
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
        }).output();
        return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
      };
      const version = await astrid("--version");
      equal(version.code, 0, version.stderr);
      match(version.stdout, /^\d+\.\d+\.\d+/);
      equal((await astrid("init")).code, 0);
      await Deno.writeTextFile(`${ws}/note.txt`, "from the bundle\n");
      const call = await astrid(
        "tools",
        "call",
        "read_file",
        "--approve",
        "once",
        "--args",
        JSON.stringify({ file_path: "note.txt" }),
      );
      equal(call.code, 0, call.stderr);
      match(call.stdout, /from the bundle/);
      // The launcher started its narrowed child on this build's entry, which says so.
      match(call.stderr, new RegExp(`launch: deno run .* ${entry!.replaceAll(".", "\\.")} tools`));
      match(call.stderr, new RegExp(`profile: code: the CLI bundle ${built.dir}`));
      const audit = await astrid("audit", "verify");
      equal(audit.code, 0, audit.stderr);
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => {});
      await Deno.remove(home, { recursive: true });
      await Deno.remove(ws, { recursive: true });
    }
  },
});
