/**
 * Persistent state behind a small {@link Store} interface over Deno KV.
 *
 * @example Open and use a store
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { openStore } from "./mod.ts";
 * using store = await openStore(":memory:");
 * await store.set(["k"], 1);
 * deepEqual((await store.get(["k"])).value, 1);
 * ```
 *
 * @module
 */
export {
  isLocalFile,
  listAll,
  MAX_MUTATIONS_PER_COMMIT,
  openStore,
  retryWhileLocked,
  type Store,
} from "./store.ts";
