// Astrid's shim for `openclaw/plugin-sdk/param-readers`: the readers a tool's
// `execute(id, params)` uses to pull typed arguments out of its untrusted params object. Written
// against OpenClaw's published types. A param is read from the own property `key`, or else from
// its snake_case spelling (`maxResults` → `max_results`); a missing required or malformed param
// throws a ToolInputError naming it.

/** An invalid tool argument: the message names the param and what was wrong. */
class ToolInputError extends Error {
  constructor(message) {
    super(message);
    this.name = "ToolInputError";
    this.status = 400;
  }
}

const toSnakeCase = (key) =>
  key.replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2").replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase();

/** The raw value of `key` (or its snake_case spelling) from `params`, own properties only. */
function readRaw(params, key, label) {
  if (typeof params !== "object" || params === null) return undefined;
  const name = String(key);
  try {
    if (Object.hasOwn(params, name)) return params[name];
    const snake = toSnakeCase(name);
    if (snake !== name && Object.hasOwn(params, snake)) return params[snake];
  } catch {
    throw new ToolInputError(`${label} could not be read`);
  }
  return undefined;
}

const labelOf = (key, options) =>
  typeof options?.label === "string" && options.label ? options.label : String(key);

/**
 * Reads a string param. Trims it unless `trim: false`; an empty result counts as missing unless
 * `allowEmpty`. A missing param throws `<label> required` when `required`, else is undefined.
 */
function readToolStringParam(params, key, options = {}) {
  const label = labelOf(key, options);
  const required = options?.required === true;
  const raw = readRaw(params, key, label);
  if (typeof raw !== "string") {
    if (required) throw new ToolInputError(`${label} required`);
    return undefined;
  }
  const value = options?.trim === false ? raw : raw.trim();
  if (!value && options?.allowEmpty !== true) {
    if (required) throw new ToolInputError(`${label} required`);
    return undefined;
  }
  return value;
}

export { readToolStringParam as readStringParam };

/** Reads a string, or a finite number as its string; a blank string counts as missing. */
export function readStringOrNumberParam(params, key, options = {}) {
  const label = labelOf(key, options);
  const raw = readRaw(params, key, label);
  if (typeof raw === "number" && Number.isFinite(raw)) return String(raw);
  if (typeof raw === "string" && raw.trim()) return raw.trim();
  if (options?.required === true) throw new ToolInputError(`${label} required`);
  return undefined;
}

const DECIMAL_TOKEN = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;

/** A finite number from a number or a numeric string (`strict`: the whole string must be one). */
function toNumber(raw, strict) {
  if (typeof raw === "number") return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw !== "string" || raw.length > 1000) return undefined;
  const trimmed = raw.trim();
  if (!trimmed) return undefined;
  if (strict && !DECIMAL_TOKEN.test(trimmed)) return undefined;
  const n = strict ? Number(trimmed) : Number.parseFloat(trimmed);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Reads a finite number from a number or numeric string. `integer` truncates toward zero;
 * `positiveInteger` / `nonNegativeInteger` throw unless the value is such a safe integer;
 * `strict` refuses partial numbers like `"12px"`. A present but non-numeric value is treated as
 * missing, which throws `<label> required` when `required`.
 */
export function readNumberParam(params, key, options = {}) {
  const label = labelOf(key, options);
  const raw = readRaw(params, key, label);
  const strict = options?.strict === true;
  let value = toNumber(raw, strict);
  if (value === undefined) {
    if (options?.required === true) throw new ToolInputError(`${label} required`);
    return undefined;
  }
  if (options?.positiveInteger === true) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new ToolInputError(`${label} must be a positive integer`);
    }
    return value;
  }
  if (options?.nonNegativeInteger === true) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new ToolInputError(`${label} must be a non-negative integer`);
    }
    return value + 0;
  }
  if (options?.integer === true) value = Math.trunc(value) + 0;
  return value;
}

/** Reads an optional integer ≥ `min` (≤ `max`); a present invalid value throws `message`. */
function readBoundedInteger(params, key, options, min, what) {
  const raw = readRaw(params, key, String(key));
  if (raw === undefined || raw === null || (typeof raw === "string" && !raw.trim())) {
    return undefined;
  }
  const max = typeof options?.max === "number" ? options.max : undefined;
  const n = toNumber(raw, true);
  if (n === undefined || !Number.isSafeInteger(n) || n < min || (max !== undefined && n > max)) {
    const bound = max !== undefined ? ` no greater than ${max}` : "";
    throw new ToolInputError(
      typeof options?.message === "string" ? options.message : `${key} must be ${what}${bound}`,
    );
  }
  return n + 0;
}

/** Reads an optional positive safe integer (≤ `max`); a present invalid value throws. */
export function readPositiveIntegerParam(params, key, options = {}) {
  return readBoundedInteger(params, key, options, 1, "a positive integer");
}

/** Reads an optional non-negative safe integer (≤ `max`); a present invalid value throws. */
export function readNonNegativeIntegerParam(params, key, options = {}) {
  return readBoundedInteger(params, key, options, 0, "a non-negative integer");
}

/**
 * Reads an optional finite number within `min`/`max` (inclusive unless `minExclusive` /
 * `maxExclusive`); a present non-numeric or out-of-range value throws `message`.
 */
export function readFiniteNumberParam(params, key, options = {}) {
  const raw = readRaw(params, key, String(key));
  if (raw === undefined || raw === null || (typeof raw === "string" && !raw.trim())) {
    return undefined;
  }
  const n = toNumber(raw, true);
  const { min, max, minExclusive, maxExclusive } = options ?? {};
  const ok = n !== undefined &&
    (typeof min !== "number" || (minExclusive ? n > min : n >= min)) &&
    (typeof max !== "number" || (maxExclusive ? n < max : n <= max));
  if (!ok) {
    const parts = [];
    if (typeof min === "number") parts.push(`${minExclusive ? "greater than" : "at least"} ${min}`);
    if (typeof max === "number") parts.push(`${maxExclusive ? "less than" : "at most"} ${max}`);
    const range = parts.length ? ` ${parts.join(" and ")}` : "";
    throw new ToolInputError(
      typeof options?.message === "string"
        ? options.message
        : `${key} must be a finite number${range}`,
    );
  }
  return n;
}

/**
 * Reads a list of strings from an array (non-string entries dropped, each trimmed unless
 * `trim: false`, empty ones dropped unless `allowEmpty`) or from a single string. An absent or
 * empty list throws `<label> required` when `required`, else is undefined.
 */
export function readStringArrayParam(params, key, options = {}) {
  const label = labelOf(key, options);
  const required = options?.required === true;
  const raw = readRaw(params, key, label);
  const trim = options?.trim !== false;
  const allowEmpty = options?.allowEmpty === true;
  let list;
  if (Array.isArray(raw)) {
    list = [];
    for (const entry of raw) {
      if (typeof entry !== "string") continue;
      const value = trim ? entry.trim() : entry;
      if (value || allowEmpty) list.push(value);
    }
  } else if (typeof raw === "string") {
    const value = trim ? raw.trim() : raw;
    list = value || allowEmpty ? [value] : [];
  }
  if (!list || list.length === 0) {
    if (required) throw new ToolInputError(`${label} required`);
    return undefined;
  }
  return list;
}
