import { equal, rejects } from "node:assert/strict";
import { openStore } from "./mod.ts";
import { listingValue, mirroredWrite, mirrorPath, readMirror } from "./listing_mirror.ts";

const PREFIX = ["recs"] as const;

async function fresh() {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-mirror-" }));
  const location = `${dir}/state.kv`;
  const store = await openStore(location);
  const listing = async () => {
    const seen: [Deno.KvKey, string][] = [];
    for await (const e of store.list({ prefix: [...PREFIX] })) seen.push([e.key, e.versionstamp]);
    return listingValue([...PREFIX], seen);
  };
  return {
    dir,
    location,
    store,
    listing,
    path: mirrorPath(location, [...PREFIX])!,
    [Symbol.dispose]() {
      store.close();
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

Deno.test("mirroredWrite() keeps the mirror equal to the store's listing through writes and deletes", async () => {
  using w = await fresh();
  equal(w.store.location, w.location);
  equal(readMirror(w.location, [...PREFIX]), null);
  await mirroredWrite(w.store, w.location, [...PREFIX], () => w.store.set(["recs", "a"], 1));
  equal(readMirror(w.location, [...PREFIX]), await w.listing());
  await mirroredWrite(w.store, w.location, [...PREFIX], async () => {
    await w.store.set(["recs", "b", 0], "x");
    await w.store.set(["other"], "not mirrored");
  });
  equal(readMirror(w.location, [...PREFIX]), await w.listing());
  await mirroredWrite(w.store, w.location, [...PREFIX], () => w.store.delete(["recs", "a"]));
  equal(readMirror(w.location, [...PREFIX]), await w.listing());
  equal((Deno.statSync(w.path).mode ?? 0) & 0o777, 0o600);
  equal((Deno.statSync(`${w.dir}/state.kv-listings`).mode ?? 0) & 0o777, 0o700);
});

Deno.test("a write that fails leaves no mirror: readers list the store itself", async () => {
  using w = await fresh();
  await mirroredWrite(w.store, w.location, [...PREFIX], () => w.store.set(["recs", "a"], 1));
  await rejects(
    mirroredWrite(w.store, w.location, [...PREFIX], async () => {
      await w.store.set(["recs", "half"], 1); // changed, then the writer fails
      throw new Error("crashed mid-write");
    }),
    /crashed mid-write/,
  );
  equal(readMirror(w.location, [...PREFIX]), null);
});

Deno.test("concurrent writers leave the mirror equal to the final listing", async () => {
  using w = await fresh();
  await Promise.all(
    Array.from(
      { length: 8 },
      (_, i) =>
        mirroredWrite(w.store, w.location, [...PREFIX], () => w.store.set(["recs", `k${i}`], i)),
    ),
  );
  equal(readMirror(w.location, [...PREFIX]), await w.listing());
});

Deno.test("readMirror() trusts only a private regular file of this user", async () => {
  using w = await fresh();
  await mirroredWrite(w.store, w.location, [...PREFIX], () => w.store.set(["recs", "a"], 1));
  const good = readMirror(w.location, [...PREFIX]);
  equal(good, await w.listing());
  // Readable by others: ignored.
  Deno.chmodSync(w.path, 0o644);
  equal(readMirror(w.location, [...PREFIX]), null);
  Deno.chmodSync(w.path, 0o600);
  // A folder others may write to: ignored.
  Deno.chmodSync(`${w.dir}/state.kv-listings`, 0o777);
  equal(readMirror(w.location, [...PREFIX]), null);
  Deno.chmodSync(`${w.dir}/state.kv-listings`, 0o700);
  // A symlink in its place (to a file claiming another listing): ignored.
  const forged = `${w.dir}/forged.json`;
  Deno.writeTextFileSync(forged, listingValue([...PREFIX], []), { mode: 0o600 });
  Deno.removeSync(w.path);
  Deno.symlinkSync(forged, w.path);
  equal(readMirror(w.location, [...PREFIX]), null);
  Deno.removeSync(w.path);
  // Owned by another user (as root, chown to nobody): ignored.
  if (Deno.uid() === 0) {
    Deno.writeTextFileSync(w.path, good!, { mode: 0o600 });
    Deno.chownSync(w.path, 65534, 65534);
    equal(readMirror(w.location, [...PREFIX]), null);
  }
  // A prefix it cannot name, or a relative store: no mirror.
  equal(mirrorPath(w.location, ["a", "b"]), null);
  equal(mirrorPath(w.location, ["../x"]), null);
  equal(mirrorPath("state.kv", ["recs"]), null);
});
