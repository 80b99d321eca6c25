/**
 * Connecting to a remote MCP server over Streamable HTTP, optionally with OAuth (a wrapped
 * fetch from {@link import("./oauth.ts").oauthFetch}, or a non-interactive provider).
 *
 * @module
 */
import { type FetchLike, type OAuthClientProvider, StreamableHTTPClientTransport } from "./_sdk.ts";
import { type ConnectionOptions, McpConnection } from "./connection.ts";

/** How to reach a remote server. */
export interface HttpConnectOptions extends ConnectionOptions {
  /** A fetch to use instead of the global one (e.g. {@link import("./oauth.ts").oauthFetch}). */
  readonly fetch?: FetchLike | undefined;
  /** A non-interactive OAuth provider (client credentials) the SDK transport drives itself. */
  readonly authProvider?: OAuthClientProvider | undefined;
  /** SSE reconnection (the server's `retry:` field is honoured). */
  readonly reconnection?: {
    readonly initialDelayMs: number;
    readonly maxDelayMs: number;
    readonly growFactor: number;
    readonly maxRetries: number;
  } | undefined;
}

/**
 * Connects to a remote server over Streamable HTTP.
 *
 * @example A refused connection is a START_FAILED
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { connectHttp } from "./http_connect.ts";
 * await rejects(connectHttp("remote", "http://127.0.0.1:9/mcp"), { code: "START_FAILED" });
 * ```
 */
export async function connectHttp(
  server: string,
  url: string,
  opts: HttpConnectOptions = {},
): Promise<McpConnection> {
  const r = opts.reconnection;
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    ...(opts.authProvider ? { authProvider: opts.authProvider } : {}),
    ...(r
      ? {
        reconnectionOptions: {
          initialReconnectionDelay: r.initialDelayMs,
          maxReconnectionDelay: r.maxDelayMs,
          reconnectionDelayGrowFactor: r.growFactor,
          maxRetries: r.maxRetries,
        },
      }
      : {}),
  });
  return await McpConnection.open(server, transport, opts);
}
