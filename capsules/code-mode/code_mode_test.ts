/**
 * capsules/code-mode, compiled by the real toolchain and called behind a real gate: results and
 * console output, the iteration and time guards, the engine's own deadline and memory limit as
 * the wall behind them, and hostile snippets that dig out the host API and find nothing to use.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { errorMessage, installFirstParty, okOutput } from "../_testing.ts";

const ALLOW = { allow: ["capsule://code-mode/*"] };

interface Run {
  ok: boolean;
  result?: unknown;
  error?: { name: string; message: string };
  console: { level: string; text: string }[];
  iterations: number;
  consoleTruncated: boolean;
}

Deno.test("code-mode run() returns the snippet's result and console output", async () => {
  await using c = await installFirstParty("code-mode", ALLOW);
  const out = okOutput(
    await c.call("run", {
      code: "console.log('sum of', input.xs);\n" +
        "const total = input.xs.reduce((a, b) => a + b, 0);\n" +
        "console.warn({ total });\n" +
        "return { total, mean: total / input.xs.length };",
      input: { xs: [1, 2, 3, 4] },
    }),
  ) as Run;
  equal(out.ok, true);
  deepEqual(out.result, { total: 10, mean: 2.5 });
  deepEqual(out.console, [
    { level: "log", text: "sum of [1,2,3,4]" },
    { level: "warn", text: '{"total":10}' },
  ]);
  equal(out.consoleTruncated, false);
});

Deno.test("code-mode run() awaits, and turns Maps, Sets, BigInts, cycles and undefined into JSON", async () => {
  await using c = await installFirstParty("code-mode", ALLOW);
  const out = okOutput(
    await c.call("run", {
      code: "await new Promise((r) => setTimeout(r, 10));\n" +
        "const o = { m: new Map([['a', 1]]), s: new Set([1, 2]), n: 2n ** 70n, u: undefined,\n" +
        "  f: function named() {}, d: new Date(0), e: new TypeError('bad') };\n" +
        "o.self = o;\nreturn o;",
    }),
  ) as Run;
  deepEqual(out.result, {
    m: { a: 1 },
    s: [1, 2],
    n: "1180591620717411303424n",
    u: null,
    f: "[Function named]",
    d: "1970-01-01T00:00:00.000Z",
    e: { name: "TypeError", message: "bad" },
    self: "[Circular]",
  });
  const none = okOutput(await c.call("run", { code: "1 + 1;" })) as Run;
  equal(none.ok, true);
  equal(none.result, null);
});

Deno.test("code-mode run() reports thrown errors and syntax errors as values, with the console so far", async () => {
  await using c = await installFirstParty("code-mode", ALLOW);
  const thrown = okOutput(
    await c.call("run", { code: "console.log('before'); null.x;" }),
  ) as Run;
  equal(thrown.ok, false);
  equal(thrown.error?.name, "TypeError");
  deepEqual(thrown.console.map((l) => l.text), ["before"]);
  const syntax = okOutput(await c.call("run", { code: "return (1 +;" })) as Run;
  equal(syntax.ok, false);
  equal(syntax.error?.name, "SyntaxError");
  match(syntax.error?.message ?? "", /Cannot parse the snippet/);
  const strict = okOutput(
    await c.call("run", { code: "undeclared = 1; return 1;" }),
  ) as Run;
  equal(strict.error?.name, "ReferenceError");
});

Deno.test("code-mode run() stops runaway loops and recursion with the iteration guard, catch or not", async () => {
  await using c = await installFirstParty("code-mode", ALLOW);
  for (
    const code of [
      "for (;;) {}",
      "while (true) { try { for (;;) {} } catch {} }",
      "let i = 0; do i++; while (i >= 0);",
      "const f = async () => { await 0; return f(); }; return f();",
      "for (const x of (function* () { for (;;) yield 1; })()) {}",
    ]
  ) {
    const out = okOutput(
      await c.call("run", { code, maxIterations: 10_000 }),
    ) as Run;
    equal(out.ok, false, code);
    equal(out.error?.name, "BudgetError", code);
    // An endless async chain may meet the settle timer (virtual clock) first.
    match(
      out.error?.message ?? "",
      /over 10000 iterations|did not settle/,
      code,
    );
  }
});

Deno.test("code-mode run() stops a busy snippet at its time guard, and one that never settles", async () => {
  await using c = await installFirstParty("code-mode", ALLOW);
  const busy = okOutput(
    await c.call("run", {
      code: "let x = 0; while (true) { x++; }",
      timeoutMs: 100,
      maxIterations: 1_000_000_000,
    }),
  ) as Run;
  equal(busy.error?.name, "BudgetError");
  match(busy.error?.message ?? "", /over 100 ms/);
  ok(busy.iterations > 1024);
  const stuck = okOutput(
    await c.call("run", {
      code: "await new Promise(() => {});",
      timeoutMs: 50,
    }),
  ) as Run;
  equal(stuck.error?.name, "BudgetError");
  match(stuck.error?.message ?? "", /did not settle/);
});

Deno.test("code-mode: a snippet that escapes the guard meets the engine's CPU deadline", async () => {
  await using c = await installFirstParty("code-mode", ALLOW, undefined, {
    timeoutMs: 1_000,
    memoryMb: 64,
  });
  // Code built by the Function constructor at run time is not instrumented.
  const out = await c.call("run", { code: "Function('for (;;) {}')();" });
  match(errorMessage(out), /deadline/i);
  // The next call gets a fresh instance.
  deepEqual(
    (okOutput(await c.call("run", { code: "return 7;" })) as Run).result,
    7,
  );
});

Deno.test("code-mode: a snippet that exhausts memory fails, and the next call is unaffected", async () => {
  await using c = await installFirstParty("code-mode", ALLOW, undefined, {
    timeoutMs: 30_000,
    memoryMb: 16,
  });
  const out = await c.call("run", {
    code: "const a = []; for (;;) a.push(new Array(100000).fill(1.5));",
    maxIterations: 1_000_000_000,
  });
  if (out.status === "ok") {
    const run = JSON.parse(out.result.output) as Run;
    equal(run.ok, false);
    match(run.error?.message ?? "", /memory/i);
  } else match(errorMessage(out), /memory/i);
  deepEqual(
    (okOutput(await c.call("run", { code: "return 'fine';" })) as Run).result,
    "fine",
  );
});

Deno.test("code-mode: a hostile snippet finds the host API but no capability to use it", async () => {
  await using c = await installFirstParty("code-mode", ALLOW);
  await Deno.writeTextFile(`${c.root}/secret.txt`, "s3cret");
  const scoped = okOutput(
    await c.call("run", {
      code: "return [typeof fetch, typeof __astrid_api, typeof globalThis, typeof this];",
    }),
  ) as Run;
  deepEqual(scoped.result, [
    "undefined",
    "undefined",
    "undefined",
    "undefined",
  ]);
  const dug = okOutput(
    await c.call("run", {
      code: "const g = Function('return this')();\n" +
        "const api = g.__astrid_api;\n" +
        "const tryIt = async (f) => { try { return await f(); } catch (e) { return 'refused: ' + e.message; } };\n" +
        "return [\n" +
        "  await tryIt(() => api.fs.readFile('secret.txt')),\n" +
        "  await tryIt(() => api.fs.writeFile('out.txt', 'x')),\n" +
        "  await tryIt(() => api.http.request({ url: 'http://127.0.0.1:1/' })),\n" +
        "  await tryIt(() => g.fetch('http://127.0.0.1:1/')),\n" +
        "  await tryIt(() => api.kv.set('k', 1)),\n" +
        "];",
    }),
  ) as Run;
  equal(dug.ok, true, JSON.stringify(dug));
  const results = dug.result as string[];
  equal(results.length, 5);
  for (const r of results) match(r, /^refused: /, r);
  ok(!JSON.stringify(dug).includes("s3cret"));
  equal(await Deno.lstat(`${c.root}/out.txt`).catch(() => null), null);
  ok(
    (await c.entries()).every((e) =>
      !/read_file|write_file|http|kv/.test(e.resource) ||
      e.decision !== "allowed"
    ),
  );
});

Deno.test("code-mode: nothing a snippet leaves on the global object survives to the next call", async () => {
  await using c = await installFirstParty("code-mode", ALLOW);
  okOutput(
    await c.call("run", {
      code:
        "const g = Function('return this')(); g.leak = 42; Array.prototype.push = null; return 1;",
    }),
  );
  const next = okOutput(
    await c.call("run", {
      code: "const a = []; a.push(1); return [typeof Function('return this')().leak, a];",
    }),
  ) as Run;
  deepEqual(next.result, ["undefined", [1]]);
});
