import { deepEqual, equal } from "node:assert/strict";
import { openStore } from "../storage/mod.ts";
import { readBlobs, writeBlob } from "./_record_parts.ts";

Deno.test("a blob over the store's commit limit is refused (false) and the old one stays", async () => {
  const dir = await Deno.makeTempDir();
  using store = await openStore(`${dir}/state.kv`);
  const small = new TextEncoder().encode("x".repeat(150_000));
  equal(await writeBlob(store, ["blobs", "a"], small), true);
  for (const size of [800_001, 1_048_576, 4_000_000]) {
    equal(await writeBlob(store, ["blobs", "a"], new Uint8Array(size).fill(65)), false);
  }
  deepEqual((await readBlobs(store, ["blobs"])).get("a"), small);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a blob just under the limit is written in parts and read back exactly", async () => {
  const dir = await Deno.makeTempDir();
  using store = await openStore(`${dir}/state.kv`);
  const bytes = crypto.getRandomValues(new Uint8Array(65_536));
  const big = new Uint8Array(790_000);
  for (let at = 0; at < big.length; at += bytes.length) {
    big.set(bytes.subarray(0, big.length - at), at);
  }
  equal(await writeBlob(store, ["blobs", "b"], big), true);
  deepEqual((await readBlobs(store, ["blobs"], "b")).get("b"), big);
  // Shorter again: the parts the longer one left are deleted in the same commit.
  equal(await writeBlob(store, ["blobs", "b"], big.subarray(0, 10)), true);
  deepEqual((await readBlobs(store, ["blobs"], "b")).get("b"), big.subarray(0, 10));
  await Deno.remove(dir, { recursive: true });
});
