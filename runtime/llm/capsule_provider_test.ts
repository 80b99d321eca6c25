import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  type CapsuleModelCall,
  type CapsuleModelRequest,
  CapsuleProvider,
  parseCapsuleAnswer,
} from "./capsule_provider.ts";
import type { LlmEvent, LlmRequest } from "./provider.ts";

async function collect(provider: CapsuleProvider, req: LlmRequest): Promise<LlmEvent[]> {
  const events: LlmEvent[] = [];
  for await (const e of provider.stream(req)) events.push(e);
  return events;
}

const REQ: LlmRequest = {
  system: "be brief",
  messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
  tools: [{ name: "read_file", description: "Reads", inputSchema: { type: "object" } }],
};

Deno.test("CapsuleProvider.stream() sends the hook payload in the capsule's shape", async () => {
  let seen: CapsuleModelRequest | undefined;
  const provider = new CapsuleProvider({
    capsule: "echo",
    model: "echo-1",
    maxTokens: 300,
    temperature: 0.5,
    call: (req) => {
      seen = req;
      return Promise.resolve({ content: [] });
    },
  });
  equal(provider.name, "capsule:echo");
  await collect(provider, REQ);
  deepEqual(seen, {
    model: "echo-1",
    system: "be brief",
    messages: REQ.messages,
    tools: [{ name: "read_file", description: "Reads", input_schema: { type: "object" } }],
    max_tokens: 300,
    temperature: 0.5,
  });
});

Deno.test("CapsuleProvider.stream() yields each chunk while the call is still running", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const call: CapsuleModelCall = async (_req, emit) => {
    emit({ type: "text", text: "first" });
    await gate;
    emit({ type: "text", text: " second" });
    return { content: [{ type: "text", text: "first second" }] };
  };
  const provider = new CapsuleProvider({ capsule: "c", model: "m", maxTokens: 10, call });
  const it = provider.stream(REQ)[Symbol.asyncIterator]();
  deepEqual((await it.next()).value, { type: "text_delta", text: "first" });
  release();
  deepEqual((await it.next()).value, { type: "text_delta", text: " second" });
  deepEqual((await it.next()).value, { type: "done", stopReason: "end_turn" });
  equal((await it.next()).done, true);
});

Deno.test("CapsuleProvider.stream() turns tool calls into events once, with usage", async () => {
  const provider = new CapsuleProvider({
    capsule: "c",
    model: "m",
    maxTokens: 10,
    call: (_req, emit) => {
      emit({ type: "tool_call", id: "t1", name: "read_file", args: { path: "a" } });
      return Promise.resolve({
        content: [
          { type: "tool_use", id: "t1", name: "read_file", input: { path: "a" } },
          { type: "tool_use", id: "t2", name: "read_file", input: { path: "b" } },
        ],
        usage: { input_tokens: 7, output_tokens: 3 },
      });
    },
  });
  deepEqual(await collect(provider, REQ), [
    { type: "tool_call_start", id: "t1", name: "read_file" },
    { type: "tool_call_end", id: "t1", name: "read_file", args: { path: "a" } },
    { type: "tool_call_start", id: "t2", name: "read_file" },
    { type: "tool_call_end", id: "t2", name: "read_file", args: { path: "b" } },
    { type: "usage", inputTokens: 7, outputTokens: 3 },
    { type: "done", stopReason: "tool_use" },
  ]);
});

Deno.test("CapsuleProvider.stream() ends with an error event when the capsule fails or answers badly", async () => {
  const failing = new CapsuleProvider({
    capsule: "c",
    model: "m",
    maxTokens: 10,
    call: () => Promise.reject(new Error("THROWN: boom")),
  });
  const events = await collect(failing, REQ);
  equal(events.length, 1);
  const last = events[0] as Extract<LlmEvent, { type: "error" }>;
  equal(last.error.code, "SERVER");
  ok(last.error.message.includes("boom"));
  const bad = new CapsuleProvider({
    capsule: "c",
    model: "m",
    maxTokens: 10,
    call: () => Promise.resolve({ content: "text" }),
  });
  const [only] = await collect(bad, REQ);
  equal((only as Extract<LlmEvent, { type: "error" }>).error.code, "MALFORMED");
});

Deno.test("CapsuleProvider.stream() reports CANCELLED when the signal aborts mid-call", async () => {
  const controller = new AbortController();
  const provider = new CapsuleProvider({
    capsule: "c",
    model: "m",
    maxTokens: 10,
    call: (_req, emit) => {
      emit({ type: "text", text: "partial" });
      return new Promise(() => {});
    },
  });
  const events: LlmEvent[] = [];
  for await (const e of provider.stream({ ...REQ, signal: controller.signal })) {
    events.push(e);
    if (e.type === "text_delta") controller.abort();
  }
  equal(events.at(-1)?.type, "error");
  equal((events.at(-1) as Extract<LlmEvent, { type: "error" }>).error.code, "CANCELLED");
});

Deno.test("parseCapsuleAnswer() refuses usage that is not integer counts", () => {
  throws(
    () => parseCapsuleAnswer("c", { content: [], usage: { input_tokens: -1, output_tokens: 0 } }),
    /usage/,
  );
});
