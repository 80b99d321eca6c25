import { deepEqual, equal } from "node:assert/strict";
import { openStore } from "../storage/mod.ts";
import { capsuleDirs } from "./install.ts";
import { recordedNetHosts } from "./recorded_hosts.ts";
import { testInstall, testRecords } from "./_testing.ts";

/** A static capsule folder whose manifest allows `net`. */
async function source(name: string, net: string[]): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/Capsule.toml`,
    `[package]\nname = "${name}"\nversion = "1"\n[capabilities]\nnet = ${JSON.stringify(net)}\n`,
  );
  return dir;
}

Deno.test("recordedNetHosts() reads the approved hosts of installed folders from a real KV file", async () => {
  const home = await Deno.realPath(await Deno.makeTempDir());
  const ws = await Deno.realPath(await Deno.makeTempDir());
  const location = `${home}/state.kv`;
  {
    using store = await openStore(location);
    using records = await testRecords(store);
    const dirs = capsuleDirs(home, ws);
    await testInstall(dirs, await source("weather", ["api.weather.test"]), records);
    await testInstall(dirs, await source("local", ["ws.test:8443"]), records, {
      scope: "workspace",
    });
    await testInstall(dirs, await source("gone", ["gone.test"]), records);
  }
  const user = new Set(["weather"]); // "gone"'s folder is not there: its record adds nothing
  const hosts = await recordedNetHosts(location, {
    user,
    workspace: { root: ws, names: new Set(["local"]) },
  });
  deepEqual(hosts?.sort(), ["api.weather.test", "ws.test:8443"]);
  // Another workspace's records do not apply.
  deepEqual(
    await recordedNetHosts(location, {
      user,
      workspace: { root: `${ws}-other`, names: new Set(["local"]) },
    }),
    ["api.weather.test"],
  );
  // A folder nobody installed (no record) adds nothing.
  deepEqual(await recordedNetHosts(location, { user: new Set(["evil"]), workspace: null }), []);
  await Deno.remove(home, { recursive: true });
  await Deno.remove(ws, { recursive: true });
});

Deno.test("recordedNetHosts() skips malformed or incomplete records and reports an unreadable store", async () => {
  const home = await Deno.makeTempDir();
  const location = `${home}/state.kv`;
  const kv = await Deno.openKv(location);
  const record = (net: unknown) =>
    new TextEncoder().encode(
      JSON.stringify({ record: { name: "a", scope: "user", capabilities: { net } } }),
    );
  await kv.set(["capsule_install", "user", "a", 0], { n: 1, data: record(["ok.test", 7]) });
  await kv.set(["capsule_install", "user", "b", 0], { n: 2, data: record(["half.test"]) });
  await kv.set(["capsule_install", "user", "c", 0], { n: 1, data: "not bytes" });
  await kv.set(["capsule_install", "user", "d", 0], { n: 1, data: new Uint8Array([0x7b, 0xff]) });
  kv.close();
  const folders = { user: new Set(["a", "b", "c", "d"]), workspace: null };
  deepEqual(await recordedNetHosts(location, folders), ["ok.test"]);
  // A folder in the store's place cannot be opened: null, so the caller falls back.
  equal(await recordedNetHosts(home, folders), null);
  deepEqual(await recordedNetHosts(`${home}/none.kv`, folders), []);
  await Deno.remove(home, { recursive: true });
});
