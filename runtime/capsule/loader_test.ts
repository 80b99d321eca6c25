import { equal, ok, rejects } from "node:assert/strict";
import { CapsuleError } from "./errors.ts";
import { loadCapsule, ModuleCache } from "./loader.ts";
import { probeCopy } from "./_testing.ts";

const integrity = (e: unknown) => e instanceof CapsuleError && e.code === "INTEGRITY";

Deno.test("loadCapsule() verifies the compiled probe and caches its module by hash", async () => {
  const dir = await probeCopy();
  const cache = new ModuleCache();
  const a = await loadCapsule(dir, { requireHash: true, cache });
  const b = await loadCapsule(dir, { requireHash: true, cache });
  ok(a.wasm && b.wasm);
  equal(a.wasm.module, b.wasm.module);
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
