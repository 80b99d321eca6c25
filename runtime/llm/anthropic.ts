/**
 * The Anthropic provider over the official `@anthropic-ai/sdk` (Messages API, streaming).
 *
 * - Prompt caching: the system prompt block and the last tool definition carry
 *   `cache_control: {type: "ephemeral"}`, so the stable prefix (tools, then system) is cached.
 * - SDK retries are off (`maxRetries: 0`); {@link streamWithRetry} decides.
 * - The API key and base URL come from the values passed in (the config layer maps
 *   `ANTHROPIC_API_KEY` / `ANTHROPIC_BASE_URL`); both are passed explicitly so the SDK does not
 *   fall back to its own environment lookup for them.
 * - No `temperature` is sent: the Messages API in this SDK version no longer accepts sampling
 *   parameters, so `LlmRequest.temperature` and `[model] temperature` are ignored here.
 *
 * @module
 */
// Inline pin until the lead adds "@anthropic-ai/sdk" to the import map.
import Anthropic from "@anthropic-ai/sdk";
import { toLlmError } from "./_errors.ts";
import { checkRequest } from "./_request.ts";
import { tokenCount, ToolCallAssembler, withDroppedCalls } from "./_tool_calls.ts";
import {
  LlmError,
  type LlmEvent,
  type LlmMessage,
  type LlmProvider,
  type LlmRequest,
  type LlmStopReason,
  type LlmToolSpec,
  type LlmUsage,
} from "./provider.ts";
import { defaultRetryPolicy, type RetryPolicy, streamWithRetry } from "./retry.ts";

/** The public Anthropic API origin, used when no base URL is configured. */
export const ANTHROPIC_DEFAULT_URL = "https://api.anthropic.com";

/** Settings for {@link AnthropicProvider}. */
export interface AnthropicOptions {
  model: string;
  apiKey: string;
  /** Base URL; empty means {@link ANTHROPIC_DEFAULT_URL}. */
  baseUrl: string;
  maxTokens: number;
  retry?: Partial<RetryPolicy>;
}

type Params = Anthropic.MessageCreateParamsStreaming;
const EPHEMERAL = { type: "ephemeral" } as const;

function toBlocks(message: LlmMessage): Anthropic.ContentBlockParam[] {
  return message.content.map((c): Anthropic.ContentBlockParam => {
    switch (c.type) {
      case "text":
        return { type: "text", text: c.text };
      case "tool_use":
        return { type: "tool_use", id: c.id, name: c.name, input: c.args };
      case "tool_result":
        return {
          type: "tool_result",
          tool_use_id: c.toolUseId,
          content: c.content,
          is_error: c.isError,
        };
    }
  });
}

function toTools(tools: LlmToolSpec[]): Anthropic.Tool[] {
  return tools.map((t, i) => ({
    name: t.name,
    description: t.description,
    input_schema: { ...(t.inputSchema as Record<string, unknown>), type: "object" },
    ...(i === tools.length - 1 ? { cache_control: EPHEMERAL } : {}),
  }));
}

/**
 * Builds the Messages API request body for `req` (exported for tests and the cost estimator).
 *
 * @example Caching markers on the system prompt and the last tool
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { buildAnthropicParams } from "./anthropic.ts";
 * const p = buildAnthropicParams("claude-x", 100, {
 *   system: "be brief",
 *   messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
 *   tools: [{ name: "read", description: "read a file", inputSchema: { type: "object" } }],
 * });
 * deepEqual(p.system, [{ type: "text", text: "be brief", cache_control: { type: "ephemeral" } }]);
 * deepEqual(p.tools?.[0], {
 *   name: "read",
 *   description: "read a file",
 *   input_schema: { type: "object" },
 *   cache_control: { type: "ephemeral" },
 * });
 * ```
 */
export function buildAnthropicParams(
  model: string,
  maxTokens: number,
  req: Pick<LlmRequest, "messages" | "tools" | "system">,
): Params {
  checkRequest(req);
  return {
    model,
    max_tokens: maxTokens,
    stream: true,
    ...(req.system === "" ? {} : {
      system: [{ type: "text", text: req.system, cache_control: EPHEMERAL }],
    }),
    ...(req.tools.length === 0 ? {} : { tools: toTools(req.tools) }),
    messages: req.messages.map((m) =>
      ({ role: m.role, content: toBlocks(m) }) as Anthropic.MessageParam
    ),
  };
}

function stopReason(raw: string | null): LlmStopReason {
  switch (raw) {
    case "end_turn":
    case "tool_use":
    case "max_tokens":
    case "stop_sequence":
      return raw;
    default:
      return "other";
  }
}

/**
 * Streams from the Anthropic Messages API.
 *
 * @example Create one (no request is made until `stream` is iterated)
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { AnthropicProvider } from "./anthropic.ts";
 * const p = new AnthropicProvider({
 *   model: "claude-sonnet-4-6", apiKey: "sk-test", baseUrl: "", maxTokens: 1024,
 * });
 * equal(p.name, "anthropic");
 * ```
 */
