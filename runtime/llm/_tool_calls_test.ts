import { deepEqual, equal, throws } from "node:assert/strict";
import { LlmError } from "./provider.ts";
import {
  MAX_ARGS_CHARS,
  MAX_TOOL_CALLS,
  parseToolArgs,
  tokenCount,
  ToolCallAssembler,
  withDroppedCalls,
} from "./_tool_calls.ts";

const isMalformed = (err: unknown) => err instanceof LlmError && err.code === "MALFORMED";

Deno.test("parseToolArgs() accepts objects and empty input, rejects everything else", () => {
  deepEqual(parseToolArgs("c", ""), {});
  deepEqual(parseToolArgs("c", ' {"a":[1,2]} '), { a: [1, 2] });
  for (const bad of ["[]", "null", "42", '"s"', "{", '{"a":1}{"b":2}', "{'a':1}"]) {
    throws(() => parseToolArgs("c", bad), isMalformed, bad);
  }
});

Deno.test("parseToolArgs() keeps a __proto__ key as plain data", () => {
  const args = parseToolArgs("c", '{"__proto__":{"polluted":true}}');
  equal(({} as Record<string, unknown>).polluted, undefined);
  equal(Object.getPrototypeOf(args), Object.prototype);
});

Deno.test("ToolCallAssembler ends a call only with complete, parsed arguments", () => {
  const a = new ToolCallAssembler();
  deepEqual(a.start(0, "id1", "bash"), { type: "tool_call_start", id: "id1", name: "bash" });
  a.append(0, '{"cmd":');
  a.append(0, '"ls"}');
  deepEqual(a.end(0), { type: "tool_call_end", id: "id1", name: "bash", args: { cmd: "ls" } });
  deepEqual(a.openCalls(), []);
});

Deno.test("ToolCallAssembler keeps a call whose arguments do not parse open, so it is dropped", () => {
  const a = new ToolCallAssembler();
  a.start(3, "id1", "bash");
  a.append(3, '{"cmd":"rm');
  throws(() => a.end(3), isMalformed);
  deepEqual(a.openCalls(), [{ id: "id1", name: "bash" }]);
});

Deno.test("ToolCallAssembler rejects duplicate ids, empty names, reused slots and unknown slots", () => {
  const a = new ToolCallAssembler();
  a.start(0, "id1", "bash");
  throws(() => a.start(0, "id2", "bash"), isMalformed);
  throws(() => a.start(1, "id1", "bash"), isMalformed);
  throws(() => a.start(2, "id3", ""), isMalformed);
  throws(() => a.start(2, "", "bash"), isMalformed);
  throws(() => a.start(2, "id4", "x".repeat(300)), isMalformed);
  throws(() => a.append(9, "{}"), isMalformed);
  throws(() => a.end(9), isMalformed);
  a.end(0);
  throws(() => a.start(0, "id1", "bash"), isMalformed, "an id cannot come back after it ended");
});

Deno.test("ToolCallAssembler caps argument size and call count", () => {
  const a = new ToolCallAssembler();
  a.start(0, "big", "write");
  a.append(0, "x".repeat(MAX_ARGS_CHARS));
  throws(() => a.append(0, "y"), isMalformed);
  const b = new ToolCallAssembler();
  for (let i = 0; i < MAX_TOOL_CALLS; i++) {
    b.start(i, `id${i}`, "t");
    b.end(i);
  }
  throws(() => b.start(MAX_TOOL_CALLS, "one-more", "t"), isMalformed);
});

Deno.test("ToolCallAssembler.endAll() ends calls in slot order", () => {
  const a = new ToolCallAssembler();
  a.start(2, "b", "t");
  a.start(0, "a", "t");
  deepEqual(a.endAll().map((e) => e.type === "tool_call_end" && e.id), ["a", "b"]);
});

Deno.test("withDroppedCalls() names the dropped calls and keeps code and retryability", () => {
  const base = new LlmError("NETWORK", "Cannot read: current connection reset", { status: 502 });
  const err = withDroppedCalls(base, [{ id: "c1", name: "bash" }]);
  equal(err.code, "NETWORK");
  equal(err.retryable, true);
  equal(err.status, 502);
  deepEqual(err.droppedToolCalls, ["c1"]);
  equal(
    err.message,
    "Cannot read: current connection reset; dropped the incomplete tool call(s) c1 (bash)",
  );
  equal(withDroppedCalls(base, []), base);
});

Deno.test("tokenCount() treats absent as 0 and rejects hostile values", () => {
  equal(tokenCount(undefined, "x"), 0);
  equal(tokenCount(null, "x"), 0);
  equal(tokenCount(12, "x"), 12);
  for (const bad of [-1, 0.5, "12", Number.NaN, 2 ** 60, {}]) {
    throws(() => tokenCount(bad, "x"), isMalformed);
  }
});
