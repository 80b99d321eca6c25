/**
 * The web inbox the daemon serves: the app (`/`, `/static/*`), browser sign-in (`/login`,
 * `/logout`) and one-time approval links (`/a/:code`). The app itself talks to the daemon only
 * through JSON-RPC over `/rpc` (cookie-authenticated, see {@link Web.authenticate}); the link
 * form is the one state-changing HTTP request besides `/logout`.
 *
 * Every response carries a strict Content-Security-Policy (no inline script or style, nothing
 * from another origin). Every POST passes hono's `csrf()` Origin check and carries a token:
 * the session's (in the page's `<meta name="csrf-token">`) or the link's (bound to its code).
 *
 * @module
 */
import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { csrf } from "hono/csrf";
import { secureHeaders } from "hono/secure-headers";
import {
  type ApprovalLinks,
  type ClientInfo,
  type DaemonContext,
  type PendingApproval,
  RpcError,
} from "../daemon/types.ts";
import { DeferredQueue } from "../security/approval.ts";
import { pendingFromRecord } from "../daemon/methods/approvals.ts";
import {
  BrowserSessions,
  clearedCookie,
  readSessionCookie,
  sameSecret,
  sessionCookie,
} from "./sessions.ts";
import { DEFAULT_LINK_TTL_MS, LinkStore } from "./links.ts";
import { ANSWERS, escapeHtml, linkPage, messagePage, page } from "./_pages.ts";
import { callMethod } from "./_dispatch.ts";

/** What the daemon's server needs from the web inbox. */
export interface Web {
  /** Pages, assets, `/login`, `/logout`, `/a/:code` (mounted at `/`). */
  readonly routes: Hono;
  readonly links: ApprovalLinks;
  /** The browser session a request carries (its cookie), or null. */
  authenticate(request: Request): ClientInfo | null;
  close(): void;
}

const STATIC_FILES: Readonly<Record<string, string>> = {
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
};

/**
 * The Content-Security-Policy of every response, for the daemon at `origin`.
 *
 * @example No inline script, and WebSockets only to the daemon
 * ```ts
 * import { match, ok } from "node:assert/strict";
 * import { contentSecurityPolicy } from "./mod.ts";
 * const csp = contentSecurityPolicy("http://127.0.0.1:7777");
 * match(csp, /connect-src 'self' ws:\/\/127\.0\.0\.1:7777/);
 * ok(!csp.includes("unsafe-inline"));
 * ```
 */
