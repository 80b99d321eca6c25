/**
 * Turning token usage into US dollars, and estimating a call's cost before it is made so the
 * session budget can reserve it first.
 *
 * Prices are per million tokens. A table entry is found by exact model id, else by the longest
 * entry that is a prefix of the id followed by `-` (so `claude-sonnet-4-5` prices
 * `claude-sonnet-4-5-20250929`), else by the `default` entry if the table has one. A model with
 * no price is an error: spending money at an unknown rate is refused, not guessed.
 *
 * @module
 */
import type { LlmRequest, LlmUsage } from "./provider.ts";
import type { AstridConfig } from "../config/mod.ts";

/** USD per million tokens for one model. Cache rates default to the input rate when absent. */
export interface ModelPrice {
  input_per_mtok: number;
  output_per_mtok: number;
  cache_read_per_mtok?: number;
  cache_write_per_mtok?: number;
}

/** Prices by model id; the key `default` prices any model not listed. */
export type PricingTable = { [model: string]: ModelPrice };

/**
 * Built-in example prices (USD per million tokens) for a few current models. These are
 * examples only, not a source of truth: providers change prices, and `[pricing]` in config
 * overrides and extends this table.
 *
 * @example Extend the defaults with a local model priced at zero
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { costOf, DEFAULT_PRICING } from "./pricing.ts";
 * const table = { ...DEFAULT_PRICING, "llama3.2": { input_per_mtok: 0, output_per_mtok: 0 } };
 * equal(costOf({ inputTokens: 5000, outputTokens: 900 }, "llama3.2", table), 0);
 * ```
 */
export const DEFAULT_PRICING: Readonly<PricingTable> = Object.freeze({
  "claude-opus-4-8": {
    input_per_mtok: 5,
    output_per_mtok: 25,
    cache_read_per_mtok: 0.5,
    cache_write_per_mtok: 6.25,
  },
  "claude-sonnet-4-6": {
    input_per_mtok: 3,
    output_per_mtok: 15,
    cache_read_per_mtok: 0.3,
    cache_write_per_mtok: 3.75,
  },
  "claude-sonnet-4-5": {
    input_per_mtok: 3,
    output_per_mtok: 15,
    cache_read_per_mtok: 0.3,
    cache_write_per_mtok: 3.75,
  },
  "claude-haiku-4-5": {
    input_per_mtok: 1,
    output_per_mtok: 5,
    cache_read_per_mtok: 0.1,
    cache_write_per_mtok: 1.25,
  },
  "gpt-5": { input_per_mtok: 1.25, output_per_mtok: 10, cache_read_per_mtok: 0.125 },
  "gpt-4.1": { input_per_mtok: 2, output_per_mtok: 8, cache_read_per_mtok: 0.5 },
  "gpt-4o-mini": { input_per_mtok: 0.15, output_per_mtok: 0.6, cache_read_per_mtok: 0.075 },
});

const MTOK = 1_000_000;

function rate(value: unknown, model: string, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(
      `Cannot price model "${model}": current ${field} is ${String(value)}, expected a number >= 0`,
    );
  }
  return value;
}

