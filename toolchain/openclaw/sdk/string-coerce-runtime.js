// Astrid's shim for `openclaw/plugin-sdk/string-coerce-runtime`: the pure coercion helpers for
// strings, records, numbers, booleans and string lists. Written against OpenClaw's published
// types and doc comments; nothing here throws on hostile input (non-strings, NaN, objects whose
// getters or toString throw) except where a helper is documented to take a string.

// --- strings -------------------------------------------------------------------------------------

/** Reads a value only when it is already a string, preserving whitespace. */
export function readStringValue(value) {
  return typeof value === "string" ? value : undefined;
}

/** Trims string input and returns null for non-strings or empty strings. */
export function normalizeNullableString(value) {
  return normalizeOptionalString(value) ?? null;
}

/** Trims string input and returns undefined for non-strings or empty strings. */
export function normalizeOptionalString(value) {
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  return trimmed ? trimmed : undefined;
}

/** Trims bounded string input and rejects blank, non-string, or overlong values. */
export function normalizeBoundedOptionalString(value, maxLength) {
  const normalized = normalizeOptionalString(value);
  if (normalized === undefined) return undefined;
  const max = typeof maxLength === "number" && !Number.isNaN(maxLength) ? maxLength : 0;
  return normalized.length <= max ? normalized : undefined;
}

/** Requires non-blank string input while preserving its original whitespace. */
export function readNonBlankString(value) {
  return typeof value === "string" && value.trim() ? value : undefined;
}

/** Rejects only empty or non-string values while preserving whitespace. */
export function readNonEmptyStringPreservingWhitespace(value) {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/** Stringifies primitive ids/flags before applying optional string normalization. */
export function normalizeStringifiedOptionalString(value) {
  if (typeof value === "string") return normalizeOptionalString(value);
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === "bigint" || typeof value === "boolean") return String(value);
  return undefined;
}

/** Normalizes an optional array of primitive-ish values into non-empty strings. */
export function normalizeStringifiedEntries(values) {
  if (!Array.isArray(values)) return [];
  const out = [];
  for (const value of values) {
    const normalized = normalizeStringifiedOptionalString(value);
    if (normalized !== undefined) out.push(normalized);
  }
  return out;
}

/** Lowercases a normalized optional string. */
export function normalizeOptionalLowercaseString(value) {
  return normalizeOptionalString(value)?.toLowerCase();
}

/** Lowercases a normalized string or returns an empty string when absent. */
export function normalizeLowercaseStringOrEmpty(value) {
  return normalizeOptionalLowercaseString(value) ?? "";
}

const FAST_TRUE = new Set(["1", "true", "yes", "on", "fast", "enable", "enabled"]);
const FAST_FALSE = new Set(["0", "false", "no", "off", "normal", "disable", "disabled"]);

/** Parses loose boolean/fast-mode flags from strings or booleans: `true`, `false` or `"auto"`. */
export function normalizeFastMode(raw) {
  if (typeof raw === "boolean") return raw;
  const text = normalizeOptionalLowercaseString(raw);
  if (text === undefined) return undefined;
  if (text === "auto") return "auto";
  if (FAST_TRUE.has(text)) return true;
  if (FAST_FALSE.has(text)) return false;
  return undefined;
}

/** Lowercases text while intentionally preserving surrounding whitespace. */
export function lowercasePreservingWhitespace(value) {
  return typeof value === "string" ? value.toLowerCase() : "";
}

/** Locale-aware lowercase helper that still preserves surrounding whitespace. */
export function localeLowercasePreservingWhitespace(value) {
  return typeof value === "string" ? value.toLocaleLowerCase() : "";
}

/** Normalizes a thread/id value and stringifies finite numeric ids. */
export function normalizeOptionalStringifiedId(value) {
  if (typeof value === "string") return normalizeOptionalString(value);
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === "bigint") return String(value);
  return undefined;
}

/** Type guard for strings that remain non-empty after trimming. */
export function hasNonEmptyString(value) {
  return typeof value === "string" && value.trim().length > 0;
}

// --- records -------------------------------------------------------------------------------------

