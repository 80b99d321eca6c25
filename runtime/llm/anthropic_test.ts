import { deepEqual, equal, ok } from "node:assert/strict";
import { startFakeAnthropic } from "./replay_anthropic.ts";
import { AnthropicProvider } from "./anthropic.ts";
import { costOf, DEFAULT_PRICING } from "./pricing.ts";
import type { LlmError, LlmEvent, LlmRequest } from "./provider.ts";

const REQ: LlmRequest = {
  system: "You are terse.",
  tools: [
    {
      name: "read_file",
      description: "Read a file",
      inputSchema: { type: "object", properties: { path: { type: "string" } } },
    },
    {
      name: "bash",
      description: "Run a command",
      inputSchema: { type: "object", properties: { cmd: { type: "string" } } },
    },
  ],
  messages: [{ role: "user", content: [{ type: "text", text: "hello" }] }],
};

function provider(url: string, sleeps: number[] = []): AnthropicProvider {
  return new AnthropicProvider({
    model: "claude-sonnet-4-6",
    apiKey: "sk-ant-test",
    baseUrl: url,
    maxTokens: 1000,
    retry: {
      baseDelayMs: 1,
      maxDelayMs: 2,
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    },
  });
}

async function collect(p: AnthropicProvider, req: LlmRequest = REQ): Promise<LlmEvent[]> {
  return await Array.fromAsync(p.stream(req));
}

function errorOf(events: LlmEvent[]): LlmError {
  const last = events.at(-1);
  if (last?.type !== "error") {
    throw new Error(`expected a final error event, got ${JSON.stringify(last)}`);
  }
  return last.error;
}

Deno.test("AnthropicProvider.stream() yields text deltas, usage and done for a text turn", async () => {
  const fake = startFakeAnthropic([{
    text: "Hello from the fake model",
    usage: { inputTokens: 12, outputTokens: 7 },
  }]);
  try {
    const events = await collect(provider(fake.url));
    const text = events.flatMap((e) => (e.type === "text_delta" ? [e.text] : []));
    ok(text.length > 1, "text arrives as several deltas");
    equal(text.join(""), "Hello from the fake model");
    deepEqual(events.at(-2), {
      type: "usage",
      inputTokens: 12,
      outputTokens: 7,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    });
    deepEqual(events.at(-1), { type: "done", stopReason: "end_turn" });
    const h = fake.headers[0];
    ok(h?.get("x-api-key") === "sk-ant-test" || h?.get("authorization") === "Bearer sk-ant-test");
  } finally {
    await fake.close();
  }
});

Deno.test("AnthropicProvider.stream() assembles a tool call whose args are split over chunks", async () => {
  const args = { path: "/ws/src/main.ts", options: { lines: [1, 20], follow: true } };
  const fake = startFakeAnthropic([{ toolCalls: [{ id: "toolu_1", name: "read_file", args }] }]);
  try {
    const events = await collect(provider(fake.url));
    const deltas = events.flatMap((e) => (e.type === "tool_call_delta" ? [e.argsDelta] : []));
    ok(deltas.length > 1, "args arrive in several deltas");
    equal(deltas.join(""), JSON.stringify(args));
    deepEqual(events[0], { type: "tool_call_start", id: "toolu_1", name: "read_file" });
    deepEqual(events.find((e) => e.type === "tool_call_end"), {
      type: "tool_call_end",
      id: "toolu_1",
      name: "read_file",
      args,
    });
    deepEqual(events.at(-1), { type: "done", stopReason: "tool_use" });
  } finally {
    await fake.close();
  }
});

Deno.test("AnthropicProvider.stream() reports two tool calls in one turn, in order", async () => {
  const fake = startFakeAnthropic([{
    text: "Let me look.",
    toolCalls: [
      { id: "toolu_a", name: "read_file", args: { path: "a.txt" } },
      { id: "toolu_b", name: "bash", args: { cmd: "ls -la" } },
    ],
  }]);
  try {
    const events = await collect(provider(fake.url));
    const ends = events.filter((e) => e.type === "tool_call_end");
    deepEqual(ends, [
      { type: "tool_call_end", id: "toolu_a", name: "read_file", args: { path: "a.txt" } },
      { type: "tool_call_end", id: "toolu_b", name: "bash", args: { cmd: "ls -la" } },
    ]);
    ok(
      events.findIndex((e) => e.type === "text_delta") <
        events.findIndex((e) => e.type === "tool_call_start"),
    );
  } finally {
    await fake.close();
  }
});

