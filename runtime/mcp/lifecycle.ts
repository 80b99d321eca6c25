/**
 * The types of the server lifecycle: states, status snapshots, events and options.
 * The lifecycle itself is {@link import("./manager.ts").McpServerManager}.
 *
 * @module
 */
import type { ConnectionOptions } from "./connection.ts";
import type { HttpConnectOptions } from "./http_connect.ts";
import type { HttpServerConfig, McpServerConfig } from "./server_config.ts";
import type { StdioLimits } from "./stdio_transport.ts";
import type { Walls } from "../security/walls.ts";

/** Where a server is in its life. */
export type ServerState = "stopped" | "starting" | "running" | "restarting" | "failed";

/** A snapshot of one server, for `astrid servers running` and the daemon. */
export interface ServerStatus {
  readonly name: string;
  readonly transport: "stdio" | "http";
  readonly state: ServerState;
  readonly pid: number | null;
  /** Restarts since the server last stayed up for `stableMs`. */
  readonly restarts: number;
  readonly lastError: string | null;
}

/** Something that happened to a server (for logs and the UI). */
export interface ServerEvent {
  readonly type: "started" | "exited" | "restarting" | "gave_up" | "stopped";
  readonly server: string;
  readonly detail?: string | undefined;
}

/** Restart pacing. */
export interface BackoffOptions {
  /** First delay (default 250 ms); doubles each time. */
  readonly initialMs?: number | undefined;
  /** Longest delay (default 10 s). */
  readonly maxMs?: number | undefined;
  /** Consecutive restarts before giving up (default 5). */
  readonly maxRestarts?: number | undefined;
  /** Uptime after which the restart count resets (default 30 s). */
  readonly stableMs?: number | undefined;
}

/** Everything the manager needs, passed in. */
export interface ManagerOptions {
  readonly servers: readonly McpServerConfig[];
  /** The parent environment; only PATH and HOME are passed on to children. */
  readonly parentEnv: Readonly<Record<string, string | undefined>>;
  /** Folder that relative `command` and `cwd` values are resolved against. */
  readonly baseDir: string;
  /** Sampler, elicitor, roots and client info for every connection. */
  readonly connection?: ConnectionOptions | undefined;
  /** Extra options for a remote server (an OAuth fetch, reconnection). */
  readonly http?: ((server: HttpServerConfig) => HttpConnectOptions) | undefined;
  readonly limits?: StdioLimits | undefined;
  /**
   * What the wall around stdio servers hides besides its built-in list (runtime/sandbox);
   * default: nothing more. The workspace is `connection.workspaceRoot`.
   */
  readonly walls?: Walls | undefined;
  readonly backoff?: BackoffOptions | undefined;
  readonly onEvent?: ((event: ServerEvent) => void) | undefined;
}
