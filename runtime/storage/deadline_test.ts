import { deepEqual, equal } from "node:assert/strict";
import { deadline, every } from "./deadline.ts";
import { evalFresh } from "../../tests/cli.ts";

/** Keeps the event loop alive while the deadlines under test run (they do not). */
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("deadline() expires once, after its time, unless cancelled", async () => {
  const fired: string[] = [];
  const start = performance.now();
  let at = 0;
  deadline(40, () => {
    fired.push("a");
    at = performance.now() - start;
  });
  const cancelB = deadline(40, () => fired.push("b"));
  const cancelC = deadline(0, () => fired.push("c"));
  cancelB();
  await pause(0);
  deepEqual(fired, ["c"]); // a zero deadline has passed at once
  cancelC(); // after it expired: nothing happens
  await pause(120);
  deepEqual(fired, ["c", "a"]);
  equal(at >= 39, true, `expired after ${at} ms`);
});

Deno.test("deadline() and every() do not keep a process alive on their own", async () => {
  const script = `
    import { deadline, every } from ${
    JSON.stringify(new URL("./deadline.ts", import.meta.url).href)
  };
    deadline(60_000, () => console.log("expired"));
    every(60_000, () => console.log("ticked"));
    console.log("done");
  `;
  const stdout = await evalFresh(script);
  equal(stdout, "done\n"); // exited at once, never expired
});

Deno.test("every() ticks at its interval until stopped, never after", async () => {
  let ticks = 0;
  const start = performance.now();
  const stop = every(15, () => ticks++);
  // However loaded the machine, ticks come; then none after stop().
  while (ticks < 3 && performance.now() - start < 10_000) await pause(10);
  stop();
  const seen = ticks;
  equal(seen >= 3, true, `${seen} ticks`);
  equal(performance.now() - start >= 44, true, "three 15 ms intervals passed first");
  await pause(60);
  equal(ticks, seen);
});
