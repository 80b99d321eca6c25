/**
 * One non-streaming, tool-less completion over a provider, priced: what a capsule's
 * `llm-complete` host call reaches (the capsule layer sees it as its `CapsuleLlm`). The caller
 * reserves {@link Completer.estimate} before the call and charges {@link CompletionResult.costUsd}
 * after, as the agent loop does for its own model calls (runtime/agent/loop.ts).
 *
 * @module
 */
import { costOf, estimateCost, type PricingTable } from "./pricing.ts";
import type { LlmProvider, LlmRequest, LlmStopReason, LlmUsage } from "./provider.ts";

/** A plain-text conversation for one completion. */
export interface CompletionRequest {
  readonly system: string;
  readonly messages: readonly { readonly role: "user" | "assistant"; readonly content: string }[];
  readonly maxTokens: number;
  readonly temperature?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** What one completion produced and cost. */
export interface CompletionResult {
  readonly text: string;
  readonly model: string;
  readonly provider: string;
  readonly stopReason: LlmStopReason;
  readonly usage: { readonly inputTokens: number; readonly outputTokens: number };
  /** US dollars: the reported usage priced, or the estimate when the provider reported none. */
  readonly costUsd: number;
}

/** A priced, tool-less model. */
export interface Completer {
  /** The provider's name (`anthropic`, `openai`, `capsule:<name>`). */
  readonly provider: string;
  /** The model every request goes to. */
  readonly model: string;
  /** The most `req` may cost, in USD. Throws a `RangeError` for an unpriced model. */
  estimate(req: CompletionRequest): number;
  /** Runs `req`; a failed call rejects with the provider's `LlmError`. */
  complete(req: CompletionRequest): Promise<CompletionResult>;
}

function toLlmRequest(req: CompletionRequest): LlmRequest {
  return {
    system: req.system,
    tools: [],
    messages: req.messages.map((m) => ({
      role: m.role,
      content: [{ type: "text", text: m.content }],
    })),
    maxTokens: req.maxTokens,
    ...(req.temperature === undefined ? {} : { temperature: req.temperature }),
    ...(req.signal === undefined ? {} : { signal: req.signal }),
  };
}

/**
 * A {@link Completer} over `provider`, priced with `pricing` (the session's table).
 *
 * @example Estimate before calling
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { providerCompleter } from "./complete.ts";
 * import { DEFAULT_PRICING } from "./pricing.ts";
 * const provider = { name: "scripted", model: "claude-sonnet-4-6", stream: async function* () {} };
 * const completer = providerCompleter(provider, DEFAULT_PRICING);
 * ok(completer.estimate({ system: "", messages: [{ role: "user", content: "hi" }], maxTokens: 100 }) > 0);
 * ```
 */
export function providerCompleter(
  provider: LlmProvider,
  pricing: Readonly<PricingTable>,
): Completer {
  return lazyCompleter(provider.name, provider.model, pricing, () => provider);
}

/**
 * A completer whose provider is built on its first call (`open`), so a command that never
 * calls the model never loads a provider SDK. `name` and `model` must be what `open` returns.
 *
 * @example Nothing is opened until a call
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { lazyCompleter } from "./complete.ts";
 * import { DEFAULT_PRICING } from "./pricing.ts";
 * let opened = 0;
 * const c = lazyCompleter("anthropic", "claude-sonnet-4-6", DEFAULT_PRICING, () => {
 *   opened++;
 *   throw new Error("no key");
 * });
 * c.estimate({ system: "", messages: [{ role: "user", content: "hi" }], maxTokens: 10 });
 * equal(opened, 0);
 * ```
 */
export function lazyCompleter(
  name: string,
  model: string,
  pricing: Readonly<PricingTable>,
  open: () => LlmProvider | Promise<LlmProvider>,
): Completer {
  let opened: Promise<LlmProvider> | undefined;
  return {
    provider: name,
    model,
    estimate: (req) => estimateCost(toLlmRequest(req), model, pricing, req.maxTokens),
    async complete(req) {
      const provider = await (opened ??= Promise.resolve().then(open));
      const llmReq = toLlmRequest(req);
      let text = "";
      let usage: LlmUsage | null = null;
      let stopReason: LlmStopReason = "other";
      for await (const event of provider.stream(llmReq)) {
        if (event.type === "text_delta") text += event.text;
        else if (event.type === "usage") usage = event;
        else if (event.type === "done") stopReason = event.stopReason;
        else if (event.type === "error") throw event.error;
      }
      const costUsd = usage
        ? costOf(usage, model, pricing)
        : estimateCost(llmReq, model, pricing, req.maxTokens);
      return {
        text,
        model,
        provider: name,
        stopReason,
        usage: { inputTokens: usage?.inputTokens ?? 0, outputTokens: usage?.outputTokens ?? 0 },
        costUsd,
      };
    },
  };
}
