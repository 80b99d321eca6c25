/**
 * Hostile tests of listInstalled(): folders nobody installed, records planted, edited, moved or
 * signed by another key, and installed capsules changed behind the record's back.
 */
import { deepEqual, equal, match, notEqual, ok } from "node:assert/strict";
import { openStore, type Store } from "../storage/mod.ts";
import { canonicalBytes, generateSeed, signerFromSeed, toBase64Url } from "../crypto/mod.ts";
import { CapsuleError } from "./errors.ts";
import { capsuleDirs } from "./install.ts";
import { installedDirs, installWarnings, listInstalled, verifyInstalled } from "./installed.ts";
import { type InstallRecord, InstallRecords, RECORD_DOMAIN } from "./install_record.ts";
import { fileFingerprint } from "./loader.ts";
import { probeBuild, probeCopy, testInstall, testRecords } from "./_testing.ts";

async function world(withWorkspace = true) {
  const home = await Deno.realPath(await Deno.makeTempDir());
  const ws = withWorkspace ? await Deno.realPath(await Deno.makeTempDir()) : null;
  const store = await openStore(":memory:");
  const records = await testRecords(store);
  const dirs = capsuleDirs(home, ws);
  const list = () => listInstalled(dirs, { requireHash: true, records });
  return { dirs, store, records, list, [Symbol.dispose]: () => store.close() };
}

