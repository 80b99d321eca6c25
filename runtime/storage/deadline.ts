/**
 * Cancellable timers that do not use `setTimeout`: in Deno 2.9 the first `setTimeout` or
 * `setInterval` of a process loads Node's timer layer (about 20 modules, 4 ms), which a one-shot
 * command paid for the deadline of its single file call and for the audit log's checkpoint
 * timer. `Atomics.waitAsync` times out on V8's own task runner instead. Like an unref'd timer,
 * neither keeps the process alive: what the timer guards (a pending call's Worker or subprocess,
 * an open log's user) does that.
 *
 * @module
 */

/**
 * Calls `onExpire` once `ms` milliseconds have passed, unless the returned function is called
 * first (then never).
 *
 * @example Cancelled before it expires
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { deadline } from "./deadline.ts";
 * let expired = false;
 * const cancel = deadline(10, () => (expired = true));
 * cancel();
 * await new Promise((r) => setTimeout(r, 30));
 * equal(expired, false);
 * ```
 */
export function deadline(ms: number, onExpire: () => void): () => void {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  let settled = false;
  const expire = () => {
    if (settled) return;
    settled = true;
    onExpire();
  };
  const wait = Atomics.waitAsync(cell, 0, 0, Math.max(0, ms));
  if (wait.async) wait.value.then((how) => how === "timed-out" && expire());
  else queueMicrotask(expire); // a deadline of 0 (or less) has passed already
  return () => {
    if (settled) return;
    settled = true;
    Atomics.notify(cell, 0); // wakes the waiter: nothing is left pending
  };
}

/**
 * Calls `onTick` every `ms` milliseconds (after each interval has passed) until the returned
 * function is called.
 *
 * @example Ticks until stopped
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { every } from "./deadline.ts";
 * let ticks = 0;
 * const stop = every(5, () => ticks++);
 * await new Promise((r) => setTimeout(r, 40));
 * stop();
 * ok(ticks >= 1);
 * ```
 */
export function every(ms: number, onTick: () => void): () => void {
  let cancel = () => {};
  let stopped = false;
  const arm = () => {
    cancel = deadline(ms, () => {
      if (stopped) return;
      arm();
      onTick();
    });
  };
  arm();
  return () => {
    stopped = true;
    cancel();
  };
}
