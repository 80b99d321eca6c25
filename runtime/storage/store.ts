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
  /** The file the store was opened from, when it is a local one (listing_mirror.ts uses it). */
  readonly location?: string | undefined;
}

/**
 * Writes that ride along in another component's atomic commit, so that two changes that must
 * both be durable cost one fsync instead of two (the session budget carries a session save
 * this way). The carrier adds them to its commit, re-adding them on every attempt when it
 * retries, and reports once the commit that held them succeeded. A rider whose carrier did not
 * commit it is simply not written: its owner still holds the changes and saves them later. A
 * carrier on another store than `store` never carries it (it would write to the wrong KV).
 *
 * @example A rider committed by its carrier
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openStore, type Rider } from "./store.ts";
 * using store = await openStore(":memory:");
 * let done = false;
 * const rider: Rider = {
 *   store,
 *   mutations: 1,
 *   bytes: 10,
 *   apply: (op) => void op.set(["note"], "saved"),
 *   committed: () => void (done = true),
 * };
 * const op = store.atomic().set(["counter"], 1);
 * rider.apply(op);
 * if ((await op.commit()).ok) rider.committed();
 * equal((await store.get(["note"])).value, "saved");
 * equal(done, true);
 * ```
 */
export interface Rider {
  /** The store the writes belong to. */
  readonly store: Store;
  /** Adds the writes to `op` (called once per attempt; sets only, no checks). */
  apply(op: Deno.AtomicOperation): void;
  /** Called once, after a commit that carried the writes succeeded. */
  committed(): void;
  /** Mutations `apply` adds, counted against the carrier's limit per commit. */
  readonly mutations: number;
  /** Approximate bytes `apply` adds, counted against the 800 KiB per commit. */
  readonly bytes: number;
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
  if (isLocalFile(location)) {
    const dir = location.replace(/\/[^/]*$/, "");
    // Synchronous: one quick call, instead of a trip to the thread pool before the KV opens.
    if (dir && dir !== location) Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  return new LockRetryingStore(await Deno.openKv(location), location);
}

/**
 * True when a store `location` is a file on this machine (not `:memory:`, not a remote URL).
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { isLocalFile } from "./store.ts";
 * deepEqual([":memory:", "https://kv.example/db", "/s/astrid.kv"].map(isLocalFile), [false, false, true]);
 * ```
 */
export function isLocalFile(location: string): boolean {
  return location !== ":memory:" && !/^https?:\/\//.test(location);
}

const LOCKED = /database is locked|database table is locked|SQLITE_BUSY/i;
const MAX_ATTEMPTS = 20;

/**
 * Runs `op`, retrying with jittered backoff while SQLite reports a busy lock. Two handles on one
 * file (two processes, or two opens in one) meet such locks under concurrent commits; a failed
 * commit did not happen, so trying it again is safe. Any other error is raised at once.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { retryWhileLocked } from "./store.ts";
 * let calls = 0;
 * const value = await retryWhileLocked(() => {
 *   calls++;
 *   if (calls < 3) throw new TypeError("database is locked");
 *   return Promise.resolve("done");
 * });
 * equal(value, "done");
 * equal(calls, 3);
 * ```
 */
export async function retryWhileLocked<T>(op: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (attempt >= MAX_ATTEMPTS || !LOCKED.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, Math.min(100, attempt * 4) + Math.random() * 8));
    }
  }
}

/** Deno KV with busy-lock retries on every write and point read. */
class LockRetryingStore implements Store {
  #kv: Deno.Kv;
  readonly location: string | undefined;
  constructor(kv: Deno.Kv, location: string) {
    this.#kv = kv;
    this.location = isLocalFile(location) && location.startsWith("/") ? location : undefined;
  }
  get<T = unknown>(key: Deno.KvKey): Promise<Deno.KvEntryMaybe<T>> {
    return retryWhileLocked(() => this.#kv.get<T>(key));
  }
  getMany<T extends readonly unknown[]>(
    keys: readonly [...{ [K in keyof T]: Deno.KvKey }],
  ): Promise<{ [K in keyof T]: Deno.KvEntryMaybe<T[K]> }> {
    return retryWhileLocked(() => this.#kv.getMany<T>(keys));
  }
  set(key: Deno.KvKey, value: unknown): Promise<Deno.KvCommitResult> {
    return retryWhileLocked(() => this.#kv.set(key, value));
  }
  delete(key: Deno.KvKey): Promise<void> {
    return retryWhileLocked(() => this.#kv.delete(key));
  }
  list<T = unknown>(
    selector: Deno.KvListSelector,
    options?: Deno.KvListOptions,
  ): Deno.KvListIterator<T> {
    return this.#kv.list<T>(selector, options);
  }
  atomic(): Deno.AtomicOperation {
    const op = this.#kv.atomic();
    const commit = op.commit.bind(op);
    op.commit = () => retryWhileLocked(commit);
    return op;
  }
  close(): void {
    this.#kv.close();
  }
  [Symbol.dispose](): void {
    this.#kv.close();
  }
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
