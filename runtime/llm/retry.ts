/**
 * Retry with exponential backoff and jitter around one streamed model call.
 *
 * The SDKs' own retries are switched off (`maxRetries: 0`) so that this one place decides:
 * - a retryable failure (429, 5xx, a dropped connection) BEFORE any event was yielded is
 *   retried, honouring the server's `retry-after-ms` / `retry-after` (RFC 9110 §10.2.3);
 * - a failure AFTER events were yielded is never retried here: it ends the stream with an
 *   `error` event (its `retryable` flag set), and the caller decides whether to re-run the turn;
 * - a non-retryable failure (401, 400, malformed output, cancellation) ends the stream at once.
 *
 * @module
 */
import { LlmError, type LlmEvent } from "./provider.ts";

/** A retry information passed to {@link RetryPolicy.onRetry}. */
export interface RetryNotice {
  /** The attempt that failed, from 1. */
  attempt: number;
  /** How long we wait before the next attempt. */
  delayMs: number;
  error: LlmError;
}

/** How failed calls are retried. */
export interface RetryPolicy {
  /** Total attempts including the first (1 disables retries). */
  maxAttempts: number;
  /** Backoff before the first retry, doubled per further retry. */
  baseDelayMs: number;
  /** Cap on one backoff delay. */
  maxDelayMs: number;
  /** A server asking us to wait longer than this is not retried. */
  maxRetryAfterMs: number;
  /** Random source in [0, 1) for jitter. */
  random: () => number;
  /** Waits `ms`, resolving early when `signal` aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Called before each retry (for progress output). */
  onRetry?: (notice: RetryNotice) => void;
}

/** Sleeps `ms`, resolving early when `signal` aborts. */
function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * The default policy: 4 attempts, 0.5 s doubling to at most 8 s, honouring a server's wait of
 * up to 60 s.
 *
 * @example Read the defaults
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { defaultRetryPolicy } from "./retry.ts";
 * equal(defaultRetryPolicy().maxAttempts, 4);
 * ```
 */
export function defaultRetryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    maxAttempts: 4,
    baseDelayMs: 500,
    maxDelayMs: 8_000,
    maxRetryAfterMs: 60_000,
    random: Math.random,
    sleep: abortableSleep,
    ...overrides,
  };
}

/**
 * The backoff before retry number `retry` (1 for the first retry): exponential, capped, with
 * "equal jitter" (half fixed, half random) so concurrent clients spread out.
 *
 * @example Delays grow and stay capped
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { backoffDelay, defaultRetryPolicy } from "./retry.ts";
 * const p = defaultRetryPolicy({ random: () => 0 });
 * equal(backoffDelay(1, p), 250);
 * equal(backoffDelay(2, p), 500);
 * equal(backoffDelay(20, p), 4000);
 * ```
 */
export function backoffDelay(retry: number, policy: RetryPolicy): number {
  if (!Number.isInteger(retry) || retry < 1) {
    throw new RangeError(
      `Cannot compute a backoff: current retry number is ${retry}, expected >= 1`,
    );
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(retry - 1, 30));
  return Math.round(ceiling / 2 + policy.random() * (ceiling / 2));
}

/**
 * Reads a server's requested wait from `retry-after-ms` (milliseconds) or `retry-after`
 * (delay-seconds or an HTTP date, RFC 9110 §10.2.3). Returns null when absent or unreadable.
 *
 * @example Both header forms
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { parseRetryAfter } from "./retry.ts";
 * equal(parseRetryAfter(new Headers({ "retry-after": "2" })), 2000);
 * equal(parseRetryAfter(new Headers({ "retry-after-ms": "150" })), 150);
 * equal(parseRetryAfter(new Headers({ "retry-after": "soon" })), null);
 * ```
 */
export function parseRetryAfter(headers: Headers | undefined, nowMs = Date.now()): number | null {
  if (headers === undefined) return null;
  const ms = headers.get("retry-after-ms");
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.round(Number(ms));
  const value = headers.get("retry-after")?.trim();
  if (value === undefined || value === "") return null;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  // An HTTP-date (IMF-fixdate or an obsolete form) always starts with a day name.
  if (!/^[A-Za-z]{3}/.test(value)) return null;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - nowMs);
}

function withMessage(err: LlmError, message: string): LlmError {
  return new LlmError(err.code, message, {
    retryable: err.retryable,
    ...(err.status === null ? {} : { status: err.status }),
    ...(err.retryAfterMs === null ? {} : { retryAfterMs: err.retryAfterMs }),
    droppedToolCalls: err.droppedToolCalls,
    cause: err,
  });
}

function cancelled(): LlmError {
  return new LlmError("CANCELLED", "Cannot finish the model call: it was cancelled");
}

/**
 * Runs `attempt` (which throws an {@link LlmError} on failure) and retries it per `policy`
 * while nothing has been yielded yet. Never throws: a final failure becomes an `error` event.
 *
 * @example Retry a call that fails once before yielding
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { defaultRetryPolicy, streamWithRetry } from "./retry.ts";
 * import { LlmError, type LlmEvent } from "./provider.ts";
 * let calls = 0;
 * async function* attempt(): AsyncGenerator<LlmEvent> {
 *   if (++calls === 1) throw new LlmError("SERVER", "Cannot stream: current status is 500");
 *   yield { type: "done", stopReason: "end_turn" };
 * }
 * const events = await Array.fromAsync(
 *   streamWithRetry(attempt, defaultRetryPolicy({ sleep: async () => {} })),
 * );
 * deepEqual(events, [{ type: "done", stopReason: "end_turn" }]);
 * ```
 */
export async function* streamWithRetry(
  attempt: (attemptNumber: number) => AsyncIterable<LlmEvent>,
  policy: RetryPolicy,
  signal?: AbortSignal,
): AsyncGenerator<LlmEvent, void, undefined> {
  for (let n = 1;; n++) {
    if (signal?.aborted) {
      yield { type: "error", error: cancelled() };
      return;
    }
    let yielded = false;
    let failure: LlmError;
    try {
      for await (const event of attempt(n)) {
        yielded = true;
        yield event;
      }
      return;
    } catch (err) {
      failure = err instanceof LlmError ? err : new LlmError(
        "NETWORK",
        `Cannot stream from the model: unexpected failure ${String(err)}`,
        { retryable: false, cause: err },
      );
    }
    if (signal?.aborted && failure.code !== "CANCELLED") failure = cancelled();
    if (yielded || !failure.retryable) {
      yield { type: "error", error: failure };
      return;
    }
    if (n >= policy.maxAttempts) {
      yield {
        type: "error",
        error: withMessage(failure, `${failure.message} (gave up after ${n} attempts)`),
      };
      return;
    }
    if (failure.retryAfterMs !== null && failure.retryAfterMs > policy.maxRetryAfterMs) {
      const msg = `${failure.message} (the server asked to wait ${failure.retryAfterMs} ms, ` +
        `more than the ${policy.maxRetryAfterMs} ms limit)`;
      yield { type: "error", error: withMessage(failure, msg) };
      return;
    }
    const delayMs = failure.retryAfterMs ?? backoffDelay(n, policy);
    policy.onRetry?.({ attempt: n, delayMs, error: failure });
    await policy.sleep(delayMs, signal);
  }
}
