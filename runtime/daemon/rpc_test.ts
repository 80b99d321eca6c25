import { deepEqual, equal, match, ok } from "node:assert/strict";
import { Dispatcher, MAX_FRAME_BYTES } from "./rpc.ts";
import { type RpcCall, RpcError, RpcErrorCode, type RpcMethod } from "./types.ts";

const calls: unknown[] = [];

const respond: RpcMethod = {
  name: "approvals.respond",
  summary: "test",
  params: {
    type: "object",
    additionalProperties: false,
    required: ["id", "answer"],
    properties: {
      id: { type: "string", description: "id" },
      answer: { enum: ["once", "session", "always", "deny"], description: "answer" },
    },
  },
  result: {},
  handler(params: { id: string; answer: string }) {
    calls.push(params);
    if (params.id === "missing") throw new RpcError(RpcErrorCode.NotFound, "no approval missing");
    if (params.id === "boom") throw new Error("disk on fire");
    return Promise.resolve({ id: params.id, status: "executed" });
  },
};

const echo: RpcMethod = {
  name: "echo",
  summary: "test",
  params: {
    type: "object",
    additionalProperties: false,
    properties: { n: { type: "integer", description: "n" } },
  },
  result: {},
  handler: (params: { n?: number }) => Promise.resolve(params.n ?? null),
};

const call = {
  client: { id: "c1", kind: "cli", name: "test" },
  signal: new AbortController().signal,
  notify() {},
  daemon: {} as never,
} satisfies RpcCall;

const d = new Dispatcher([respond, echo]);

async function ask(frame: unknown): Promise<unknown> {
  const reply = await d.handle(typeof frame === "string" ? frame : JSON.stringify(frame), call);
  return reply === null ? null : JSON.parse(reply);
}

Deno.test("handle() answers a valid request with its result", async () => {
  deepEqual(
    await ask({
      jsonrpc: "2.0",
      id: 1,
      method: "approvals.respond",
      params: { id: "a", answer: "once" },
    }),
    { jsonrpc: "2.0", id: 1, result: { id: "a", status: "executed" } },
  );
});

Deno.test("handle() returns -32700 when the frame is not JSON", async () => {
  const reply = await ask("{nope") as { id: null; error: { code: number } };
  equal(reply.error.code, -32700);
  equal(reply.id, null);
});

Deno.test("handle() returns -32600 for what is not a request", async () => {
  for (
    const bad of [
      42,
      '"str"',
      { jsonrpc: "1.0", id: 1, method: "echo" },
      { jsonrpc: "2.0", id: 1 },
      { jsonrpc: "2.0", id: { x: 1 }, method: "echo" },
      { jsonrpc: "2.0", id: 1, method: "echo", params: "x" },
      [],
    ]
  ) {
    const reply = await ask(typeof bad === "string" ? bad : bad) as { error: { code: number } };
    equal(reply.error.code, -32600, JSON.stringify(bad));
  }
});

Deno.test("handle() returns -32601 naming an unknown method", async () => {
  const reply = await ask({ jsonrpc: "2.0", id: "x", method: "sessions.destroyAll" }) as {
    id: string;
    error: { code: number; message: string };
  };
  equal(reply.id, "x");
  equal(reply.error.code, -32601);
  match(reply.error.message, /sessions\.destroyAll/);
});

Deno.test("handle() returns -32602 naming the field when params do not match", async () => {
  const cases: [unknown, RegExp][] = [
    [{ id: "a", answer: "yes" }, /params\.answer must be one of once\|session\|always\|deny/],
    [{ id: "a" }, /params\.answer is required/],
    [{ id: 3, answer: "once" }, /params\.id must be string/],
    [{ id: "a", answer: "once", extra: 1 }, /params\.extra is not allowed/],
    [["a", "once"], /params must be object/],
  ];
  for (const [params, message] of cases) {
    const reply = await ask({ jsonrpc: "2.0", id: 1, method: "approvals.respond", params }) as {
      error: { code: number; message: string };
    };
    equal(reply.error.code, -32602);
    match(reply.error.message, message);
  }
  equal(calls.filter((c) => (c as { answer: string }).answer === "yes").length, 0);
});

Deno.test("handle() keeps an RpcError's code and hides other errors' stacks", async () => {
  const nf = await ask({
    jsonrpc: "2.0",
    id: 1,
    method: "approvals.respond",
    params: { id: "missing", answer: "deny" },
  }) as { error: { code: number; message: string } };
  equal(nf.error.code, RpcErrorCode.NotFound);
  const internal = await ask({
    jsonrpc: "2.0",
    id: 2,
    method: "approvals.respond",
    params: { id: "boom", answer: "deny" },
  }) as { error: { code: number; message: string; data?: unknown } };
  deepEqual(internal.error, { code: -32603, message: "disk on fire" });
  const debug = new Dispatcher([respond], { debug: true });
  const withStack = JSON.parse(
    (await debug.handle(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 3,
        method: "approvals.respond",
        params: { id: "boom", answer: "deny" },
      }),
      call,
    ))!,
  );
  match(String(withStack.error.data), /disk on fire/);
});

Deno.test("handle() answers nothing for a notification, even a failing one", async () => {
  const before = calls.length;
  equal(
    await ask({ jsonrpc: "2.0", method: "approvals.respond", params: { id: "n", answer: "once" } }),
    null,
  );
  equal(calls.length, before + 1);
  equal(await ask({ jsonrpc: "2.0", method: "nope" }), null);
});

Deno.test("handle() answers a batch in order and leaves notifications out", async () => {
  const reply = await ask([
    { jsonrpc: "2.0", id: 1, method: "echo", params: { n: 1 } },
    { jsonrpc: "2.0", method: "echo", params: { n: 2 } },
    { jsonrpc: "2.0", id: 3, method: "nope" },
    7,
    { jsonrpc: "2.0", id: 4, method: "echo" },
  ]) as { id: number | null; result?: unknown; error?: { code: number } }[];
  equal(reply.length, 4);
  deepEqual(reply[0], { jsonrpc: "2.0", id: 1, result: 1 });
  equal(reply[1]?.error?.code, -32601);
  equal(reply[2]?.error?.code, -32600);
  deepEqual(reply[3], { jsonrpc: "2.0", id: 4, result: null });
  equal(await ask([{ jsonrpc: "2.0", method: "echo" }]), null);
});

Deno.test("handle() refuses a frame over 1 MiB without parsing it", async () => {
  const big = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "echo",
    params: { pad: "x".repeat(MAX_FRAME_BYTES) },
  });
  const reply = await ask(big) as { error: { code: number; message: string } };
  equal(reply.error.code, -32600);
  match(reply.error.message, /too large/);
  // Multi-byte characters count as bytes: 400k three-byte characters are 1.2 MB.
  const wide = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "echo", p: "€".repeat(400_000) });
  ok(wide.length < MAX_FRAME_BYTES);
  equal((await ask(wide) as { error: { code: number } }).error.code, -32600);
});

Deno.test("new Dispatcher() refuses a method registered twice", () => {
  let threw = false;
  try {
    new Dispatcher([echo, echo]);
  } catch (err) {
    threw = err instanceof TypeError;
  }
  ok(threw);
});
