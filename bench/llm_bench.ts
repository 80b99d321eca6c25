/**
 * LLM provider layer overhead (no model): one streamed turn through the official SDKs against
 * the loopback fakes, and the pure-JS pieces on the per-token path.
 *
 * Run: `deno bench -A bench/llm_bench.ts`
 *
 * @module
 */
import { startFakeAnthropic } from "../runtime/llm/replay_anthropic.ts";
import { startFakeOpenAI } from "../runtime/llm/replay_openai.ts";
import { AnthropicProvider } from "../runtime/llm/anthropic.ts";
import { OpenAICompatProvider } from "../runtime/llm/openai_compat.ts";
import { costOf, DEFAULT_PRICING, estimateCost } from "../runtime/llm/pricing.ts";
import type { LlmRequest } from "../runtime/llm/provider.ts";
import { ToolCallAssembler } from "../runtime/llm/_tool_calls.ts";

const TURNS = 100_000;
const reply = {
  text: "I will read the file and then run the tests.",
  toolCalls: [{ id: "t1", name: "read_file", args: { path: "/ws/src/main.ts", lines: [1, 200] } }],
  usage: { inputTokens: 1200, outputTokens: 80 },
};
const anthropicFake = startFakeAnthropic(Array.from({ length: TURNS }, () => reply), {
  pace: false,
});
const openaiFake = startFakeOpenAI(Array.from({ length: TURNS }, () => reply), { pace: false });
const anthropic = new AnthropicProvider({
  model: "claude-sonnet-4-6",
  apiKey: "k",
  baseUrl: anthropicFake.url,
  maxTokens: 1000,
});
const openai = new OpenAICompatProvider({
  model: "gpt-4.1",
  apiKey: "k",
  baseUrl: openaiFake.url,
  maxTokens: 1000,
  temperature: 0,
});

const req: LlmRequest = {
  system: "You are a careful coding agent.".repeat(20),
  tools: [{
    name: "read_file",
    description: "Read a file",
    inputSchema: { type: "object", properties: { path: { type: "string" } } },
  }],
  messages: Array.from({ length: 40 }, (_, i) => ({
    role: i % 2 === 0 ? "user" as const : "assistant" as const,
    content: [{ type: "text" as const, text: `message ${i} `.repeat(30) }],
  })),
};

Deno.bench(
  "anthropic: one streamed turn (text + tool call) over loopback",
  { group: "turn" },
  async () => {
    for await (const _ of anthropic.stream(req)) { /* drain */ }
  },
);

Deno.bench(
  "openai: one streamed turn (text + tool call) over loopback",
  { group: "turn" },
  async () => {
    for await (const _ of openai.stream(req)) { /* drain */ }
  },
);

Deno.bench("ToolCallAssembler: start + 20 fragments + end", () => {
  const a = new ToolCallAssembler();
  a.start(0, "id", "write_file");
  a.append(0, '{"path":"/ws/a.ts","content":"');
  for (let i = 0; i < 18; i++) a.append(0, "export const x = 1;\\n");
  a.append(0, '"}');
  a.end(0);
});

Deno.bench("estimateCost: 40-message request", () => {
  estimateCost(req, "claude-sonnet-4-6", DEFAULT_PRICING, 4096);
});

Deno.bench("costOf: one usage event", () => {
  costOf(
    { inputTokens: 1200, outputTokens: 80, cacheReadTokens: 5000 },
    "claude-sonnet-4-6-20260101",
    DEFAULT_PRICING,
  );
});

globalThis.addEventListener("unload", () => {
  void anthropicFake.close();
  void openaiFake.close();
});