/** Type guard for non-array object records at browser-safe boundaries. */
export function isRecord(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const isObject = (value) => typeof value === "object" && value !== null;

/** Coerces object-like values to records, falling back to an empty record. */
export function asRecord(value) {
  return isObject(value) ? value : {};
}

/** Reads a field only when it exists as a string (a throwing getter reads as absent). */
export function readStringField(record, key) {
  if (!isObject(record)) return undefined;
  try {
    const value = record[key];
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Returns a non-array record or undefined. */
export function asOptionalRecord(value) {
  return isRecord(value) ? value : undefined;
}

/** Returns a non-array record or a fresh ordinary empty record. */
export function asNonArrayRecord(value) {
  return isRecord(value) ? value : {};
}

/** Returns a non-array record or null. */
export function asNullableRecord(value) {
  return isRecord(value) ? value : null;
}

/** Returns any object-backed record, including arrays, or undefined. */
export function asOptionalObjectRecord(value) {
  return isObject(value) ? value : undefined;
}

/** Returns any object-backed record, including arrays, or null. */
export function asNullableObjectRecord(value) {
  return isObject(value) ? value : null;
}

/** Retains string-valued own enumerable entries from a non-array record. */
export function filterStringRecord(value) {
  if (!isRecord(value)) return undefined;
  const entries = [];
  for (const key of Object.keys(value)) {
    let entry;
    try {
      entry = value[key];
    } catch {
      continue;
    }
    if (typeof entry === "string") entries.push([key, entry]);
  }
  // fromEntries defines data properties, so a "__proto__" key stays an ordinary key.
  return Object.fromEntries(entries);
}

// --- UTF-16 --------------------------------------------------------------------------------------

const isHighSurrogate = (code) => code >= 0xd800 && code <= 0xdbff;

/** Truncates a UTF-16 string to at most `maxLen` code units without cutting a surrogate pair. */
export function truncateUtf16Safe(input, maxLen) {
  const text = typeof input === "string" ? input : String(input ?? "");
  const limit = Number.isNaN(maxLen) || typeof maxLen !== "number"
    ? 0
    : Math.max(0, Math.floor(maxLen));
  if (text.length <= limit) return text;
  const end = limit > 0 && isHighSurrogate(text.charCodeAt(limit - 1)) ? limit - 1 : limit;
  return text.slice(0, end);
}

// --- numbers -------------------------------------------------------------------------------------

const DECIMAL_TOKEN = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;
const INTEGER_TOKEN = /^[+-]?\d+$/;

/** Largest magnitude a `Date` accepts, in milliseconds since the epoch. */
const MAX_DATE_TIMESTAMP_MS = 8_640_000_000_000_000;

/** Returns a number only when the input is already finite. */
export function asFiniteNumber(value) {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

const inBounds = (value, range) => {
  const { min, max, minExclusive, maxExclusive } = isObject(range) ? range : {};
  if (typeof min === "number" && !(minExclusive ? value > min : value >= min)) return false;
  if (typeof max === "number" && !(maxExclusive ? value < max : value <= max)) return false;
  return true;
};

/** Returns a finite number only when it satisfies the supplied inclusive/exclusive bounds. */
export function asFiniteNumberInRange(value, range) {
  const n = asFiniteNumber(value);
  return n !== undefined && inBounds(n, range) ? n : undefined;
}

/** Returns a safe integer only when it satisfies the supplied inclusive bounds. */
export function asSafeIntegerInRange(value, range) {
  if (!Number.isSafeInteger(value)) return undefined;
  const { min, max } = isObject(range) ? range : {};
  return inBounds(value, { min, max }) ? value : undefined;
}

/** Parses a finite decimal/scientific number from a whole string token, else undefined. */
function parseDecimalToken(value) {
  if (typeof value !== "string" || value.length > 1000) return undefined;
  const trimmed = value.trim();
  if (!DECIMAL_TOKEN.test(trimmed)) return undefined;
  const n = Number(trimmed);
  return Number.isFinite(n) ? n : undefined;
}

/** Parses finite numbers from number values or strict numeric string tokens. */
export function parseFiniteNumber(value) {
  return typeof value === "number" ? asFiniteNumber(value) : parseDecimalToken(value);
}

/** Parses only safe integer numbers or base-10 integer strings. */
export function parseStrictInteger(value) {
  if (typeof value === "number") return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value !== "string" || value.length > 1000) return undefined;
  const trimmed = value.trim();
  if (!INTEGER_TOKEN.test(trimmed)) return undefined;
  const n = Number(trimmed);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Parses only finite decimal/scientific string tokens (or finite numbers), rejecting partial numbers. */
export function parseStrictFiniteNumber(value) {
  return parseFiniteNumber(value);
}

/** Parses strict positive integer values from numbers or strings. */
export function parseStrictPositiveInteger(value) {
  const n = parseStrictInteger(value);
  return n !== undefined && n > 0 ? n : undefined;
}

/** Parses strict non-negative integer values from numbers or strings. */
export function parseStrictNonNegativeInteger(value) {
  const n = parseStrictInteger(value);
  return n !== undefined && n >= 0 ? n + 0 : undefined;
}

/** Returns positive safe integers without string coercion. */
export function asPositiveSafeInteger(value) {
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** Returns a Date-valid millisecond timestamp (a finite number, or a valid `Date`'s time). */
export function asDateTimestampMs(value) {
  let n = value;
  if (value instanceof Date) {
    try {
      n = value.getTime();
    } catch {
      return undefined;
    }
  }
  return typeof n === "number" && Number.isFinite(n) && Math.abs(n) <= MAX_DATE_TIMESTAMP_MS
    ? n
    : undefined;
}

// --- booleans ------------------------------------------------------------------------------------

const DEFAULT_TRUTHY = ["true", "1", "yes", "on"];
const DEFAULT_FALSY = ["false", "0", "no", "off"];

/** Returns only real boolean values and leaves boolean-like strings for explicit parsing. */
export function asBoolean(value) {
  return typeof value === "boolean" ? value : undefined;
}

/** Parses booleans and configured string literals, returning undefined for ambiguous input. */
export function parseBooleanValue(value, options) {
  if (typeof value === "boolean") return value;
  const text = normalizeOptionalLowercaseString(value);
  if (text === undefined) return undefined;
  const truthy = Array.isArray(options?.truthy) ? options.truthy : DEFAULT_TRUTHY;
  const falsy = Array.isArray(options?.falsy) ? options.falsy : DEFAULT_FALSY;
  if (truthy.includes(text)) return true;
  if (falsy.includes(text)) return false;
  return undefined;
}

// --- string lists --------------------------------------------------------------------------------

/** `String(value)` that never throws; nullish and unprintable values become "". */
function safeString(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  try {
    return String(value);
  } catch {
    return "";
  }
}

const iterate = (values) => {
  if (values === null || values === undefined) return [];
  if (typeof values === "string") return [values];
  try {
    return typeof values[Symbol.iterator] === "function" ? Array.from(values) : [];
  } catch {
    return [];
  }
};

/** Retains runtime string entries from arrays without normalizing their contents. */
export function filterStringEntries(value) {
  return Array.isArray(value) ? value.filter((entry) => typeof entry === "string") : [];
}

/** Coerces entries to strings, trims them, and drops empty results. */
export function normalizeStringEntries(list) {
  const out = [];
  for (const entry of Array.isArray(list) ? list : iterate(list)) {
    const text = safeString(entry).trim();
    if (text) out.push(text);
  }
  return out;
}

/** Normalizes string entries and lowercases each retained value. */
export function normalizeStringEntriesLower(list) {
  return normalizeStringEntries(list).map((entry) => entry.toLowerCase());
}

/** Returns first-seen unique values while preserving insertion order. */
export function uniqueValues(values) {
  return [...new Set(iterate(values))];
}

/** Returns first-seen unique strings while preserving insertion order. */
export function uniqueStrings(values) {
  return uniqueValues(values);
}

/** Returns a fresh array of unique strings in UTF-16 code-unit order. */
export function sortUniqueStrings(values) {
  return uniqueValues(values).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Normalizes entries, removes duplicates, and preserves first-seen order. */
export function normalizeUniqueStringEntries(values) {
  return uniqueStrings(normalizeStringEntries(iterate(values)));
}

/** Normalizes array-backed string lists and rejects non-array input as empty. */
export function normalizeTrimmedStringList(value) {
  return Array.isArray(value) ? normalizeStringEntries(filterStringEntries(value)) : [];
}

/** Normalizes an array-backed string list and removes duplicates. */
export function normalizeUniqueTrimmedStringList(value) {
  return uniqueStrings(normalizeTrimmedStringList(value));
}

/** Normalizes an array-backed string list, removes duplicates, and sorts it. */
export function normalizeSortedUniqueTrimmedStringList(value) {
  return sortUniqueStrings(normalizeTrimmedStringList(value));
}

/** Returns undefined instead of an empty normalized array-backed string list. */
export function normalizeOptionalTrimmedStringList(value) {
  const list = normalizeTrimmedStringList(value);
  return list.length > 0 ? list : undefined;
}

/** Normalizes either a single string-like value or an array-backed string list. */
export function normalizeSingleOrTrimmedStringList(value) {
  if (Array.isArray(value)) return normalizeTrimmedStringList(value);
  const single = normalizeStringifiedOptionalString(value);
  return single === undefined ? [] : [single];
}

/** Normalizes user-facing names into permissive lowercase slugs that may keep #/@/._+. */
export function normalizeHyphenSlug(raw) {
  const text = typeof raw === "string" ? raw.trim().toLowerCase() : "";
  return text
    .replace(/\s+/g, "-")
    .replace(/[^\p{L}\p{N}#@._+-]+/gu, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "");
}

/** Normalizes @/#-prefixed channel names into strict lowercase hyphen slugs without the prefix. */
export function normalizeAtHashSlug(raw) {
  const text = typeof raw === "string" ? raw.trim().toLowerCase() : "";
  return text
    .replace(/^[@#]+/, "")
    .replace(/[^\p{L}\p{N}]+/gu, "-")
    .replace(/^-+|-+$/g, "");
}

// --- samples -------------------------------------------------------------------------------------

const DEFAULT_SAMPLE_LIMIT = 5;

/** Formats a bounded comma-separated sample of string entries with a hidden-count suffix. */
export function summarizeStringEntries(params) {
  const entries = Array.isArray(params?.entries) ? params.entries.map(safeString) : [];
  const emptyText = typeof params?.emptyText === "string" ? params.emptyText : "none";
  if (entries.length === 0) return emptyText;
  const raw = params?.limit;
  const limit = typeof raw === "number" && Number.isFinite(raw)
    ? Math.max(1, Math.floor(raw))
    : DEFAULT_SAMPLE_LIMIT;
  const shown = entries.slice(0, limit).join(", ");
  const hidden = entries.length - Math.min(limit, entries.length);
  return hidden > 0 ? `${shown} (+${hidden} more)` : shown;
}