export class AnthropicProvider implements LlmProvider {
  /** Always `anthropic`. */
  readonly name = "anthropic";
  /** The model id. */
  readonly model: string;
  #client: Anthropic;
  #maxTokens: number;
  #retry: RetryPolicy;

  /** Creates the provider and its SDK client. */
  constructor(opts: AnthropicOptions) {
    this.model = opts.model;
    this.#maxTokens = opts.maxTokens;
    this.#retry = defaultRetryPolicy(opts.retry);
    this.#client = new Anthropic({
      apiKey: opts.apiKey,
      authToken: null,
      webhookKey: null,
      baseURL: opts.baseUrl === "" ? ANTHROPIC_DEFAULT_URL : opts.baseUrl,
      maxRetries: 0,
      logLevel: "off",
    });
  }

  /** Streams one turn; see {@link LlmProvider.stream}. */
  stream(req: LlmRequest): AsyncIterable<LlmEvent> {
    const params = buildAnthropicParams(this.model, req.maxTokens ?? this.#maxTokens, req);
    return streamWithRetry(() => this.#attempt(params, req.signal), this.#retry, req.signal);
  }

  async *#attempt(params: Params, signal: AbortSignal | undefined): AsyncGenerator<LlmEvent> {
    const calls = new ToolCallAssembler();
    const kinds = new Map<number, string>();
    const usage: LlmUsage = { inputTokens: 0, outputTokens: 0 };
    let stop: LlmStopReason | null = null;
    try {
      const stream = await this.#client.messages.create(params, signal ? { signal } : {});
      for await (const ev of stream) {
        switch (ev.type) {
          case "message_start": {
            const u = ev.message.usage;
            usage.inputTokens = tokenCount(u.input_tokens, "input_tokens");
            usage.outputTokens = tokenCount(u.output_tokens, "output_tokens");
            usage.cacheReadTokens = tokenCount(
              u.cache_read_input_tokens,
              "cache_read_input_tokens",
            );
            usage.cacheWriteTokens = tokenCount(
              u.cache_creation_input_tokens,
              "cache_creation_input_tokens",
            );
            break;
          }
          case "content_block_start": {
            const block = ev.content_block;
            kinds.set(ev.index, block.type);
            if (block.type === "tool_use") yield calls.start(ev.index, block.id, block.name);
            else if (block.type === "text" && block.text !== "") {
              yield { type: "text_delta", text: block.text };
            }
            break;
          }
          case "content_block_delta": {
            const kind = kinds.get(ev.index);
            if (kind === undefined) {
              throw new LlmError(
                "MALFORMED",
                `Cannot apply a delta: current block ${ev.index} was never started`,
              );
            }
            if (ev.delta.type === "text_delta" && kind === "text") {
              yield { type: "text_delta", text: ev.delta.text };
            } else if (ev.delta.type === "input_json_delta" && kind === "tool_use") {
              yield calls.append(ev.index, ev.delta.partial_json);
            }
            break;
          }
          case "content_block_stop":
            if (calls.has(ev.index)) yield calls.end(ev.index);
            break;
          case "message_delta": {
            const u = ev.usage;
            usage.outputTokens = tokenCount(u.output_tokens, "output_tokens");
            if (u.input_tokens != null) {
              usage.inputTokens = tokenCount(u.input_tokens, "input_tokens");
            }
            if (u.cache_read_input_tokens != null) {
              usage.cacheReadTokens = tokenCount(
                u.cache_read_input_tokens,
                "cache_read_input_tokens",
              );
            }
            if (u.cache_creation_input_tokens != null) {
              usage.cacheWriteTokens = tokenCount(
                u.cache_creation_input_tokens,
                "cache_creation_input_tokens",
              );
            }
            if (ev.delta.stop_reason != null) stop = stopReason(ev.delta.stop_reason);
            break;
          }
          case "message_stop":
            break;
        }
      }
      if (signal?.aborted) {
        throw new LlmError("CANCELLED", "Cannot finish the anthropic call: it was cancelled");
      }
      if (calls.openCalls().length > 0) {
        throw new LlmError(
          "MALFORMED",
          "Cannot finish the anthropic turn: current stream ended inside a tool call",
        );
      }
      if (stop === null) {
        throw new LlmError(
          "NETWORK",
          "Cannot finish the anthropic stream: current stream ended before its stop reason",
        );
      }
    } catch (err) {
      const e = toLlmError(
        err,
        "anthropic",
        signal,
        `${this.#client.baseURL.replace(/\/+$/, "")}/v1/messages`,
      );
      // Everything after the stop reason is bookkeeping: a drop there loses nothing.
      if (!(stop !== null && e.code === "NETWORK" && calls.openCalls().length === 0)) {
        throw withDroppedCalls(e, calls.openCalls());
      }
    }
    yield { type: "usage", ...usage };
    yield { type: "done", stopReason: stop };
  }
}
