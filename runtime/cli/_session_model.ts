/**
 * The model of one chat session, switchable with `/model NAME` (private to the CLI).
 *
 * {@link SessionModel} is the session's `LlmProvider`: it forwards to the provider of the model
 * in use, so the agent, its sub-agents and MCP sampling all follow a switch. The agent's cost
 * functions are bound, when the session opens, to the opening model's id and to
 * {@link SessionModel.pricing}; that table's entry for the opening id is live (it prices the
 * model in use now), so reservations and spend follow the switch too.
 *
 * A switch is refused for a model the pricing table cannot price, and it is audited (an
 * `event` entry of kind `model_switch`) before it takes effect: no audit, no switch.
 *
 * @module
 */
import {
  type LlmEvent,
  type LlmProvider,
  type LlmRequest,
  type ModelPrice,
  priceOf,
  type PricingTable,
} from "../llm/mod.ts";
import type { AuditSink } from "../security/interceptor.ts";

/** One priced model, for `/model`'s list. */
export interface PricedModel {
  readonly model: string;
  readonly price: ModelPrice;
  /** True for the model in use. */
  readonly current: boolean;
}

/** What {@link SessionModel} needs. */
export interface SessionModelOptions {
  /** The provider the session opens with. */
  readonly initial: LlmProvider;
  /** Builds a provider for another model id (same provider, endpoint and key). */
  readonly make: (model: string) => LlmProvider;
  /** `DEFAULT_PRICING` with `[pricing]` over it. */
  readonly pricing: Readonly<PricingTable>;
  /** The config's `[model] model`. */
  readonly configured: string;
}

/**
 * A switchable session model.
 *
 * @example Switch and price the new model
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { DEFAULT_PRICING, priceOf } from "../llm/mod.ts";
 * import { SessionModel } from "./_session_model.ts";
 * const fake = (model: string) => ({ name: "fake", model, stream: () => (async function* () {})() });
 * const m = new SessionModel({
 *   initial: fake("claude-sonnet-4-6"), make: fake, pricing: DEFAULT_PRICING, configured: "claude-sonnet-4-6",
 * });
 * const audit = { append: () => Promise.resolve({} as never) };
 * await m.switchTo("claude-haiku-4-5", { audit, sessionId: "s" });
 * equal(m.model, "claude-haiku-4-5");
 * equal(priceOf("claude-sonnet-4-6", m.pricing).input_per_mtok, 1); // the live entry
 * ```
 */
export class SessionModel implements LlmProvider {
  #current: LlmProvider;
  #make: (model: string) => LlmProvider;
  #base: Readonly<PricingTable>;
  #configured: string;
  #opening: string;
  /** The pricing table to hand to the agent (see the module doc). */
  readonly pricing: Readonly<PricingTable>;

  /** Creates it over the opening provider. */
  constructor(options: SessionModelOptions) {
    this.#current = options.initial;
    this.#make = options.make;
    this.#base = options.pricing;
    this.#configured = options.configured;
    this.#opening = options.initial.model;
    const live: PricingTable = { ...options.pricing };
    Object.defineProperty(live, this.#opening, {
      enumerable: true,
      get: () => priceOf(this.#current.model, this.#base),
    });
    this.pricing = live;
  }

  /** The provider's name (`anthropic`, `openai`, …). */
  get name(): string {
    return this.#current.name;
  }

  /** The model in use. */
  get model(): string {
    return this.#current.model;
  }

  /** The config's model. */
  get configured(): string {
    return this.#configured;
  }

  /** Streams from the model in use. */
  stream(req: LlmRequest): AsyncIterable<LlmEvent> {
    return this.#current.stream(req);
  }

  /** The models the pricing table names (not `default`), sorted, the one in use marked. */
  priced(): PricedModel[] {
    return Object.keys(this.#base).filter((k) => k !== "default").sort().map((model) => ({
      model,
      price: priceOf(model, this.#base),
      current: model === this.model,
    }));
  }

  /**
   * Switches to `model` for the rest of the session. Throws a `RangeError` for a model the
   * table cannot price or an empty name, and whatever building the provider or the audit
   * write throws; in every such case the model in use stays.
   */
  async switchTo(
    model: string,
    ctx: { readonly audit: AuditSink; readonly sessionId: string },
  ): Promise<ModelPrice> {
    const name = model.trim();
    // deno-lint-ignore no-control-regex
    if (name === "" || /[\s\x00-\x1f\x7f]/.test(name) || name.length > 200) {
      throw new RangeError(
        `Cannot switch model: current value ${JSON.stringify(model)} is not a model id`,
      );
    }
    const price = priceOf(name, this.#base);
    const next = this.#make(name);
    const from = this.#current.model;
    await ctx.audit.append({
      sessionId: ctx.sessionId,
      action: {
        kind: "model_switch",
        resource: `model://${next.name}/${name}`,
        summary: `switched the session's model from ${from} to ${name}`,
        detail: {
          from,
          to: name,
          provider: next.name,
          input_per_mtok: price.input_per_mtok,
          output_per_mtok: price.output_per_mtok,
        },
      },
      decision: "event",
      proof: "human:repl",
    });
    this.#current = next;
    return price;
  }
}
