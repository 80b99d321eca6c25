import { equal, rejects } from "node:assert/strict";
import { openStore } from "../storage/mod.ts";
import { mirroredWrite } from "../storage/listing_mirror.ts";
import { kvListing } from "./_launch_deps.ts";

Deno.test("kvListing() reads a trusted listing mirror instead of opening the store, else the store", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-kvlist-" }));
  try {
    const location = `${dir}/state.kv`;
    const prefix = ["capsule_install"];
    let mirrored: string;
    {
      using store = await openStore(location);
      await store.set(["capsule_install", "user", "a", 0], 1);
      const direct = await kvListing(location, prefix); // no mirror yet: the store itself
      await mirroredWrite(store, location, prefix, () => store.set(["capsule_install", "b"], 2));
      mirrored = await kvListing(location, prefix);
      equal(mirrored === direct, false, "the write changed the listing");
      // What the store itself lists, the mirror said.
      Deno.renameSync(`${location}-listings`, `${dir}/away`);
      equal(await kvListing(location, prefix), mirrored);
      Deno.renameSync(`${dir}/away`, `${location}-listings`);
    }
    // A store file that no longer opens still answers from the mirror (proof the store was not
    // opened), and fails once the mirror is gone.
    for (const suffix of ["", "-wal", "-shm"]) {
      try {
        Deno.removeSync(`${location}${suffix}`);
      } catch {
        // not there
      }
    }
    Deno.writeTextFileSync(location, "not a database");
    equal(await kvListing(location, prefix), mirrored);
    Deno.removeSync(`${location}-listings`, { recursive: true });
    await rejects(kvListing(location, prefix));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
