import { equal, rejects } from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "./errors.ts";
import { resolvePaths, SYSTEM_CONFIG_PATH } from "./paths.ts";

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("resolvePaths() derives home from ASTRID_HOME, else HOME/.astrid", async () => {
  const a = await resolvePaths({ env: { ASTRID_HOME: "/opt/astrid", HOME: "/home/u" }, cwd: "/" });
  equal(a.home, "/opt/astrid");
  equal(a.userConfig, "/opt/astrid/config.toml");
  equal(a.stateKv, "/opt/astrid/state.kv");
  equal(a.keysDir, "/opt/astrid/keys");
  equal(a.systemConfig, SYSTEM_CONFIG_PATH);
  const b = await resolvePaths({ env: { HOME: "/home/u" }, cwd: "/", systemConfig: "/x.toml" });
  equal(b.home, "/home/u/.astrid");
  equal(b.systemConfig, "/x.toml");
  const c = await resolvePaths({ env: { ASTRID_HOME: "rel/home" }, cwd: "/base" });
  equal(c.home, "/base/rel/home");
});

Deno.test("resolvePaths() fails closed without any home", async () => {
  await rejects(resolvePaths({ env: {}, cwd: "/" }), ConfigError);
  await rejects(resolvePaths({ env: { HOME: "relative" }, cwd: "/" }), /Cannot find ASTRID_HOME/);
});

Deno.test("resolvePaths() finds the nearest ancestor holding .astrid/", async () => {
  await withTemp(async (dir) => {
    const home = join(dir, "home");
    const outer = join(dir, "outer");
    const inner = join(outer, "proj");
    await Deno.mkdir(join(outer, ".astrid"), { recursive: true });
    await Deno.mkdir(join(inner, ".astrid"), { recursive: true });
    await Deno.mkdir(join(inner, "src", "deep"), { recursive: true });
    const env = { ASTRID_HOME: home };
    const p = await resolvePaths({ env, cwd: join(inner, "src", "deep") });
    equal(p.workspaceRoot, inner);
    equal(p.workspaceConfig, null);
    await Deno.writeTextFile(join(inner, ".astrid", "config.toml"), "");
    const q = await resolvePaths({ env, cwd: inner });
    equal(q.workspaceConfig, join(inner, ".astrid", "config.toml"));
    const r = await resolvePaths({ env, cwd: join(outer) });
    equal(r.workspaceRoot, outer);
    const none = await resolvePaths({ env, cwd: home.replace("home", "") });
    equal(none.workspaceRoot, null);
  });
});

Deno.test("resolvePaths() never treats ASTRID_HOME itself as a workspace marker", async () => {
  await withTemp(async (dir) => {
    // HOME=/dir, so ~/.astrid is ASTRID_HOME: a cwd under HOME must not make HOME a workspace.
    await Deno.mkdir(join(dir, ".astrid"));
    await Deno.writeTextFile(join(dir, ".astrid", "config.toml"), "[permissions]\nallow=['x']\n");
    await Deno.mkdir(join(dir, "code"));
    const p = await resolvePaths({ env: { HOME: dir }, cwd: join(dir, "code") });
    equal(p.workspaceRoot, null);
    equal(p.workspaceConfig, null);
    // Even when named explicitly, the user config is not read again as a workspace config.
    const q = await resolvePaths({ env: { HOME: dir }, cwd: "/", workspace: dir });
    equal(q.workspaceRoot, dir);
    equal(q.workspaceConfig, null);
  });
});

Deno.test("resolvePaths() resolves symlinks and accepts --workspace without .astrid/", async () => {
  await withTemp(async (dir) => {
    const real = join(dir, "real");
    await Deno.mkdir(join(real, ".astrid"), { recursive: true });
    await Deno.symlink(real, join(dir, "link"));
    const p = await resolvePaths({ env: { ASTRID_HOME: join(dir, "h") }, cwd: join(dir, "link") });
    equal(p.workspaceRoot, real);
    const bare = join(dir, "bare");
    await Deno.mkdir(bare);
    const q = await resolvePaths({
      env: { ASTRID_HOME: join(dir, "h") },
      cwd: dir,
      workspace: "bare",
    });
    equal(q.workspaceRoot, bare);
    equal(q.workspaceConfig, null);
    await rejects(
      resolvePaths({ env: { ASTRID_HOME: join(dir, "h") }, cwd: dir, workspace: "missing" }),
      /Cannot use workspace .*missing: it is not an existing directory/,
    );
  });
});
