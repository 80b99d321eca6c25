// The keyed store behind `api.runtime.state.openKeyedStore` (private to the adapter): entries in
// the capsule's KV under `oc:<namespace>:<key>` as `{ v, c, e? }` (value, createdAt, expiresAt),
// with the namespace's keys, oldest first, under `oc-index:<namespace>`. A removed entry is
// stored as null (capsule KV has no delete). Operations on one namespace run one at a time, so
// concurrent calls of one capsule call never lose an index update. TTLs use Date.now(). The index
// is one KV value (at most 60 000 bytes of JSON), which bounds how many keys a namespace holds.

const NAMESPACE = /^[A-Za-z0-9._/-]{1,64}$/;
const MAX_KEY = 400;
const queues = new Map();

const kv = () => {
  const api = globalThis.__astrid_api;
  if (!api) throw new Error("Cannot use the keyed store: current value is not a capsule");
  return api.kv;
};

const checkKey = (key) => {
  if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY) {
    throw new TypeError(
      `Cannot use the store key: current value is ${JSON.stringify(key)?.slice(0, 80)}`,
    );
  }
  return key;
};
const toJson = (value) => {
  const text = JSON.stringify(value);
  if (text === undefined) {
    throw new TypeError(`Cannot store the value: current value is ${typeof value}, not JSON`);
  }
  return JSON.parse(text);
};

/**
 * Opens a keyed store. `maxEntries` bounds the namespace (`overflowPolicy` "evict-oldest", the
 * default, drops the oldest entries; "reject-new" refuses a new key when full).
 */
export function openKeyedStore(options) {
  const namespace = String(options?.namespace ?? "");
  if (!NAMESPACE.test(namespace)) {
    throw new TypeError(`Cannot open the keyed store: current namespace is "${namespace}"`);
  }
  const max = options.maxEntries ?? 10_000;
  if (!Number.isInteger(max) || max < 1) {
    throw new RangeError(`Cannot open the keyed store: current maxEntries is ${max}`);
  }
  const defaultTtl = options.defaultTtlMs;
  const rejectNew = options.overflowPolicy === "reject-new";
  const indexKey = `oc-index:${namespace}`;
  const entryKey = (key) => `oc:${namespace}:${key}`;

  /** Runs `fn` after every earlier operation on this namespace. */
  const serial = (fn) => {
    const before = queues.get(namespace) ?? Promise.resolve();
    const run = before.then(fn);
    queues.set(namespace, run.catch(() => {}));
    return run;
  };
  const readIndex = async () => {
    const list = await kv().get(indexKey);
    return Array.isArray(list) ? list.filter((k) => typeof k === "string") : [];
  };
  const live = (row, now) =>
    row && typeof row === "object" && "v" in row && (row.e === undefined || row.e > now);
  const read = async (key) => {
    const row = await kv().get(entryKey(key));
    return live(row, Date.now()) ? row : undefined;
  };
  const remove = async (key, index) => {
    await kv().set(entryKey(key), null);
    const next = (index ?? await readIndex()).filter((k) => k !== key);
    await kv().set(indexKey, next);
    return next;
  };
  const write = async (key, value, opts) => {
    const ttl = opts?.ttlMs ?? defaultTtl;
    const now = Date.now();
    const row = { v: toJson(value), c: now, ...(ttl ? { e: now + Number(ttl) } : {}) };
    let index = await readIndex();
    // Expired entries leave the index before counting.
    const kept = [];
    for (const k of index) {
      if (k === key || live(await kv().get(entryKey(k)), now)) kept.push(k);
      else await kv().set(entryKey(k), null);
    }
    index = kept.filter((k) => k !== key);
    if (rejectNew && index.length >= max) {
      throw new RangeError(
        `Cannot register ${key}: namespace ${namespace} is full (${max} entries)`,
      );
    }
    while (index.length >= max) await kv().set(entryKey(index.shift()), null);
    await kv().set(entryKey(key), row);
    await kv().set(indexKey, [...index, key]);
  };

  return Object.freeze({
    register: (key, value, opts) => serial(() => write(checkKey(key), value, opts)),
    registerIfAbsent: (key, value, opts) =>
      serial(async () => {
        if (await read(checkKey(key))) return false;
        await write(key, value, opts);
        return true;
      }),
    update: (key, updateValue, opts) =>
      serial(async () => {
        const row = await read(checkKey(key));
        const next = updateValue(row ? row.v : undefined);
        if (next === undefined) return false;
        await write(key, next, opts);
        return true;
      }),
    lookup: (key) => serial(async () => (await read(checkKey(key)))?.v),
    consume: (key) =>
      serial(async () => {
        const row = await read(checkKey(key));
        if (row) await remove(key);
        return row?.v;
      }),
    delete: (key) =>
      serial(async () => {
        const row = await read(checkKey(key));
        if (row) await remove(key);
        return !!row;
      }),
    deleteIf: (key, predicate) =>
      serial(async () => {
        const row = await read(checkKey(key));
        if (!row || !predicate(row.v)) return false;
        await remove(key);
        return true;
      }),
    deleteIfEqual: (key, expected) =>
      serial(async () => {
        const row = await read(checkKey(key));
        if (!row || row.v !== expected) return false;
        await remove(key);
        return true;
      }),
    entries: () =>
      serial(async () => {
        const out = [];
        const now = Date.now();
        for (const key of await readIndex()) {
          const row = await kv().get(entryKey(key));
          if (!live(row, now)) continue;
          out.push({ key, value: row.v, createdAt: row.c, ...(row.e ? { expiresAt: row.e } : {}) });
        }
        return out;
      }),
    count: () =>
      serial(async () => {
        let n = 0;
        const now = Date.now();
        for (const key of await readIndex()) if (live(await kv().get(entryKey(key)), now)) n++;
        return n;
      }),
    clear: () =>
      serial(async () => {
        for (const key of await readIndex()) await kv().set(entryKey(key), null);
        await kv().set(indexKey, []);
      }),
  });
}
