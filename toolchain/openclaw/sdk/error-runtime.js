// Astrid's shim for `openclaw/plugin-sdk/error-runtime`: coercing unknown thrown values into
// Errors and text, reading codes and names, walking cause graphs, operator diagnostics, and the
// SDK's error classes. Written against OpenClaw's published types; every reader tolerates hostile
// values (throwing getters or toString, cycles, null prototypes) and never throws itself.

/** Stable error code for subagent APIs called outside an authenticated gateway request. */
export const SUBAGENT_RUNTIME_REQUEST_SCOPE_ERROR_CODE = "OPENCLAW_SUBAGENT_RUNTIME_REQUEST_SCOPE";

/** Default message paired with `SUBAGENT_RUNTIME_REQUEST_SCOPE_ERROR_CODE`. */
export const SUBAGENT_RUNTIME_REQUEST_SCOPE_ERROR_MESSAGE =
  "Plugin runtime subagent methods are only available during a gateway request.";

/** Error thrown when request-scoped plugin runtime APIs are used outside their scope. */
export class RequestScopedSubagentRuntimeError extends Error {
  constructor(message = SUBAGENT_RUNTIME_REQUEST_SCOPE_ERROR_MESSAGE) {
    super(message);
    this.name = "RequestScopedSubagentRuntimeError";
    this.code = SUBAGENT_RUNTIME_REQUEST_SCOPE_ERROR_CODE;
  }
}

/**
 * Provider assertion that no recipient-visible send began. Set retryable=false for permanent
 * payload/policy rejection; never use after an ambiguous send.
 */
export class PlatformMessageNotDispatchedError extends Error {
  constructor(message, options) {
    super(message, { cause: options?.cause });
    this.name = "PlatformMessageNotDispatchedError";
    /** @readonly */
    this.code = "OPENCLAW_PLATFORM_MESSAGE_NOT_DISPATCHED";
    /** @readonly */
    this.retryable = options?.retryable !== false;
  }
}

const isObject = (value) =>
  (typeof value === "object" && value !== null) || typeof value === "function";

/** `value[key]`, or undefined when reading it throws. */
function get(value, key) {
  if (!isObject(value)) return undefined;
  try {
    return value[key];
  } catch {
    return undefined;
  }
}

function isError(value) {
  try {
    return value instanceof Error || Object.prototype.toString.call(value) === "[object Error]";
  } catch {
    return false;
  }
}

/** Renders any value as text without throwing: JSON for plain data, else `String`. */
function stringify(value) {
  if (typeof value === "string") return value;
  if (value === undefined) return "undefined";
  if (typeof value === "symbol" || typeof value === "bigint" || typeof value === "function") {
    try {
      return String(value);
    } catch {
      return typeof value;
    }
  }
  if (isObject(value)) {
    try {
      const json = JSON.stringify(value);
      if (typeof json === "string" && json !== "{}") return json;
    } catch {
      // cyclic, bigint or a throwing getter: fall through
    }
  }
  try {
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return "[unprintable value]";
    }
  }
}

/** An Error's message without throwing ("" when unreadable or not a string). */
const messageOf = (err) => {
  const message = get(err, "message");
  return typeof message === "string" ? message : "";
};

/**
 * Normalizes an unknown thrown value into an Error. Non-Error objects become the `cause` and have
 * their enumerable fields copied so structured details (codes, statuses) survive the coercion.
 */
