import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { LlmError, type LlmEvent } from "./provider.ts";
import {
  backoffDelay,
  defaultRetryPolicy,
  parseRetryAfter,
  type RetryPolicy,
  streamWithRetry,
} from "./retry.ts";

function policy(sleeps: number[], overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  return defaultRetryPolicy({
    random: () => 0.5,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    ...overrides,
  });
}

const DONE: LlmEvent = { type: "done", stopReason: "end_turn" };

/** An attempt function that fails with `failures[n-1]` on attempt n, then succeeds. */
function scripted(failures: (LlmError | "yield-then-fail")[], calls: { n: number }) {
  return async function* (): AsyncGenerator<LlmEvent> {
    const f = failures[calls.n++];
    if (f === "yield-then-fail") {
      yield { type: "text_delta", text: "partial" };
      throw new LlmError("NETWORK", "Cannot read: current connection reset");
    }
    if (f !== undefined) throw f;
    yield DONE;
  };
}

Deno.test("backoffDelay() doubles per retry, caps at maxDelayMs, and jitters within [ceiling/2, ceiling]", () => {
  const p = defaultRetryPolicy({ random: () => 0.999999 });
  equal(backoffDelay(1, p), 500);
  equal(backoffDelay(2, p), 1000);
  equal(backoffDelay(5, p), 8000);
  equal(backoffDelay(1000, p), 8000, "a huge retry count does not overflow");
  const low = defaultRetryPolicy({ random: () => 0 });
  equal(backoffDelay(3, low), 1000);
  throws(() => backoffDelay(0, p), RangeError);
  throws(() => backoffDelay(1.5, p), RangeError);
});

Deno.test("parseRetryAfter() reads seconds, milliseconds and HTTP dates, and ignores junk", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  equal(parseRetryAfter(new Headers({ "retry-after": "3" }), now), 3000);
  equal(parseRetryAfter(new Headers({ "retry-after": "0.5" }), now), 500);
  equal(parseRetryAfter(new Headers({ "retry-after-ms": "20", "retry-after": "9" }), now), 20);
  equal(
    parseRetryAfter(new Headers({ "retry-after": "Thu, 01 Jan 2026 00:00:10 GMT" }), now),
    10_000,
  );
  equal(
    parseRetryAfter(new Headers({ "retry-after": "Wed, 31 Dec 2025 00:00:00 GMT" }), now),
    0,
    "a past date means now",
  );
  equal(parseRetryAfter(new Headers({ "retry-after": "-5" }), now), null);
  equal(parseRetryAfter(new Headers({ "retry-after": "1e9999" }), now), null);
  equal(parseRetryAfter(new Headers(), now), null);
  equal(parseRetryAfter(undefined, now), null);
});

Deno.test("streamWithRetry() retries retryable failures before anything was yielded", async () => {
  const sleeps: number[] = [];
  const calls = { n: 0 };
  const fail = new LlmError("SERVER", "Cannot stream: current status is 503");
  const events = await Array.fromAsync(
    streamWithRetry(scripted([fail, fail], calls), policy(sleeps)),
  );
  deepEqual(events, [DONE]);
  equal(calls.n, 3);
  deepEqual(sleeps, [375, 750]);
});

Deno.test("streamWithRetry() uses the server's retry-after instead of the backoff", async () => {
  const sleeps: number[] = [];
  const calls = { n: 0 };
  const fail = new LlmError("RATE_LIMITED", "Cannot stream: current status is 429", {
    retryAfterMs: 4200,
  });
  await Array.fromAsync(streamWithRetry(scripted([fail], calls), policy(sleeps)));
  deepEqual(sleeps, [4200]);
});

Deno.test("streamWithRetry() never retries once an event was yielded", async () => {
  const calls = { n: 0 };
  const events = await Array.fromAsync(
    streamWithRetry(scripted(["yield-then-fail"], calls), policy([])),
  );
  equal(calls.n, 1);
  equal(events[0]?.type, "text_delta");
  const last = events.at(-1);
  ok(last?.type === "error");
  equal(last.error.code, "NETWORK");
  equal(last.error.retryable, true, "the caller may re-run the turn");
});

Deno.test("streamWithRetry() does not retry non-retryable failures", async () => {
  const calls = { n: 0 };
  const auth = new LlmError("AUTH", "Cannot stream: current status is 401");
  const events = await Array.fromAsync(streamWithRetry(scripted([auth], calls), policy([])));
  equal(calls.n, 1);
  deepEqual(events, [{ type: "error", error: auth }]);
});

Deno.test("streamWithRetry() gives up after maxAttempts and says so", async () => {
  const calls = { n: 0 };
  const fail = new LlmError("NETWORK", "Cannot reach: current error is ECONNREFUSED");
  const events = await Array.fromAsync(
    streamWithRetry(scripted([fail, fail, fail], calls), policy([], { maxAttempts: 3 })),
  );
  equal(calls.n, 3);
  const last = events.at(-1);
  ok(last?.type === "error");
  equal(last.error.code, "NETWORK");
  ok(last.error.message.includes("gave up after 3 attempts"));
  equal(last.error.cause, fail);
});

Deno.test("streamWithRetry() reports CANCELLED when aborted while waiting to retry", async () => {
  const controller = new AbortController();
  const calls = { n: 0 };
  const fail = new LlmError("SERVER", "Cannot stream: current status is 500");
  const p = policy([], {
    sleep: () => {
      controller.abort();
      return Promise.resolve();
    },
  });
  const events = await Array.fromAsync(
    streamWithRetry(scripted([fail, fail], calls), p, controller.signal),
  );
  equal(calls.n, 1, "no attempt after the abort");
  const last = events.at(-1);
  ok(last?.type === "error");
  equal(last.error.code, "CANCELLED");
});

Deno.test("streamWithRetry() wraps a non-LlmError throw without retrying", async () => {
  const calls = { n: 0 };
  async function* broken(): AsyncGenerator<LlmEvent> {
    calls.n++;
    yield* [];
    throw new TypeError("boom");
  }
  const events = await Array.fromAsync(streamWithRetry(broken, policy([])));
  equal(calls.n, 1);
  const last = events.at(-1);
  ok(last?.type === "error");
  ok(last.error instanceof LlmError);
  equal(last.error.retryable, false);
});

Deno.test("streamWithRetry() calls onRetry with the attempt, delay and error", async () => {
  const notices: [number, number, string][] = [];
  const calls = { n: 0 };
  const fail = new LlmError("SERVER", "Cannot stream: current status is 502");
  await Array.fromAsync(streamWithRetry(
    scripted([fail], calls),
    policy([], { onRetry: (n) => notices.push([n.attempt, n.delayMs, n.error.code]) }),
  ));
  deepEqual(notices, [[1, 375, "SERVER"]]);
});
