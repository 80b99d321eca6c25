import { equal, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { ensureRuntimeKey, generateRuntimeKey, KeyError, loadRuntimeKey } from "./keys.ts";
import { verify } from "./ed25519.ts";

Deno.test("generateRuntimeKey() writes a 0600 key that loads back and signs", async () => {
  const dir = await Deno.makeTempDir();
  const key = await generateRuntimeKey(join(dir, "keys"));
  equal((await Deno.stat(key.path)).mode! & 0o777, 0o600);
  equal((await Deno.stat(join(dir, "keys"))).mode! & 0o777, 0o700);
  const loaded = await loadRuntimeKey(join(dir, "keys"));
  equal(loaded?.publicKeyHex, key.publicKeyHex);
  const msg = new TextEncoder().encode("m");
  ok(verify(key.publicKey, msg, loaded!.sign(msg)));
});

Deno.test("generateRuntimeKey() refuses to replace a key unless forced", async () => {
  const dir = await Deno.makeTempDir();
  const first = await generateRuntimeKey(dir);
  await rejects(generateRuntimeKey(dir), KeyError);
  equal((await loadRuntimeKey(dir))?.publicKeyHex, first.publicKeyHex);
  const second = await generateRuntimeKey(dir, true);
  ok(second.publicKeyHex !== first.publicKeyHex);
  equal((await loadRuntimeKey(dir))?.publicKeyHex, second.publicKeyHex);
});

Deno.test("loadRuntimeKey() refuses a key readable by others", async () => {
  const dir = await Deno.makeTempDir();
  const key = await generateRuntimeKey(dir);
  await Deno.chmod(key.path, 0o644);
  await rejects(loadRuntimeKey(dir), /mode is 644/);
});

Deno.test("loadRuntimeKey() refuses a corrupt key file and returns null when absent", async () => {
  const dir = await Deno.makeTempDir();
  equal(await loadRuntimeKey(dir), null);
  await Deno.writeTextFile(join(dir, "runtime.key"), "zz-not-hex", { mode: 0o600 });
  await rejects(loadRuntimeKey(dir), /does not hold a hex Ed25519 seed/);
  await Deno.writeTextFile(join(dir, "runtime.key"), "abcd", { mode: 0o600 });
  await rejects(loadRuntimeKey(dir), /seed has 2 bytes/);
});

Deno.test("ensureRuntimeKey() run concurrently yields one key", async () => {
  const dir = await Deno.makeTempDir();
  const keys = await Promise.all(Array.from({ length: 8 }, () => ensureRuntimeKey(dir)));
  equal(new Set(keys.map((k) => k.publicKeyHex)).size, 1);
});