/** Copies a capsule folder as an attacker would: straight into a capsule root. */
async function plant(root: string, name: string, edit?: (t: string) => string): Promise<string> {
  const src = await probeCopy(name, edit);
  const dir = `${root}/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  for (const f of ["Capsule.toml", "capsule.wasm"]) {
    await Deno.copyFile(`${src}/${f}`, `${dir}/${f}`);
  }
  return dir;
}

const integrity = (e: unknown) => e instanceof CapsuleError && e.code === "INTEGRITY";

async function rawParts(store: Store, name: string): Promise<Deno.KvEntry<unknown>[]> {
  return await Array.fromAsync(store.list({ prefix: ["capsule_install", "user", name] }));
}

interface Envelope {
  record: InstallRecord;
  key: string;
  sig: string;
}

/** The stored envelope of a one-part user record. */
async function envelope(store: Store, name: string): Promise<Envelope> {
  const [part] = await rawParts(store, name);
  return JSON.parse(new TextDecoder().decode((part!.value as { data: Uint8Array }).data));
}

/** Writes an envelope as one part, as anyone with write access to the KV store could. */
async function put(store: Store, name: string, env: unknown): Promise<void> {
  await store.set(["capsule_install", "user", name, 0], {
    n: 1,
    data: new TextEncoder().encode(JSON.stringify(env)),
  });
}

/** `record` widened to read `/`, our public key claimed, but signed with an attacker's key. */
function forgedWidening(record: InstallRecord, ours: Envelope): Envelope {
  const widened = { ...record, capabilities: { ...record.capabilities, fs_read: ["/"] } };
  const forger = signerFromSeed(generateSeed());
  const sig = toBase64Url(forger.sign(canonicalBytes(RECORD_DOMAIN, widened)));
  return { record: widened, key: ours.key, sig };
}

Deno.test("a record planted in KV with a forged signature is refused", async () => {
  using w = await world(false);
  const { record } = await testInstall(w.dirs, await probeCopy(), w.records);
  const ours = await envelope(w.store, "probe");
  await put(w.store, "probe", forgedWidening(record, ours));
  const list = await w.list();
  deepEqual(list.capsules, []);
  match(list.ignored[0]?.reason ?? "", /signature does not verify/);
  match(installWarnings(list)[0] ?? "", /not installed with `astrid capsule install`/);
  // Garbage in the store is refused too, never thrown.
  await w.store.set(["capsule_install", "user", "probe", 0], {
    n: 1,
    data: new Uint8Array([0xff]),
  });
  match((await w.list()).ignored[0]?.reason ?? "", /does not parse/);
  await w.store.set(["capsule_install", "user", "probe", 0], "not a part");
  match((await w.list()).ignored[0]?.reason ?? "", /incomplete/);
});

Deno.test("a record edited in KV, signed by another runtime key, or filed under another name is refused", async () => {
  using w = await world(false);
  const { record } = await testInstall(w.dirs, await probeCopy(), w.records);
  const good = await envelope(w.store, "probe");

  const edited = structuredClone(good);
  edited.record.capabilities.fs_read = ["/"];
  await put(w.store, "probe", edited);
  const r1 = await w.records.read("user", null, "probe");
  if (r1 && !r1.ok) match(r1.reason, /signature does not verify/);
  else throw new Error("accepted an edited record");
  equal((await w.list()).capsules.length, 0);

  // Another runtime's key (a regenerated key, another machine): refused.
  await new InstallRecords(w.store, signerFromSeed(generateSeed())).write(record);
  const r2 = await w.records.read("user", null, "probe");
  if (r2 && !r2.ok) match(r2.reason, /not signed by this runtime's key/);
  else throw new Error("accepted a record signed by another key");

  // A genuine record copied under another name: a folder "evil" cannot borrow it.
  await put(w.store, "probe", good);
  await put(w.store, "evil", good);
  await plant(w.dirs.user, "evil");
  const list = await w.list();
  deepEqual(list.capsules.map((c) => c.record.name), ["probe"]);
  match(list.ignored.find((i) => i.name === "evil")?.reason ?? "", /filed under another name/);
});

Deno.test("a big record spans parts; a missing part refuses it", async () => {
  using w = await world(false);
  const schema = { type: "object", description: "x".repeat(50_000) };
  const src = await probeCopy(
    "big",
    (t) =>
      `${t}\n[[tool]]\nname = "a"\n[tool.input_schema]\ntype = "object"\ndescription = "${schema.description}"\n[[tool]]\nname = "b"\n[tool.input_schema]\ntype = "object"\ndescription = "${schema.description}"\n`,
  );
  await testInstall(w.dirs, src, w.records);
  const parts = await rawParts(w.store, "big");
  ok(parts.length >= 2, `${parts.length} parts`);
  const list = await w.list();
  deepEqual(list.capsules[0]?.record.tools.map((t) => t.name), ["a", "b"]);
  await w.store.delete(parts[1]!.key);
  const r = await w.records.read("user", null, "big");
  if (r && !r.ok) match(r.reason, /incomplete/);
  else throw new Error("accepted a record with a part missing");
});

Deno.test("widening fs_read, adding a net host or an env key after install is INTEGRITY, with the diff", async () => {
  const FS_READ = /fs_read = \[[^\]]*\]/;
  const NET = /net = \[[^\]]*\]/;
  const narrow = (t: string) => t.replace(FS_READ, 'fs_read = ["src"]');
  const edits: [string, (t: string) => string, RegExp][] = [
    ["fs_read", (t) => t.replace(FS_READ, 'fs_read = ["."]'), /\+ read files under: \.; - read/],
    [
      "net",
      (t) => t.replace(NET, 'net = ["127.0.0.1", "evil.example"]'),
      /\+ network: evil\.example/,
    ],
    ["env", (t) => `${t}\n[env.STOLEN]\ndefault = "x"\n`, /\+ asks for: env STOLEN/],
    [
      "version",
      (t) => t.replace('version = "0.1.0"', 'version = "0.1.1"'),
      /no capability changed/,
    ],
  ];
  for (const [what, edit, diff] of edits) {
    using w = await world(false);
    const { loaded } = await testInstall(w.dirs, await probeCopy("probe", narrow), w.records);
    const toml = `${loaded.dir}/Capsule.toml`;
    await Deno.writeTextFile(toml, edit(await Deno.readTextFile(toml)));
    const list = await w.list();
    deepEqual(list.capsules, [], what);
    const err = list.broken[0]?.error;
    ok(integrity(err), what);
    match(err!.message, /^Cannot load capsule probe: /);
    match(err!.message, diff);
    match(err!.message, /astrid capsule install /);
  }
});

Deno.test("a swapped wasm is INTEGRITY naming the recorded and the actual hash, even with a matching manifest", async () => {
  using w = await world(false);
  const { loaded, record } = await testInstall(w.dirs, await probeCopy(), w.records);
  const bytes = await Deno.readFile(`${loaded.dir}/capsule.wasm`);
  bytes[bytes.length - 20]! ^= 0x55;
  await Deno.writeFile(`${loaded.dir}/capsule.wasm`, bytes);
  // The attacker also fixes the manifest's own pin to the new wasm.
  const { blake3Hex } = await import("../crypto/mod.ts");
  const actual = `blake3:${blake3Hex(bytes)}`;
  const toml = `${loaded.dir}/Capsule.toml`;
  await Deno.writeTextFile(toml, (await Deno.readTextFile(toml)).replace(record.wasmHash!, actual));
  const { broken } = await w.list();
  ok(integrity(broken[0]?.error));
  match(broken[0]!.error.message, /capsule probe/);
  ok(broken[0]!.error.message.includes(actual), "names the actual hash");
  ok(broken[0]!.error.message.includes(record.wasmHash!), "names the recorded hash");
});

Deno.test("a manifest that no longer parses, renames itself, or drops or gains a component is INTEGRITY", async () => {
  const build = await probeBuild();
  const edits: ((t: string) => string)[] = [
    (t) => `${t}\nnot toml ===`,
    (t) => t.replace('name = "probe"', 'name = "other"'),
    (t) => t.replace(/\[component\][^[]*/, ""),
  ];
  for (const edit of edits) {
    using w = await world(false);
    const { loaded } = await testInstall(w.dirs, await probeCopy(), w.records);
    const toml = `${loaded.dir}/Capsule.toml`;
    await Deno.writeTextFile(toml, edit(await Deno.readTextFile(toml)));
    const { broken, capsules } = await w.list();
    deepEqual(capsules, []);
    ok(integrity(broken[0]?.error), broken[0]?.error.message);
  }
  // A static capsule that later gains a [component] is refused before its wasm is read.
  using w = await world(false);
  const src = await Deno.makeTempDir();
  await Deno.writeTextFile(`${src}/Capsule.toml`, '[package]\nname = "docs"\nversion = "1"\n');
  const { loaded } = await testInstall(w.dirs, src, w.records);
  await Deno.copyFile(`${build}/capsule.wasm`, `${loaded.dir}/capsule.wasm`);
  await Deno.writeTextFile(
    `${loaded.dir}/Capsule.toml`,
    '[package]\nname = "docs"\nversion = "1"\n[component]\nentrypoint = "capsule.wasm"\n',
  );
  const { broken } = await w.list();
  ok(integrity(broken[0]?.error));
  match(broken[0]!.error.message, /pins no wasm/);
});

Deno.test("a broken workspace install still shadows the user one (fail closed)", async () => {
  using w = await world();
  await testInstall(w.dirs, await probeCopy(), w.records);
  const { loaded } = await testInstall(w.dirs, await probeCopy(), w.records, {
    scope: "workspace",
  });
  await Deno.writeTextFile(`${loaded.dir}/Capsule.toml`, "garbage = =");
  const { capsules, broken } = await w.list();
  deepEqual(capsules, []);
  equal(broken[0]?.scope, "workspace");
});

Deno.test("a capsule folder swapped for a symlink, or a record naming another folder, is ignored", async () => {
  using w = await world(false);
  const { loaded } = await testInstall(w.dirs, await probeCopy(), w.records);
  const elsewhere = await Deno.makeTempDir();
  await Deno.rename(loaded.dir, `${elsewhere}/probe`);
  await Deno.symlink(`${elsewhere}/probe`, loaded.dir);
  const list = await w.list();
  deepEqual(list.capsules, []);
  equal(list.ignored[0]?.reason, "it is a symlink");
});

Deno.test("records of one workspace do not apply in another", async () => {
  using w = await world();
  await testInstall(w.dirs, await probeCopy(), w.records, { scope: "workspace" });
  const ws2 = await Deno.realPath(await Deno.makeTempDir());
  const other = capsuleDirs(w.dirs.home, ws2);
  await plant(other.workspace!, "probe");
  const list = await listInstalled(other, { requireHash: true, records: w.records });
  deepEqual(list.capsules, []);
  equal(list.ignored[0]?.reason, "no install record");
});

Deno.test("the install record pins the wasm's fingerprint; listing then reads no wasm, calling does", async () => {
  using w = await world(false);
  const { record } = await testInstall(w.dirs, await probeCopy("lazy"), w.records);
  match(record.wasmFingerprint ?? "", /^\d+:\d+:\d+:\d+:\d+$/);
  // Pinned from the installed file itself, so listing finds it unchanged.
  equal(record.wasmFingerprint, fileFingerprint(await Deno.lstat(`${record.dir}/capsule.wasm`)));
  const { capsules, broken } = await w.list();
  equal(broken.length, 0);
  ok(capsules[0]?.loaded.wasm);
  equal(capsules[0].loaded.wasm.hash, record.wasmHash);
  ok(await capsules[0].loaded.wasm.module() instanceof WebAssembly.Module);
  const verified = await verifyInstalled(w.dirs, { requireHash: true, records: w.records });
  deepEqual(verified.capsules.map((c) => [c.name, c.error]), [["lazy", null]]);
});

Deno.test("a rewritten wasm is broken at listing (fingerprint changed, hashed) and in capsule verify", async () => {
  using w = await world(false);
  const { record } = await testInstall(w.dirs, await probeCopy("swapped"), w.records);
  const path = `${record.dir}/capsule.wasm`;
  const bytes = await Deno.readFile(path);
  bytes[bytes.length - 4]! ^= 0xff;
  // An in-place rewrite keeps the inode and size: only its timestamps tell, and they must have
  // moved on from the install's (kept to the millisecond; the kernel's clock ticks coarser).
  await new Promise((r) => setTimeout(r, 20));
  await Deno.writeFile(path, bytes);
  const { capsules, broken } = await w.list();
  equal(capsules.length, 0);
  ok(integrity(broken[0]?.error));
  match(broken[0]!.error.message, /the wasm changed since install/);
  const verified = await verifyInstalled(w.dirs, { requireHash: true, records: w.records });
  ok(integrity(verified.capsules[0]?.error));
});

Deno.test("an older record without a fingerprint still loads (its wasm hashed) with a reinstall warning", async () => {
  using w = await world(false);
  const { record } = await testInstall(w.dirs, await probeCopy("old"), w.records);
  const { wasmFingerprint: _, ...older } = record;
  await w.records.write(older);
  const list = await w.list();
  equal(list.capsules.length, 1);
  deepEqual(list.unfingerprinted, ["user:old"]);
  match(installWarnings(list).join("\n"), /capsule old \(user\) was installed by an older Astrid/);
  // Still checked: a changed wasm is broken at once.
  const bytes = await Deno.readFile(`${record.dir}/capsule.wasm`);
  bytes[bytes.length - 4]! ^= 0xff;
  await Deno.writeFile(`${record.dir}/capsule.wasm`, bytes);
  ok(integrity((await w.list()).broken[0]?.error));
});

Deno.test("the signed listing cache skips re-checks only for the same record bytes and manifest text", async () => {
  const { sha256Tagged } = await import("../crypto/mod.ts");
  const { parseManifest } = await import("./manifest.ts");
  const { readListCache, writeListCache } = await import("./_list_cache.ts");
  using w = await world(false);
  const { loaded } = await testInstall(w.dirs, await probeCopy("probe"), w.records);
  equal((await w.list()).capsules.length, 1); // a full check, which writes the cache
  const cache = await readListCache(w.store, signerFromSeed(generateSeed()), "user");
  equal(cache.size, 0, "a cache does not verify under another key");
  const own = await w.records.listCache("user", null);
  equal(
    own.get("probe")?.manifestText,
    await sha256Tagged(await Deno.readTextFile(`${loaded.dir}/Capsule.toml`)),
  );
  equal((await w.list()).capsules[0]?.loaded.manifest.package.name, "probe"); // from the cache
  // An edited manifest misses the cache: checked in full, INTEGRITY.
  const toml = `${loaded.dir}/Capsule.toml`;
  const approved = await Deno.readTextFile(toml);
  const edited = approved.replace(/net = \[[^\]]*\]/, 'net = ["127.0.0.1", "evil.example"]');
  await Deno.writeTextFile(toml, edited);
  const broken = (await w.list()).broken[0]?.error;
  ok(integrity(broken));
  match(broken!.message, /\+ network: evil\.example/);
  // A cache forged under another key, mapping the edited text to the approved parse, is ignored.
  const entry = {
    ...own.get("probe")!,
    manifestText: await sha256Tagged(edited),
    manifestStat: null,
    parsed: parseManifest(approved),
  };
  await writeListCache(
    w.store,
    signerFromSeed(generateSeed()),
    "user",
    new Map([["probe", entry]]),
  );
  ok(integrity((await w.list()).broken[0]?.error));
  // So is this runtime's own cache with its body edited to the same end (the signature breaks).
  await w.records.saveListCache("user", null, own);
  const key = ["capsule_list_cache", "user", 0];
  const part = (await w.store.get<{ n: number; data: Uint8Array }>(key)).value!;
  const stored = new TextDecoder().decode(part.data);
  const head = stored.slice(0, stored.indexOf("\n"));
  const body = JSON.parse(stored.slice(head.length + 1));
  body.probe.manifestText = await sha256Tagged(edited);
  const forged = `${head}\n${JSON.stringify(body)}`;
  await w.store.set(key, { n: 1, data: new TextEncoder().encode(forged) });
  ok(integrity((await w.list()).broken[0]?.error));
  // Put back, the approved manifest loads again.
  await Deno.writeTextFile(toml, approved);
  equal((await w.list()).capsules.length, 1);
});

Deno.test("with the listing cache warm, a record rewritten in the store is checked in full again", async () => {
  using w = await world(false);
  const { record } = await testInstall(w.dirs, await probeCopy(), w.records);
  equal((await w.list()).capsules.length, 1); // a full check, which writes the cache
  const cached = (await w.records.listCache("user", null)).get("probe")!;
  match(cached.stamp, /^[0-9a-f]{20}$/);
  // The same bytes written again are another commit: the cache does not vouch for them.
  const ours = await envelope(w.store, "probe");
  await put(w.store, "probe", ours);
  equal((await w.list()).capsules.length, 1);
  notEqual((await w.records.listCache("user", null)).get("probe")?.stamp, cached.stamp);
  // A widened record signed by another key, planted behind a warm cache, is refused.
  const forged = forgedWidening(record, ours);
  await put(w.store, "probe", forged);
  const list = await w.list();
  deepEqual(list.capsules, []);
  match(list.ignored[0]?.reason ?? "", /signature does not verify/);
  // So is our own envelope with its record edited (the signature no longer covers it).
  await put(w.store, "probe", { ...ours, record: forged.record });
  match((await w.list()).ignored[0]?.reason ?? "", /signature does not verify/);
});

Deno.test("env values are read when first used; an env file that is not 0600 breaks the capsule at listing", async () => {
  using w = await world(false);
  await testInstall(w.dirs, await probeCopy(), w.records);
  const [installed] = (await w.list()).capsules;
  const { writeEnvFile } = await import("./env_store.ts");
  await writeEnvFile(installed!.envPath, { UNITS: "imperial" });
  equal(installed!.env.UNITS, "imperial", "read at first use, after the listing");
  await Deno.chmod(installed!.envPath, 0o644);
  const list = await w.list();
  equal(list.capsules.length, 0);
  match(list.broken[0]?.error.message ?? "", /mode 0600, current mode is 644/);
});

Deno.test("an env file that is a symlink breaks the capsule; an env folder that cannot be listed checks each file", async () => {
  using w = await world(false);
  await testInstall(w.dirs, await probeCopy(), w.records);
  const [installed] = (await w.list()).capsules;
  const envPath = installed!.envPath;
  const folder = envPath.slice(0, envPath.lastIndexOf("/"));
  await Deno.remove(folder, { recursive: true }).catch(() => {});
  equal((await w.list()).capsules.length, 1, "no env file: nothing to check");
  await Deno.mkdir(folder, { recursive: true, mode: 0o700 });
  await Deno.symlink("/etc/hostname", envPath);
  let list = await w.list();
  equal(list.capsules.length, 0);
  match(list.broken[0]?.error.message ?? "", /must be a regular file/);
  // A folder that is a file cannot be listed: each capsule's file is checked, and fails.
  await Deno.remove(folder, { recursive: true });
  await Deno.writeTextFile(folder, "not a folder");
  list = await w.list();
  equal(list.capsules.length, 0);
  equal(list.broken.length, 1);
});

Deno.test("a manifest is taken by its fingerprint only once its ctime is 2 s old; a later same-size edit with its mtime put back still misses", async () => {
  const { STABLE_MS } = await import("./loader.ts");
  using w = await world(false);
  const { loaded } = await testInstall(w.dirs, await probeCopy("probe"), w.records);
  const toml = `${loaded.dir}/Capsule.toml`;
  equal((await w.list()).capsules.length, 1);
  equal((await w.records.listCache("user", null)).get("probe")?.manifestStat, null, "too recent");
  await new Promise((r) => setTimeout(r, STABLE_MS + 1100));
  equal((await w.list()).capsules.length, 1);
  const info = await Deno.stat(toml);
  equal(
    (await w.records.listCache("user", null)).get("probe")?.manifestStat,
    fileFingerprint(info),
  );
  // Same size, same inode, the mtime put back: only the ctime (whole seconds) moved on.
  const approved = await Deno.readTextFile(toml);
  const edited = approved.replace('"127.0.0.1"', '"127.6.6.6"');
  equal(edited.length, approved.length);
  await Deno.writeTextFile(toml, edited);
  await Deno.utime(toml, info.atime!, info.mtime!);
  const after = await Deno.stat(toml);
  deepEqual([after.ino, after.size, after.mtime?.getTime()], [
    info.ino,
    info.size,
    info.mtime?.getTime(),
  ]);
  const broken = (await w.list()).broken[0]?.error;
  ok(integrity(broken), "checked in full: the capabilities changed");
  match(broken!.message, /\+ network: 127\.6\.6\.6/);
});

Deno.test("with the cache warm and every fingerprint unchanged, a capsule lists as a full check has it; a wasm rewritten, swapped for a symlink or changed after listing still fails", async () => {
  const { STABLE_MS } = await import("./loader.ts");
  using w = await world(false);
  const dirs: Record<string, string> = {};
  for (const name of ["same", "rewritten", "linked", "late"]) {
    dirs[name] = (await testInstall(w.dirs, await probeCopy(name), w.records)).record.dir;
  }
  await new Promise((r) => setTimeout(r, STABLE_MS + 1100));
  equal((await w.list()).capsules.length, 4); // the cache now pins every manifest's fingerprint
  const cached = await w.records.listCache("user", null);
  ok([...cached.values()].every((e) => e.manifestStat !== null));
  const full = await verifyInstalled(w.dirs, { requireHash: true, records: w.records });
  // Hostile changes behind the cache's back.
  const wasm = (name: string) => `${dirs[name]}/capsule.wasm`;
  const bytes = await Deno.readFile(wasm("rewritten"));
  bytes[bytes.length - 4]! ^= 0xff;
  await Deno.writeFile(wasm("rewritten"), bytes);
  const copy = `${await Deno.makeTempDir()}/capsule.wasm`;
  await Deno.copyFile(wasm("linked"), copy);
  await Deno.remove(wasm("linked"));
  await Deno.symlink(copy, wasm("linked"));
  const { capsules, broken } = await w.list();
  deepEqual(capsules.map((c) => c.record.name).sort(), ["late", "same"]);
  const why = Object.fromEntries(broken.map((b) => [b.name, b.error]));
  ok(integrity(why.rewritten));
  match(why.rewritten!.message, /the wasm changed since install/);
  ok(integrity(why.linked));
  match(why.linked!.message, /not a regular file/);
  // What the cache gave is what a full check gives.
  for (const c of capsules) {
    const checked = full.list.capsules.find((f) => f.record.name === c.record.name)!;
    deepEqual(c.loaded.manifest, checked.loaded.manifest);
    deepEqual(c.loaded.warnings, checked.loaded.warnings);
    equal(c.loaded.wasm?.hash, checked.loaded.wasm?.hash);
    equal(c.loaded.wasm?.bytes, checked.loaded.wasm?.bytes);
  }
  const same = capsules.find((c) => c.record.name === "same")!;
  ok(await same.loaded.wasm!.module() instanceof WebAssembly.Module);
  // Changed after it was listed: its module is refused when first needed, with the way back.
  const late = capsules.find((c) => c.record.name === "late")!;
  const lateBytes = await Deno.readFile(wasm("late"));
  lateBytes[lateBytes.length - 4]! ^= 0xff;
  await Deno.writeFile(wasm("late"), lateBytes);
  const refused = await late.loaded.wasm!.module().then(() => null, (e) => e);
  ok(integrity(refused));
  match(refused.message, /its install record pins .*reinstall it with `astrid capsule install/);
});

Deno.test("capsules installed under a home reached through a symlink still load through it", async () => {
  using w = await world(false);
  await testInstall(w.dirs, await probeCopy(), w.records);
  const link = `${await Deno.realPath(await Deno.makeTempDir())}/home-link`;
  await Deno.symlink(w.dirs.home, link);
  const list = await listInstalled(capsuleDirs(link, null), {
    requireHash: true,
    records: w.records,
  });
  equal(list.capsules.length, 1);
  equal(list.capsules[0]?.loaded.dir, `${w.dirs.home}/capsules/probe`);
  deepEqual(list.ignored, []);
});

Deno.test("installedDirs() names the folders capsuleDirs() installs into", () => {
  for (const ws of ["/ws", "/a b/ws", null]) {
    deepEqual(installedDirs("/home/u/.astrid", ws), capsuleDirs("/home/u/.astrid", ws));
  }
});
