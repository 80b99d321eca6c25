/**
 * Tiny validators for data read back from storage (private). A check returns a fresh copy of
 * the value it accepts (objects in shape order, arrays element by element) or throws; {@link
 * parse} turns the first failure into a `TypeError` that names the field (`tools[2].name`).
 *
 * Objects are strict: an undeclared key (`__proto__` included) is refused. A {@link record}
 * drops an own `__proto__` key instead of copying it, so a copy never gains a prototype. Only
 * plain objects (prototype `Object.prototype` or null) pass as objects, never arrays. Checks
 * recurse only as deep as the shapes they are built from: values under {@link unknown} are
 * kept as they are, never walked.
 *
 * @module
 */

/** Accepts a value (returning its checked copy) or throws. */
export type Check<T> = (value: unknown) => T;
/** A check whose key may be absent from a {@link strict} object. */
export type Optional<T> = Check<T | undefined> & { readonly optional: true };

type Out<C> = C extends Check<infer T> ? T : never;
type OptionalKeys<S> = { [K in keyof S]: S[K] extends { optional: true } ? K : never }[keyof S];
type Shape = Record<string, Check<unknown>>;
/** The object a {@link strict} shape accepts: optional checks make optional keys. */
export type Strict<S extends Shape> =
  & { [K in Exclude<keyof S, OptionalKeys<S>>]: Out<S[K]> }
  & { [K in OptionalKeys<S>]?: Out<S[K]> };

/** A failure on its way up: where (innermost last, once unwound) and what was expected. */
class Issue {
  constructor(
    readonly expected: string,
    readonly value: unknown,
    readonly path: (string | number)[] = [],
  ) {}
}

function isPlain(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Runs `check` on `value`, adding `step` to the path of a failure. */
function at<T>(check: Check<T>, value: unknown, step: string | number): T {
  try {
    return check(value);
  } catch (e) {
    if (e instanceof Issue) e.path.unshift(step);
    throw e;
  }
}

/** A string, matching `pattern` when given, and passing `rule` (described by `says`). */
export function string(pattern?: RegExp, rule?: (s: string) => boolean, says = ""): Check<string> {
  const expected = pattern ? `a string matching ${pattern}${says}` : "a string";
  return (v) => {
    if (typeof v !== "string" || (pattern && !pattern.test(v)) || (rule && !rule(v))) {
      throw new Issue(expected, v);
    }
    return v;
  };
}

/** `true` or `false`. */
export const boolean: Check<boolean> = (v) => {
  if (typeof v !== "boolean") throw new Issue("a boolean", v);
  return v;
};

/** Anything, kept as it is (not copied, not walked). */
export const unknown: Check<unknown> = (v) => v;

/** One of `values` (a literal when there is one). */
export function oneOf<const T extends readonly (string | number)[]>(values: T): Check<T[number]> {
  const expected = values.map((x) => JSON.stringify(x)).join(" or ");
  return (v) => {
    if (!values.includes(v as T[number])) throw new Issue(expected, v);
    return v as T[number];
  };
}

/** `check`'s value or null. */
export function nullable<T>(check: Check<T>): Check<T | null> {
  return (v) => v === null ? null : check(v);
}

/** `check`'s value or undefined; as a {@link strict} member, the key may be absent. */
export function optional<T>(check: Check<T>): Optional<T> {
  return Object.assign((v: unknown) => v === undefined ? undefined : check(v), {
    optional: true as const,
  });
}

/** An array whose every element passes `check`. */
export function array<T>(check: Check<T>): Check<T[]> {
  return (v) => {
    if (!Array.isArray(v)) throw new Issue("an array", v);
    const out = new Array<T>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = at(check, v[i], i);
    return out;
  };
}

/** A plain object whose every own enumerable value passes `check`; `__proto__` is dropped. */
export function record<T>(check: Check<T>): Check<Record<string, T>> {
  return (v) => {
    if (!isPlain(v)) throw new Issue("an object", v);
    const out: Record<string, T> = {};
    for (const key of Reflect.ownKeys(v)) {
      if (typeof key !== "string") throw new Issue("string keys only", String(key));
      if (key === "__proto__" || !Object.prototype.propertyIsEnumerable.call(v, key)) continue;
      out[key] = at(check, v[key], key);
    }
    return out;
  };
}

/** A plain object with exactly the keys of `shape` (optional ones may be absent). */
export function strict<S extends Shape>(shape: S): Check<Strict<S>> {
  const keys = Object.keys(shape);
  const known = new Set(keys);
  return (v) => {
    if (!isPlain(v)) throw new Issue("an object", v);
    for (const key of Object.keys(v)) {
      if (!known.has(key)) throw new Issue("no such key (the object is strict)", v[key], [key]);
    }
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      const check = shape[key]!;
      if ("optional" in check && !(key in v)) continue;
      out[key] = at(check, v[key], key);
    }
    return out as Strict<S>;
  };
}

/** `check`'s copy of `value`, or a `TypeError` naming the first field that fails. */
export function parse<T>(check: Check<T>, value: unknown, what: string): T {
  try {
    return check(value);
  } catch (e) {
    if (!(e instanceof Issue)) throw e;
    let path = "";
    for (const step of e.path) {
      path += typeof step === "number"
        ? `[${step}]`
        : /^[A-Za-z_$][\w$]{0,39}$/.test(step)
        ? `${path ? "." : ""}${step}`
        : `[${show(step)}]`;
    }
    throw new TypeError(
      `Cannot accept ${what}${path ? ` at ${path}` : ""}: expected ${e.expected}, ` +
        `current value is ${show(e.value)}`,
    );
  }
}

/** A short, escaped description of `v` for an error message. */
function show(v: unknown): string {
  if (typeof v === "string") {
    return v.length > 40
      ? `${JSON.stringify(v.slice(0, 40))}… (${v.length} chars)`
      : JSON.stringify(v);
  }
  if (v === null || typeof v === "number" || typeof v === "boolean") return String(v);
  return Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : typeof v;
}