export function toErrorObject(value, fallbackMessage) {
  if (isError(value)) return value;
  const fallback = typeof fallbackMessage === "string" ? fallbackMessage : stringify(value);
  if (!isObject(value)) {
    const text = typeof value === "string" && value ? value : fallback;
    return new Error(text, { cause: value });
  }
  const error = new Error(messageOf(value) || fallback, { cause: value });
  let keys = [];
  try {
    keys = Object.keys(value);
  } catch {
    keys = [];
  }
  for (const key of keys) {
    if (key === "message" || key === "stack" || key === "cause" || key === "__proto__") continue;
    let field;
    try {
      field = value[key];
    } catch {
      continue;
    }
    Object.defineProperty(error, key, {
      value: field,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return error;
}

/** Preserves Error values and stringifies every other value into a new Error. */
export function toStringifiedError(value) {
  return isError(value) ? value : new Error(stringify(value));
}

/** Reads Error messages unchanged and stringifies every other value. */
export function coerceErrorMessage(value) {
  return isError(value) ? messageOf(value) : stringify(value);
}

/** The `code` of an error-like value as a string (numeric codes stringified), else undefined. */
export function extractErrorCode(err) {
  const code = get(err, "code");
  if (typeof code === "string") return code || undefined;
  if (typeof code === "number" && Number.isFinite(code)) return String(code);
  return undefined;
}

/** The `name` of an error-like value, or "" when it has none. */
export function readErrorName(err) {
  const name = get(err, "name");
  return typeof name === "string" ? name : "";
}

const MAX_GRAPH_NODES = 64;

/**
 * Every object reachable from `err` through `cause`, `errors` (AggregateError), `error` and
 * whatever `resolveNested` yields, breadth first, each once (cycles are safe), starting with
 * `err` itself. Bounded to 64 entries.
 */
export function collectErrorGraphCandidates(err, resolveNested) {
  const out = [];
  if (err === undefined || err === null) return out;
  const seen = new Set();
  const queue = [err];
  while (queue.length > 0 && out.length < MAX_GRAPH_NODES) {
    const current = queue.shift();
    if (current === undefined || current === null || seen.has(current)) continue;
    seen.add(current);
    out.push(current);
    if (!isObject(current)) continue;
    const nested = [get(current, "cause"), get(current, "error")];
    const errors = get(current, "errors");
    if (Array.isArray(errors)) nested.push(...errors.slice(0, MAX_GRAPH_NODES));
    if (typeof resolveNested === "function") {
      try {
        for (const extra of resolveNested(current) ?? []) {
          nested.push(extra);
          if (nested.length > MAX_GRAPH_NODES * 2) break;
        }
      } catch {
        // a failing resolver only loses its own candidates
      }
    }
    for (const next of nested) if (next !== undefined && next !== null) queue.push(next);
  }
  return out;
}

const MAX_CAUSE_DEPTH = 5;

/**
 * A one-line message for any thrown value: an Error's message (or name) followed by the distinct
 * messages of its `cause` chain joined with " | ", strings as they are, other values as JSON.
 */
export function formatErrorMessage(err) {
  if (!isError(err)) return stringify(err);
  const parts = [];
  let current = err;
  const seen = new Set();
  for (
    let depth = 0;
    depth <= MAX_CAUSE_DEPTH && current !== undefined && current !== null;
    depth++
  ) {
    if (seen.has(current)) break;
    seen.add(current);
    const text = isError(current)
      ? messageOf(current) || readErrorName(current) || "Error"
      : stringify(current);
    if (text && !parts.includes(text)) parts.push(text);
    current = get(current, "cause");
  }
  return parts.join(" | ");
}

/** Text for an uncaught error: an Error's stack (which includes its message), else its message. */
export function formatUncaughtError(err) {
  if (isError(err)) {
    const stack = get(err, "stack");
    if (typeof stack === "string" && stack) return stack;
  }
  return formatErrorMessage(err);
}

const diagnostics = new WeakMap();

/** Attach operator diagnostics; callers must mask opaque credentials before attachment. */
export function attachErrorDiagnostic(error, diagnostic) {
  if (!isObject(error) || typeof diagnostic !== "string" || !diagnostic.trim()) return error;
  const list = diagnostics.get(error) ?? [];
  if (!list.includes(diagnostic)) list.push(diagnostic);
  diagnostics.set(error, list);
  return error;
}

/**
 * Terminal display only. Never classify this text or use it to decide retries. The message
 * (default: `formatErrorMessage(error)`) followed by each attached diagnostic on its own line.
 */
export function formatErrorMessageForDisplay(error, message) {
  const text = typeof message === "string" ? message : formatErrorMessage(error);
  const lines = [text];
  for (const node of collectErrorGraphCandidates(error)) {
    if (!isObject(node)) continue;
    for (const diagnostic of diagnostics.get(node) ?? []) {
      if (!lines.includes(diagnostic)) lines.push(diagnostic);
    }
  }
  return lines.join("\n");
}

const APPROVAL_NOT_FOUND_CODES = new Set(["APPROVAL_NOT_FOUND", "approval_not_found"]);
const APPROVAL_NOT_FOUND_TEXT =
  /approval\b.*\bnot found|unknown (?:or expired )?approval|approval (?:id )?(?:has )?expired/i;

/**
 * Detects approval-not-found failures across gateway error shapes: an `APPROVAL_NOT_FOUND` code
 * (or `details.reason`) anywhere in the cause graph, or a legacy message saying so.
 */
export function isApprovalNotFoundError(err) {
  for (const node of collectErrorGraphCandidates(err)) {
    const code = extractErrorCode(node);
    if (code && APPROVAL_NOT_FOUND_CODES.has(code)) return true;
    const reason = get(get(node, "details"), "reason");
    if (typeof reason === "string" && APPROVAL_NOT_FOUND_CODES.has(reason)) return true;
    const text = typeof node === "string" ? node : messageOf(node);
    if (text && text.length < 10_000 && APPROVAL_NOT_FOUND_TEXT.test(text)) return true;
  }
  return false;
}
