/**
 * The provider seam: the small, typed interface every LLM backend implements, and the one
 * error type it reports.
 *
 * A provider turns a request into a stream of {@link LlmEvent}s. The stream never throws:
 * every failure, including cancellation, arrives as a final `error` event. A `tool_call_end`
 * is only ever emitted with complete, parsed arguments; a tool call cut off mid-stream is
 * dropped, and the `error` event says so.
 *
 * @module
 */

/** A piece of a message. */
export type LlmContent =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; args: unknown }
  | { type: "tool_result"; toolUseId: string; content: string; isError: boolean };

/** One message of the conversation. Tool results travel in `user` messages. */
export interface LlmMessage {
  role: "user" | "assistant";
  content: LlmContent[];
}

/** A tool the model may call; `inputSchema` is a JSON Schema object. */
export interface LlmToolSpec {
  name: string;
  description: string;
  inputSchema: object;
}

/** Why the model stopped. */
export type LlmStopReason = "end_turn" | "tool_use" | "max_tokens" | "stop_sequence" | "other";

/** Token counts for one call. `inputTokens` excludes cache reads and writes. */
export interface LlmUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
}

/** What a provider stream yields. */
export type LlmEvent =
  | { type: "text_delta"; text: string }
  | { type: "tool_call_start"; id: string; name: string }
  | { type: "tool_call_delta"; id: string; argsDelta: string }
  | { type: "tool_call_end"; id: string; name: string; args: unknown }
  | ({ type: "usage" } & LlmUsage)
  | { type: "done"; stopReason: LlmStopReason }
  | { type: "error"; error: LlmError };

/** One call to the model. */
export interface LlmRequest {
  messages: LlmMessage[];
  tools: LlmToolSpec[];
  system: string;
  /** Overrides the provider's configured maximum output tokens. */
  maxTokens?: number;
  /** Overrides the provider's configured temperature. */
  temperature?: number;
  /** Aborting it aborts the HTTP request; the stream then ends with a `CANCELLED` error. */
  signal?: AbortSignal;
}

/** A streaming LLM backend. */
export interface LlmProvider {
  /** `anthropic` or `openai`. */
  readonly name: string;
  /** The model id requests are sent for. */
  readonly model: string;
  /**
   * Streams one model turn. Call failures never throw: they end the stream with an `error`
   * event. A malformed request (not an `LlmRequest`) throws a `TypeError` at once.
   */
  stream(req: LlmRequest): AsyncIterable<LlmEvent>;
}

/** What went wrong talking to the model. Callers match on `code`, never on the text. */
export type LlmErrorCode =
  | "AUTH"
  | "RATE_LIMITED"
  | "SERVER"
  | "NETWORK"
  | "BAD_REQUEST"
  | "CANCELLED"
  | "MALFORMED";

/** Details for {@link LlmError}. */
export interface LlmErrorOptions {
  /** Defaults to true for RATE_LIMITED, SERVER and NETWORK, false otherwise. */
  retryable?: boolean;
  /** The HTTP status, when there was one. */
  status?: number;
  /** How long the server asked us to wait before retrying, in milliseconds. */
  retryAfterMs?: number;
  /** Ids of tool calls that were started but cut off, and therefore dropped. */
  droppedToolCalls?: readonly string[];
  cause?: unknown;
}

const RETRYABLE: ReadonlySet<LlmErrorCode> = new Set(["RATE_LIMITED", "SERVER", "NETWORK"]);

/**
 * A failed or cancelled model call.
 *
 * @example Match on the code
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { LlmError } from "./provider.ts";
 * const err = new LlmError("RATE_LIMITED", "Cannot stream: current status is 429");
 * equal(err.code, "RATE_LIMITED");
 * equal(err.retryable, true);
 * equal(new LlmError("AUTH", "Cannot stream: current status is 401").retryable, false);
 * ```
 */
export class LlmError extends Error {
  /** Stable code for callers. */
  readonly code: LlmErrorCode;
  /** True when re-running the same request may succeed. */
  readonly retryable: boolean;
  /** The HTTP status, or null. */
  readonly status: number | null;
  /** The server's requested wait before a retry, in milliseconds, or null. */
  readonly retryAfterMs: number | null;
  /** Tool calls that were started, then dropped because the stream failed. */
  readonly droppedToolCalls: readonly string[];

  /** Creates the error; `message` should read "Cannot X: current value is Y". */
  constructor(code: LlmErrorCode, message: string, options: LlmErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "LlmError";
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE.has(code);
    this.status = options.status ?? null;
    this.retryAfterMs = options.retryAfterMs ?? null;
    this.droppedToolCalls = options.droppedToolCalls ?? [];
  }
}
