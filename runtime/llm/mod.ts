/**
 * Streaming LLM providers behind one small seam.
 *
 * - {@link LlmProvider}: `stream(request)` yields {@link LlmEvent}s (text deltas, tool-call
 *   start/delta/end, usage, done) and never throws; failures end the stream with an `error`
 *   event carrying an {@link LlmError} (`code`, `retryable`).
 * - {@link createProvider} builds the Anthropic provider (`@anthropic-ai/sdk`, with prompt
 *   caching) or the OpenAI-compatible one (`openai`, any base URL) from the `[model]` config.
 * - Retries (429, 5xx, a dropped connection before anything was yielded) live in `retry.ts`.
 * - `pricing.ts` turns usage into USD ({@link costOf}) and estimates a call's cost before it
 *   is made ({@link estimateCost}) so the budget can reserve it first.
 *
 * @example Stream from a configured provider
 * ```ts ignore
 * import { createProvider } from "./mod.ts";
 * const provider = createProvider({
 *   provider: "anthropic", model: "claude-sonnet-4-6", api_key: "sk-...", api_url: "",
 *   max_tokens: 4096, temperature: 1,
 * });
 * for await (const ev of provider.stream({ system: "Be brief.", tools: [], messages: [
 *   { role: "user", content: [{ type: "text", text: "Hello" }] },
 * ] })) {
 *   if (ev.type === "text_delta") console.log(ev.text);
 * }
 * ```
 *
 * @module
 */
export {
  type LlmContent,
  LlmError,
  type LlmErrorCode,
  type LlmErrorOptions,
  type LlmEvent,
  type LlmMessage,
  type LlmProvider,
  type LlmRequest,
  type LlmStopReason,
  type LlmToolSpec,
  type LlmUsage,
} from "./provider.ts";
export { createProvider, type ModelConfig, type ProviderOptions } from "./create_provider.ts";
export {
  ANTHROPIC_DEFAULT_URL,
  type AnthropicOptions,
  AnthropicProvider,
  buildAnthropicParams,
} from "./anthropic.ts";
export {
  buildOpenAIParams,
  OPENAI_DEFAULT_URL,
  type OpenAICompatOptions,
  OpenAICompatProvider,
} from "./openai_compat.ts";
export {
  backoffDelay,
  defaultRetryPolicy,
  parseRetryAfter,
  type RetryNotice,
  type RetryPolicy,
  streamWithRetry,
} from "./retry.ts";
export {
  costOf,
  DEFAULT_PRICING,
  estimateCost,
  type ModelPrice,
  priceOf,
  pricingFromConfig,
  pricingNotice,
  type PricingTable,
  UNKNOWN_MODEL_PRICE,
} from "./pricing.ts";
