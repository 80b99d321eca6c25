import { equal } from "node:assert/strict";
import { join } from "node:path";
import { listAll, openStore } from "./store.ts";

Deno.test("openStore() persists to disk and creates parent folders", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "nested", "state.kv");
  {
    using store = await openStore(path);
    await store.set(["a"], 1);
  }
  using again = await openStore(path);
  equal((await again.get(["a"])).value, 1);
});

Deno.test("two handles on one file commit concurrently without losing a write", async () => {
  const path = join(await Deno.makeTempDir(), "state.kv");
  using a = await openStore(path);
  using b = await openStore(path);
  await Promise.all(
    Array.from(
      { length: 200 },
      (_, i) =>
        (i % 2 ? a : b).atomic().check({ key: ["n", i], versionstamp: null }).set(["n", i], i)
          .commit(),
    ),
  );
  equal((await listAll(a, ["n"])).length, 200);
});
