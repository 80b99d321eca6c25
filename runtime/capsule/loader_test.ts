import { equal, ok, rejects } from "node:assert/strict";
import { CapsuleError } from "./errors.ts";
import { fileFingerprint, loadCapsule, ModuleCache } from "./loader.ts";
import { probeCopy } from "./_testing.ts";

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
  await Deno.writeFile(path, bytes);
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
