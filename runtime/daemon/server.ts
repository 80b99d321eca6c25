/**
 * The daemon's HTTP side: a hono app with `GET /rpc` (JSON-RPC 2.0 over WebSocket) and the web
 * inbox's routes at `/`.
 *
 * The upgrade is checked in this order:
 * 1. Origin: a request that carries an `Origin` header is accepted only from the daemon's own
 *    origin (`http://127.0.0.1:PORT`, or the `--listen` origin), so no other web page can
 *    drive the daemon from a browser (cross-site WebSocket hijacking). Otherwise 403.
 * 2. Credentials: `Authorization: Bearer <token>` (compared in constant time), or a browser
 *    session the web inbox recognises. Otherwise 401.
 *
 * Neither refusal says more than its status. Every HTTP response carries a strict
 * Content-Security-Policy, `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`
 * and `X-Frame-Options: DENY`.
 *
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";
import { upgradeWebSocket } from "hono/deno";
import { createHash, timingSafeEqual } from "node:crypto";
import type { Web } from "../web/mod.ts";
import { Dispatcher, MAX_FRAME_BYTES } from "./rpc.ts";
import type { ClientInfo, DaemonContext } from "./types.ts";

/** The Content-Security-Policy of every response. */
export const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; " +
  "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; " +
  "form-action 'self'";

/** What the server needs from the daemon. */
export interface ServerOptions {
  /** The bearer token. */
  readonly token: string;
  readonly web: Web;
  readonly dispatcher: Dispatcher;
  /** The daemon context (read per call: it exists once the server listens). */
  readonly context: () => DaemonContext;
  /** Origins a browser may open `/rpc` from (read per request: the port is known late). */
  readonly origins: () => readonly string[];
  /** A client connected or left; `connections` is how many remain. */
  readonly onClients?: (
    event: "connect" | "disconnect",
    client: ClientInfo,
    connections: number,
  ) => void;
}

interface Connection {
  readonly client: ClientInfo;
  readonly abort: AbortController;
}

/** The app and its live connections. */
export interface DaemonServer {
  readonly app: Hono;
  /** Clients connected right now. */
  clients(): readonly ClientInfo[];
  /** Closes every connection (shutdown). */
  closeAll(): void;
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/**
 * True when `header` is `Bearer <token>` (constant time over the token's SHA-256, so neither
 * content nor length leaks through timing).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { bearerMatches } from "./server.ts";
 * equal(bearerMatches("Bearer abc", "abc"), true);
 * equal(bearerMatches("Bearer abd", "abc"), false);
 * equal(bearerMatches(undefined, "abc"), false);
 * ```
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer ([^\s]+)$/.exec(header ?? "");
  const given = digest(m?.[1] ?? "");
  return timingSafeEqual(given, digest(token)) && m !== null && token !== "";
}

function securityHeaders(): MiddlewareHandler {
  return async function securityHeaders(c, next) {
    await next();
    if (c.res.status === 101) return;
    const set = (name: string, value: string) => {
      if (!c.res.headers.has(name)) c.res.headers.set(name, value);
    };
    try {
      set("Content-Security-Policy", CSP);
      set("X-Content-Type-Options", "nosniff");
      set("Referrer-Policy", "no-referrer");
      set("X-Frame-Options", "DENY");
    } catch {
      // immutable headers (a fetched response): copy it
      c.res = new Response(c.res.body, c.res);
      c.res.headers.set("Content-Security-Policy", CSP);
      c.res.headers.set("X-Content-Type-Options", "nosniff");
      c.res.headers.set("Referrer-Policy", "no-referrer");
      c.res.headers.set("X-Frame-Options", "DENY");
    }
  };
}

/**
 * Builds the app. Serve it with `Deno.serve({ hostname, port }, server.app.fetch)`.
 *
 * @example
 * ```ts ignore
 * const server = createServer({ token, web, dispatcher, context: () => ctx, origins: () => [url] });
 * Deno.serve({ hostname: "127.0.0.1", port: 0 }, server.app.fetch);
 * ```
 */
export function createServer(opts: ServerOptions): DaemonServer {
  const connections = new Map<string, Connection>();
  const sockets = new Set<WebSocket>();
  const app = new Hono<{ Variables: { client: ClientInfo } }>();
  app.use("*", securityHeaders());

  app.get(
    "/rpc",
    async function authenticate(c, next) {
      const origin = c.req.header("origin");
      if (origin !== undefined && !opts.origins().includes(origin)) {
        return c.text("forbidden", 403);
      }
      let client: ClientInfo | null = null;
      const authorization = c.req.header("authorization");
      if (authorization !== undefined) {
        if (bearerMatches(authorization, opts.token)) {
          const name = (c.req.header("x-astrid-client") ?? "").replace(/[^\w.:@/ -]/g, "").slice(
            0,
            64,
          );
          client = { id: `cli-${crypto.randomUUID()}`, kind: "cli", name: name || "cli" };
        }
      } else {
        client = opts.web.authenticate(c.req.raw);
      }
      if (client === null) return c.text("unauthorized", 401);
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
        return c.text("expected a WebSocket upgrade", 426);
      }
      c.set("client", client);
      await next();
    },
    upgradeWebSocket((c) => {
      const client = c.get("client");
      const abort = new AbortController();
      let socket: WebSocket | null = null;
      const notify = (method: string, params: unknown) => {
        if (socket?.readyState === WebSocket.OPEN) {
          socket.send(JSON.stringify({ jsonrpc: "2.0", method, params }));
        }
      };
      const call = {
        client,
        signal: abort.signal,
        notify,
        get daemon() {
          return opts.context();
        },
      };
      return {
        onOpen(_event, ws) {
          socket = ws.raw as WebSocket;
          sockets.add(socket);
          connections.set(client.id, { client, abort });
          opts.onClients?.("connect", client, connections.size);
        },
        async onMessage(event, ws) {
          if (typeof event.data !== "string") {
            ws.close(1003, "text frames only");
            return;
          }
          if (event.data.length > MAX_FRAME_BYTES) {
            const reply = await opts.dispatcher.handle(event.data, call);
            if (reply !== null) ws.send(reply);
            ws.close(1009, "frame too large");
            return;
          }
          const reply = await opts.dispatcher.handle(event.data, call);
          if (reply !== null && ws.readyState === WebSocket.OPEN) ws.send(reply);
        },
        onClose() {
          if (socket) sockets.delete(socket);
          if (!connections.delete(client.id)) return;
          abort.abort(new Error("the connection closed"));
          opts.onClients?.("disconnect", client, connections.size);
        },
      };
    }),
  );

  app.route("/", opts.web.routes);

  return {
    app: app as unknown as Hono,
    clients: () => [...connections.values()].map((c) => c.client),
    closeAll() {
      for (const s of sockets) {
        try {
          s.close(1001, "the daemon is stopping");
        } catch {
          // already closing
        }
      }
    },
  };
}
