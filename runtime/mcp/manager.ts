/**
 * Server lifecycle: start and stop configured servers, check `binary_hash` before spawning,
 * and when a server exits on its own, fail its pending calls with a clear error and restart it
 * per its `restart_policy`, with exponential backoff and a cap on consecutive restarts. The
 * manager never throws out of a crash: the session that owns it stays alive.
 *
 * @module
 */
import { connectHttp } from "./http_connect.ts";
import type { CallToolResult, RequestOpts, Tool } from "./connection.ts";
import { McpConnection } from "./connection.ts";
import { McpError } from "./errors.ts";
import {
  type BackoffOptions,
  type ManagerOptions,
  type ServerEvent,
  type ServerState,
  type ServerStatus,
} from "./lifecycle.ts";
import type { McpServerConfig } from "./server_config.ts";
import { prepareLaunch } from "./spawn.ts";
import { Sandbox } from "../sandbox/mod.ts";
import { NO_WALLS } from "../security/walls.ts";
import { StdioProcessTransport } from "./stdio_transport.ts";

interface Entry {
  readonly config: McpServerConfig;
  state: ServerState;
  conn: McpConnection | null;
  transport: StdioProcessTransport | null;
  starting: Promise<McpConnection> | null;
  restarts: number;
  lastError: string | null;
  timer: ReturnType<typeof setTimeout> | null;
  stopping: boolean;
  stoppedByUser: boolean;
  /** It ran and then died (restart pending, given up, or policy "never"). */
  crashed: boolean;
  startedAt: number;
}

/** How a server's connection ended, with the tail of its stderr. */
function describeExit(entry: Entry): string {
  const status = entry.transport?.exitStatus;
  const how = !status
    ? "its connection closed"
    : status.signal
    ? `it was killed by ${status.signal}`
    : `it exited with code ${status.code}`;
  const tail = entry.transport?.stderrTail().trim().split("\n").slice(-3).join(" | ") ?? "";
  return tail ? `${how} (stderr: ${tail.slice(-300)})` : how;
}

/**
 * Owns the configured servers of one process.
 *
 * @example Start a server, list its tools, stop it
 * ```ts
 * import { equal, ok } from "node:assert/strict";
 * import { McpServerManager } from "./manager.ts";
 * const fixture = new URL("../../tests/fixtures/mcp_basic_server.ts", import.meta.url).pathname;
 * await using manager = new McpServerManager({
 *   servers: [{
 *     name: "basic", transport: "stdio", command: Deno.execPath(), args: ["run", "-A", fixture],
 *     env: {}, autoStart: false, restartPolicy: "never", sandbox: { network: false, writable: [] },
 *   }],
 *   parentEnv: { PATH: "/usr/bin:/bin" },
 *   baseDir: Deno.cwd(),
 * });
 * const tools = await manager.listTools("basic");
 * ok(tools.some((t) => t.name === "echo"));
 * await manager.stop("basic");
 * equal(manager.status("basic")[0]?.state, "stopped");
 * ```
 */
export class McpServerManager {
  #entries = new Map<string, Entry>();
  #opts: ManagerOptions;
  #closed = false;
  #sandbox: Promise<Sandbox | string> | null = null;

