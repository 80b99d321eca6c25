/**
 * Turns whatever a snippet returns or logs into JSON the host can carry: `undefined` becomes
 * null, BigInt a string, functions and symbols a `[Function name]`-style tag, cycles
 * `[Circular]`, Maps objects, Sets arrays, Dates ISO strings, Errors `{name, message}`; depth and
 * breadth are capped.
 *
 * @module
 */

const MAX_DEPTH = 20;
const MAX_ITEMS = 1000;

/**
 * A JSON-safe copy of `value`.
 *
 * @example
 * ```ts ignore
 * toJson({ n: 1n, f() {}, s: new Set([1]) }); // { n: "1n", f: "[Function f]", s: [1] }
 * ```
 */
export function toJson(
  value: unknown,
  depth = 0,
  seen: unknown[] = [],
): unknown {
  if (value === undefined || value === null) return null;
  switch (typeof value) {
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "string":
    case "boolean":
      return value;
    case "bigint":
      return `${value}n`;
    case "function":
      return `[Function ${value.name || "anonymous"}]`;
    case "symbol":
      return value.toString();
  }
  if (seen.includes(value)) return "[Circular]";
  if (depth >= MAX_DEPTH) return "[…]";
  const next = [...seen, value];
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? null : value.toISOString();
  }
  if (value instanceof Error) {
    return { name: value.name, message: value.message };
  }
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of [...value].slice(0, MAX_ITEMS)) {
      out[String(k)] = toJson(v, depth + 1, next);
    }
    return out;
  }
  if (value instanceof Set) value = [...value];
  if (ArrayBuffer.isView(value)) {
    value = Array.from(value as unknown as ArrayLike<number>);
  }
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((v) =>
      toJson(v, depth + 1, next)
    );
    if (value.length > MAX_ITEMS) {
      items.push(`[… ${value.length - MAX_ITEMS} more]`);
    }
    return items;
  }
  const obj = value as Record<string, unknown>;
  if (typeof obj.toJSON === "function") {
    try {
      return toJson(obj.toJSON(), depth + 1, next);
    } catch {
      return "[toJSON threw]";
    }
  }
  const out: Record<string, unknown> = {};
  const keys = Object.keys(obj);
  for (const k of keys.slice(0, MAX_ITEMS)) {
    try {
      out[k] = toJson(obj[k], depth + 1, next);
    } catch {
      out[k] = "[getter threw]";
    }
  }
  if (keys.length > MAX_ITEMS) {
    out["…"] = `${keys.length - MAX_ITEMS} more keys`;
  }
  return out;
}

/** One console line: the arguments shown as a reader would see them. */
export function show(args: unknown[]): string {
  return args.map((a) => {
    if (typeof a === "string") return a;
    try {
      return JSON.stringify(toJson(a)) ?? String(a);
    } catch {
      return String(a);
    }
  }).join(" ");
}
