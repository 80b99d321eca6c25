/**
 * `astridd`: takes the home's lock, ensures the token, listens (127.0.0.1 unless `--listen`),
 * writes `daemon.json`, starts every method group, and runs until SIGTERM, SIGINT,
 * `daemon.stop`, or (with `ephemeral`) 2 s after the last client left. Stopping runs the
 * groups' closers in reverse, closes the services and connections, shuts the HTTP server down
 * and removes `daemon.json` and the lock. The runtime (store, audit) is closed by the caller
 * (`withRuntime`), after {@link runDaemon} returns.
 *
 * @module
 */
import type { Runtime } from "../cli/context.ts";
import { createWeb, type Web } from "../web/mod.ts";
import { EventLog } from "./events.ts";
import { Hub } from "./hub.ts";
import { GROUPS, type MethodGroup } from "./methods/mod.ts";
import { Dispatcher } from "./rpc.ts";
import { createServer, type DaemonServer } from "./server.ts";
import {
  acquireLock,
  type DaemonInfo,
  ensureToken,
  removeDaemonInfo,
  writeDaemonInfo,
} from "./state.ts";
import type { DaemonContext, DaemonServices } from "./types.ts";

/** How long an ephemeral daemon waits after its last client left. */
export const EPHEMERAL_GRACE_MS = 2000;
const SHUTDOWN_WAIT_MS = 2000;

/** How {@link startDaemon} runs. */
export interface DaemonOptions {
  /** The opened runtime; it outlives the daemon. */
  readonly rt: Runtime;
  /** The loopback port (0: any free one). Ignored with `listen`. */
  readonly port?: number;
  /** `HOST:PORT` to bind instead of 127.0.0.1 (needs TLS or a reverse proxy in front). */
  readonly listen?: string;
  /**
   * The URL browsers reach the daemon at through a TLS reverse proxy (`https://astrid.example.net`):
   * its origin may open `/rpc` too, and the web inbox mints its links with it.
   */
  readonly publicUrl?: string;
  /** Stop once the last client leaves (after a first one connected). */
  readonly ephemeral?: boolean;
  /** One log line (default: stderr). */
  readonly log?: (line: string) => void;
  /** The method groups (default: all of them). */
  readonly groups?: readonly MethodGroup[];
  /** Stop on SIGTERM/SIGINT (default true; tests running several daemons pass false). */
  readonly signals?: boolean;
  /** Show stacks in -32603 errors (ASTRID_DEBUG). */
  readonly debug?: boolean;
}

/** A running daemon. */
export interface RunningDaemon {
  readonly info: DaemonInfo;
  readonly token: string;
  readonly context: DaemonContext;
  /** Starts stopping (idempotent); `stopped` settles when done. */
  stop(reason: string): void;
  readonly stopped: Promise<void>;
}

/**
 * The daemon's services: a name → service map closed (in reverse) at shutdown.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { ServiceMap } from "./daemon.ts";
 * const services = new ServiceMap();
 * services.set("x", { n: 1 });
 * equal(services.get<{ n: number }>("x")?.n, 1);
 * ```
 */
export class ServiceMap implements DaemonServices {
  readonly #map = new Map<string, unknown>();

  /** The service registered as `name`. */
  get<T>(name: string): T | undefined {
    return this.#map.get(name) as T | undefined;
  }

  /** Registers (or replaces) `name`. */
  set<T>(name: string, service: T & { close?(): Promise<void> }): void {
    this.#map.delete(name);
    this.#map.set(name, service);
  }