  /** Creates the manager; nothing starts until asked (see {@link startAutoStart}). */
  constructor(opts: ManagerOptions) {
    this.#opts = opts;
    for (const config of opts.servers) {
      this.#entries.set(config.name, {
        config,
        state: "stopped",
        conn: null,
        transport: null,
        starting: null,
        restarts: 0,
        lastError: null,
        timer: null,
        stopping: false,
        stoppedByUser: false,
        crashed: false,
        startedAt: 0,
      });
    }
  }

  /** The configured servers, in name order. */
  get servers(): readonly McpServerConfig[] {
    return [...this.#entries.values()].map((e) => e.config);
  }

  /** Snapshots of every server (or just `name`). */
  status(name?: string): ServerStatus[] {
    const entries = name === undefined ? [...this.#entries.values()] : [this.#entry(name)];
    return entries.map((e) => ({
      name: e.config.name,
      transport: e.config.transport,
      state: e.state,
      pid: e.state === "running" ? e.transport?.pid ?? null : null,
      restarts: e.restarts,
      lastError: e.lastError,
    }));
  }

  #entry(name: string): Entry {
    const entry = this.#entries.get(name);
    if (!entry) {
      throw new McpError(
        "UNKNOWN_SERVER",
        `Cannot use server ${JSON.stringify(name)}: it is not configured (known: ${
          [...this.#entries.keys()].join(", ") || "none"
        })`,
      );
    }
    return entry;
  }

  #emit(type: ServerEvent["type"], server: string, detail?: string): void {
    try {
      this.#opts.onEvent?.({ type, server, detail });
    } catch {
      // a faulty listener must not break the lifecycle
    }
  }

  /** Starts `name` (or returns its live connection). Throws INTEGRITY on a hash mismatch. */
  start(name: string): Promise<McpConnection> {
    let entry: Entry;
    try {
      entry = this.#entry(name);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#closed) {
      return Promise.reject(
        new McpError("NOT_RUNNING", `Cannot start "${name}": the manager is closed`),
      );
    }
    if (entry.conn && entry.state === "running") return Promise.resolve(entry.conn);
    if (entry.starting) return entry.starting;
    if (entry.timer !== null) clearTimeout(entry.timer);
    entry.timer = null;
    entry.state = "starting";
    entry.stopping = false;
    entry.stoppedByUser = false;
    entry.crashed = false;
    const starting = this.#launch(entry).then(
      (conn) => {
        entry.starting = null;
        entry.conn = conn;
        entry.state = "running";
        entry.startedAt = Date.now();
        entry.lastError = null;
        this.#emit(
          "started",
          name,
          entry.transport?.pid ? `pid ${entry.transport.pid}` : undefined,
        );
        conn.closed.then(() => this.#onClosed(entry, conn));
        return conn;
      },
      (err: unknown) => {
        entry.starting = null;
        entry.state = "failed";
        entry.lastError = (err as Error).message;
        throw err;
      },
    );
    entry.starting = starting;
    return starting;
  }

  async #launch(entry: Entry): Promise<McpConnection> {
    const config = entry.config;
    const opts = this.#opts.connection ?? {};
    if (config.transport === "http") {
      entry.transport = null;
      return await connectHttp(config.name, config.url, { ...opts, ...this.#opts.http?.(config) });
    }
    // The wall is probed once, when the first walled server starts.
    const wall = config.sandbox === "off" ? undefined : {
      sandbox: await (this.#sandbox ??= Sandbox.open(this.#opts.walls ?? NO_WALLS)),
      workspace: opts.workspaceRoot ?? null,
    };
    const spec = await prepareLaunch(config, this.#opts.parentEnv, this.#opts.baseDir, wall);
    const transport = new StdioProcessTransport(spec, this.#opts.limits);
    entry.transport = transport;
    try {
      return await McpConnection.open(config.name, transport, opts);
    } catch (err) {
      await transport.close().catch(() => {});
      const tail = transport.stderrTail().trim().slice(-300);
      throw new McpError(
        "START_FAILED",
        `${(err as Error).message}${tail ? ` (stderr: ${tail})` : ""}`,
        { cause: err },
      );
    }
  }

  #onClosed(entry: Entry, conn: McpConnection): void {
    if (entry.conn !== conn) return;
    entry.conn = null;
    const name = entry.config.name;
    if (entry.stopping || this.#closed) {
      entry.state = "stopped";
      this.#emit("stopped", name);
      return;
    }
    const status = entry.transport?.exitStatus;
    const failed = !status || !status.success;
    const why = describeExit(entry);
    entry.lastError = why;
    entry.crashed = failed;
    this.#emit("exited", name, why);
    const policy = entry.config.restartPolicy;
    if (policy === "never" || (policy === "on_failure" && !failed)) {
      entry.state = failed ? "failed" : "stopped";
      return;
    }
    const b = this.#opts.backoff ?? {};
    if (Date.now() - entry.startedAt >= (b.stableMs ?? 30_000)) entry.restarts = 0;
    if (entry.restarts >= (b.maxRestarts ?? 5)) {
      entry.state = "failed";
      this.#emit("gave_up", name, `${entry.restarts} restarts in a row; last: ${why}`);
      return;
    }
    const delay = Math.min(b.maxMs ?? 10_000, (b.initialMs ?? 250) * 2 ** entry.restarts);
    entry.restarts++;
    entry.state = "restarting";
    this.#emit("restarting", name, `in ${delay} ms`);
    entry.timer = setTimeout(() => {
      entry.timer = null;
      this.start(name).catch(() => this.#onStartFailedDuringRestart(entry));
    }, delay);
  }

  #onStartFailedDuringRestart(entry: Entry): void {
    // A restart that fails to start counts as another crash.
    entry.crashed = true;
    const b = this.#opts.backoff ?? {};
    if (this.#closed || entry.stoppedByUser || entry.restarts >= (b.maxRestarts ?? 5)) {
      if (!this.#closed && !entry.stoppedByUser) {
        this.#emit("gave_up", entry.config.name, entry.lastError ?? "restart failed");
      }
      return;
    }
    const delay = Math.min(b.maxMs ?? 10_000, (b.initialMs ?? 250) * 2 ** entry.restarts);
    entry.restarts++;
    entry.state = "restarting";
    entry.timer = setTimeout(() => {
      entry.timer = null;
      this.start(entry.config.name).catch(() => this.#onStartFailedDuringRestart(entry));
    }, delay);
  }

  /** Stops `name` (closing its process) and keeps it stopped until started again. */
  async stop(name: string): Promise<void> {
    const entry = this.#entry(name);
    entry.stopping = true;
    entry.stoppedByUser = true;
    if (entry.timer !== null) clearTimeout(entry.timer);
    entry.timer = null;
    // A start still in progress (a server that never answers) ends now: closing its process
    // fails the handshake instead of waiting out its timeout.
    if (entry.conn === null && entry.starting) await entry.transport?.close().catch(() => {});
    const conn = entry.conn ?? (await entry.starting?.catch(() => null)) ?? null;
    if (conn) await conn.close().catch(() => {});
    await entry.transport?.close().catch(() => {});
    entry.conn = null;
    entry.state = "stopped";
  }

  /** Starts every `auto_start` server; a failure is reported, not thrown. */
  async startAutoStart(): Promise<{ server: string; error: McpError | null }[]> {
    const auto = [...this.#entries.values()].filter((e) => e.config.autoStart);
    return await Promise.all(auto.map(async (e) => {
      try {
        await this.start(e.config.name);
        return { server: e.config.name, error: null };
      } catch (err) {
        return {
          server: e.config.name,
          error: err instanceof McpError ? err : new McpError("START_FAILED", String(err)),
        };
      }
    }));
  }

  /** The live connection, starting a never-started server on demand. */
  async connection(name: string): Promise<McpConnection> {
    const entry = this.#entry(name);
    if (entry.conn && entry.state === "running") return entry.conn;
    if (entry.starting) return await entry.starting;
    if (entry.state === "restarting") {
      throw new McpError(
        "NOT_RUNNING",
        `Cannot use server "${name}": it stopped (${entry.lastError}) and is being restarted`,
      );
    }
    if (entry.stoppedByUser || entry.crashed) {
      throw new McpError(
        "NOT_RUNNING",
        `Cannot use server "${name}": current state is ${entry.state}` +
          (entry.lastError ? ` (${entry.lastError})` : "") +
          `; run \`astrid servers start ${name}\``,
      );
    }
    return await this.start(name);
  }

  /** The tools of `name` (starting it if needed). */
  async listTools(name: string, opts: RequestOpts = {}): Promise<Tool[]> {
    return await (await this.connection(name)).listTools(opts);
  }

  /** Calls `tool` on `name`; if the server dies meanwhile, fails with SERVER_EXITED. */
  async callTool(
    name: string,
    tool: string,
    args: Record<string, unknown>,
    opts: RequestOpts = {},
  ): Promise<CallToolResult> {
    const conn = await this.connection(name);
    try {
      return await conn.callTool(tool, args, opts);
    } catch (err) {
      if (!conn.isClosed && !(err instanceof McpError && err.code === "SERVER_EXITED")) throw err;
      const entry = this.#entry(name);
      throw new McpError(
        "SERVER_EXITED",
        `Cannot finish ${tool} on server "${name}": ${describeExit(entry)} while the call was ` +
          `pending; restart_policy is "${entry.config.restartPolicy}"`,
        { cause: err },
      );
    }
  }

  /** Stops every server. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#entries.keys()].map((n) => this.stop(n)));
  }

  /** Same as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export type { BackoffOptions, ManagerOptions, ServerEvent, ServerState, ServerStatus };
