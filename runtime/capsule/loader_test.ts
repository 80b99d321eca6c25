import { equal, notEqual, ok, rejects } from "node:assert/strict";
import { CapsuleError } from "./errors.ts";
import { fileFingerprint, loadCapsule, ModuleCache } from "./loader.ts";
import { probeCopy } from "./_testing.ts";
import { blake3Hex } from "../crypto/mod.ts";

const integrity = (e: unknown) => e instanceof CapsuleError && e.code === "INTEGRITY";

Deno.test("loadCapsule() verifies the compiled probe and caches its module by hash", async () => {
  const dir = await probeCopy();
  const cache = new ModuleCache();
  const a = await loadCapsule(dir, { requireHash: true, cache });
  const b = await loadCapsule(dir, { requireHash: true, cache });
  ok(a.wasm && b.wasm);
  equal(await a.wasm.module(), await b.wasm.module());
  equal(cache.size, 1);
  ok(a.wasm.hash.startsWith("blake3:"));
});

Deno.test("a wasm swapped after compile (one byte flipped) is refused with INTEGRITY", async () => {
  const dir = await probeCopy();
  const bytes = await Deno.readFile(`${dir}/capsule.wasm`);
  bytes[bytes.length - 1]! ^= 1;
  await Deno.writeFile(`${dir}/capsule.wasm`, bytes);
  await rejects(loadCapsule(dir, { requireHash: true }), integrity);
  await rejects(loadCapsule(dir, { requireHash: false }), integrity);
});

Deno.test("require_hash refuses a manifest without a hash; off, the wasm loads", async () => {
  const dir = await probeCopy("nohash", (t) => t.replace(/^hash = .*$/m, ""));
  await rejects(loadCapsule(dir, { requireHash: true }), integrity);
  const loaded = await loadCapsule(dir, { requireHash: false });
  ok(loaded.wasm?.hash.startsWith("blake3:"));
});

Deno.test("a symlinked capsule.wasm is refused even when its target matches", async () => {
  const dir = await probeCopy();
  const elsewhere = `${await Deno.makeTempDir()}/real.wasm`;
  await Deno.rename(`${dir}/capsule.wasm`, elsewhere);
  await Deno.symlink(elsewhere, `${dir}/capsule.wasm`);
  await rejects(loadCapsule(dir, { requireHash: true }), integrity);
});

Deno.test("a wasm reached through a symlinked folder, a FIFO or a folder is refused", async () => {
  const dir = await probeCopy(
    "nested",
    (t) => t.replace('entrypoint = "capsule.wasm"', 'entrypoint = "dist/capsule.wasm"'),
  );
  const outside = await Deno.makeTempDir();
  await Deno.rename(`${dir}/capsule.wasm`, `${outside}/capsule.wasm`);
  await Deno.symlink(outside, `${dir}/dist`);
  const refused = (e: unknown) =>
    integrity(e) && /outside|not a regular file/.test((e as Error).message);
  await rejects(loadCapsule(dir, { requireHash: true }), refused);
  await Deno.remove(`${dir}/dist`);
  await Deno.mkdir(`${dir}/dist/capsule.wasm`, { recursive: true });
  await rejects(loadCapsule(dir, { requireHash: true }), refused);
  await Deno.remove(`${dir}/dist/capsule.wasm`);
  await new Deno.Command("mkfifo", { args: [`${dir}/dist/capsule.wasm`] }).output();
  await rejects(loadCapsule(dir, { requireHash: true }), refused);
  await Deno.remove(`${dir}/dist/capsule.wasm`);
  await Deno.rename(`${outside}/capsule.wasm`, `${dir}/dist/capsule.wasm`);
  ok((await loadCapsule(dir, { requireHash: true })).wasm?.hash.startsWith("blake3:"));
});

