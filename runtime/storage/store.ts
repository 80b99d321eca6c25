/**
 * The `Store` seam: the subset of Deno KV that Astrid uses. Local state lives in
 * `$ASTRID_HOME/state.kv`; a configured remote URL is opened with `Deno.openKv(url)`, and tests
 * use `":memory:"`. Every implementation is a real Deno KV, so atomic checks behave the same.
 *
 * @module
 */

/** The KV operations Astrid relies on; `Deno.Kv` satisfies it structurally. */
export interface Store extends Disposable {
  get<T = unknown>(key: Deno.KvKey): Promise<Deno.KvEntryMaybe<T>>;
  getMany<T extends readonly unknown[]>(
    keys: readonly [...{ [K in keyof T]: Deno.KvKey }],
  ): Promise<{ [K in keyof T]: Deno.KvEntryMaybe<T[K]> }>;
  set(key: Deno.KvKey, value: unknown): Promise<Deno.KvCommitResult>;
  delete(key: Deno.KvKey): Promise<void>;
  list<T = unknown>(
    selector: Deno.KvListSelector,
    options?: Deno.KvListOptions,
  ): Deno.KvListIterator<T>;
  atomic(): Deno.AtomicOperation;
  close(): void;
}

/** Largest number of mutations Deno KV accepts in one atomic commit. */
export const MAX_MUTATIONS_PER_COMMIT = 1000;

/**
 * Opens a store. `location` is a file path, `":memory:"`, or an `http(s)://` KV Connect URL.
 * Parent folders of a file path are created.
 *
 * @example An in-memory store
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { openStore } from "./store.ts";
 * using store = await openStore(":memory:");
 * await store.set(["greeting"], "hi");
 * deepEqual((await store.get(["greeting"])).value, "hi");
 * ```
 */
export async function openStore(location: string): Promise<Store> {
  if (location !== ":memory:" && !/^https?:\/\//.test(location)) {
    const dir = location.replace(/\/[^/]*$/, "");
    if (dir && dir !== location) await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  }
  return await Deno.openKv(location);
}

/**
 * Collects every entry under `prefix` into an array, in key order.
 *
 * @example List a prefix
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { listAll, openStore } from "./store.ts";
 * using store = await openStore(":memory:");
 * await store.set(["n", 1], "a");
 * await store.set(["n", 2], "b");
 * deepEqual((await listAll<string>(store, ["n"])).map((e) => e.value), ["a", "b"]);
 * ```
 */
export async function listAll<T>(
  store: Store,
  prefix: Deno.KvKey,
  options: Deno.KvListOptions = {},
): Promise<Deno.KvEntry<T>[]> {
  const out: Deno.KvEntry<T>[] = [];
  for await (const entry of store.list<T>({ prefix }, options)) out.push(entry);
  return out;
}
