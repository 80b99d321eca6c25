/**
 * Assembles streamed tool calls. Both providers stream a call as a start (id, name) followed
 * by argument fragments; this keeps the fragments per slot, enforces limits on hostile
 * streams, and only produces a `tool_call_end` once the arguments parse as a JSON object.
 *
 * @module
 */
import { LlmError, type LlmEvent } from "./provider.ts";

/** Largest argument JSON accepted for one call, in UTF-16 code units. */
export const MAX_ARGS_CHARS = 1_000_000;
/** Most tool calls accepted in one turn. */
export const MAX_TOOL_CALLS = 128;
const MAX_NAME = 256;

interface OpenCall {
  id: string;
  name: string;
  args: string;
}

function malformed(message: string): LlmError {
  return new LlmError("MALFORMED", message, { retryable: false });
}

/** Parses complete tool arguments: empty means `{}`, anything else must be a JSON object. */
export function parseToolArgs(id: string, json: string): Record<string, unknown> {
  if (json.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw malformed(
      `Cannot parse the arguments of tool call ${id}: current value is not valid JSON (${json.length} chars)`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const kind = value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
    throw malformed(
      `Cannot use the arguments of tool call ${id}: current value is ${kind}, expected an object`,
    );
  }
  return value as Record<string, unknown>;
}

/** Tracks the tool calls of one streamed turn. Slots are the provider's block/call indexes. */
export class ToolCallAssembler {
  #open = new Map<number, OpenCall>();
  #seen = new Set<string>();

  /** Opens a call in `slot`; returns its `tool_call_start`. */
  start(slot: number, id: string, name: string): LlmEvent {
    if (this.#open.has(slot)) {
      throw malformed(`Cannot start a tool call in slot ${slot}: current slot is already open`);
    }
    if (typeof id !== "string" || id === "" || id.length > MAX_NAME) {
      throw malformed(`Cannot start a tool call: current id is ${JSON.stringify(id)}`);
    }
    if (typeof name !== "string" || name === "" || name.length > MAX_NAME) {
      throw malformed(`Cannot start tool call ${id}: current name is ${JSON.stringify(name)}`);
    }
    if (this.#seen.has(id)) {
      throw malformed(`Cannot start tool call ${id}: current id was already used this turn`);
    }
    if (this.#seen.size >= MAX_TOOL_CALLS) {
      throw malformed(
        `Cannot start tool call ${id}: current turn already has ${MAX_TOOL_CALLS} calls`,
      );
    }
    this.#seen.add(id);
    this.#open.set(slot, { id, name, args: "" });
    return { type: "tool_call_start", id, name };
  }

  /** True when `slot` holds an open call. */
  has(slot: number): boolean {
    return this.#open.has(slot);
  }

  /** The id of the call open in `slot`, if any. */
  idAt(slot: number): string | undefined {
    return this.#open.get(slot)?.id;
  }

  /** Appends an argument fragment; returns its `tool_call_delta`. */
  append(slot: number, fragment: string): LlmEvent {
    const call = this.#open.get(slot);
    if (call === undefined) {
      throw malformed(`Cannot append tool arguments: current slot ${slot} has no open call`);
    }
    if (typeof fragment !== "string") {
      throw malformed(
        `Cannot append to tool call ${call.id}: current fragment is ${typeof fragment}`,
      );
    }
    if (call.args.length + fragment.length > MAX_ARGS_CHARS) {
      throw malformed(
        `Cannot accept tool call ${call.id}: current arguments exceed ${MAX_ARGS_CHARS} chars`,
      );
    }
    call.args += fragment;
    return { type: "tool_call_delta", id: call.id, argsDelta: fragment };
  }

  /** Closes the call in `slot`; returns its `tool_call_end` with parsed arguments. */
  end(slot: number): LlmEvent {
    const call = this.#open.get(slot);
    if (call === undefined) {
      throw malformed(`Cannot end a tool call: current slot ${slot} has no open call`);
    }
    const args = parseToolArgs(call.id, call.args);
    this.#open.delete(slot);
    return { type: "tool_call_end", id: call.id, name: call.name, args };
  }

  /** Closes every open call, in slot order. */
  endAll(): LlmEvent[] {
    return [...this.#open.keys()].sort((a, b) => a - b).map((slot) => this.end(slot));
  }

  /** Number of calls completed or open this turn. */
  get count(): number {
    return this.#seen.size;
  }

  /** Calls started but not completed, as `id (name)`. */
  openCalls(): { id: string; name: string }[] {
    return [...this.#open.values()].map(({ id, name }) => ({ id, name }));
  }
}

/**
 * Adds the partial tool calls that a failure cut off to `err`: they are dropped, never ended,
 * and the message says so.
 */
export function withDroppedCalls(err: LlmError, open: { id: string; name: string }[]): LlmError {
  if (open.length === 0) return err;
  const list = open.map((c) => `${c.id} (${c.name})`).join(", ");
  return new LlmError(err.code, `${err.message}; dropped the incomplete tool call(s) ${list}`, {
    retryable: err.retryable,
    ...(err.status === null ? {} : { status: err.status }),
    ...(err.retryAfterMs === null ? {} : { retryAfterMs: err.retryAfterMs }),
    droppedToolCalls: open.map((c) => c.id),
    cause: err,
  });
}

/** Reads a token count from a usage field: absent is 0, otherwise a non-negative integer. */
export function tokenCount(value: unknown, what: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw malformed(`Cannot read usage ${what}: current value is ${JSON.stringify(value)}`);
  }
  return value;
}