  /** Closes every service that can be closed, last registered first. */
  async close(onError: (name: string, err: unknown) => void): Promise<void> {
    for (const [name, service] of [...this.#map].reverse()) {
      const close = (service as { close?: () => Promise<void> } | null)?.close;
      if (typeof close !== "function") continue;
      try {
        await close.call(service);
      } catch (err) {
        onError(name, err);
      }
    }
  }
}

/**
 * `HOST:PORT` as a bind address (IPv6 in brackets).
 *
 * @example
 * ```ts
 * import { deepEqual, throws } from "node:assert/strict";
 * import { parseListen } from "./daemon.ts";
 * deepEqual(parseListen("0.0.0.0:8080"), { hostname: "0.0.0.0", port: 8080 });
 * deepEqual(parseListen("[::]:9"), { hostname: "::", port: 9 });
 * throws(() => parseListen("nope"), RangeError);
 * ```
 */
export function parseListen(text: string): { hostname: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    throw new RangeError(`Cannot listen on ${JSON.stringify(text)}: expected HOST:PORT`);
  }
  return { hostname: m[1] ?? m[2]!, port };
}

/**
 * The origin of `--public-url` (http or https, no path, query or credentials).
 *
 * @example
 * ```ts
 * import { equal, throws } from "node:assert/strict";
 * import { parsePublicUrl } from "./daemon.ts";
 * equal(parsePublicUrl("https://astrid.example.net/"), "https://astrid.example.net");
 * throws(() => parsePublicUrl("https://x.example/inbox"), RangeError);
 * ```
 */
export function parsePublicUrl(text: string): string {
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {
    // reported below
  }
  if (
    url === null || !/^https?:$/.test(url.protocol) || url.pathname !== "/" || url.search !== "" ||
    url.hash !== "" || url.username !== "" || url.password !== ""
  ) {
    throw new RangeError(
      `Cannot use --public-url ${JSON.stringify(text)}: expected http(s)://HOST[:PORT]`,
    );
  }
  return url.origin;
}

