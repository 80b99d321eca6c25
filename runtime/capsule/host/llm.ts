/**
 * `llm-complete` and `llm-emit`, the host functions beyond the design's twelve.
 *
 * `llm-complete` is a gated, budgeted call to the runtime's model: the capsule must declare
 * `[capabilities] llm = true` (first check, a refusal is audited), the request is capped
 * ({@link MAX_LLM_TOKENS}, {@link MAX_LLM_REQUEST_CHARS}, {@link MAX_LLM_MESSAGES}), then a
 * `capsule_llm_call` action (`capsule://<name>/llm_complete`, permission `invoke`) goes to the
 * interceptor with the estimated cost reserved from the session budget; the actual cost is
 * charged when the call ends (refunded when it fails). Without a model (`HostEnv.llm`) it fails
 * with `NO_PROVIDER`. `model` in the request is advisory: the runtime's configured model answers,
 * and the reply says which.
 *
 * `llm-emit` forwards one chunk of an `[[llm_provider]]` answer to the agent loop; outside a
 * provider call it fails with `NOT_STREAMING`.
 *
 * @module
 */
import {
  type CallState,
  type CapsuleLlmChunk,
  type CapsuleLlmRequest,
  flushAudit,
  gate,
  type HostEnv,
  HostError,
  refuse,
} from "./context.ts";

/** The most output tokens one capsule model call may ask for; larger requests are capped. */
export const MAX_LLM_TOKENS = 4096;
/** The most characters of system prompt plus messages one capsule model call may send. */
export const MAX_LLM_REQUEST_CHARS = 200_000;
/** The most messages one capsule model call may send. */
export const MAX_LLM_MESSAGES = 200;
/** The longest `purpose` kept for the approval prompt and the audit entry. */
const MAX_PURPOSE_CHARS = 200;
/** The longest text chunk `llm-emit` accepts. */
export const MAX_EMIT_CHARS = 1 << 20;

const ROLES = new Set(["system", "user", "assistant"]);

function bad(message: string): HostError {
  return new HostError("BAD_ARGS", `Cannot call the model: ${message}`);
}

/**
 * Validates and caps an `llm-complete` argument: system messages join `systemPrompt`, the
 * conversation must end on a user message, `maxTokens` is capped at {@link MAX_LLM_TOKENS}.
 *
 * @example A system message joins the system prompt; maxTokens is capped
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { parseLlmRequest } from "./llm.ts";
 * deepEqual(
 *   parseLlmRequest({
 *     systemPrompt: "Be brief.", maxTokens: 1e6,
 *     messages: [{ role: "system", content: "Speak French." }, { role: "user", content: "Hi" }],
 *   }),
 *   { system: "Be brief.\n\nSpeak French.", messages: [{ role: "user", content: "Hi" }], maxTokens: 4096 },
 * );
 * ```
 */
export function parseLlmRequest(args: Record<string, unknown>): CapsuleLlmRequest {
  if (!Array.isArray(args.messages) || args.messages.length === 0) {
    throw bad("messages is not a non-empty array");
  }
  if (args.messages.length > MAX_LLM_MESSAGES) {
    throw new HostError(
      "TOO_LARGE",
      `Cannot call the model: current message count is ${args.messages.length} (max ${MAX_LLM_MESSAGES})`,
    );
  }
  if (args.systemPrompt !== undefined && typeof args.systemPrompt !== "string") {
    throw bad("systemPrompt is not a string");
  }
  const system: string[] = args.systemPrompt ? [args.systemPrompt] : [];
  const messages: { role: "user" | "assistant"; content: string }[] = [];
  let chars = system.join("").length;
  for (const m of args.messages as unknown[]) {
    const { role, content } = (m ?? {}) as { role?: unknown; content?: unknown };
    if (typeof role !== "string" || !ROLES.has(role) || typeof content !== "string") {
      throw bad("every message needs a role (system, user, assistant) and a string content");
    }
    chars += content.length;
    if (role === "system") system.push(content);
    else messages.push({ role: role as "user" | "assistant", content });
  }
  if (chars > MAX_LLM_REQUEST_CHARS) {
    throw new HostError(
      "TOO_LARGE",
      `Cannot call the model: current request is ${chars} characters (max ${MAX_LLM_REQUEST_CHARS})`,
    );
  }
  if (messages.at(-1)?.role !== "user") throw bad("the last message is not a user message");
  let maxTokens = MAX_LLM_TOKENS;
  if (args.maxTokens !== undefined) {
    if (!Number.isSafeInteger(args.maxTokens) || (args.maxTokens as number) < 1) {
      throw bad(`current maxTokens is ${JSON.stringify(args.maxTokens)}, expected an integer >= 1`);
    }
    maxTokens = Math.min(args.maxTokens as number, MAX_LLM_TOKENS);
  }
  const temperature = args.temperature;
  if (
    temperature !== undefined &&
    (typeof temperature !== "number" || !Number.isFinite(temperature) || temperature < 0 ||
      temperature > 2)
  ) {
    throw bad(`current temperature is ${JSON.stringify(temperature)}, expected 0 to 2`);
  }
  return {
    system: system.join("\n\n"),
    messages,
    maxTokens,
    ...(temperature === undefined ? {} : { temperature: temperature as number }),
  };
}

