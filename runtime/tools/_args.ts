/**
 * Argument checks shared by the tool parsers and the Worker (which re-checks what it receives).
 * Every failure is a `TypeError` that names the field.
 *
 * @module
 */

/** Narrows raw tool arguments to a plain object, refusing unknown fields. */
export function argsObject(
  tool: string,
  args: unknown,
  fields: readonly string[],
): Readonly<Record<string, unknown>> {
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    throw new TypeError(
      `Cannot parse ${tool} arguments: expected an object, current value is ${
        Array.isArray(args) ? "an array" : String(args)
      }`,
    );
  }
  const obj = args as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!fields.includes(key)) {
      throw new TypeError(`Cannot parse ${tool} arguments: unknown field "${key}"`);
    }
  }
  return obj;
}

/** A required string (non-empty unless `allowEmpty`), free of NUL bytes when `path`. */
export function reqString(
  tool: string,
  obj: Readonly<Record<string, unknown>>,
  field: string,
  opts: { allowEmpty?: boolean; path?: boolean } = {},
): string {
  const v = obj[field];
  if (typeof v !== "string") {
    throw new TypeError(
      `Cannot parse ${tool}.${field}: expected a string, current value is ${
        v === undefined ? "missing" : typeof v
      }`,
    );
  }
  if (!opts.allowEmpty && v.length === 0) {
    throw new TypeError(`Cannot parse ${tool}.${field}: it is empty`);
  }
  if (opts.path && v.includes("\0")) {
    throw new TypeError(`Cannot parse ${tool}.${field}: the path holds a NUL byte`);
  }
  return v;
}

/** An optional string (same rules as {@link reqString}). */
export function optString(
  tool: string,
  obj: Readonly<Record<string, unknown>>,
  field: string,
  opts: { path?: boolean } = {},
): string | undefined {
  return obj[field] === undefined ? undefined : reqString(tool, obj, field, opts);
}

/** An optional integer within [min, max]. */
export function optInt(
  tool: string,
  obj: Readonly<Record<string, unknown>>,
  field: string,
  min: number,
  max: number,
): number | undefined {
  const v = obj[field];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new TypeError(
      `Cannot parse ${tool}.${field}: expected an integer from ${min} to ${max}, current value is ${
        String(v)
      }`,
    );
  }
  return v;
}

/** An optional boolean. */
export function optBool(
  tool: string,
  obj: Readonly<Record<string, unknown>>,
  field: string,
): boolean | undefined {
  const v = obj[field];
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") {
    throw new TypeError(
      `Cannot parse ${tool}.${field}: expected a boolean, current value is ${typeof v}`,
    );
  }
  return v;
}

/** A required absolute path (the Worker only accepts resolved paths). */
export function absPath(
  tool: string,
  obj: Readonly<Record<string, unknown>>,
  field: string,
): string {
  const p = reqString(tool, obj, field, { path: true });
  if (!p.startsWith("/")) {
    throw new TypeError(
      `Cannot parse ${tool}.${field}: expected an absolute path, current value is "${p}"`,
    );
  }
  return p;
}
