/**
 * Builds the configured provider from the `[model]` config section.
 *
 * @module
 */
import { AnthropicProvider } from "./anthropic.ts";
import { OpenAICompatProvider } from "./openai_compat.ts";
import { LlmError, type LlmProvider } from "./provider.ts";
import type { RetryPolicy } from "./retry.ts";
import { MODEL_PRESETS } from "../config/schema.ts";

/** The `[model]` config section, as the config layer resolved it. */
export interface ModelConfig {
  /**
   * `capsule:<name>` is built by the capsule layer over `CapsuleProvider` (capsule_provider.ts)
   * (runtime/capsule/llm_provider.ts); {@link createProvider} refuses it.
   */
  provider: "anthropic" | "openai" | "ollama" | "zai" | `capsule:${string}`;
  model: string;
  /** Empty when none is configured (allowed only for a custom OpenAI-compatible URL). */
  api_key: string;
  /** Empty means the provider's public endpoint. */
  api_url: string;
  max_tokens: number;
  temperature: number;
}

/** Dependencies and tuning that are not config (tests shorten the retry delays). */
export interface ProviderOptions {
  retry?: Partial<RetryPolicy>;
}

function checkUrl(url: string): void {
  if (url === "") return;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(
      `Cannot use model.api_url: current value ${JSON.stringify(url)} is not a URL`,
    );
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new TypeError(
      `Cannot use model.api_url: current scheme is ${parsed.protocol}, expected http: or https:`,
    );
  }
}

/**
 * Creates the provider `cfg` names. Throws a `TypeError`/`RangeError` for malformed settings and
 * an `LlmError` with code `AUTH` when a key is required but empty, naming how to set one.
 * A preset (`ollama`, `zai`: runtime/config/schema.ts `MODEL_PRESETS`) is the OpenAI-compatible
 * provider at the preset's URL unless `api_url` names another.
 *
 * @example An Anthropic provider
 * ```ts
 * import { equal, throws } from "node:assert/strict";
 * import { createProvider } from "./create_provider.ts";
 * const cfg = {
 *   provider: "anthropic" as const, model: "claude-sonnet-4-6", api_key: "sk-test",
 *   api_url: "", max_tokens: 1024, temperature: 1,
 * };
 * equal(createProvider(cfg).name, "anthropic");
 * throws(() => createProvider({ ...cfg, api_key: "" }), /ANTHROPIC_API_KEY/);
 * ```
 */
export function createProvider(cfg: ModelConfig, options: ProviderOptions = {}): LlmProvider {
  if (typeof cfg.model !== "string" || cfg.model.trim() === "") {
    throw new TypeError(
      `Cannot create a provider: current model.model is ${JSON.stringify(cfg.model)}`,
    );
  }
  if (!Number.isSafeInteger(cfg.max_tokens) || cfg.max_tokens < 1) {
    throw new RangeError(
      `Cannot create a provider: current model.max_tokens is ${cfg.max_tokens}, expected an integer >= 1`,
    );
  }
  if (!Number.isFinite(cfg.temperature) || cfg.temperature < 0) {
    throw new RangeError(
      `Cannot create a provider: current model.temperature is ${cfg.temperature}, expected >= 0`,
    );
  }
  checkUrl(cfg.api_url);
  const retry = options.retry === undefined ? {} : { retry: options.retry };
  switch (cfg.provider) {
    case "anthropic":
      if (cfg.api_key === "") {
        throw new LlmError(
          "AUTH",
          "Cannot create the anthropic provider: current model.api_key is empty; set ANTHROPIC_API_KEY " +
            "or api_key under [model] in $ASTRID_HOME/config.toml",
        );
      }
      return new AnthropicProvider({
        model: cfg.model,
        apiKey: cfg.api_key,
        baseUrl: cfg.api_url,
        maxTokens: cfg.max_tokens,
        ...retry,
      });
    case "openai":
      if (cfg.api_key === "" && cfg.api_url === "") {
        throw new LlmError(
          "AUTH",
          "Cannot create the openai provider: current model.api_key is empty; set api_key under [model] " +
            "in $ASTRID_HOME/config.toml, or set api_url to a local server (Ollama, LM Studio, vLLM)",
        );
      }
      return new OpenAICompatProvider({
        model: cfg.model,
        apiKey: cfg.api_key,
        baseUrl: cfg.api_url,
        maxTokens: cfg.max_tokens,
        temperature: cfg.temperature,
        ...retry,
      });
    case "ollama":
    case "zai": {
      const preset = MODEL_PRESETS[cfg.provider];
      if (cfg.api_key === "" && preset.keyEnv !== null) {
        throw new LlmError(
          "AUTH",
          `Cannot create the ${cfg.provider} provider: current model.api_key is empty; set ` +
            `${preset.keyEnv} or api_key under [model] in $ASTRID_HOME/config.toml`,
        );
      }
      return new OpenAICompatProvider({
        model: cfg.model,
        apiKey: cfg.api_key,
        baseUrl: cfg.api_url === "" ? preset.baseUrl : cfg.api_url,
        maxTokens: cfg.max_tokens,
        temperature: cfg.temperature,
        ...retry,
      });
    }
    default:
      throw new TypeError(
        `Cannot create a provider: current model.provider is ${
          JSON.stringify(cfg.provider)
        }, expected "anthropic", "openai", "ollama" or "zai" (a "capsule:<name>" provider needs its installed ` +
          "capsule: runtime/capsule/llm_provider.ts)",
      );
  }
}
