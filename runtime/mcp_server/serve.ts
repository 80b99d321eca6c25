/**
 * The two transports of `astrid mcp serve`: stdio (one client, the process's stdin/stdout) and
 * Streamable HTTP (`POST/GET/DELETE /mcp`, a session per MCP session id, every request carrying
 * `Authorization: Bearer <token>`). Both run each connection through
 * {@link createSessionServer}.
 *
 * @module
 */
import process from "node:process";
import {
  isInitializeRequest,
  StdioServerTransport,
  WebStandardStreamableHTTPServerTransport,
} from "./_sdk.ts";
import { createSessionServer, type ServeContext, type SessionServer } from "./session_server.ts";
import { bearerMatches } from "./token.ts";

/**
 * Serves one client over this process's stdin and stdout until stdin ends or `signal` aborts,
 * then ends the session.
 *
 * @example
 * ```ts ignore
 * await serveStdio(ctx, AbortSignal.timeout(60_000));
 * ```
 */
export async function serveStdio(ctx: ServeContext, signal?: AbortSignal): Promise<void> {
  const session = createSessionServer(ctx);
  const transport = new StdioServerTransport();
  const { promise: ended, resolve } = Promise.withResolvers<void>();
  transport.onclose = () => resolve();
  const stop = () => transport.close().catch(() => resolve());
  process.stdin.once("end", stop);
  process.stdin.once("close", stop);
  signal?.addEventListener("abort", stop, { once: true });
  await session.server.connect(transport);
  try {
    await ended;
  } finally {
    process.stdin.off("end", stop);
    process.stdin.off("close", stop);
    await session.close();
  }
}

/** Options of {@link serveHttp}. */
export interface HttpServeOptions {
  /** The address to bind (127.0.0.1 unless `--listen` says otherwise). */
  readonly hostname: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly token: string;
  /** Called once listening, with the URL clients use. */
  readonly onListen?: (url: string) => void;
  readonly signal?: AbortSignal;
}

const LOOPBACK_NAMES: ReadonlySet<string> = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/**
 * True when the request's Host (and Origin, when sent) name a loopback host.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { fromLoopbackNames } from "./serve.ts";
 * const req = (host: string, origin?: string) =>
 *   new Request("http://127.0.0.1:1/mcp", { headers: origin ? { host, origin } : { host } });
 * equal(fromLoopbackNames(req("127.0.0.1:8080")), true);
 * equal(fromLoopbackNames(req("evil.example:8080")), false);
 * equal(fromLoopbackNames(req("localhost:1", "https://evil.example")), false);
 * ```
 */
export function fromLoopbackNames(req: Request): boolean {
  const hostOf = (value: string): string | null => {
    try {
      return new URL(value.includes("://") ? value : `http://${value}`).hostname;
    } catch {
      return null;
    }
  };
  const host = hostOf(req.headers.get("host") ?? "");
  if (host === null || !LOOPBACK_NAMES.has(host)) return false;
  const origin = req.headers.get("origin");
  if (origin === null) return true;
  const originHost = hostOf(origin);
  return originHost !== null && LOOPBACK_NAMES.has(originHost);
}

/** The largest request body accepted (JSON-RPC messages are small). */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

function jsonError(status: number, message: string, headers: HeadersInit = {}): Response {
  return new Response(
    JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }),
    { status, headers: { "content-type": "application/json", ...headers } },
  );
}

async function readBody(req: Request): Promise<string | Response> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) return jsonError(413, "Request body too large");
  if (!req.body) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of req.body) {
    total += chunk.length;
    if (total > MAX_BODY_BYTES) return jsonError(413, "Request body too large");
    chunks.push(chunk);
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(all);
}

/**
 * Serves Streamable HTTP at `http://HOST:PORT/mcp` until `signal` aborts; then every session
 * ends. A request without the right bearer token gets 401 before anything else is read.
 *
 * @example
 * ```ts ignore
 * await serveHttp(ctx, { hostname: "127.0.0.1", port: 0, token, onListen: console.error });
 * ```
 */
export async function serveHttp(ctx: ServeContext, opts: HttpServeOptions): Promise<void> {
  const sessions = new Map<
    string,
    { transport: WebStandardStreamableHTTPServerTransport; session: SessionServer }
  >();
  const loopback = LOOPBACK_NAMES.has(opts.hostname);
  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname !== "/mcp") return jsonError(404, "Not found: the endpoint is /mcp");
    // DNS rebinding: a loopback server answers only loopback names (a page on another site
    // that resolves its own name to 127.0.0.1 sends that name, and its own Origin).
    if (loopback && !fromLoopbackNames(req)) {
      return jsonError(403, "Forbidden: Host and Origin must name this loopback server");
    }
    if (!bearerMatches(req.headers.get("authorization"), opts.token)) {
      return jsonError(401, "Unauthorized: send Authorization: Bearer <token>", {
        "www-authenticate": 'Bearer realm="astrid-mcp"',
      });
    }
    const sid = req.headers.get("mcp-session-id");
    if (sid !== null) {
      const entry = sessions.get(sid);
      if (!entry) return jsonError(404, "Session not found");
      if (req.method !== "POST") return await entry.transport.handleRequest(req);
      const text = await readBody(req);
      if (text instanceof Response) return text;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return jsonError(400, "Parse error: the body is not JSON");
      }
      return await entry.transport.handleRequest(req, { parsedBody: parsed });
    }
    if (req.method !== "POST") return jsonError(400, "Bad request: no session id");
    const text = await readBody(req);
    if (text instanceof Response) return text;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return jsonError(400, "Parse error: the body is not JSON");
    }
    if (!isInitializeRequest(body)) {
      return jsonError(400, "Bad request: the first request of a session must be initialize");
    }
    const session = createSessionServer(ctx);
    const transport: WebStandardStreamableHTTPServerTransport =
      new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => crypto.randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, { transport, session });
        },
        onsessionclosed: async (id) => {
          sessions.delete(id);
          await session.close();
        },
      });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
      session.close().catch(() => {});
    };
    await session.server.connect(transport);
    return await transport.handleRequest(req, { parsedBody: body });
  };
  const server = Deno.serve({
    hostname: opts.hostname,
    port: opts.port,
    onListen: ({ hostname, port }) => {
      const host = hostname.includes(":") ? `[${hostname}]` : hostname;
      opts.onListen?.(`http://${host}:${port}/mcp`);
    },
  }, handler);
  const stop = async () => {
    // Open SSE streams would hold a graceful shutdown: close the sessions first.
    await Promise.all([...sessions.values()].map(async ({ transport, session }) => {
      await transport.close().catch(() => {});
      await session.close();
    }));
    await server.shutdown();
  };
  if (opts.signal?.aborted) await stop();
  else opts.signal?.addEventListener("abort", () => void stop(), { once: true });
  await server.finished;
}