Deno.test("a missing wasm or folder is NOT_FOUND", async () => {
  const dir = await probeCopy();
  await Deno.remove(`${dir}/capsule.wasm`);
  await rejects(
    loadCapsule(dir, { requireHash: true }),
    (e: unknown) => e instanceof CapsuleError && e.code === "NOT_FOUND",
  );
  await rejects(
    loadCapsule(`${dir}/nope`, { requireHash: true }),
    (e: unknown) => e instanceof CapsuleError && e.code === "NOT_FOUND",
  );
});

Deno.test("a deferred load reads no wasm while its fingerprint matches; the first module() re-hashes it", async () => {
  const dir = await probeCopy();
  const path = `${dir}/capsule.wasm`;
  const pinned = (await loadCapsule(dir, { requireHash: true })).wasm!.hash;
  const fingerprint = fileFingerprint(await Deno.lstat(path));
  const cache = new ModuleCache();
  const opts = { requireHash: true, pinnedWasm: pinned, cache };
  const good = await loadCapsule(dir, { ...opts, defer: { fingerprint } });
  equal(good.wasm?.hash, pinned);
  equal(cache.size, 0, "nothing compiled before module()");
  const module = await good.wasm!.module();
  equal(cache.size, 1);
  // The warm path: the same process, the same fingerprint, the module compiled for that hash.
  const again = await loadCapsule(dir, { ...opts, defer: { fingerprint } });
  equal(await again.wasm!.module(), module);

  const bytes = await Deno.readFile(path);
  bytes[bytes.length - 2]! ^= 1;
  // Replaced by a new file (a new inode), so the fingerprint changes even within the clock tick
  // of the first write (timestamps are kept to the millisecond, and the kernel's are coarser).
  await Deno.writeFile(`${path}.new`, bytes);
  await Deno.rename(`${path}.new`, path);
  notEqual(fileFingerprint(await Deno.lstat(path)), fingerprint);
  // A rewrite changes the fingerprint: hashed at once and refused.
  await rejects(loadCapsule(dir, { ...opts, defer: { fingerprint } }), integrity);
  // An older record (no fingerprint): hashed at once too.
  await rejects(loadCapsule(dir, { ...opts, defer: { fingerprint: undefined } }), integrity);
  // A rewrite that kept the recorded fingerprint (only root can reset a ctime) passes the
  // listing, but module() of a fresh process re-hashes in full, and this one too, since the
  // fingerprint no longer matches what it verified.
  const forged = fileFingerprint(await Deno.lstat(path));
  const fooled = await loadCapsule(dir, { ...opts, defer: { fingerprint: forged } });
  await rejects(fooled.wasm!.module(), integrity);
});

Deno.test("a deferred load refuses a symlink, a missing wasm and disagreeing pins without reading", async () => {
  const dir = await probeCopy();
  const pinned = (await loadCapsule(dir, { requireHash: true })).wasm!.hash;
  const other = `blake3:${"0".repeat(64)}`;
  const defer = { fingerprint: undefined };
  await rejects(loadCapsule(dir, { requireHash: true, pinnedWasm: other, defer }), integrity);
  const elsewhere = `${await Deno.makeTempDir()}/real.wasm`;
  await Deno.rename(`${dir}/capsule.wasm`, elsewhere);
  await rejects(
    loadCapsule(dir, { requireHash: true, pinnedWasm: pinned, defer }),
    (e: unknown) => e instanceof CapsuleError && e.code === "NOT_FOUND",
  );
  await Deno.symlink(elsewhere, `${dir}/capsule.wasm`);
  await rejects(loadCapsule(dir, { requireHash: true, pinnedWasm: pinned, defer }), integrity);
});

/** Counts the wasm compiles V8 is asked for while `run` runs (the loader's are streaming). */
async function compiles(run: () => Promise<unknown>): Promise<number> {
  const original = WebAssembly.compileStreaming;
  let count = 0;
  WebAssembly.compileStreaming = (source) => {
    count++;
    return original(source);
  };
  try {
    await run();
  } finally {
    WebAssembly.compileStreaming = original;
  }
  return count;
}

