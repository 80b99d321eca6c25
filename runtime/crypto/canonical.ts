/**
 * Astrid Canonical Encoding, version 1 (ACE-1): the only byte form that is ever signed or hashed.
 *
 * ```
 * ACE-1(domain, value) = UTF-8("astrid-ace/1/" ‖ domain ‖ "\n") ‖ UTF-8(JCS(value))
 * ```
 *
 * `JCS` follows RFC 8785 (JSON Canonicalization Scheme):
 * - object members sorted by the UTF-16 code units of their names (§3.2.3), no whitespace;
 * - strings escaped as ECMAScript `JSON.stringify` does (§3.2.2.2), lone surrogates rejected;
 * - numbers in ECMAScript shortest form (§3.2.2.3); NaN and ±Infinity rejected.
 *
 * Astrid adds: members whose value is `undefined` are omitted (as in JSON); `undefined` inside
 * arrays, bigint, functions, symbols and non-plain objects (Date, Map, typed arrays) are rejected
 * with a `TypeError`, so two different values can never encode to the same bytes; nesting is
 * limited to 64 levels. The domain prefix separates what a signature means: a token signature
 * can never be replayed as a checkpoint signature.
 *
 * Fixed vectors live in `testdata/canonical_v1.json`.
 *
 * @module
 */

/** The version written into every encoding's prefix. */
export const CANONICAL_VERSION = 1;

const MAX_DEPTH = 64;
const encoder = new TextEncoder();

/**
 * Serialises `value` as RFC 8785 canonical JSON text.
 *
 * @example Keys are sorted, whitespace dropped
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { canonicalJson } from "./canonical.ts";
 * deepEqual(canonicalJson({ b: 1, a: [true, null, "x"] }), '{"a":[true,null,"x"],"b":1}');
 * ```
 */
export function canonicalJson(value: unknown): string {
  return write(value, []);
}

/**
 * Returns the ACE-1 bytes of `value` under `domain` (for example `"token"` or `"audit-entry"`).
 *
 * @example Encode a token body
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { canonicalBytes } from "./canonical.ts";
 * const bytes = canonicalBytes("demo", { a: 1 });
 * deepEqual(new TextDecoder().decode(bytes), 'astrid-ace/1/demo\n{"a":1}');
 * ```
 */
export function canonicalBytes(domain: string, value: unknown): Uint8Array {
  if (!/^[a-z][a-z0-9-]{0,63}$/.test(domain)) {
    throw new TypeError(`Cannot encode: domain "${domain}" must match [a-z][a-z0-9-]{0,63}`);
  }
  return encoder.encode(`astrid-ace/${CANONICAL_VERSION}/${domain}\n${canonicalJson(value)}`);
}

/** The JSONPath-like location of the value being written (`$.a[0]`), built only for errors. */
function where(trail: readonly (string | number)[]): string {
  let path = "$";
  for (const step of trail) path += typeof step === "number" ? `[${step}]` : `.${step}`;
  return path;
}

// `trail` is the path to `value` as a stack (pushed and popped, so the common case allocates
// no path strings); its length is the nesting depth.
function write(value: unknown, trail: (string | number)[]): string {
  if (trail.length > MAX_DEPTH) {
    throw new TypeError(
      `Cannot encode ${where(trail)}: nesting is deeper than ${MAX_DEPTH} levels`,
    );
  }
  switch (typeof value) {
    case "string":
      if (!value.isWellFormed()) {
        throw new TypeError(`Cannot encode ${where(trail)}: string holds a lone surrogate`);
      }
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) {
        throw new TypeError(`Cannot encode ${where(trail)}: number ${value} is not finite`);
      }
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) {
          if (value[i] === undefined) {
            throw new TypeError(`Cannot encode ${where(trail)}[${i}]: undefined inside an array`);
          }
          trail.push(i);
          out += (i === 0 ? "" : ",") + write(value[i], trail);
          trail.pop();
        }
        return out + "]";
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        const name = (value as object).constructor?.name ?? "unknown";
        throw new TypeError(`Cannot encode ${where(trail)}: ${name} is not a plain object`);
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      for (let i = 1; i < keys.length; i++) {
        if (keys[i - 1]! > keys[i]!) { // most objects arrive sorted: sort only when they are not
          keys.sort(compareUtf16);
          break;
        }
      }
      let out = "{";
      for (const k of keys) {
        const member = record[k];
        if (member === undefined) continue;
        if (!k.isWellFormed()) {
          throw new TypeError(`Cannot encode ${where(trail)}: member name holds a lone surrogate`);
        }
        trail.push(k);
        out += (out.length === 1 ? "" : ",") + JSON.stringify(k) + ":" + write(member, trail);
        trail.pop();
      }
      return out + "}";
    }
    default:
      throw new TypeError(
        `Cannot encode ${where(trail)}: type ${typeof value} is not representable`,
      );
  }
}

// RFC 8785 §3.2.3: sort by UTF-16 code units, which is what `<` on JS strings does.
function compareUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
