import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { type AstridPaths, loadConfig, resolvePaths } from "./mod.ts";
import { loadConfigCached, SNAPSHOT_FILE } from "./snapshot.ts";

type Env = Record<string, string | undefined>;

/** A home with a user config, a workspace with its own, and the paths the CLI would resolve. */
async function setup(
  user = "[budget]\nsession_usd = 3\n",
): Promise<{ home: string; ws: string; env: Env; paths: () => Promise<AstridPaths> }> {
  const home = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-snap-home-" }));
  const ws = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-snap-ws-" }));
  await Deno.mkdir(`${ws}/.astrid`);
  await Deno.writeTextFile(`${home}/config.toml`, user);
  await Deno.writeTextFile(`${ws}/.astrid/config.toml`, '[workspace]\nmode = "safe"\n');
  const env: Env = { ASTRID_HOME: home, HOME: home, PATH: "/usr/bin:/bin" };
  const paths = () => resolvePaths({ env, cwd: ws, systemConfig: `${home}/no-system.toml` });
  return { home, ws, env, paths };
}

async function cleanup(...dirs: string[]): Promise<void> {
  for (const d of dirs) await Deno.remove(d, { recursive: true });
}

Deno.test("a snapshot gives exactly what the loader gives, and is reused while nothing changes", async () => {
  const { home, ws, env, paths } = await setup();
  const p = await paths();
  const first = await loadConfigCached(p, env, loadConfig);
  equal(first.source, "loaded");
  const second = await loadConfigCached(p, env, loadConfig);
  equal(second.source, "snapshot");
  deepEqual(second.loaded, await loadConfig(p, env));
  equal(second.loaded.config.budget.session_usd, 3);
  const info = await Deno.stat(`${home}/cache/${SNAPSHOT_FILE}`);
  equal(info.mode! & 0o777, 0o600);
  await cleanup(home, ws);
});

Deno.test("an edit of a config file that keeps its size and mtime is still seen", async () => {
  const { home, ws, env, paths } = await setup();
  const p = await paths();
  await loadConfigCached(p, env, loadConfig);
  const file = `${home}/config.toml`;
  const before = await Deno.stat(file);
  await Deno.writeTextFile(file, "[budget]\nsession_usd = 4\n"); // same length
  await Deno.utime(file, before.atime!, before.mtime!);
  const got = await loadConfigCached(p, env, loadConfig);
  equal(got.source, "loaded");
  equal(got.loaded.config.budget.session_usd, 4);
  await cleanup(home, ws);
});

Deno.test("a config file appearing, going away or turning invalid is seen", async () => {
  const { home, ws, env, paths } = await setup();
  const p = await paths();
  await loadConfigCached(p, env, loadConfig);
  await Deno.writeTextFile(`${home}/no-system.toml`, "[budget]\nper_action_usd = 0.5\n");
  let got = await loadConfigCached(p, env, loadConfig);
  equal(got.source, "loaded");
  equal(got.loaded.config.budget.per_action_usd, 0.5);
  await Deno.remove(`${home}/no-system.toml`);
  got = await loadConfigCached(p, env, loadConfig);
  equal(got.loaded.config.budget.per_action_usd, 1);
  // An invalid file is an error on every run, never an old snapshot.
  await Deno.writeTextFile(`${ws}/.astrid/config.toml`, "[budget]\nsession_usd = 'lots'\n");
  for (let i = 0; i < 2; i++) {
    await rejects(loadConfigCached(p, env, loadConfig), /session_usd/);
  }
  await cleanup(home, ws);
});

Deno.test("an environment override changing, appearing or going away is seen", async () => {
  const { home, ws, env, paths } = await setup();
  const p = await paths();
  await loadConfigCached(p, env, loadConfig);
  const withOverride = { ...env, ASTRID_BUDGET_SESSION_USD: "7" };
  let got = await loadConfigCached(p, withOverride, loadConfig);
  equal(got.source, "loaded");
  equal(got.loaded.config.budget.session_usd, 7);
  got = await loadConfigCached(p, { ...env, ASTRID_BUDGET_SESSION_USD: "8" }, loadConfig);
  equal(got.loaded.config.budget.session_usd, 8);
  got = await loadConfigCached(p, env, loadConfig);
  equal(got.source, "snapshot");
  equal(got.loaded.config.budget.session_usd, 3);
  // A bad override is an error every time.
  for (let i = 0; i < 2; i++) {
    await rejects(
      loadConfigCached(p, { ...env, ASTRID_BUDGET_SESSION_USD: "lots" }, loadConfig),
      /ASTRID_BUDGET_SESSION_USD/,
    );
  }
  await cleanup(home, ws);
});

Deno.test("variables the loader does not read do not invalidate the snapshot", async () => {
  const { home, ws, env, paths } = await setup();
  const p = await paths();
  await loadConfigCached(p, { ...env, OLDPWD: "/a", ASTRID_PROFILE_X: "1" }, loadConfig);
  const got = await loadConfigCached(
    p,
    { ...env, OLDPWD: "/b", ASTRID_PROFILE_X: "1" },
    loadConfig,
  );
  equal(got.source, "snapshot");
  await cleanup(home, ws);
});

