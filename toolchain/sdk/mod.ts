/**
 * What capsule authors import: `defineCapsule` and the typed host API (`fs`, `http`, `kv`,
 * `config`, `log`, `llm`). Inside a capsule every host call is gated by the capsule's manifest
 * capabilities and by Astrid's security interceptor; outside one (plain Deno) the host API
 * rejects with `CapsuleApiError`.
 *
 * @example A one-tool capsule
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { defineCapsule } from "./mod.ts";
 * const capsule = defineCapsule({
 *   tools: {
 *     greet: {
 *       description: "Greets someone",
 *       input: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
 *       run: (args: { name: string }) => `Hello, ${args.name}!`,
 *     },
 *   },
 * });
 * equal(await capsule.tools.greet.run({ name: "Ada" }), "Hello, Ada!");
 * ```
 *
 * @module
 */

/** A JSON value, as exchanged with the host. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A JSON Schema object describing a tool's input. */
export type JsonSchema = { [key: string]: Json };

/** Per-call context handed to tools, hooks and cron jobs. */
export interface CapsuleContext {
  /** Logs one line through the host (audited, never shown to the model). */
  log(message: string): Promise<void>;
}

/** One tool: its description and input schema are shown to the model. */
export interface ToolDefinition<A = Record<string, unknown>, R = unknown> {
  /** What the tool does, for the model. */
  description: string;
  /** JSON Schema of the arguments. */
  input?: JsonSchema;
  /** Runs the tool; the result is serialised as JSON. */
  run(args: A, ctx: CapsuleContext): R | Promise<R>;
}

/** Everything a capsule offers. */
export interface CapsuleDefinition {
  /** Tools by name (exposed as `<capsule>__<name>`); each tool chooses its argument type. */
  tools?: Record<string, ToolDefinition<never, unknown>>;
  /** Hook handlers by hook name. */
  hooks?: Record<string, (payload: Json, ctx: CapsuleContext) => unknown>;
  /** Cron handlers by the name used in `[[cron]]`. */
  cron?: Record<string, (ctx: CapsuleContext) => unknown>;
  /**
   * Models this capsule provides, by `[[llm_provider]]` id: with `[model] provider =
   * "capsule:<name>"` every agent model call runs `complete`.
   */
  providers?: Record<string, ProviderDefinition>;
}

/** One message of the conversation a provider answers (Astrid's message shape). */
export interface ProviderMessage {
  role: "user" | "assistant";
  content: (
    | { type: "text"; text: string }
    | { type: "tool_use"; id: string; name: string; args: Json }
    | { type: "tool_result"; toolUseId: string; content: string; isError: boolean }
  )[];
}

/** What a provider's `complete` receives. */
export interface ProviderRequest {
  /** The model id the runtime asks for (`[model] model`, or the entry's first model). */
  model: string;
  system: string;
  messages: ProviderMessage[];
  /** The tools the model may call. */
  tools: { name: string; description: string; input_schema: JsonSchema }[];
  max_tokens: number;
  temperature?: number;
}

/** One streamed piece of a provider's answer. */
export type ProviderChunk =
  | { type: "text"; text: string }
  | { type: "tool_call"; id: string; name: string; args: Json };

/** The context of a provider call: the usual one, plus `emit` to stream the answer. */
export interface ProviderContext extends CapsuleContext {
  /**
   * Streams a chunk to the agent at once. Text emitted here is not repeated from the result;
   * a tool call emitted here is not repeated when the result lists the same id.
   */
  emit(chunk: ProviderChunk): void;
}

/** A provider's whole answer. */
export interface ProviderResult {
  content: (
    | { type: "text"; text: string }
    | { type: "tool_use"; id: string; name: string; input: Json }
  )[];
  /** `end_turn`, `tool_use`, `max_tokens` or `stop_sequence`; default from the content. */
  stop_reason?: string;
  /** Token counts, priced by the runtime's `[pricing]` for the model. */
  usage?: { input_tokens: number; output_tokens: number };
}

/** A model this capsule provides (`[[llm_provider]]`). */
export interface ProviderDefinition {
  /** The model ids it answers for (mirrors `models` in `[[llm_provider]]`). */
  models?: string[];
  /** Answers one model call. */
  complete(req: ProviderRequest, ctx: ProviderContext): ProviderResult | Promise<ProviderResult>;
}

/**
 * Declares a capsule. The compiler bundles the module whose default export this is.
 *
 * @param definition the capsule's tools, hooks and cron handlers
 * @returns the same definition, typed
 *
 * @example Define a capsule with a hook
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { defineCapsule } from "./mod.ts";
 * const c = defineCapsule({ hooks: { session_start: () => "hi" } });
 * ok(c.hooks?.session_start);
 * ```
 */
export function defineCapsule<T extends CapsuleDefinition>(definition: T): T {
  if (definition === null || typeof definition !== "object") {
    throw new TypeError(`Cannot define a capsule: current value is ${String(definition)}`);
  }
  return definition;
}

