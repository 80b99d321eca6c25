/**
 * The shape of a JSON value, for a model planning a query: objects list their keys (at most
 * {@link MAX_KEYS}) with the shape of each value, arrays their length and the shape of their
 * first element, scalars their type (strings with their length).
 *
 * @module
 */

/** The most keys listed per object. */
export const MAX_KEYS = 50;

/**
 * Outlines `value` down to `depth` levels.
 *
 * @param value a JSON value
 * @param depth how many levels of objects and arrays to open
 * @returns a JSON description
 *
 * @example
 * ```ts ignore
 * outline({ a: [1, 2], b: "xy" }, 2); // { a: "array(2) of number", b: "string(2)" }
 * ```
 */
export function outline(value: unknown, depth: number): unknown {
  if (value === null) return "null";
  if (Array.isArray(value)) {
    const head = `array(${value.length})`;
    if (value.length === 0) return head;
    if (depth <= 0) return head;
    const first = outline(value[0], depth - 1);
    return typeof first === "string"
      ? `${head} of ${first}`
      : { [head]: first };
  }
  if (typeof value === "object") {
    const keys = Object.keys(value);
    if (depth <= 0) return `object(${keys.length} keys)`;
    const out: Record<string, unknown> = {};
    for (const k of keys.slice(0, MAX_KEYS)) {
      out[k] = outline((value as Record<string, unknown>)[k], depth - 1);
    }
    if (keys.length > MAX_KEYS) {
      out["…"] = `${keys.length - MAX_KEYS} more keys`;
    }
    return out;
  }
  if (typeof value === "string") return `string(${value.length})`;
  return typeof value;
}