Deno.test("an API key from the environment is never written to disk, and comes back from it", async () => {
  const { home, ws, env, paths } = await setup();
  const p = await paths();
  const secret = "sk-ant-test-" + crypto.randomUUID();
  const withKey = {
    ...env,
    ANTHROPIC_API_KEY: secret,
    ASTRID_STORAGE_KV_URL: `https://u:${secret}x@kv.example`,
  };
  await loadConfigCached(p, withKey, loadConfig);
  const raw = await Deno.readTextFile(`${home}/cache/${SNAPSHOT_FILE}`);
  ok(!raw.includes(secret), "the key is not in the snapshot");
  const got = await loadConfigCached(p, withKey, loadConfig);
  equal(got.source, "snapshot");
  equal(got.loaded.config.model.api_key, secret);
  equal(got.loaded.config.storage.kv_url, withKey.ASTRID_STORAGE_KV_URL);
  // Another key: the snapshot does not apply.
  const other = await loadConfigCached(
    p,
    { ...withKey, ANTHROPIC_API_KEY: "sk-other-key" },
    loadConfig,
  );
  equal(other.source, "loaded");
  equal(other.loaded.config.model.api_key, "sk-other-key");
  await cleanup(home, ws);
});

Deno.test("a result that quotes an environment value inside a longer string is not stored", async () => {
  const { home, ws, env, paths } = await setup(
    '[model]\napi_url = "https://proxy.example/secret-token-123/v1"\n',
  );
  const p = await paths();
  // The same text as an environment value the loader reads: it must not reach the disk.
  const withKey = { ...env, ANTHROPIC_API_KEY: "secret-token-123" };
  const got = await loadConfigCached(p, withKey, loadConfig);
  equal(got.source, "uncached");
  let raw = "";
  try {
    raw = await Deno.readTextFile(`${home}/cache/${SNAPSHOT_FILE}`);
  } catch {
    // never written
  }
  ok(!raw.includes("secret-token-123"));
  await cleanup(home, ws);
});

Deno.test("a snapshot others could have written, a symlink or garbage is ignored and replaced", async () => {
  const { home, ws, env, paths } = await setup();
  const p = await paths();
  await loadConfigCached(p, env, loadConfig);
  const file = `${home}/cache/${SNAPSHOT_FILE}`;
  // Forge a result (session_usd 999) in a file readable by others: not trusted.
  const forged = (await Deno.readTextFile(file)).replace(
    '\\"session_usd\\":3',
    '\\"session_usd\\":999',
  );
  ok(forged.includes("999"));
  await Deno.writeTextFile(file, forged);
  await Deno.chmod(file, 0o644);
  let got = await loadConfigCached(p, env, loadConfig);
  equal(got.source, "loaded");
  equal(got.loaded.config.budget.session_usd, 3);
  // A symlink to a forged file.
  await Deno.writeTextFile(`${home}/forged.json`, forged, { mode: 0o600 });
  await Deno.chmod(`${home}/forged.json`, 0o600);
  await Deno.remove(file);
  await Deno.symlink(`${home}/forged.json`, file);
  got = await loadConfigCached(p, env, loadConfig);
  equal(got.loaded.config.budget.session_usd, 3);
  // Garbage, truncated JSON, a wrong format: loaded again.
  for (
    const text of [
      "not json",
      '{"format":1,"entries":[{"key":1}]}',
      '{"format":2,"entries":[]}',
      "{",
    ]
  ) {
    await Deno.remove(file).catch(() => {});
    await Deno.writeTextFile(file, text, { mode: 0o600 });
    await Deno.chmod(file, 0o600);
    got = await loadConfigCached(p, env, loadConfig);
    equal(got.source, "loaded");
    equal(got.loaded.config.budget.session_usd, 3);
  }
  await cleanup(home, ws);
});

Deno.test("a folder the cache cannot be written to only makes it load every time", async () => {
  const { home, ws, env, paths } = await setup();
  const p = await paths();
  await Deno.writeTextFile(`${home}/cache`, "a file where the folder would be");
  for (let i = 0; i < 2; i++) {
    const got = await loadConfigCached(p, env, loadConfig);
    equal(got.source, "uncached");
    equal(got.loaded.config.budget.session_usd, 3);
  }
  await cleanup(home, ws);
});

Deno.test("concurrent runs never read a half-written snapshot", async () => {
  const { home, ws, env, paths } = await setup();
  const p = await paths();
  const envs = Array.from(
    { length: 8 },
    (_, i) => ({ ...env, ASTRID_BUDGET_SESSION_USD: String(i + 1) }),
  );
  const results = await Promise.all(envs.map((e) => loadConfigCached(p, e, loadConfig)));
  results.forEach((r, i) => equal(r.loaded.config.budget.session_usd, i + 1));
  const again = await Promise.all(envs.map((e) => loadConfigCached(p, e, loadConfig)));
  again.forEach((r, i) => equal(r.loaded.config.budget.session_usd, i + 1));
  await cleanup(home, ws);
});
