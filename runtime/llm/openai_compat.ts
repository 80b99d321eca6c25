/**
 * The OpenAI-compatible provider over the official `openai` SDK
 * (`chat.completions.create({stream: true, stream_options: {include_usage: true}})`).
 *
 * Works against OpenAI and the servers that copy its wire format (Ollama, LM Studio, vLLM,
 * Z.ai-style endpoints). Tolerated quirks:
 * - no usage chunk at all (usage is then reported as zeros, flagged nowhere else);
 * - a tool call's `id`/`name` only on its first delta; a missing `id` is synthesised;
 * - arguments split across any number of chunks, or sent whole;
 * - several calls sent on the same `index`, each with a new `id` (they are split apart);
 * - `finish_reason: "stop"` after tool calls (reported as `tool_use`), and unknown reasons;
 * - a connection closed after the finish reason (the turn is complete; only usage may be lost).
 *
 * `max_completion_tokens` is sent to api.openai.com (its newer models reject `max_tokens`);
 * other servers get `max_tokens`, which all the compatible servers understand.
 *
 * @module
 */
// Inline pin until the lead adds "openai" to the import map.
import OpenAI from "openai";
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
  type LlmUsage,
} from "./provider.ts";
import { defaultRetryPolicy, type RetryPolicy, streamWithRetry } from "./retry.ts";

/** The public OpenAI API base URL, used when no base URL is configured. */
export const OPENAI_DEFAULT_URL = "https://api.openai.com/v1";

/** Settings for {@link OpenAICompatProvider}. */
export interface OpenAICompatOptions {
  model: string;
  /** May be empty for local servers that take no key. */
  apiKey: string;
  /** Base URL including `/v1`; empty means {@link OPENAI_DEFAULT_URL}. */
  baseUrl: string;
  maxTokens: number;
  temperature: number;
  retry?: Partial<RetryPolicy>;
}

type Params = OpenAI.Chat.ChatCompletionCreateParamsStreaming;
type Message = OpenAI.Chat.ChatCompletionMessageParam;

function toMessages(system: string, messages: LlmMessage[]): Message[] {
  const out: Message[] = system === "" ? [] : [{ role: "system", content: system }];
  for (const m of messages) {
    const text = m.content.flatMap((c) => (c.type === "text" ? [c.text] : [])).join("\n");
    if (m.role === "assistant") {
      const calls = m.content.flatMap((c) =>
        c.type === "tool_use"
          ? [{
            id: c.id,
            type: "function" as const,
            function: { name: c.name, arguments: JSON.stringify(c.args) },
          }]
          : []
      );
      out.push({
        role: "assistant",
        content: text === "" ? null : text,
        ...(calls.length ? { tool_calls: calls } : {}),
      });
      continue;
    }
    // Tool results answer the previous assistant turn, so they come before the user's text.
    for (const c of m.content) {
      if (c.type === "tool_result") {
        out.push({
          role: "tool",
          tool_call_id: c.toolUseId,
          content: c.isError ? `[tool error] ${c.content}` : c.content,
        });
      }
    }
    if (text !== "") out.push({ role: "user", content: text });
  }
  return out;
}

/**
 * Builds the chat-completions request body for `req`.
 *
 * @example Tool results become `tool` messages
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { buildOpenAIParams } from "./openai_compat.ts";
 * const p = buildOpenAIParams("m", 100, 0.5, false, {
 *   system: "",
 *   tools: [],
 *   messages: [{ role: "user", content: [{ type: "tool_result", toolUseId: "c1", content: "ok", isError: false }] }],
 * });
 * deepEqual(p.messages, [{ role: "tool", tool_call_id: "c1", content: "ok" }]);
 * deepEqual(p.stream_options, { include_usage: true });
 * ```
 */
export function buildOpenAIParams(
  model: string,
  maxTokens: number,
  temperature: number,
  officialApi: boolean,
  req: Pick<LlmRequest, "messages" | "tools" | "system">,
): Params {
  checkRequest(req);
  return {
    model,
    stream: true,
    stream_options: { include_usage: true },
    temperature,
    ...(officialApi ? { max_completion_tokens: maxTokens } : { max_tokens: maxTokens }),
    messages: toMessages(req.system, req.messages),
    ...(req.tools.length === 0 ? {} : {
      tools: req.tools.map((t) => ({
        type: "function" as const,
        function: {
          name: t.name,
          description: t.description,
          parameters: t.inputSchema as Record<string, unknown>,
        },
      })),
    }),
  };
}

function stopReason(raw: string, sawToolCalls: boolean): LlmStopReason {
  if (sawToolCalls) return "tool_use";
  switch (raw) {
    case "stop":
    case "eos":
    case "end_turn":
      return "end_turn";
    case "length":
    case "max_tokens":
      return "max_tokens";
    case "tool_calls":
    case "function_call":
      return "tool_use";
    default:
      return "other";
  }
}

interface Pending {
  id: string;
  name: string;
  args: string;
}

/**
 * Streams from an OpenAI-compatible chat-completions endpoint.
 *
 * @example Point it at a local server (no request is made until `stream` is iterated)
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { OpenAICompatProvider } from "./openai_compat.ts";
 * const p = new OpenAICompatProvider({
 *   model: "llama3.2", apiKey: "", baseUrl: "http://127.0.0.1:11434/v1", maxTokens: 512, temperature: 0,
 * });
 * equal(p.model, "llama3.2");
 * ```
 */
