/**
 * RPC methods: `status` (what the daemon is, how long it has run, who is connected) and
 * `daemon.stop` (answers, then shuts the daemon down).
 *
 * @module
 */
import type { MethodGroup } from "./mod.ts";
import type { DaemonContext, RpcMethod } from "../types.ts";

/** The runtime's version, as `astrid --version` prints it. */
export const VERSION = "0.1.0";

/** `status`'s result. */
export interface DaemonStatus {
  readonly version: string;
  readonly pid: number;
  readonly url: string;
  readonly startedAt: number;
  readonly uptimeMs: number;
  readonly home: string;
  readonly clients: number;
  readonly sessions?: number;
}

/** How many sessions the `sessions` service holds (`count()`, `size` or `list()`), if any. */
function sessionCount(ctx: DaemonContext): number | undefined {
  const s = ctx.services.get<Record<string, unknown>>("sessions");
  if (s === undefined) return undefined;
  if (typeof s.count === "function") return Number((s.count as () => number)());
  if (typeof s.size === "number") return s.size;
  if (typeof s.list === "function") {
    const list = (s.list as () => unknown)();
    if (Array.isArray(list)) return list.length;
  }
  return undefined;
}

/**
 * The status of the daemon `ctx` runs.
 *
 * @example
 * ```ts ignore
 * const s = daemonStatus(ctx);
 * console.log(s.url, s.uptimeMs);
 * ```
 */
export function daemonStatus(ctx: DaemonContext): DaemonStatus {
  const sessions = sessionCount(ctx);
  return {
    version: VERSION,
    pid: Deno.pid,
    url: ctx.url,
    startedAt: ctx.startedAt,
    uptimeMs: Date.now() - ctx.startedAt,
    home: ctx.rt.paths.home,
    clients: ctx.clients().length,
    ...(sessions === undefined ? {} : { sessions }),
  };
}

const status: RpcMethod = {
  name: "status",
  summary: "What the daemon is: version, pid, URL, uptime, home, connected clients, sessions.",
  params: { type: "object", additionalProperties: false, properties: {} },
  result: {
    type: "object",
    additionalProperties: false,
    required: ["version", "pid", "url", "startedAt", "uptimeMs", "home", "clients"],
    properties: {
      version: { type: "string", description: "The runtime's version." },
      pid: { type: "integer", description: "The daemon's process id." },
      url: { type: "string", description: "`http://127.0.0.1:PORT` (or the `--listen` origin)." },
      startedAt: { type: "number", description: "When it started (ms since the epoch)." },
      uptimeMs: { type: "number", description: "How long it has run (ms)." },
      home: { type: "string", description: "Its `$ASTRID_HOME`." },
      clients: { type: "integer", description: "Connected clients right now." },
      sessions: {
        type: "integer",
        description: "Sessions the daemon holds (when the session host runs).",
      },
    },
  },
  handler: (_params, call) => Promise.resolve(daemonStatus(call.daemon)),
};

const stop: RpcMethod = {
  name: "daemon.stop",
  summary: "Stops the daemon after answering (services closed, daemon.json and lock removed).",
  params: { type: "object", additionalProperties: false, properties: {} },
  result: {
    type: "object",
    additionalProperties: false,
    required: ["stopping", "pid"],
    properties: {
      stopping: { const: true, description: "Always true: the daemon is stopping." },
      pid: { type: "integer", description: "The pid that is stopping (wait for it to exit)." },
    },
  },
  handler: (_params, call) => {
    call.daemon.shutdown(`daemon.stop from ${call.client.name}`);
    return Promise.resolve({ stopping: true, pid: Deno.pid });
  },
};

/** The status methods. */
export const group: MethodGroup = { methods: [status, stop] };
