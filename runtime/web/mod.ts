/**
 * The web inbox the daemon serves (being written): routes, browser sessions, one-time links.
 *
 * @module
 */
import { Hono } from "hono";
import type { ApprovalLinks, ClientInfo, DaemonContext } from "../daemon/types.ts";

/** What the daemon's server needs from the web inbox. */
export interface Web {
  /** Pages, assets, `/login`, `/a/:code` (mounted at `/`). */
  readonly routes: Hono;
  readonly links: ApprovalLinks;
  /** The browser session a request carries (its cookie), or null. */
  authenticate(request: Request): ClientInfo | null;
  close(): void;
}

/** Builds the web inbox; `ctx` is read lazily (the context needs `links` from here). */
export function createWeb(_ctx: () => DaemonContext, _origin: string): Web {
  const fail = () => Promise.reject(new Error("the web inbox is not built yet"));
  return { routes: new Hono(), links: { mint: fail, login: fail }, authenticate: () => null, close() {} };
}