function originOf(hostname: string, port: number): string {
  return `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

const WILDCARDS = new Set(["0.0.0.0", "::"]);

/**
 * Starts the daemon and returns once it listens and its groups started.
 *
 * @example
 * ```ts ignore
 * const daemon = await startDaemon({ rt });
 * console.log(daemon.info.url);
 * await daemon.stopped;
 * ```
 */
export async function startDaemon(opts: DaemonOptions): Promise<RunningDaemon> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const home = opts.rt.paths.home;
  const lock = await acquireLock(home);
  let web: Web | null = null;
  let server: DaemonServer | null = null;
  let http: Deno.HttpServer<Deno.NetAddr> | null = null;
  try {
    const { token, warning } = await ensureToken(home);
    if (warning !== null) log(`astridd: warning: ${warning}`);
    const bind = opts.listen === undefined
      ? { hostname: "127.0.0.1", port: opts.port ?? 0 }
      : parseListen(opts.listen);
    if (opts.listen !== undefined) {
      log(
        `astridd: WARNING: listening on ${opts.listen}: this is plain HTTP; put it behind TLS ` +
          "or a reverse proxy (README: Daemon) before anyone reaches it over a network",
      );
    }
    let fetchApp: ((req: Request) => Response | Promise<Response>) | null = null;
    const listening = Promise.withResolvers<Deno.NetAddr>();
    http = Deno.serve({
      hostname: bind.hostname,
      port: bind.port,
      onListen: (addr) => listening.resolve(addr as Deno.NetAddr),
      onError: (err) => {
        log(`astridd: request failed: ${(err as Error).message}`);
        return new Response("internal error", { status: 500 });
      },
    }, (req) => fetchApp ? fetchApp(req) : new Response("starting", { status: 503 }));
    const addr = await listening.promise;
    const loopback = originOf("127.0.0.1", addr.port);
    const own = originOf(bind.hostname, addr.port);
    const url = opts.listen === undefined || WILDCARDS.has(bind.hostname) ? loopback : own;
    const publicOrigin = opts.publicUrl === undefined ? null : parsePublicUrl(opts.publicUrl);
    const origins = [
      ...new Set([
        url,
        ...(opts.listen === undefined ? [] : [own]),
        ...(WILDCARDS.has(bind.hostname) ? [loopback] : []),
        ...(publicOrigin === null ? [] : [publicOrigin]),
      ]),
    ];

    const events = new EventLog({
      onError: (err) => log(`astridd: an event subscriber failed: ${(err as Error).message}`),
    });
    const hub = new Hub(events);
    const services = new ServiceMap();
    const startedAt = Date.now();
    const groups = opts.groups ?? GROUPS;
    const dispatcher = new Dispatcher(groups.flatMap((g) => g.methods), {
      debug: opts.debug ?? false,
    });
    const done = Promise.withResolvers<void>();
    let stopping = false;
    let ephemeralTimer: ReturnType<typeof setTimeout> | undefined;
    let hadClient = false;
    const closers: (() => Promise<void>)[] = [];

    const stop = (reason: string) => {
      if (stopping) return;
      stopping = true;
      // After the current call's answer is out.
      setTimeout(() => void shutdown(reason).then(done.resolve, done.reject), 0);
    };
    // deno-lint-ignore prefer-const
    let context: DaemonContext;
    web = createWeb(() => context, publicOrigin ?? url);
    const srv = createServer({
      token,
      web,
      dispatcher,
      context: () => context,
      origins: () => origins,
      onClients(event, client, connections) {
        log(
          `astridd: client ${
            event === "connect" ? "connected" : "left"
          }: ${client.kind} ${client.name} (${connections} connected)`,
        );
        if (event === "connect") {
          hadClient = true;
          clearTimeout(ephemeralTimer);
        } else if (opts.ephemeral && hadClient && connections === 0 && !stopping) {
          ephemeralTimer = setTimeout(
            () => stop("ephemeral: the last client left"),
            EPHEMERAL_GRACE_MS,
          );
        }
      },
    });
    server = srv;
    context = {
      rt: opts.rt,
      events,
      approvals: hub,
      links: web.links,
      url,
      startedAt,
      clients: () => srv.clients(),
      services,
      shutdown: stop,
    };
    fetchApp = srv.app.fetch;

    const signals: Deno.Signal[] = opts.signals === false || Deno.build.os === "windows"
      ? []
      : ["SIGTERM", "SIGINT"];
    const onSignal = (signal: Deno.Signal) => () => stop(`received ${signal}`);
    const listeners = signals.map((s) => [s, onSignal(s)] as const);
    for (const [s, l] of listeners) Deno.addSignalListener(s, l);

    const shutdown = async (reason: string) => {
      log(`astridd: stopping (${reason})`);
      clearTimeout(ephemeralTimer);
      for (const close of closers.reverse()) {
        try {
          await close();
        } catch (err) {
          log(`astridd: a closer failed: ${(err as Error).message}`);
        }
      }
      await services.close((name, err) =>
        log(`astridd: closing ${name} failed: ${(err as Error).message}`)
      );
      web?.close();
      srv.closeAll();
      await Promise.race([
        http!.shutdown(),
        new Promise((resolve) => setTimeout(resolve, SHUTDOWN_WAIT_MS)),
      ]);
      for (const [s, l] of listeners) Deno.removeSignalListener(s, l);
      await removeDaemonInfo(home, Deno.pid);
      await lock.release();
      log(`astridd: stopped`);
    };

    const info: DaemonInfo = { pid: Deno.pid, port: addr.port, url, startedAt };
    for (const group of groups) {
      if (!group.start) continue;
      try {
        const closer = await group.start(context);
        if (closer) closers.push(closer);
      } catch (err) {
        log(
          `astridd: warning: starting ${
            group.methods[0]?.name.split(".")[0] ?? "a method group"
          } failed: ${(err as Error).message}`,
        );
      }
    }
    // Written once every group has started (capsule services, cron): a frontend finds the
    // daemon (and `daemon start` returns) only when what it started is there to be listed.
    await writeDaemonInfo(home, info);
    log(`astridd: started pid ${Deno.pid} at ${url} (home ${home})`);
    return { info, token, context, stop, stopped: done.promise };
  } catch (err) {
    server?.closeAll();
    web?.close();
    await http?.shutdown().catch(() => {});
    await removeDaemonInfo(home, Deno.pid);
    await lock.release();
    throw err;
  }
}

/** Starts the daemon and waits until it stopped. */
export async function runDaemon(opts: DaemonOptions): Promise<void> {
  const daemon = await startDaemon(opts);
  await daemon.stopped;
}