/** File metadata returned by `fs.stat`. */
export interface FileInfo {
  /** Size in bytes. */
  size: number;
  /** True for a regular file. */
  isFile: boolean;
  /** True for a directory. */
  isDirectory: boolean;
  /** Last modification, in ms since the epoch, when known. */
  mtime: number | null;
}

/** One directory entry returned by `fs.readdir`. */
export interface DirEntry {
  /** The entry's name. */
  name: string;
  /** True for a regular file. */
  isFile: boolean;
  /** True for a directory. */
  isDirectory: boolean;
}

/** An HTTP request for `http.request`. */
export interface HttpRequest {
  /** Absolute URL; the host must be in the manifest's `net` capability. */
  url: string;
  /** HTTP method (default GET). */
  method?: string;
  /** Request headers. */
  headers?: Record<string, string>;
  /** Request body: text (sent as UTF-8) or bytes (sent exactly); at most 8 MiB. */
  body?: string | Uint8Array;
  /** `"bytes"` returns the body as its exact bytes; the default `"text"` decodes UTF-8. */
  responseType?: "text" | "bytes";
}

/** An HTTP response from `http.request`. */
export interface HttpResponse<B extends string | Uint8Array = string> {
  /** Status code. */
  status: number;
  /** Response headers (lower-case names). */
  headers: Record<string, string>;
  /**
   * Response body: text (invalid UTF-8 becomes U+FFFD), or the exact bytes with
   * `responseType: "bytes"`.
   */
  body: B;
}

/**
 * Raised when the host API is used outside a capsule or the host refuses a call.
 *
 * @example Outside a capsule
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { CapsuleApiError, kv } from "./mod.ts";
 * await rejects(kv.get("k"), CapsuleApiError);
 * ```
 */
export class CapsuleApiError extends Error {
  /** `NOT_IN_CAPSULE`, or the host's error code (e.g. `DENIED`). */
  readonly code: string;
  /**
   * @param code the failure class
   * @param message a "Cannot X: current value is Y" message
   */
  constructor(code: string, message: string) {
    super(message);
    this.name = "CapsuleApiError";
    this.code = code;
  }
}

interface HostApi {
  fs: {
    readFile(path: string): Promise<string>;
    readFileBytes(path: string): Promise<Uint8Array>;
    writeFile(path: string, content: string | Uint8Array): Promise<null>;
    exists(path: string): Promise<boolean>;
    mkdir(path: string, opts?: { recursive?: boolean }): Promise<null>;
    readdir(path: string): Promise<DirEntry[]>;
    stat(path: string): Promise<FileInfo>;
    unlink(path: string): Promise<null>;
  };
  http: {
    request(
      req: Omit<HttpRequest, "responseType"> & { responseEncoding?: "base64" },
    ): Promise<HttpResponse<string | Uint8Array>>;
  };
  kv: { get(key: string): Promise<Json>; set(key: string, value: Json): Promise<null> };
  config: {
    get(key: string): Promise<string | null>;
    set(key: string, value: string): Promise<null>;
  };
  log(level: string, message: string): Promise<null>;
  llm: { complete(req: LlmCompleteRequest): Promise<LlmCompleteResult> };
}

async function host<T>(use: (api: HostApi) => Promise<T>): Promise<T> {
  const api = (globalThis as { __astrid_api?: HostApi }).__astrid_api;
  if (!api) {
    throw new CapsuleApiError(
      "NOT_IN_CAPSULE",
      "Cannot reach the host: current value is not a capsule",
    );
  }
  try {
    return await use(api);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new CapsuleApiError(
      typeof code === "string" ? code : "HOST_ERROR",
      e instanceof Error ? e.message : String(e),
    );
  }
}

/**
 * Workspace files, confined to the workspace and the manifest's `fs_read`/`fs_write`. Text by
 * default; `readFileBytes` and `writeFile` with a `Uint8Array` move exact bytes (binary files).
 *
 * @example Outside a capsule the host is unreachable
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { fs } from "./mod.ts";
 * await rejects(fs.readFile("notes.md"), /not a capsule/);
 * await rejects(fs.readFileBytes("logo.png"), /not a capsule/);
 * await rejects(fs.writeFile("logo.png", new Uint8Array([137, 80, 78, 71])), /not a capsule/);
 * ```
 */
export const fs = Object.freeze({
  /** Reads a UTF-8 text file (invalid sequences become U+FFFD; use `readFileBytes` for binary). */
  readFile: (path: string): Promise<string> => host((a) => a.fs.readFile(path)),
  /** Reads a file's exact bytes (at most 16 MiB). */
  readFileBytes: (path: string): Promise<Uint8Array> => host((a) => a.fs.readFileBytes(path)),
  /**
   * Writes (creates or replaces) a file: a string as UTF-8 text, a Uint8Array as its exact bytes
   * (at most 16 MiB).
   */
  writeFile: (path: string, content: string | Uint8Array): Promise<void> =>
    host((a) => a.fs.writeFile(path, content)).then(() => {}),
  /** Tells whether a path exists. */
  exists: (path: string): Promise<boolean> => host((a) => a.fs.exists(path)),
  /** Creates a directory. */
  mkdir: (path: string, opts: { recursive?: boolean } = {}): Promise<void> =>
    host((a) => a.fs.mkdir(path, opts)).then(() => {}),
  /** Lists a directory. */
  readdir: (path: string): Promise<DirEntry[]> => host((a) => a.fs.readdir(path)),
  /** Describes a file or directory. */
  stat: (path: string): Promise<FileInfo> => host((a) => a.fs.stat(path)),
  /** Removes a file. */
  unlink: (path: string): Promise<void> => host((a) => a.fs.unlink(path)).then(() => {}),
});

