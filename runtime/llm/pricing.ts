/**
 * Turning token usage into US dollars, and estimating a call's cost before it is made so the
 * session budget can reserve it first.
 *
 * Prices are per million tokens. A table entry is found by exact model id, else by the longest
 * entry that is a prefix of the id followed by `-` (so `claude-sonnet-4-5` prices
 * `claude-sonnet-4-5-20250929`), else by the `default` entry if the table has one. {@link priceOf}
 * refuses a table with no price for the model; {@link pricingFromConfig} always adds a
 * `default`, so a session never fails on an unknown model:
 * - `[model] pricing = "auto"` (the default): a local endpoint (a loopback or private address in
 *   `api_url`, such as Ollama's `http://127.0.0.1:11434/v1`) prices models the table does not
 *   know at $0 (models it knows keep their price: a local proxy may forward them to a paid API);
 *   elsewhere an unknown model is budgeted at {@link UNKNOWN_MODEL_PRICE};
 * - `pricing = "free"`: every model costs $0;
 * - `pricing = "metered"`: the table, even on a local endpoint;
 * - a configured `[pricing.default]` always wins over the built-in default.
 * {@link pricingNotice} words the one-time notice or warning a session shows for these.
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
  // Z.ai's GLM models (the `zai` preset), as Z.ai listed them when this table was written.
  "glm-4.6": { input_per_mtok: 0.6, output_per_mtok: 2.2, cache_read_per_mtok: 0.11 },
  "glm-4.5": { input_per_mtok: 0.6, output_per_mtok: 2.2, cache_read_per_mtok: 0.11 },
  "glm-4.5-air": { input_per_mtok: 0.2, output_per_mtok: 1.1, cache_read_per_mtok: 0.03 },
  "glm-4.5-flash": { input_per_mtok: 0, output_per_mtok: 0 },
});

/**
 * What a model the table does not know is budgeted at on a remote endpoint: the highest rates
 * in {@link DEFAULT_PRICING} ($5 input, $25 output per million tokens), so the budget reserves
 * too much rather than too little. `[pricing.default]` or `[pricing."MODEL"]` replaces it.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { UNKNOWN_MODEL_PRICE } from "./pricing.ts";
 * equal(UNKNOWN_MODEL_PRICE.output_per_mtok, 25);
 * ```
 */
export const UNKNOWN_MODEL_PRICE: Readonly<ModelPrice> = Object.freeze({
  input_per_mtok: 5,
  output_per_mtok: 25,
});

const FREE: Readonly<ModelPrice> = Object.freeze({ input_per_mtok: 0, output_per_mtok: 0 });

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
 * `[pricing."MODEL"]` tables laid over it (a configured model replaces its default entry), and
 * always a `default` entry chosen by `[model] pricing` and the endpoint (see the module notes),
 * so pricing never fails a session.
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
 * equal(table.default?.output_per_mtok, 25);
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
  const mode = pricingMode(config);
  if (mode === "free") {
    for (const model of Object.keys(table)) table[model] = { ...FREE };
    table.default = { ...FREE };
  } else if (!Object.hasOwn(config.pricing, "default")) {
    table.default = { ...(mode === "local" ? FREE : UNKNOWN_MODEL_PRICE) };
  }
  return table;
}

/** How a config prices models it does not list: all free, free because local, or metered. */
function pricingMode(config: AstridConfig): "free" | "local" | "metered" {
  const setting = config.model.pricing;
  if (setting === "free") return "free";
  return setting === "auto" && isLocalEndpoint(config.model.api_url) ? "local" : "metered";
}

/**
 * The one-time line a session shows about how `model` (default: `[model] model`) is priced, or
 * null when the table prices it: a notice when it costs $0 because the endpoint is local or
 * `pricing = "free"`, a warning when an unknown remote model is budgeted at the default.
 *
 * @example A local model costs $0; an unknown remote one gets the default
 * ```ts
 * import { equal, match } from "node:assert/strict";
 * import { DEFAULT_CONFIG } from "../config/mod.ts";
 * import { pricingNotice } from "./pricing.ts";
 * const local = {
 *   ...DEFAULT_CONFIG,
 *   model: { ...DEFAULT_CONFIG.model, provider: "openai" as const, model: "llama3", api_url: "http://127.0.0.1:11434/v1" },
 * };
 * equal(pricingNotice(local)?.level, "notice");
 * const remote = { ...local, model: { ...local.model, api_url: "https://llm.example.com/v1" } };
 * match(pricingNotice(remote)?.message ?? "", /default/);
 * equal(pricingNotice(DEFAULT_CONFIG), null);
 * ```
 */
export function pricingNotice(
  config: AstridConfig,
  model: string = config.model.model,
): { level: "notice" | "warning"; message: string } | null {
  const mode = pricingMode(config);
  if (mode === "free") {
    return {
      level: "notice",
      message: `model "${model}" is priced at $0 ([model] pricing = "free"): ` +
        "the session budget does not limit its calls",
    };
  }
  const listed: PricingTable = { ...pricingFromConfig(config) };
  if (!Object.hasOwn(config.pricing, "default")) delete listed.default;
  try {
    priceOf(model, listed);
    return null;
  } catch {
    // Not in the table: the default entry prices it.
  }
  if (mode === "local") {
    return {
      level: "notice",
      message: `model "${model}" at the local endpoint ${config.model.api_url} is priced at $0; ` +
        `if that endpoint forwards to a paid API, set [model] pricing = "metered" and ` +
        `[pricing."${model}"] in config`,
    };
  }
  const p = UNKNOWN_MODEL_PRICE;
  return {
    level: "warning",
    message: `model "${model}" has no price: budgeting it at the default $${p.input_per_mtok} ` +
      `input / $${p.output_per_mtok} output per million tokens; set [pricing."${model}"] ` +
      "(input_per_mtok, output_per_mtok) in config for its real price",
  };
}

/**
 * True when `url` points at this machine or a private network: `localhost`, a loopback,
 * private (RFC 1918, RFC 4193) or link-local address, or `0.0.0.0`. An empty or malformed URL is
 * not local (it means the provider's public API).
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { isLocalEndpoint } from "./pricing.ts";
 * ok(isLocalEndpoint("http://127.0.0.1:11434/v1"));
 * ok(isLocalEndpoint("http://192.168.1.20:8080/v1"));
 * ok(isLocalEndpoint("http://[::1]:8000/v1"));
 * ok(!isLocalEndpoint("https://api.z.ai/api/paas/v4"));
 * ok(!isLocalEndpoint(""));
 * ```
 */
export function isLocalEndpoint(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (host.startsWith("[")) return isLocalIpv6(host.slice(1, -1));
  const octets = host.split(".");
  if (octets.length !== 4 || !octets.every((o) => /^\d{1,3}$/.test(o))) return false;
  const [a, b] = octets.map(Number) as [number, number, number, number];
  return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) || (a === 169 && b === 254) || host === "0.0.0.0";
}

function isLocalIpv6(host: string): boolean {
  if (host === "::1" || host === "::") return true;
  // WHATWG URL writes an IPv4-mapped address in hex: [::ffff:7f00:1] is 127.0.0.1.
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped) {
    const [hi, lo] = [Number.parseInt(mapped[1]!, 16), Number.parseInt(mapped[2]!, 16)];
    return isLocalEndpoint(`http://${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}/`);
  }
  const first = Number.parseInt(host.split(":")[0] || "0", 16);
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80;
}