export class OpenAICompatProvider implements LlmProvider {
  /** Always `openai`. */
  readonly name = "openai";
  /** The model id. */
  readonly model: string;
  #client: OpenAI;
  #officialApi: boolean;
  #maxTokens: number;
  #temperature: number;
  #retry: RetryPolicy;

  /** Creates the provider and its SDK client. */
  constructor(opts: OpenAICompatOptions) {
    const baseURL = opts.baseUrl === "" ? OPENAI_DEFAULT_URL : opts.baseUrl;
    this.model = opts.model;
    this.#officialApi = new URL(baseURL).hostname === "api.openai.com";
    this.#maxTokens = opts.maxTokens;
    this.#temperature = opts.temperature;
    this.#retry = defaultRetryPolicy(opts.retry);
    this.#client = new OpenAI({
      // Local servers take no key, but the SDK requires one; a placeholder is harmless there.
      apiKey: opts.apiKey === "" ? "no-key" : opts.apiKey,
      baseURL,
      organization: null,
      project: null,
      webhookSecret: null,
      maxRetries: 0,
      logLevel: "off",
    });
  }

  /** Streams one turn; see {@link LlmProvider.stream}. */
  stream(req: LlmRequest): AsyncIterable<LlmEvent> {
    const params = buildOpenAIParams(
      this.model,
      req.maxTokens ?? this.#maxTokens,
      req.temperature ?? this.#temperature,
      this.#officialApi,
      req,
    );
    return streamWithRetry(() => this.#attempt(params, req.signal), this.#retry, req.signal);
  }

  async *#attempt(params: Params, signal: AbortSignal | undefined): AsyncGenerator<LlmEvent> {
    const calls = new ToolCallAssembler();
    const pending = new Map<number, Pending>(); // calls whose name has not arrived yet
    const usage: LlmUsage = { inputTokens: 0, outputTokens: 0 };
    let finish: string | null = null;
    let ended = 0;
    try {
      const stream = await this.#client.chat.completions.create(params, signal ? { signal } : {});
      for await (const chunk of stream) {
        if (chunk.usage) {
          const cached = tokenCount(
            chunk.usage.prompt_tokens_details?.cached_tokens,
            "cached_tokens",
          );
          const prompt = tokenCount(chunk.usage.prompt_tokens, "prompt_tokens");
          usage.inputTokens = Math.max(0, prompt - cached);
          usage.outputTokens = tokenCount(chunk.usage.completion_tokens, "completion_tokens");
          if (cached > 0) usage.cacheReadTokens = cached;
        }
        const choice = chunk.choices?.find((c) => (c.index ?? 0) === 0);
        if (choice === undefined || finish !== null) continue;
        const delta = choice.delta ?? {};
        if (typeof delta.content === "string" && delta.content !== "") {
          yield { type: "text_delta", text: delta.content };
        }
        for (const [pos, tc] of (delta.tool_calls ?? []).entries()) {
          const slot = typeof tc.index === "number" ? tc.index : pos;
          const known = calls.idAt(slot) ?? pending.get(slot)?.id;
          if (tc.id && known !== undefined && tc.id !== known) {
            // Same index, new id: the previous call on this slot is complete.
            if (calls.has(slot)) {
              yield calls.end(slot);
              ended++;
            }
            pending.delete(slot);
          }
          const fn = tc.function;
          if (!calls.has(slot)) {
            const p = pending.get(slot) ??
              { id: tc.id || `call_${calls.count + pending.size}_${slot}`, name: "", args: "" };
            if (fn?.name) p.name = fn.name;
            if (fn?.arguments) p.args += fn.arguments;
            if (p.name === "") {
              pending.set(slot, p);
              continue;
            }
            pending.delete(slot);
            yield calls.start(slot, p.id, p.name);
            if (p.args !== "") yield calls.append(slot, p.args);
          } else if (fn?.arguments) {
            yield calls.append(slot, fn.arguments);
          }
        }
        if (choice.finish_reason) {
          if (pending.size > 0) {
            throw new LlmError(
              "MALFORMED",
              "Cannot finish the openai turn: current stream has a tool call with no name",
            );
          }
          for (const ev of calls.endAll()) {
            yield ev;
            ended++;
          }
          finish = choice.finish_reason;
        }
      }
      if (signal?.aborted) {
        throw new LlmError("CANCELLED", "Cannot finish the openai call: it was cancelled");
      }
      if (finish === null) {
        throw new LlmError(
          "NETWORK",
          "Cannot finish the openai stream: current stream ended before a finish_reason",
        );
      }
    } catch (err) {
      const e = toLlmError(
        err,
        "openai",
        signal,
        `${this.#client.baseURL.replace(/\/+$/, "")}/chat/completions`,
      );
      // A drop after the finish reason loses only the usage chunk: the turn itself is complete.
      if (!(finish !== null && e.code === "NETWORK")) {
        throw withDroppedCalls(e, [...calls.openCalls(), ...pending.values()]);
      }
    }
    yield { type: "usage", ...usage };
    yield { type: "done", stopReason: stopReason(finish, ended > 0) };
  }
}