export function contentSecurityPolicy(origin: string): string {
  const ws = origin.replace(/^http/, "ws");
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src 'self' ${ws}`,
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
}

function securityHeaders(origin: string): MiddlewareHandler {
  const headers = secureHeaders({
    contentSecurityPolicy: {}, // set below, in full, as one string
    xFrameOptions: "DENY",
    strictTransportSecurity: origin.startsWith("https:")
      ? "max-age=15552000; includeSubDomains"
      : false,
    crossOriginEmbedderPolicy: false,
  });
  const policy = contentSecurityPolicy(origin);
  return async function webSecurityHeaders(c, next) {
    await headers(c, next);
    c.res.headers.set("Content-Security-Policy", policy);
    if (!c.res.headers.has("Cache-Control")) c.res.headers.set("Cache-Control", "no-store");
  };
}

/** Reads the static files once. */
async function loadStatic(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const name of [...Object.keys(STATIC_FILES), "index.html"]) {
    files.set(name, await Deno.readTextFile(new URL(`./static/${name}`, import.meta.url)));
  }
  return files;
}

/** A pending approval by its exact id: a live prompt, or a deferred one still pending. */
async function findPending(ctx: DaemonContext, id: string): Promise<PendingApproval | null> {
  const live = ctx.approvals.pending().find((p) => p.id === id);
  if (live) return live;
  const r = await new DeferredQueue(ctx.rt.store).get(id);
  return r && r.status === "pending" ? pendingFromRecord(r) : null;
}

/** The largest form body read (`POST /logout`, `POST /a/:code`). */
export const MAX_FORM_BYTES = 4096;

const DEAD_LINK = "This approval link was already used, has expired, or its approval was " +
  "settled. Run `astrid approvals list` in a terminal to see what still waits.";

/**
 * Builds the web inbox for the daemon reachable at `origin` (`http://127.0.0.1:PORT`); `ctx`
 * is read lazily (the context needs `links` from here).
 *
 * @example Every response carries the CSP
 * ```ts
 * import { match } from "node:assert/strict";
 * import { createWeb } from "./mod.ts";
 * const web = createWeb(() => { throw new Error("no daemon") }, "http://127.0.0.1:1");
 * const res = await web.routes.request("/login?code=nope");
 * match(res.headers.get("content-security-policy")!, /script-src 'self'/);
 * web.close();
 * ```
 */
export function createWeb(ctx: () => DaemonContext, origin: string): Web {
  const base = new URL(origin).origin;
  const secure = base.startsWith("https:");
  const sessions = new BrowserSessions();
  const store = new LinkStore();
  let files: Promise<Map<string, string>> | null = null;
  const staticFile = (name: string) => (files ??= loadStatic()).then((f) => f.get(name)!);
  let unsubscribe: (() => void) | null = null;
  const watchSettled = () => {
    unsubscribe ??= ctx().events.subscribe(
      (_seq, e) => e.type === "approval.resolved" && store.settle(e.id),
      { types: ["approval.resolved"] },
    );
  };

  const app = new Hono();
  const paths = ["/", "/index.html", "/favicon.ico", "/login", "/logout", "/a/*", "/static/*"];
  for (const p of paths) app.use(p, securityHeaders(base));
  for (const p of ["/logout", "/a/*"]) {
    app.use(p, csrf({ origin: base }));
    // The forms hold a token and an answer; nothing bigger is read into memory.
    app.use(p, bodyLimit({ maxSize: MAX_FORM_BYTES, onError: (c) => c.text("too large", 413) }));
  }

  const html = (c: Context, body: string, status = 200) =>
    c.html(body, status as 200, { "Cache-Control": "no-store" });

  const index = async (c: Context) => {
    const session = sessions.get(readSessionCookie(c.req.header("cookie") ?? null));
    if (!session) {
      return html(
        c,
        messagePage(
          "Sign in",
          "Run `astrid daemon open` in a terminal and open the one-time link it prints.",
          "ok",
        ),
        401,
      );
    }
    // The token is base64url (no character HTML would need escaped).
    return html(c, (await staticFile("index.html")).replace("__CSRF_TOKEN__", session.csrf));
  };
  app.get("/", index);
  app.get("/index.html", index);

  // Browsers ask for it unprompted; there is none.
  app.get("/favicon.ico", (c) => c.body(null, 204));

  app.get("/static/:name", async (c) => {
    const name = c.req.param("name");
    const type = Object.hasOwn(STATIC_FILES, name) ? STATIC_FILES[name] : undefined;
    if (!type) return html(c, messagePage("Not found", "No such file."), 404);
    return c.body(await staticFile(name), 200, {
      "Content-Type": type,
      "Cache-Control": "no-cache",
    });
  });

  app.get("/login", (c) => {
    const opened = sessions.redeemLogin(c.req.query("code") ?? "");
    if (!opened) {
      return html(
        c,
        messagePage(
          "Link not valid",
          "This sign-in link is invalid, expired or already used. Run `astrid daemon open` " +
            "for a new one.",
        ),
        403,
      );
    }
    // 303 to `/`, so the code never stays in the address bar or the history.
    c.header("Set-Cookie", sessionCookie(opened.cookie, secure));
    return c.redirect("/", 303);
  });

  app.post("/logout", async (c) => {
    const cookie = readSessionCookie(c.req.header("cookie") ?? null);
    const session = sessions.get(cookie);
    const form = await c.req.parseBody().catch(() => ({} as Record<string, unknown>));
    const token = typeof form.csrf === "string" ? form.csrf : "";
    if (!session || !sameSecret(token, session.csrf)) {
      return html(
        c,
        messagePage("Forbidden", "The request's CSRF token is missing or wrong."),
        403,
      );
    }
    sessions.end(cookie);
    c.header("Set-Cookie", clearedCookie(secure));
    return c.redirect("/", 303);
  });

  app.get("/a/:code", async (c) => {
    const code = c.req.param("code");
    const link = store.peek(code);
    const approval = link && await findPending(ctx(), link.approvalId);
    if (!link || !approval) {
      store.take(code);
      return html(c, messagePage("Link not valid", DEAD_LINK), 410);
    }
    return html(c, linkPage(approval, code, link.csrf));
  });

  app.post("/a/:code", async (c) => {
    const code = c.req.param("code");
    const form = await c.req.parseBody().catch(() => ({} as Record<string, unknown>));
    const link = store.peek(code);
    if (!link) return html(c, messagePage("Link not valid", DEAD_LINK), 410);
    const token = typeof form.csrf === "string" ? form.csrf : "";
    if (!sameSecret(token, link.csrf)) {
      return html(c, messagePage("Forbidden", "The form's CSRF token is missing or wrong."), 403);
    }
    const answer = ANSWERS.find(([value]) => value === form.answer)?.[0];
    if (!answer) {
      return html(c, messagePage("Bad request", "Pick one of the four answers."), 400);
    }
    // Used now, before the answer runs: a second POST (even a concurrent one) finds it gone.
    if (!store.take(code)) return html(c, messagePage("Link not valid", DEAD_LINK), 410);
    const client: ClientInfo = { id: `link:${link.approvalId}`, kind: "link", name: "link" };
    try {
      const outcome = await callMethod(ctx(), "approvals.respond", {
        id: link.approvalId,
        answer,
      }, client) as { status?: string; message?: string };
      const ok = outcome.status !== "failed";
      return html(
        c,
        page(
          ok ? "Answered" : "Could not carry it out",
          `<p class="notice ${ok ? "ok" : "error"}">${
            escapeHtml(outcome.message ?? outcome.status ?? "done")
          }</p>`,
        ),
        ok ? 200 : 500,
      );
    } catch (err) {
      const conflict = err instanceof RpcError;
      return html(
        c,
        messagePage("Not answered", (err as Error).message),
        conflict ? 409 : 500,
      );
    }
  });

  return {
    routes: app,
    links: {
      mint(id, ttlMs) {
        const c = ctx();
        watchSettled();
        const configured = c.rt.config.daemon?.link_ttl_seconds;
        const ttl = ttlMs ?? (configured ? configured * 1000 : DEFAULT_LINK_TTL_MS);
        const { code, expiresAt } = store.mint(id, ttl);
        return Promise.resolve({ url: `${base}/a/${code}`, expiresAt });
      },
      login() {
        const { code, expiresAt } = sessions.mintLogin();
        return Promise.resolve({ url: `${base}/login?code=${code}`, expiresAt });
      },
    },
    authenticate(request) {
      const session = sessions.get(readSessionCookie(request.headers.get("cookie")));
      if (!session) return null;
      const n = crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36);
      return { id: `web:${session.id}.${n}`, kind: "web", name: "web" };
    },
    close() {
      unsubscribe?.();
      sessions.clear();
      store.clear();
    },
  };
}