Deno.test("bytes that fail the hash are refused with INTEGRITY and are never compiled", async () => {
  const dir = await probeCopy();
  const path = `${dir}/capsule.wasm`;
  const cache = new ModuleCache();
  const pinned = (await loadCapsule(dir, { requireHash: true })).wasm!.hash;
  const fingerprint = fileFingerprint(await Deno.lstat(path));
  equal(await compiles(() => loadCapsule(dir, { requireHash: true })), 1, "the count is seen");
  const bytes = await Deno.readFile(path);
  // Still valid wasm (a data byte flipped): it would compile, but is refused first.
  bytes[bytes.length - 1]! ^= 1;
  await Deno.writeFile(path, bytes);
  const refused = async (opts: Parameters<typeof loadCapsule>[1]) => {
    const load = async () => await (await loadCapsule(dir, opts)).wasm!.module();
    equal(await compiles(() => rejects(load, integrity)), 0);
  };
  await refused({ requireHash: true, cache });
  await refused({ requireHash: false, cache });
  await refused({ requireHash: true, pinnedWasm: pinned, cache });
  // Deferred, with the fingerprint recorded before the rewrite: hashed at once and refused.
  await refused({ requireHash: true, pinnedWasm: pinned, cache, defer: { fingerprint } });
  // Truncated (not wasm at all, and a wrong hash): INTEGRITY, not ENGINE.
  await Deno.writeFile(path, bytes.subarray(0, bytes.length >> 1));
  await refused({ requireHash: true, cache });
  equal(cache.size, 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a module cached for the pinned hash is not handed out for bytes that changed", async () => {
  const dir = await probeCopy();
  const path = `${dir}/capsule.wasm`;
  const cache = new ModuleCache();
  const good = await loadCapsule(dir, { requireHash: true, cache });
  equal(cache.size, 1);
  const bytes = await Deno.readFile(path);
  bytes[bytes.length - 1]! ^= 1;
  await Deno.writeFile(path, bytes);
  const opts = { requireHash: true, cache };
  await rejects(loadCapsule(dir, { ...opts, pinnedWasm: good.wasm!.hash }), integrity);
  await rejects(loadCapsule(dir, opts), integrity);
  bytes[bytes.length - 1]! ^= 1;
  await Deno.writeFile(path, bytes);
  equal(await (await loadCapsule(dir, opts)).wasm!.module(), await good.wasm!.module());
  await Deno.remove(dir, { recursive: true });
});

Deno.test("bytes that match their pin but are not wasm are refused with ENGINE", async () => {
  const dir = await probeCopy();
  const junk = crypto.getRandomValues(new Uint8Array(4096));
  await Deno.writeFile(`${dir}/capsule.wasm`, junk);
  const toml = await Deno.readTextFile(`${dir}/Capsule.toml`);
  const hash = `blake3:${blake3Hex(junk)}`;
  await Deno.writeTextFile(`${dir}/Capsule.toml`, toml.replace(/^hash = .*$/m, `hash = "${hash}"`));
  const cache = new ModuleCache();
  await rejects(
    loadCapsule(dir, { requireHash: true, pinnedWasm: hash, cache }),
    (e: unknown) =>
      e instanceof CapsuleError && e.code === "ENGINE" && /not valid wasm/.test(e.message),
  );
  equal(cache.size, 0);
  const defer = { fingerprint: fileFingerprint(await Deno.lstat(`${dir}/capsule.wasm`)) };
  const deferred = await loadCapsule(dir, { requireHash: true, pinnedWasm: hash, cache, defer });
  await rejects(
    deferred.wasm!.module(),
    (e: unknown) => e instanceof CapsuleError && e.code === "ENGINE",
  );
  await Deno.remove(dir, { recursive: true });
});
