import { equal, ok, rejects } from "node:assert/strict";
import { startFakeAnthropic } from "../llm/replay_anthropic.ts";
import { createProvider, DEFAULT_PRICING } from "../llm/mod.ts";
import { openStore } from "../storage/mod.ts";
import { SessionBudget } from "../security/budget.ts";
import { pricedCosts } from "./loop.ts";
import { providerSampler } from "./external_tools.ts";

function provider(url: string) {
  return createProvider({
    provider: "anthropic",
    model: "claude-sonnet-4-6",
    api_key: "sk-test",
    api_url: url,
    max_tokens: 256,
    temperature: 1,
  }, { retry: { maxAttempts: 1 } });
}

Deno.test("providerSampler() answers a sampling request with the session's model and charges the budget", async () => {
  const fake = startFakeAnthropic([{
    text: "a summary",
    usage: { inputTokens: 100, outputTokens: 20 },
  }]);
  using store = await openStore(":memory:");
  const budget = await SessionBudget.load(store, "s", {
    sessionUsd: 1,
    perActionUsd: 1,
    warnAt: 0.8,
  });
  const costs = pricedCosts("claude-sonnet-4-6", DEFAULT_PRICING, 256);
  const sample = providerSampler(provider(fake.url), budget, costs);
  const result = await sample("srv", {
    messages: [{ role: "user", content: { type: "text", text: "Summarise this" } }],
    maxTokens: 256,
  }, new AbortController().signal);
  equal(result.role, "assistant");
  equal((result.content as { text: string }).text, "a summary");
  ok(budget.state().spentUsd > 0);
  equal(budget.state().reservedUsd, 0);
  await fake.close();
});

Deno.test("providerSampler() refuses before the call when the budget cannot cover it", async () => {
  const fake = startFakeAnthropic([{ text: "never sent" }]);
  using store = await openStore(":memory:");
  const budget = await SessionBudget.load(store, "s", {
    sessionUsd: 0.000001,
    perActionUsd: 1,
    warnAt: 0.8,
  });
  const sample = providerSampler(
    provider(fake.url),
    budget,
    pricedCosts("claude-sonnet-4-6", DEFAULT_PRICING, 256),
  );
  await rejects(
    sample("srv", {
      messages: [{ role: "user", content: { type: "text", text: "hi" } }],
      maxTokens: 256,
    }, new AbortController().signal),
    /budget/i,
  );
  equal(fake.requests.length, 0);
  await fake.close();
});