function count(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot price usage: current ${field} is ${String(value)}, expected an integer >= 0`,
    );
  }
  return value;
}

/**
 * Finds the price of `model` in `table`.
 *
 * @example Exact, dated and default lookups
 * ```ts
 * import { equal, throws } from "node:assert/strict";
 * import { DEFAULT_PRICING, priceOf } from "./pricing.ts";
 * equal(priceOf("claude-sonnet-4-5-20250929", DEFAULT_PRICING).input_per_mtok, 3);
 * throws(() => priceOf("mystery", DEFAULT_PRICING), RangeError);
 * const withDefault = { default: { input_per_mtok: 0, output_per_mtok: 0 } };
 * equal(priceOf("mystery", withDefault).output_per_mtok, 0);
 * ```
 */
export function priceOf(model: string, table: Readonly<PricingTable>): ModelPrice {
  const own = (key: string) => Object.hasOwn(table, key) ? table[key] : undefined;
  let price = own(model);
  if (price === undefined) {
    let best = "";
    for (const key of Object.keys(table)) {
      if (key !== "default" && key.length > best.length && model.startsWith(`${key}-`)) best = key;
    }
    price = best === "" ? own("default") : own(best);
  }
  if (price === undefined) {
    throw new RangeError(
      `Cannot price model "${model}": current pricing table has no entry for it and no default; ` +
        `add [pricing."${model}"] (or [pricing.default]) with input_per_mtok and output_per_mtok to config`,
    );
  }
  rate(price.input_per_mtok, model, "input_per_mtok");
  rate(price.output_per_mtok, model, "output_per_mtok");
  if (price.cache_read_per_mtok !== undefined) {
    rate(price.cache_read_per_mtok, model, "cache_read_per_mtok");
  }
  if (price.cache_write_per_mtok !== undefined) {
    rate(price.cache_write_per_mtok, model, "cache_write_per_mtok");
  }
  return price;
}

/**
 * The cost in USD of one call's `usage` (as reported by a provider's `usage` event).
 *
 * @example A million input and output tokens on Sonnet
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { costOf, DEFAULT_PRICING } from "./pricing.ts";
 * const usd = costOf({ inputTokens: 1_000_000, outputTokens: 1_000_000 }, "claude-sonnet-4-5", DEFAULT_PRICING);
 * equal(usd, 18);
 * ```
 */
export function costOf(usage: LlmUsage, model: string, table: Readonly<PricingTable>): number {
  const p = priceOf(model, table);
  const input = count(usage.inputTokens, "inputTokens");
  const output = count(usage.outputTokens, "outputTokens");
  const cacheRead = count(usage.cacheReadTokens ?? 0, "cacheReadTokens");
  const cacheWrite = count(usage.cacheWriteTokens ?? 0, "cacheWriteTokens");
  return (
    input * p.input_per_mtok +
    output * p.output_per_mtok +
    cacheRead * (p.cache_read_per_mtok ?? p.input_per_mtok) +
    cacheWrite * (p.cache_write_per_mtok ?? p.input_per_mtok)
  ) / MTOK;
}

/** Characters in everything a request sends as input. */
function inputChars(req: Pick<LlmRequest, "messages" | "tools" | "system">): number {
  let chars = req.system.length;
  for (const m of req.messages) {
    for (const c of m.content) {
      if (c.type === "text") chars += c.text.length;
      else if (c.type === "tool_result") chars += c.content.length + c.toolUseId.length;
      else chars += c.id.length + c.name.length + (JSON.stringify(c.args)?.length ?? 0);
    }
  }
  for (const t of req.tools) {
    chars += t.name.length + t.description.length + JSON.stringify(t.inputSchema).length;
  }
  return chars;
}

/**
 * The most a call is expected to cost, to reserve from the budget BEFORE making it: input
 * estimated as characters / 4 at the full (uncached) input rate, plus `maxTokens` of output.
 *
 * @example Reserve for a short prompt
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { DEFAULT_PRICING, estimateCost } from "./pricing.ts";
 * const req = { system: "", tools: [], messages: [{ role: "user" as const, content: [{ type: "text" as const, text: "x".repeat(4000) }] }] };
 * const usd = estimateCost(req, "claude-sonnet-4-5", DEFAULT_PRICING, 1000);
 * ok(Math.abs(usd - (1000 * 3 + 1000 * 15) / 1e6) < 1e-12);
 * ```
 */
export function estimateCost(
  req: Pick<LlmRequest, "messages" | "tools" | "system">,
  model: string,
  table: Readonly<PricingTable>,
  maxTokens: number,
): number {
  const p = priceOf(model, table);
  const output = count(maxTokens, "maxTokens");
  const input = Math.ceil(inputChars(req) / 4);
  return (input * p.input_per_mtok + output * p.output_per_mtok) / MTOK;
}

/**
 * The pricing table a session uses: runtime/llm's {@link DEFAULT_PRICING} with the config's
 * `[pricing."MODEL"]` tables laid over it (a configured model replaces its default entry).
 *
 * @example A configured local model is priced; the defaults stay
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { DEFAULT_CONFIG } from "../config/mod.ts";
 * import { pricingFromConfig } from "./pricing.ts";
 * const table = pricingFromConfig({
 *   ...DEFAULT_CONFIG,
 *   pricing: { "llama3.2": { input_per_mtok: 0, output_per_mtok: 0 } },
 * });
 * equal(table["llama3.2"]?.output_per_mtok, 0);
 * equal(table["claude-sonnet-4-6"]?.input_per_mtok, 3);
 * ```
 */
export function pricingFromConfig(config: AstridConfig): PricingTable {
  const table: PricingTable = { ...DEFAULT_PRICING };
  for (const [model, p] of Object.entries(config.pricing)) {
    const price: ModelPrice = {
      input_per_mtok: p.input_per_mtok,
      output_per_mtok: p.output_per_mtok,
    };
    if (p.cache_read_per_mtok !== undefined) price.cache_read_per_mtok = p.cache_read_per_mtok;
    if (p.cache_write_per_mtok !== undefined) price.cache_write_per_mtok = p.cache_write_per_mtok;
    table[model] = price;
  }
  return table;
}
