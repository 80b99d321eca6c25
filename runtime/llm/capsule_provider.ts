/**
 * A model provided by an installed capsule's `[[llm_provider]]` (`[model] provider =
 * "capsule:<name>"`). The llm layer does not know capsules: the provider runs over an injected
 * {@link CapsuleModelCall} (built by runtime/capsule/llm_provider.ts), which runs the capsule's
 * `on_hook` entry with hook `llm_provider:<id>` and the payload {@link CapsuleModelRequest}.
 *
 * While the call runs, every chunk the capsule emits (`llm-emit`) becomes an {@link LlmEvent}
 * at once: `text` → `text_delta` (so text streams as the capsule produces it), `tool_call` →
 * `tool_call_start` + `tool_call_end`. The capsule's return value
 * `{ content: [{type: "text", text} | {type: "tool_use", id, name, input}], stop_reason,
 * usage: {input_tokens, output_tokens} }` completes the stream: text is sent only when none was
 * emitted, tool calls only when their id was not emitted, then `usage` (when reported) and
 * `done`. A failure ends the stream with an `error` event, as for every provider.
 *
 * Pricing: the agent loop prices a capsule model like any other, by its model id in the
 * session's pricing table (runtime/llm/pricing.ts). A capsule's models have no built-in price,
 * so the config must price them: `[pricing."<model>"]` (or `[pricing.default]`), with
 * `input_per_mtok = 0` and `output_per_mtok = 0` for a model that costs nothing. An unpriced
 * model is refused before the call (`COST_UNKNOWN`), never guessed.
 *
 * @module
 */
import {
  LlmError,
  type LlmEvent,
  type LlmMessage,
  type LlmProvider,
  type LlmRequest,
  type LlmStopReason,
} from "./provider.ts";

/** The payload of the `llm_provider:<id>` hook (snake_case, as capsule authors see it). */
export interface CapsuleModelRequest {
  readonly model: string;
  readonly system: string;
  /** Astrid's own message shape (runtime/llm/provider.ts `LlmMessage`). */
  readonly messages: readonly LlmMessage[];
  readonly tools: readonly {
    readonly name: string;
    readonly description: string;
    readonly input_schema: object;
  }[];
  readonly max_tokens: number;
  readonly temperature?: number;
}

/** One chunk the capsule streams while it answers. */
export type CapsuleModelChunk =
  | { readonly type: "text"; readonly text: string }
  | {
    readonly type: "tool_call";
    readonly id: string;
    readonly name: string;
    readonly args: unknown;
  };

/**
 * Runs one model call on the capsule: `onChunk` receives each emitted chunk while it runs; the
 * promise resolves to the capsule's return value (validated here) or rejects with why it failed.
 */
export type CapsuleModelCall = (
  req: CapsuleModelRequest,
  onChunk: (chunk: CapsuleModelChunk) => void,
  signal?: AbortSignal,
) => Promise<unknown>;

/** What {@link CapsuleProvider} needs. */
export interface CapsuleProviderOptions {
  /** The capsule's name: the provider is named `capsule:<name>`. */
  readonly capsule: string;
  /** The model id sent in every request (and priced by the agent loop). */
  readonly model: string;
  /** Default maximum output tokens (`[model] max_tokens`). */
  readonly maxTokens: number;
  /** Default temperature (`[model] temperature`). */
  readonly temperature?: number | undefined;
  readonly call: CapsuleModelCall;
}

const STOP_REASONS: ReadonlySet<string> = new Set([
  "end_turn",
  "tool_use",
  "max_tokens",
  "stop_sequence",
]);

type Block =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: unknown };

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

interface Parsed {
  content: Block[];
  stopReason: LlmStopReason | null;
  usage: { inputTokens: number; outputTokens: number } | null;
}

function malformed(capsule: string, what: string): LlmError {
  return new LlmError(
    "MALFORMED",
    `Cannot read the answer of capsule ${capsule}: ${what}`,
    { retryable: false },
  );
}