/**
 * Runs one capsule model call through both checks and the budget.
 *
 * @example A capsule without `capabilities.llm` is refused before any model is asked
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { llmComplete } from "./llm.ts";
 * import { type HostEnv, newCallState } from "./context.ts";
 * import { parseManifest } from "../manifest.ts";
 * import { testGate } from "../_testing.ts";
 * await using g = await testGate({ frontend: null });
 * const env: HostEnv = {
 *   capsule: "n", manifest: parseManifest('[package]\nname = "n"\nversion = "1"\n').manifest,
 *   workspaceRoot: g.root, interceptor: g.interceptor, store: g.store, config: {},
 *   secretKeys: new Set(),
 * };
 * const args = { messages: [{ role: "user", content: "hi" }] };
 * await rejects(llmComplete(env, newCallState(), args), /capabilities.llm/);
 * ```
 */
export async function llmComplete(
  env: HostEnv,
  state: CallState,
  args: Record<string, unknown>,
): Promise<unknown> {
  const req = parseLlmRequest(args);
  if (!env.manifest.capabilities.llm) {
    throw await refuse(
      env,
      state,
      "llm-complete",
      "CAPABILITY",
      `Cannot call the model: capsule ${env.capsule} does not request capabilities.llm`,
    );
  }
  const llm = env.llm;
  if (!llm) {
    throw new HostError(
      "NO_PROVIDER",
      "Cannot call the model: current runtime has no model provider for capsules",
    );
  }
  let estimate: number;
  try {
    estimate = llm.estimate(req);
  } catch (e) {
    throw new HostError("COST_UNKNOWN", `Cannot call the model: ${(e as Error).message}`);
  }
  const purpose = typeof args.purpose === "string"
    ? args.purpose.slice(0, MAX_PURPOSE_CHARS)
    : undefined;
  // The conversation leaves the machine: the call's earlier reads must be on the record first.
  await flushAudit(env, state, "llm-complete");
  const allowed = await gate(env, state, {
    kind: "capsule_llm_call",
    capsule: env.capsule,
    model: llm.model,
    maxTokens: req.maxTokens,
    ...(purpose ? { purpose } : {}),
  }, { costUsd: estimate });
  const started = performance.now();
  try {
    const out = await llm.complete(req);
    await allowed.complete({
      ok: true,
      costUsd: out.costUsd,
      detail: {
        provider: out.provider,
        model: out.model,
        stopReason: out.stopReason,
        inputTokens: out.usage.inputTokens,
        outputTokens: out.usage.outputTokens,
        costUsd: out.costUsd,
      },
    });
    return {
      text: out.text,
      model: out.model,
      provider: out.provider,
      stopReason: out.stopReason,
      usage: {
        inputTokens: out.usage.inputTokens,
        outputTokens: out.usage.outputTokens,
        costUsd: out.costUsd,
      },
    };
  } catch (e) {
    await allowed.complete({ ok: false, detail: (e as Error).message }).catch(() => {});
    if (e instanceof HostError) throw e;
    throw new HostError("LLM_FAILED", `Cannot complete the model call: ${(e as Error).message}`);
  } finally {
    // Waiting on the model is not the capsule's CPU time.
    state.paused += performance.now() - started;
  }
}

/**
 * Validates one `llm-emit` chunk.
 *
 * @example A text chunk
 * ```ts
 * import { deepEqual, throws } from "node:assert/strict";
 * import { parseChunk } from "./llm.ts";
 * deepEqual(parseChunk({ type: "text", text: "Hel" }), { type: "text", text: "Hel" });
 * throws(() => parseChunk({ type: "image" }), /type/);
 * ```
 */
export function parseChunk(args: Record<string, unknown>): CapsuleLlmChunk {
  if (args.type === "text") {
    if (typeof args.text !== "string") {
      throw new HostError("BAD_ARGS", "Cannot emit a chunk: text is not a string");
    }
    if (args.text.length > MAX_EMIT_CHARS) {
      throw new HostError("TOO_LARGE", `Cannot emit a chunk over ${MAX_EMIT_CHARS} characters`);
    }
    return { type: "text", text: args.text };
  }
  if (args.type === "tool_call") {
    if (typeof args.id !== "string" || args.id === "" || typeof args.name !== "string") {
      throw new HostError("BAD_ARGS", "Cannot emit a tool call: id and name must be strings");
    }
    return { type: "tool_call", id: args.id, name: args.name, args: args.args ?? {} };
  }
  throw new HostError(
    "BAD_ARGS",
    `Cannot emit a chunk: current type is ${JSON.stringify(args.type)}, expected text or tool_call`,
  );
}

/** The model host functions, by import name. */
export const LLM_FUNCTIONS: Readonly<
  Record<
    string,
    (env: HostEnv, state: CallState, args: Record<string, unknown>) => Promise<unknown>
  >
> = {
  "llm-complete": llmComplete,
  "llm-emit": (env, _state, args) => {
    if (!env.emit) {
      return Promise.reject(
        new HostError("NOT_STREAMING", "Cannot emit a chunk: no [[llm_provider]] call is running"),
      );
    }
    env.emit(parseChunk(args));
    return Promise.resolve(null);
  },
};
