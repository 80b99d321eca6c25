/**
 * Maps whatever an SDK call threw onto an {@link LlmError}. Both official SDKs (Stainless-built)
 * throw errors with a numeric `status`, response `headers` and a parsed `error` body, so this
 * reads those fields structurally instead of importing either SDK's classes.
 *
 * @module
 */
import { LlmError, type LlmErrorCode } from "./provider.ts";
import { parseRetryAfter } from "./retry.ts";

function field(obj: unknown, key: string): unknown {
  return typeof obj === "object" && obj !== null
    ? (obj as Record<string, unknown>)[key]
    : undefined;
}

/** The error type string in an API error body (`{error:{type}}`, `{type}`, or `{code}`). */
function errorType(err: unknown): string | null {
  const direct = field(err, "type");
  if (typeof direct === "string") return direct;
  const body = field(err, "error");
  for (
    const candidate of [
      field(field(body, "error"), "type"),
      field(body, "type"),
      field(body, "code"),
    ]
  ) {
    if (typeof candidate === "string") return candidate;
  }
  return null;
}

function codeForStatus(status: number): LlmErrorCode {
  if (status === 401 || status === 403) return "AUTH";
  if (status === 429) return "RATE_LIMITED";
  if (status === 408 || status === 409 || status >= 500) return "SERVER";
  return "BAD_REQUEST";
}

function codeForType(type: string | null): LlmErrorCode {
  switch (type) {
    case "authentication_error":
    case "permission_error":
    case "invalid_api_key":
      return "AUTH";
    case "rate_limit_error":
    case "rate_limit_exceeded":
      return "RATE_LIMITED";
    case "invalid_request_error":
    case "not_found_error":
    case "request_too_large":
      return "BAD_REQUEST";
    default:
      return "SERVER";
  }
}

function short(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.length > 300 ? `${msg.slice(0, 300)}…` : msg;
}

/** `url` without credentials (user info, key-like query parameters), for messages. */
function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    for (const name of [...u.searchParams.keys()]) {
      if (/key|token|secret|sig|password/i.test(name)) u.searchParams.set(name, "***");
    }
    return u.toString();
  } catch {
    return JSON.stringify(url.slice(0, 200));
  }
}

/**
 * Classifies `err`, thrown while calling `provider` at `url` (named in the message when given,
 * without credentials). An aborted `signal` always wins (CANCELLED); a JSON syntax error is
 * MALFORMED; an HTTP status maps by class; an error event inside the stream maps by its type;
 * anything else is a retryable NETWORK failure.
 *
 * @example The message names the URL that was called
 * ```ts
 * import { equal, match } from "node:assert/strict";
 * import { toLlmError } from "./_errors.ts";
 * const err = toLlmError(new TypeError("fetch failed"), "openai", undefined, "http://127.0.0.1:9/v1/chat/completions");
 * equal(err.code, "NETWORK");
 * match(err.message, /openai at http:\/\/127\.0\.0\.1:9\/v1\/chat\/completions/);
 * ```
 */
export function toLlmError(
  err: unknown,
  provider: string,
  signal?: AbortSignal,
  url?: string,
): LlmError {
  if (err instanceof LlmError) return err;
  const at = url === undefined ? provider : `${provider} at ${shownUrl(url)}`;
  if (signal?.aborted) {
    return new LlmError("CANCELLED", `Cannot finish the ${provider} call: it was cancelled`, {
      cause: err,
    });
  }
  if (err instanceof SyntaxError) {
    return new LlmError(
      "MALFORMED",
      `Cannot read the ${at} stream: current event is not valid JSON (${short(err)})`,
      { cause: err },
    );
  }
  const status = field(err, "status");
  const headers = field(err, "headers");
  if (typeof status === "number") {
    const retryAfterMs = parseRetryAfter(headers instanceof Headers ? headers : undefined);
    return new LlmError(
      codeForStatus(status),
      `Cannot stream from ${at}: current HTTP status is ${status} (${short(err)})`,
      { status, cause: err, ...(retryAfterMs === null ? {} : { retryAfterMs }) },
    );
  }
  if (
    typeof field(err, "error") === "object" && field(err, "error") !== null &&
    headers instanceof Headers
  ) {
    // An API error with a body but no status: an `error` event inside an otherwise healthy
    // stream (e.g. overloaded_error). Connection failures carry neither body nor headers.
    const type = errorType(err);
    return new LlmError(
      codeForType(type),
      `Cannot continue the ${at} stream: current error event is ${type ?? "untyped"} (${
        short(err)
      })`,
      { cause: err },
    );
  }
  return new LlmError(
    "NETWORK",
    `Cannot reach ${at}: current connection error is ${short(err)}`,
    { cause: err },
  );
}