Deno.test("AnthropicProvider.stream() usage with cache tokens prices through costOf()", async () => {
  const usage = {
    inputTokens: 200_000,
    outputTokens: 10_000,
    cacheReadTokens: 1_000_000,
    cacheWriteTokens: 100_000,
  };
  const fake = startFakeAnthropic([{ text: "ok", usage }]);
  try {
    const events = await collect(provider(fake.url));
    const u = events.find((e) => e.type === "usage");
    ok(u?.type === "usage");
    deepEqual({ ...u, type: undefined }, { ...usage, type: undefined });
    // 0.2*3 + 0.01*15 + 1*0.3 + 0.1*3.75 = 0.6 + 0.15 + 0.3 + 0.375
    ok(Math.abs(costOf(u, "claude-sonnet-4-6", DEFAULT_PRICING) - 1.425) < 1e-9);
  } finally {
    await fake.close();
  }
});

Deno.test("AnthropicProvider.stream() sends prompt-caching markers on the system prompt and the last tool", async () => {
  const fake = startFakeAnthropic([{ text: "ok" }]);
  try {
    await collect(provider(fake.url));
    const body = fake.requests[0] as {
      system: unknown;
      tools: { name: string; cache_control?: unknown }[];
      stream: boolean;
      max_tokens: number;
    };
    deepEqual(body.system, [{
      type: "text",
      text: "You are terse.",
      cache_control: { type: "ephemeral" },
    }]);
    equal(body.tools[0]?.cache_control, undefined);
    deepEqual(body.tools[1]?.cache_control, { type: "ephemeral" });
    equal(body.stream, true);
    equal(body.max_tokens, 1000);
  } finally {
    await fake.close();
  }
});

Deno.test("AnthropicProvider.stream() retries a 429, honouring retry-after, then succeeds", async () => {
  const fake = startFakeAnthropic([{ error: { status: 429, retryAfter: "2" } }, {
    text: "finally",
  }]);
  const sleeps: number[] = [];
  try {
    const events = await collect(provider(fake.url, sleeps));
    equal(fake.requests.length, 2, "the server saw two attempts");
    deepEqual(sleeps, [2000], "the wait is the server's retry-after");
    deepEqual(events.at(-1), { type: "done", stopReason: "end_turn" });
  } finally {
    await fake.close();
  }
});

Deno.test("AnthropicProvider.stream() retries two 500s with backoff, then succeeds", async () => {
  const fake = startFakeAnthropic([{ error: { status: 500 } }, { error: { status: 500 } }, {
    text: "ok",
  }]);
  const sleeps: number[] = [];
  try {
    const events = await collect(provider(fake.url, sleeps));
    equal(fake.requests.length, 3);
    equal(sleeps.length, 2);
    deepEqual(events.at(-1), { type: "done", stopReason: "end_turn" });
  } finally {
    await fake.close();
  }
});

Deno.test("AnthropicProvider.stream() gives up after maxAttempts of 529 overloads", async () => {
  const fake = startFakeAnthropic(Array.from({ length: 5 }, () => ({ error: { status: 529 } })));
  try {
    const err = errorOf(await collect(provider(fake.url)));
    equal(err.code, "SERVER");
    equal(err.status, 529);
    equal(fake.requests.length, 4);
    ok(err.message.includes("gave up after 4 attempts"));
  } finally {
    await fake.close();
  }
});

Deno.test("AnthropicProvider.stream() maps 401 to AUTH and does not retry", async () => {
  const fake = startFakeAnthropic([{ error: { status: 401, message: "invalid x-api-key" } }, {
    text: "never",
  }]);
  try {
    const events = await collect(provider(fake.url));
    const err = errorOf(events);
    equal(err.code, "AUTH");
    equal(err.retryable, false);
    equal(events.length, 1);
    equal(fake.requests.length, 1);
    ok(!err.message.includes("sk-ant-test"), "the key never appears in the message");
  } finally {
    await fake.close();
  }
});

Deno.test("AnthropicProvider.stream() drops a tool call cut off mid-stream and reports it", async () => {
  // Frames: message_start, block_start, 2 of 4 arg deltas, then the connection is cut.
  const fake = startFakeAnthropic([{
    toolCalls: [{ id: "toolu_cut", name: "bash", args: { cmd: "rm -rf /tmp/x" } }],
    fault: { after: 4, kind: "drop" },
  }]);
  try {
    const events = await collect(provider(fake.url));
    ok(events.some((e) => e.type === "tool_call_start"));
    equal(
      events.filter((e) => e.type === "tool_call_end").length,
      0,
      "no tool_call_end for the partial call",
    );
    const err = errorOf(events);
    equal(err.code, "NETWORK");
    equal(err.retryable, true);
    deepEqual(err.droppedToolCalls, ["toolu_cut"]);
    ok(err.message.includes("toolu_cut"));
    equal(fake.requests.length, 1, "not retried: events were already yielded");
  } finally {
    await fake.close();
  }
});

