/**
 * What capsule authors import: `defineCapsule` and the typed host API (`fs`, `http`, `kv`,
 * `config`, `log`). Inside a capsule every host call is gated by the capsule's manifest
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
  /** Request body as text. */
  body?: string;
}

/** An HTTP response from `http.request`. */
export interface HttpResponse {
  /** Status code. */
  status: number;
  /** Response headers (lower-case names). */
  headers: Record<string, string>;
  /** Response body as text. */
  body: string;
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
    writeFile(path: string, content: string): Promise<null>;
    exists(path: string): Promise<boolean>;
    mkdir(path: string, opts?: { recursive?: boolean }): Promise<null>;
    readdir(path: string): Promise<DirEntry[]>;
    stat(path: string): Promise<FileInfo>;
    unlink(path: string): Promise<null>;
  };
  http: { request(req: HttpRequest): Promise<HttpResponse> };
  kv: { get(key: string): Promise<Json>; set(key: string, value: Json): Promise<null> };
  config: { get(key: string): Promise<string | null> };
  log(level: string, message: string): Promise<null>;
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
 * Workspace files, confined to the workspace and the manifest's `fs_read`/`fs_write`.
 *
 * @example Outside a capsule the host is unreachable
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { fs } from "./mod.ts";
 * await rejects(fs.readFile("notes.md"), /not a capsule/);
 * ```
 */
export const fs = Object.freeze({
  /** Reads a UTF-8 text file. */
  readFile: (path: string): Promise<string> => host((a) => a.fs.readFile(path)),
  /** Writes (creates or replaces) a UTF-8 text file. */
  writeFile: (path: string, content: string): Promise<void> =>
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

/**
 * HTTP to the hosts in the manifest's `net` capability (`fetch()` is also available).
 *
 * @example Outside a capsule the host is unreachable
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { http } from "./mod.ts";
 * await rejects(http.request({ url: "https://example.com/" }), /not a capsule/);
 * ```
 */
export const http = Object.freeze({
  /** Sends one request and returns the whole response. */
  request: (req: HttpRequest): Promise<HttpResponse> => host((a) => a.http.request(req)),
});

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
 * ```
 */
export const config = Object.freeze({
  /** Reads one value (null when unset). */
  get: (key: string): Promise<string | null> => host((a) => a.config.get(key)),
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
