import { equal, ok, throws } from "node:assert/strict";
import { costOf, DEFAULT_PRICING, estimateCost, priceOf, type PricingTable } from "./pricing.ts";
import type { LlmRequest } from "./provider.ts";

const close = (a: number, b: number) => Math.abs(a - b) < 1e-12;

Deno.test("costOf() charges input, output, cache reads and cache writes at their rates", () => {
  const table: PricingTable = {
    m: {
      input_per_mtok: 2,
      output_per_mtok: 10,
      cache_read_per_mtok: 0.2,
      cache_write_per_mtok: 2.5,
    },
  };
  const usd = costOf(
    {
      inputTokens: 500_000,
      outputTokens: 100_000,
      cacheReadTokens: 2_000_000,
      cacheWriteTokens: 400_000,
    },
    "m",
    table,
  );
  ok(close(usd, 1 + 1 + 0.4 + 1));
});

Deno.test("costOf() prices cache tokens at the input rate when no cache rate is configured", () => {
  const table: PricingTable = { m: { input_per_mtok: 4, output_per_mtok: 8 } };
  ok(
    close(
      costOf(
        { inputTokens: 0, outputTokens: 0, cacheReadTokens: 250_000, cacheWriteTokens: 250_000 },
        "m",
        table,
      ),
      2,
    ),
  );
});

Deno.test("costOf() rejects negative, fractional or non-numeric token counts", () => {
  for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
    throws(
      () => costOf({ inputTokens: bad, outputTokens: 0 }, "gpt-4.1", DEFAULT_PRICING),
      RangeError,
    );
    throws(
      () =>
        costOf(
          { inputTokens: 0, outputTokens: 0, cacheReadTokens: bad },
          "gpt-4.1",
          DEFAULT_PRICING,
        ),
      RangeError,
    );
  }
  throws(
    () =>
      costOf(
        { inputTokens: "5" as unknown as number, outputTokens: 0 },
        "gpt-4.1",
        DEFAULT_PRICING,
      ),
    RangeError,
  );
});

Deno.test("priceOf() refuses an unknown model with a message saying how to configure it", () => {
  throws(() => priceOf("llama3.2", DEFAULT_PRICING), (err: unknown) => {
    ok(err instanceof RangeError);
    ok(err.message.includes('[pricing."llama3.2"]'));
    ok(err.message.includes("[pricing.default]"));
    return true;
  });
});

Deno.test("priceOf() matches dated ids by longest prefix, and never a bare prefix without a dash", () => {
  const table: PricingTable = {
    "gpt-4o": { input_per_mtok: 2.5, output_per_mtok: 10 },
    "gpt-4o-mini": { input_per_mtok: 0.15, output_per_mtok: 0.6 },
  };
  equal(priceOf("gpt-4o-mini-2024-07-18", table).input_per_mtok, 0.15);
  equal(priceOf("gpt-4o-2024-08-06", table).input_per_mtok, 2.5);
  throws(() => priceOf("gpt-4omega", table), RangeError);
});

Deno.test("priceOf() ignores inherited keys like __proto__ and constructor", () => {
  throws(() => priceOf("constructor", DEFAULT_PRICING), RangeError);
  throws(() => priceOf("__proto__", DEFAULT_PRICING), RangeError);
  throws(() => priceOf("toString", {}), RangeError);
});

Deno.test("priceOf() rejects a table entry with a negative or missing price", () => {
  throws(() => priceOf("m", { m: { input_per_mtok: -1, output_per_mtok: 1 } }), RangeError);
  throws(
    () => priceOf("m", { m: { input_per_mtok: 1 } as unknown as PricingTable[string] }),
    RangeError,
  );
  throws(
    () =>
      priceOf("m", {
        m: { input_per_mtok: 1, output_per_mtok: 1, cache_read_per_mtok: Number.NaN },
      }),
    RangeError,
  );
});

Deno.test("priceOf() falls back to the default entry when configured", () => {
  const table: PricingTable = {
    ...DEFAULT_PRICING,
    default: { input_per_mtok: 0, output_per_mtok: 0 },
  };
  equal(costOf({ inputTokens: 10, outputTokens: 10 }, "local-model", table), 0);
  equal(
    priceOf("claude-haiku-4-5", table).input_per_mtok,
    1,
    "a listed model still uses its own price",
  );
});

Deno.test("estimateCost() reserves chars/4 of input at the full rate plus maxTokens of output", () => {
  const req: LlmRequest = {
    system: "s".repeat(400),
    tools: [{ name: "t", description: "d", inputSchema: {} }],
    messages: [
      { role: "user", content: [{ type: "text", text: "u".repeat(800) }] },
      { role: "assistant", content: [{ type: "tool_use", id: "i", name: "n", args: { a: 1 } }] },
      {
        role: "user",
        content: [{
          type: "tool_result",
          toolUseId: "i",
          content: "r".repeat(396),
          isError: false,
        }],
      },
    ],
  };
  // 400 + (1+1+2) + 800 + (1+1+7) + (396+1) = 1610 chars → 403 tokens
  const usd = estimateCost(req, "claude-sonnet-4-6", DEFAULT_PRICING, 2000);
  ok(close(usd, (403 * 3 + 2000 * 15) / 1e6));
});

Deno.test("estimateCost() is at least costOf() for a call that used all its output tokens", () => {
  const req: LlmRequest = {
    system: "",
    tools: [],
    messages: [{ role: "user", content: [{ type: "text", text: "x".repeat(4000) }] }],
  };
  const reserved = estimateCost(req, "gpt-4.1", DEFAULT_PRICING, 100);
  const actual = costOf({ inputTokens: 1000, outputTokens: 100 }, "gpt-4.1", DEFAULT_PRICING);
  ok(reserved >= actual);
});

Deno.test("estimateCost() rejects a bad maxTokens and an unknown model", () => {
  const req: LlmRequest = { system: "", tools: [], messages: [] };
  throws(() => estimateCost(req, "gpt-4.1", DEFAULT_PRICING, -1), RangeError);
  throws(() => estimateCost(req, "nope", DEFAULT_PRICING, 10), RangeError);
});
