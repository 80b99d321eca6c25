/**
 * The JSON-RPC 2.0 dispatcher (https://www.jsonrpc.org/specification): one method table built
 * from the method groups, every params schema compiled once with ajv. It takes one text frame
 * and returns the text to send back (or null: notifications get no reply, §4.1).
 *
 * Errors (§5.1): -32700 the frame is not JSON; -32600 not a request object (or an empty batch,
 * or a frame over {@link MAX_FRAME_BYTES}); -32601 an unknown method (named); -32602 params that
 * do not match the schema (the message names the field); an {@link RpcError} keeps its code;
 * anything else is -32603 with its message only (the stack only with `debug`). Results are not
 * validated here (tests validate them against each method's `result` schema).
 *
 * @module
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { type RpcCall, RpcError, RpcErrorCode, type RpcMethod } from "./types.ts";

/** The largest frame accepted (1 MiB). */
export const MAX_FRAME_BYTES = 1024 * 1024;

type Id = string | number | null;

interface Compiled {
  readonly method: RpcMethod;
  readonly validate: ValidateFunction;
}

/** A JSON-RPC error object. */
export interface RpcErrorObject {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

/**
 * `params.field must …` for the first ajv error.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { describeError } from "./rpc.ts";
 * equal(
 *   describeError({
 *     instancePath: "/answer", keyword: "enum", schemaPath: "", message: "",
 *     params: { allowedValues: ["once", "deny"] },
 *   }),
 *   "params.answer must be one of once|deny",
 * );
 * ```
 */
export function describeError(e: ErrorObject): string {
  const path = "params" +
    e.instancePath.split("/").slice(1).map((p) =>
      /^\d+$/.test(p) ? `[${p}]` : `.${p.replaceAll("~1", "/").replaceAll("~0", "~")}`
    ).join("");
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "enum":
      return `${path} must be one of ${(p.allowedValues as unknown[]).join("|")}`;
    case "const":
      return `${path} must be ${JSON.stringify(p.allowedValue)}`;
    case "required":
      return `${path}.${String(p.missingProperty)} is required`;
    case "additionalProperties":
      return `${path}.${String(p.additionalProperty)} is not allowed`;
    case "type":
      return `${path} must be ${String(p.type)}`;
    default:
      return `${path} ${e.message ?? "is invalid"}`;
  }
}

/** The dispatcher: `handle(frame, call)` answers one WebSocket text frame. */
export class Dispatcher {
  readonly #table = new Map<string, Compiled>();
  readonly #debug: boolean;

  /** Builds the table; a duplicate name or a schema ajv rejects throws (a programming error). */
  constructor(methods: readonly RpcMethod[], opts: { readonly debug?: boolean } = {}) {
    const ajv = new Ajv({ strict: false, allErrors: false, validateFormats: false });
    for (const method of methods) {
      if (this.#table.has(method.name)) {
        throw new TypeError(`Cannot register RPC method ${method.name}: it is registered twice`);
      }
      this.#table.set(method.name, { method, validate: ajv.compile(method.params) });
    }
    this.#debug = opts.debug ?? false;
  }

  /** The registered methods, in registration order. */
  methods(): RpcMethod[] {
    return [...this.#table.values()].map((c) => c.method);
  }

  /**
   * Answers one frame: the response text, or null when nothing is owed (notifications only).
   *
   * @example An unknown method
   * ```ts
   * import { match } from "node:assert/strict";
   * import { Dispatcher } from "./rpc.ts";
   * const d = new Dispatcher([]);
   * const call = {} as never;
   * match((await d.handle('{"jsonrpc":"2.0","id":1,"method":"nope"}', call))!, /-32601/);
   * ```
   */
  async handle(frame: string, call: RpcCall): Promise<string | null> {
    if (
      frame.length > MAX_FRAME_BYTES ||
      (frame.length * 3 > MAX_FRAME_BYTES && byteLength(frame) > MAX_FRAME_BYTES)
    ) {
      return JSON.stringify(failure(null, {
        code: RpcErrorCode.InvalidRequest,
        message: `request too large: the limit is ${MAX_FRAME_BYTES} bytes`,
      }));
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(frame);
    } catch {
      return JSON.stringify(
        failure(null, { code: RpcErrorCode.ParseError, message: "parse error" }),
      );
    }
    if (Array.isArray(parsed)) {
      if (parsed.length === 0) {
        return JSON.stringify(failure(null, {
          code: RpcErrorCode.InvalidRequest,
          message: "invalid request: empty batch",
        }));
      }
      const replies = await Promise.all(parsed.map((one) => this.#one(one, call)));
      const owed = replies.filter((r) => r !== null);
      return owed.length === 0 ? null : JSON.stringify(owed);
    }
    const reply = await this.#one(parsed, call);
    return reply === null ? null : JSON.stringify(reply);
  }

  async #one(request: unknown, call: RpcCall): Promise<object | null> {
    if (typeof request !== "object" || request === null || Array.isArray(request)) {
      return failure(null, invalid("a request must be an object"));
    }
    const r = request as Record<string, unknown>;
    const hasId = Object.hasOwn(r, "id");
    const id = r.id;
    if (hasId && !(typeof id === "string" || typeof id === "number" || id === null)) {
      return failure(null, invalid("id must be a string, a number or null"));
    }
    const replyId = hasId ? id as Id : null;
    if (r.jsonrpc !== "2.0") return failure(replyId, invalid('jsonrpc must be "2.0"'));
    if (typeof r.method !== "string") return failure(replyId, invalid("method must be a string"));
    if (r.params !== undefined && (typeof r.params !== "object" || r.params === null)) {
      return failure(replyId, invalid("params must be an object or an array"));
    }
    const answer = await this.#invoke(r.method, r.params ?? {}, call);
    if (!hasId) return null; // a notification: no reply, even for an error (§4.1)
    return "error" in answer
      ? failure(replyId, answer.error)
      : { jsonrpc: "2.0", id: replyId, result: answer.result };
  }

  async #invoke(
    name: string,
    params: unknown,
    call: RpcCall,
  ): Promise<{ result: unknown } | { error: RpcErrorObject }> {
    const entry = this.#table.get(name);
    if (entry === undefined) {
      return {
        error: { code: RpcErrorCode.MethodNotFound, message: `method not found: ${name}` },
      };
    }
    if (!entry.validate(params)) {
      const first = entry.validate.errors?.[0];
      return {
        error: {
          code: RpcErrorCode.InvalidParams,
          message: `invalid params: ${first ? describeError(first) : "params are invalid"}`,
        },
      };
    }
    try {
      const result = await entry.method.handler(params, call);
      return { result: result === undefined ? null : result };
    } catch (err) {
      if (err instanceof RpcError) {
        return {
          error: {
            code: err.code,
            message: err.message,
            ...(err.data === undefined ? {} : { data: err.data }),
          },
        };
      }
      const message = err instanceof Error ? err.message : String(err);
      const stack = this.#debug && err instanceof Error && err.stack ? { data: err.stack } : {};
      return { error: { code: RpcErrorCode.Internal, message, ...stack } };
    }
  }
}

function invalid(why: string): RpcErrorObject {
  return { code: RpcErrorCode.InvalidRequest, message: `invalid request: ${why}` };
}

function failure(id: Id, error: RpcErrorObject): object {
  return { jsonrpc: "2.0", id, error };
}

function byteLength(text: string): number {
  // UTF-8 length without allocating (a frame under the limit in chars may still exceed it).
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdbff ? (i++, 4) : 3;
  }
  return n;
}