/** Sends one request and returns the whole response, its body as exact bytes. */
function request(req: HttpRequest & { responseType: "bytes" }): Promise<HttpResponse<Uint8Array>>;
/** Sends one request and returns the whole response, its body as text. */
function request(req: HttpRequest): Promise<HttpResponse>;
function request(req: HttpRequest): Promise<HttpResponse<string | Uint8Array>> {
  const { responseType, ...rest } = req;
  return host((a) =>
    a.http.request(responseType === "bytes" ? { ...rest, responseEncoding: "base64" } : rest)
  );
}

/**
 * HTTP to the hosts in the manifest's `net` capability (`fetch()` is also available). Bodies are
 * text by default; a `Uint8Array` body is sent byte for byte, and `responseType: "bytes"` returns
 * the response body's exact bytes.
 *
 * @example Outside a capsule the host is unreachable
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { http } from "./mod.ts";
 * await rejects(http.request({ url: "https://example.com/" }), /not a capsule/);
 * await rejects(http.request({ url: "https://example.com/", responseType: "bytes" }), /not a capsule/);
 * ```
 */
export const http = Object.freeze({ request });

/**
 * The capsule's own key-value store (isolated per capsule).
 *
 * @example Outside a capsule the host is unreachable
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { kv } from "./mod.ts";
 * await rejects(kv.set("k", 1), /not a capsule/);
 * ```
 */
export const kv = Object.freeze({
  /** Reads a value (null when absent). */
  get: (key: string): Promise<Json> => host((a) => a.kv.get(key)),
  /** Stores a JSON value. */
  set: (key: string, value: Json): Promise<void> =>
    host((a) => a.kv.set(key, value)).then(() => {}),
});

/**
 * The capsule's configuration and `[env]` values.
 *
 * @example Outside a capsule the host is unreachable
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { config } from "./mod.ts";
 * await rejects(config.get("API_KEY"), /not a capsule/);
 * await rejects(config.set("UNITS", "metric"), /not a capsule/);
 * ```
 */
export const config = Object.freeze({
  /** Reads one value (null when unset). */
  get: (key: string): Promise<string | null> => host((a) => a.config.get(key)),
  /**
   * Changes one `[env]` value the manifest declares (a string of at most 4096 characters, no
   * NUL). It is an approved action (`capsule_config_write`): it waits for the human's approval
   * and rejects when denied or deferred; the value of a secret key is never shown or audited.
   */
  set: (key: string, value: string): Promise<void> =>
    host((a) => a.config.set(key, value)).then(() => {}),
});

/**
 * Logs one line through the host.
 *
 * @param level debug, info, warn or error
 * @param message the text
 *
 * @example Outside a capsule the host is unreachable
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { log } from "./mod.ts";
 * await rejects(log("info", "hello"), /not a capsule/);
 * ```
 */
export function log(level: "debug" | "info" | "warn" | "error", message: string): Promise<void> {
  return host((a) => a.log(level, message)).then(() => {});
}

/** A model call from a capsule (`[capabilities] llm = true`). */
export interface LlmCompleteRequest {
  /** The conversation; `system` messages join the system prompt. It must end on a user message. */
  messages: { role: "system" | "user" | "assistant"; content: string }[];
  systemPrompt?: string;
  /** Advisory: the runtime's configured model answers (the result names it). */
  model?: string;
  /** At most 4096 (larger values are capped). */
  maxTokens?: number;
  temperature?: number;
  /** Why the capsule asks, shown when a human approves the call. */
  purpose?: string;
}

/** What a capsule model call returned and cost. */
export interface LlmCompleteResult {
  text: string;
  model: string;
  provider: string;
  stopReason: string;
  usage: { inputTokens: number; outputTokens: number; costUsd: number };
}

/**
 * The runtime's model: every call is gated by the interceptor and charged to the session budget.
 *
 * @example Outside a capsule the host is unreachable
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { llm } from "./mod.ts";
 * await rejects(llm.complete({ messages: [{ role: "user", content: "hi" }] }), /not a capsule/);
 * ```
 */
export const llm = Object.freeze({
  /** Asks the model once (no tools); refused without `[capabilities] llm = true`. */
  complete: (req: LlmCompleteRequest): Promise<LlmCompleteResult> =>
    host((a) => a.llm.complete(req)),
});