Deno.test("AnthropicProvider.stream() retries a stream dropped before any event was yielded", async () => {
  const fake = startFakeAnthropic([{ text: "lost", fault: { after: 1, kind: "drop" } }, {
    text: "second try",
  }]);
  try {
    const events = await collect(provider(fake.url));
    equal(fake.requests.length, 2);
    equal(events.flatMap((e) => (e.type === "text_delta" ? [e.text] : [])).join(""), "second try");
  } finally {
    await fake.close();
  }
});

Deno.test("AnthropicProvider.stream() treats a body ending before the stop reason as a drop", async () => {
  const fake = startFakeAnthropic([{ text: "cut short", fault: { after: 4, kind: "close" } }]);
  try {
    const events = await collect(provider(fake.url));
    ok(events.some((e) => e.type === "text_delta"));
    equal(events.filter((e) => e.type === "done").length, 0);
    const err = errorOf(events);
    equal(err.code, "NETWORK");
    equal(err.retryable, true);
  } finally {
    await fake.close();
  }
});

Deno.test("AnthropicProvider.stream() turns an in-stream overloaded error into a retryable SERVER error", async () => {
  const fake = startFakeAnthropic([{
    text: "partial answer",
    fault: { after: 4, kind: "error_event" },
  }]);
  try {
    const events = await collect(provider(fake.url));
    ok(events.some((e) => e.type === "text_delta"));
    const err = errorOf(events);
    equal(err.code, "SERVER");
    equal(err.retryable, true);
  } finally {
    await fake.close();
  }
});

Deno.test("AnthropicProvider.stream() reports a malformed event as MALFORMED without retrying", async () => {
  const fake = startFakeAnthropic([{ text: "abc", fault: { after: 2, kind: "malformed" } }, {
    text: "never",
  }]);
  try {
    const err = errorOf(await collect(provider(fake.url)));
    equal(err.code, "MALFORMED");
    equal(fake.requests.length, 1);
  } finally {
    await fake.close();
  }
});

Deno.test("AnthropicProvider.stream() rejects tool arguments that are not a JSON object", async () => {
  const fake = startFakeAnthropic([{
    toolCalls: [{ id: "toolu_x", name: "bash", args: ["rm", "-rf"] }],
  }]);
  try {
    const events = await collect(provider(fake.url));
    equal(events.filter((e) => e.type === "tool_call_end").length, 0);
    const err = errorOf(events);
    equal(err.code, "MALFORMED");
    deepEqual(err.droppedToolCalls, ["toolu_x"]);
  } finally {
    await fake.close();
  }
});

Deno.test("AnthropicProvider.stream() rejects negative token counts from the server", async () => {
  const fake = startFakeAnthropic([{
    text: "x",
    usage: { inputTokens: -1_000_000, outputTokens: 1 },
  }]);
  try {
    const events = await collect(provider(fake.url));
    equal(events.filter((e) => e.type === "usage").length, 0);
    equal(errorOf(events).code, "MALFORMED");
  } finally {
    await fake.close();
  }
});

Deno.test("AnthropicProvider.stream() aborts the HTTP request when the signal fires", async () => {
  const fake = startFakeAnthropic([{
    text: "a long answer that never ends",
    fault: { after: 4, kind: "hang" },
  }]);
  const controller = new AbortController();
  try {
    const events: LlmEvent[] = [];
    for await (const e of provider(fake.url).stream({ ...REQ, signal: controller.signal })) {
      events.push(e);
      if (e.type === "text_delta") controller.abort();
    }
    const err = errorOf(events);
    equal(err.code, "CANCELLED");
    equal(err.retryable, false);
    await fake.waitForAbort();
    equal(fake.aborts, 1, "the server saw the request aborted");
  } finally {
    await fake.close();
  }
});

Deno.test("AnthropicProvider.stream() with an already-aborted signal sends nothing", async () => {
  const fake = startFakeAnthropic([{ text: "never" }]);
  try {
    const events = await collect(provider(fake.url), { ...REQ, signal: AbortSignal.abort() });
    equal(errorOf(events).code, "CANCELLED");
    equal(fake.requests.length, 0);
  } finally {
    await fake.close();
  }
});