function count(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Validates a capsule's return value.
 *
 * @example A text answer with usage
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { parseCapsuleAnswer } from "./capsule_provider.ts";
 * deepEqual(
 *   parseCapsuleAnswer("echo", {
 *     content: [{ type: "text", text: "hi" }], stop_reason: "end_turn",
 *     usage: { input_tokens: 3, output_tokens: 1 },
 *   }),
 *   {
 *     content: [{ type: "text", text: "hi" }], stopReason: "end_turn",
 *     usage: { inputTokens: 3, outputTokens: 1 },
 *   },
 * );
 * ```
 */
export function parseCapsuleAnswer(capsule: string, value: unknown): Parsed {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw malformed(capsule, "it is not an object with content");
  }
  const v = value as { content?: unknown; stop_reason?: unknown; usage?: unknown };
  const raw = v.content ?? [];
  if (!Array.isArray(raw)) throw malformed(capsule, "content is not an array");
  const content: Block[] = [];
  for (const b of raw as unknown[]) {
    const block = (b ?? {}) as Record<string, unknown>;
    if (block.type === "text" && typeof block.text === "string") {
      content.push({ type: "text", text: block.text });
    } else if (
      block.type === "tool_use" && typeof block.id === "string" && block.id !== "" &&
      typeof block.name === "string" && block.name !== ""
    ) {
      content.push({ type: "tool_use", id: block.id, name: block.name, input: block.input ?? {} });
    } else {
      throw malformed(capsule, `current block is ${JSON.stringify(b)?.slice(0, 120)}`);
    }
  }
  let stopReason: LlmStopReason | null = null;
  if (v.stop_reason !== undefined && v.stop_reason !== null) {
    const s = String(v.stop_reason);
    stopReason = STOP_REASONS.has(s) ? s as LlmStopReason : "other";
  }
  let usage: Parsed["usage"] = null;
  if (v.usage !== undefined && v.usage !== null) {
    const u = v.usage as { input_tokens?: unknown; output_tokens?: unknown };
    if (!count(u.input_tokens) || !count(u.output_tokens)) {
      throw malformed(capsule, "usage needs integer input_tokens and output_tokens");
    }
    usage = { inputTokens: u.input_tokens, outputTokens: u.output_tokens };
  }
  return { content, stopReason, usage };
}

/**
 * The provider over a capsule's `[[llm_provider]]`.
 *
 * @example Emitted text streams first; the returned text is not repeated
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { CapsuleProvider } from "./capsule_provider.ts";
 * const provider = new CapsuleProvider({
 *   capsule: "echo", model: "echo-1", maxTokens: 100,
 *   call: (req, emit) => {
 *     emit({ type: "text", text: "Hel" });
 *     emit({ type: "text", text: "lo" });
 *     return Promise.resolve({ content: [{ type: "text", text: "Hello" }], stop_reason: "end_turn" });
 *   },
 * });
 * const events = [];
 * for await (const e of provider.stream({ system: "", tools: [], messages: [] })) events.push(e);
 * deepEqual(events, [
 *   { type: "text_delta", text: "Hel" }, { type: "text_delta", text: "lo" },
 *   { type: "done", stopReason: "end_turn" },
 * ]);
 * ```
 */
export class CapsuleProvider implements LlmProvider {
  /** `capsule:<name>`. */
  readonly name: string;
  /** The model id requests are sent for. */
  readonly model: string;
  #o: CapsuleProviderOptions;

  /** Creates the provider over `opts.call`. */
  constructor(opts: CapsuleProviderOptions) {
    if (typeof opts.call !== "function") {
      throw new TypeError("Cannot create a capsule provider: current call is not a function");
    }
    this.name = `capsule:${opts.capsule}`;
    this.model = opts.model;
    this.#o = opts;
  }

  /** Streams one model turn from the capsule. */
  async *stream(req: LlmRequest): AsyncIterable<LlmEvent> {
    if (!req || !Array.isArray(req.messages) || !Array.isArray(req.tools)) {
      throw new TypeError("Cannot stream: current request is not an LlmRequest");
    }
    const o = this.#o;
    const temperature = req.temperature ?? o.temperature;
    const payload: CapsuleModelRequest = {
      model: this.model,
      system: req.system,
      messages: req.messages,
      tools: req.tools.map((t) => ({
        name: t.name,
        description: t.description,
        input_schema: t.inputSchema,
      })),
      max_tokens: req.maxTokens ?? o.maxTokens,
      ...(temperature === undefined ? {} : { temperature }),
    };
    const queue: LlmEvent[] = [];
    let wake: (() => void) | null = null;
    // A holder, not a `let`: TypeScript cannot see the callbacks assign it.
    const at: { settled: Settled | null } = { settled: null };
    let textSent = false;
    const toolIds = new Set<string>();
    const push = (...events: LlmEvent[]) => {
      if (at.settled) return; // a late chunk after the answer (or a cancellation) is dropped
      queue.push(...events);
      wake?.();
    };
    const onChunk = (chunk: CapsuleModelChunk) => {
      if (chunk.type === "text") {
        if (chunk.text === "") return;
        textSent = true;
        push({ type: "text_delta", text: chunk.text });
      } else if (!toolIds.has(chunk.id)) {
        toolIds.add(chunk.id);
        push(
          { type: "tool_call_start", id: chunk.id, name: chunk.name },
          { type: "tool_call_end", id: chunk.id, name: chunk.name, args: chunk.args },
        );
      }
    };
    const finish = (s: Settled) => {
      at.settled ??= s;
      wake?.();
    };
    const onAbort = () => finish({ ok: false, error: new DOMException("aborted", "AbortError") });
    req.signal?.addEventListener("abort", onAbort, { once: true });
    if (req.signal?.aborted) onAbort();
    let running: Promise<unknown>;
    try {
      running = o.call(payload, onChunk, req.signal);
    } catch (e) {
      running = Promise.reject(e);
    }
    running.then((value) => finish({ ok: true, value }), (error) => finish({ ok: false, error }));
    try {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (at.settled) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
      const end = at.settled!;
      if (!end.ok) {
        yield { type: "error", error: this.#error(end.error, req.signal) };
        return;
      }
      let answer: Parsed;
      try {
        answer = parseCapsuleAnswer(o.capsule, end.value);
      } catch (e) {
        yield { type: "error", error: e as LlmError };
        return;
      }
      let calls = toolIds.size;
      for (const block of answer.content) {
        if (block.type === "text") {
          if (!textSent && block.text !== "") yield { type: "text_delta", text: block.text };
        } else if (!toolIds.has(block.id)) {
          toolIds.add(block.id);
          calls++;
          yield { type: "tool_call_start", id: block.id, name: block.name };
          yield { type: "tool_call_end", id: block.id, name: block.name, args: block.input };
        }
      }
      if (answer.usage) yield { type: "usage", ...answer.usage };
      yield {
        type: "done",
        stopReason: answer.stopReason ?? (calls > 0 ? "tool_use" : "end_turn"),
      };
    } finally {
      req.signal?.removeEventListener("abort", onAbort);
    }
  }

  #error(error: unknown, signal: AbortSignal | undefined): LlmError {
    if (error instanceof LlmError) return error;
    if (signal?.aborted) {
      return new LlmError("CANCELLED", "Cannot finish the model call: it was cancelled", {
        cause: error,
      });
    }
    const message = error instanceof Error ? error.message : String(error);
    return new LlmError(
      "SERVER",
      `Cannot get an answer from capsule ${this.#o.capsule}: ${message}`,
      { retryable: false, cause: error },
    );
  }
}
