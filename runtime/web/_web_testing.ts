/**
 * Test helpers for the web inbox: a {@link DaemonContext} over a real runtime (KV on disk in a
 * temp home, the real audit log, key, event bus and approval hub) with the real web inbox as
 * its `links`, and a real deferred `write_file` to answer.
 *
 * @module
 */
import { Command } from "commander";
import { join } from "node:path";
import { type CliIo, type Runtime, withRuntime } from "../cli/context.ts";
import { EventLog } from "../daemon/events.ts";
import { Hub } from "../daemon/hub.ts";
import type { DaemonContext, DaemonEvent } from "../daemon/types.ts";
import { createWeb, type Web } from "./mod.ts";

/** The daemon's address in route tests (nothing listens there: routes are called directly). */
export const TEST_ORIGIN = "http://127.0.0.1:41999";

/** What a web test gets. */
export interface WebTest {
  readonly ctx: DaemonContext;
  readonly rt: Runtime;
  readonly web: Web;
  readonly hub: Hub;
  readonly events: DaemonEvent[];
  readonly home: string;
  readonly workspace: string;
  readonly stderr: string[];
  /** A request to the routes, from a same-origin page unless `headers` say otherwise. */
  request(path: string, init?: RequestInit): Promise<Response>;
}

/** Runs `fn` with a daemon context and web inbox over a fresh home and workspace. */
export async function withWeb(
  fn: (t: WebTest) => Promise<void>,
  opts: { readonly config?: string; readonly origin?: string } = {},
): Promise<void> {
  const home = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-web-home-" }));
  const workspace = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-web-ws-" }));
  await Deno.mkdir(join(workspace, ".astrid"));
  if (opts.config !== undefined) await Deno.writeTextFile(join(home, "config.toml"), opts.config);
  const stderr: string[] = [];
  const io: CliIo = {
    env: {
      ASTRID_HOME: home,
      HOME: home,
      ASTRID_SYSTEM_CONFIG: join(home, "no-system.toml"),
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    },
    cwd: workspace,
    isTty: false,
    stdout: () => {},
    stderr: (t) => stderr.push(t),
  };
  const origin = opts.origin ?? TEST_ORIGIN;
  try {
    await withRuntime(new Command(), io, async (rt) => {
      const bus = new EventLog();
      const events: DaemonEvent[] = [];
      bus.subscribe((_seq, e) => events.push(e));
      const hub = new Hub(bus);
      const services = new Map<string, unknown>();
      let ctx: DaemonContext | null = null;
      const web = createWeb(() => ctx!, origin);
      ctx = {
        rt,
        events: bus,
        approvals: hub,
        links: web.links,
        url: origin,
        startedAt: Date.now(),
        clients: () => [],
        services: {
          get: <T>(name: string) => services.get(name) as T | undefined,
          set: (name, service) => void services.set(name, service),
        },
        shutdown: () => {},
      };
      try {
        await fn({
          ctx,
          rt,
          web,
          hub,
          events,
          home,
          workspace,
          stderr,
          request: (path, init = {}) => {
            const headers = new Headers(init.headers);
            if (!headers.has("origin") && init.method === "POST") headers.set("origin", origin);
            return Promise.resolve(web.routes.request(`${origin}${path}`, { ...init, headers }));
          },
        });
      } finally {
        web.close();
      }
    });
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(workspace, { recursive: true });
  }
}

/** Defers a `write_file` through the real gate (nobody to ask); returns the deferred id. */
export { deferWrite } from "../daemon/methods/_methods_testing.ts";

/** Signs a browser in through `/login`; returns its `Cookie` header value. */
export async function signIn(t: WebTest): Promise<string> {
  const { url } = await t.web.links.login();
  const res = await t.request(new URL(url).pathname + new URL(url).search);
  const cookie = res.headers.get("set-cookie");
  if (res.status !== 303 || !cookie) throw new Error(`sign-in failed: ${res.status}`);
  return cookie.split(";")[0]!;
}

/** The value of `<input name="csrf">` in a page. */
export function formToken(html: string): string {
  const m = html.match(/name="csrf" value="([^"]+)"/);
  if (!m) throw new Error("no csrf field in the page");
  return m[1]!;
}
