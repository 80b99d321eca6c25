/**
 * `astrid servers list|running|start|stop|tools`: the MCP servers declared in config as
 * `[servers.NAME]`.
 *
 * When a daemon runs for this home (`astrid daemon start`), `running`, `start` and `stop` act on
 * the daemon's servers through its RPC (`servers.running|start|stop`): a server started that
 * way keeps running after the command exits, and any later command sees and stops it. The
 * daemon's own config decides which servers exist.
 *
 * Without a daemon, a CLI command is one short-lived process, so `start` starts the server,
 * completes the MCP handshake (after the `binary_hash` check) and reports, and the server ends
 * with the command; `running` and `stop` only see servers started by the same process. A
 * long-lived host (the REPL) passes its own {@link McpServerManager} so they act on live
 * servers.
 *
 * @module
 */
import { Command } from "commander";
import type { AstridConfig } from "../../config/mod.ts";
import {
  type Elicitor,
  listMcpTools,
  McpError,
  type McpServerConfig,
  McpServerManager,
  readServerConfigs,
  type Sampler,
  type ServerEvent,
  type ServerStatus,
} from "../../mcp/mod.ts";
import { type CliIo, loadCliConfig, printJson, runtimeWalls, wantsJson } from "../context.ts";
import type { Walls } from "../../security/walls.ts";
import { CliError, ExitCode } from "../errors.ts";
import type { DaemonClient } from "../../daemon/client.ts";

/** A long-lived process's servers, for `running` and `stop` to act on. */
export interface ServersHost {
  readonly manager: McpServerManager;
}

/** Where a CLI-made manager resolves commands and what it passes to children. */
export interface CliManagerOptions {
  /** The parent environment (only PATH and HOME reach children). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The user's directory (relative `command`/`cwd` resolve against the workspace, else this). */
  readonly cwd: string;
  /** The workspace root: the one root offered to servers. */
  readonly workspaceRoot: string | null;
  /** Answers servers' sampling requests (wrap it with `gatedSampler`); none by default. */
  readonly sampler?: Sampler | undefined;
  /** Asks the human for what servers elicit; none by default (not advertised then). */
  readonly elicitor?: Elicitor | null | undefined;
  /** What the wall around stdio servers hides besides its built-in list. */
  readonly walls?: Walls | undefined;
  /** Told when a server starts, exits, restarts, gives up or stops (the daemon's events). */
  readonly onEvent?: ((event: ServerEvent) => void) | undefined;
}

/**
 * Builds a manager for the `[servers.NAME]` tables of `config` (a sampler only when given; no
 * elicitor). Throws a usage error for a table that cannot be used.
 *
 * @example No servers configured
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { DEFAULT_CONFIG } from "../../config/mod.ts";
 * import { openServerManager } from "./servers.ts";
 * await using manager = openServerManager(DEFAULT_CONFIG, { env: {}, cwd: "/", workspaceRoot: null });
 * equal(manager.servers.length, 0);
 * ```
 */
export function openServerManager(
  config: Pick<AstridConfig, "servers">,
  opts: CliManagerOptions,
): McpServerManager {
  return new McpServerManager({
    servers: configuredServers(config),
    parentEnv: opts.env,
    baseDir: opts.workspaceRoot ?? opts.cwd,
    ...(opts.walls ? { walls: opts.walls } : {}),
    ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    connection: {
      clientInfo: { name: "astrid", version: "0.1.0" },
      ...(opts.workspaceRoot !== null ? { workspaceRoot: opts.workspaceRoot } : {}),
      ...(opts.sampler ? { sampler: opts.sampler } : {}),
      ...(opts.elicitor ? { elicitor: opts.elicitor } : {}),
    },
  });
}

function configuredServers(config: Pick<AstridConfig, "servers">): McpServerConfig[] {
  try {
    return readServerConfigs(config);
  } catch (err) {
    if (err instanceof McpError) throw new CliError(err.message, ExitCode.Error);
    throw err;
  }
}

/**
 * One server as `servers list --json` shows it: its configuration, with the names (never the
 * values) of its environment variables.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { describeServer } from "./servers.ts";
 * const row = describeServer({
 *   name: "r", transport: "http", url: "https://mcp.example/", autoStart: false,
 *   restartPolicy: "never",
 * });
 * equal(row.url, "https://mcp.example/");
 * ```
 */
export function describeServer(s: McpServerConfig): Record<string, unknown> {
  return s.transport === "http"
    ? {
      name: s.name,
      transport: s.transport,
      url: s.url,
      auto_start: s.autoStart,
      restart_policy: s.restartPolicy,
    }
    : {
      name: s.name,
      transport: s.transport,
      command: s.command,
      args: s.args,
      env: Object.keys(s.env), // names only: values are often credentials
      cwd: s.cwd ?? null,
      auto_start: s.autoStart,
      restart_policy: s.restartPolicy,
      binary_hash: s.binaryHash ?? null,
      // "off" is shown on every listing: the server runs outside the wall.
      sandbox: s.sandbox === "off" ? "off" : "on",
      network: s.sandbox !== "off" && s.sandbox?.network === true,
      writable: s.sandbox === "off" ? [] : s.sandbox?.writable ?? [],
    };
}

function toCliError(err: unknown): unknown {
  if (err instanceof McpError) {
    const exit = err.code === "INTEGRITY" ? ExitCode.Integrity : ExitCode.Error;
    return new CliError(`${err.code}: ${err.message}`, exit);
  }
  return err;
}

async function managerFor(cmd: Command, io: CliIo) {
  const { paths, config, warnings } = await loadCliConfig(cmd, io);
  for (const w of warnings) io.stderr(`warning: ${w}\n`);
  return openServerManager(config, {
    env: io.env,
    cwd: io.cwd,
    workspaceRoot: paths.workspaceRoot,
    walls: await runtimeWalls(paths, config, io.env),
  });
}

/** What the daemon's `servers.start` answers. */
interface StartedInDaemon {
  readonly server: { readonly name?: string; readonly version?: string } | null;
  readonly pid: number | null;
  readonly tools: number;
}

/** The home's daemon, or null when none runs (or it cannot be reached: then a warning). */
async function daemonFor(cmd: Command, io: CliIo): Promise<DaemonClient | null> {
  const { paths } = await loadCliConfig(cmd, io);
  const { connectDaemon } = await import("../../daemon/client.ts");
  try {
    return await connectDaemon(paths.home, `cli:${Deno.pid}`);
  } catch (err) {
    io.stderr(`warning: ${(err as Error).message}; acting in this process instead\n`);
    return null;
  }
}

/** Calls the daemon, turning its error replies into the CLI's exit codes. */
async function viaDaemon<T>(client: DaemonClient, method: string, params: unknown): Promise<T> {
  const { RpcError, RpcErrorCode } = await import("../../daemon/types.ts");
  try {
    return await client.call<T>(method, params, { timeoutMs: 120_000 });
  } catch (err) {
    if (!(err instanceof RpcError)) throw err;
    const exit = err.code === RpcErrorCode.Integrity ? ExitCode.Integrity : ExitCode.Error;
    const code = (err.data as { code?: string } | undefined)?.code;
    throw new CliError(`${code ? `${code}: ` : ""}${err.message} (in the daemon)`, exit);
  } finally {
    client.close();
  }
}

function printStatus(io: CliIo, rows: ServerStatus[]): void {
  for (const r of rows) {
    const pid = r.pid === null ? "" : ` pid ${r.pid}`;
    const err = r.lastError ? ` (${r.lastError})` : "";
    io.stdout(`${r.name.padEnd(20)} ${r.state}${pid}${err}\n`);
  }
}

/**
 * Builds the `servers` command tree. Pass `host` from a long-lived process.
 *
 * @example The tree has the five subcommands
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { serversCommand } from "./servers.ts";
 * const io = { env: {}, cwd: "/", isTty: false, stdout() {}, stderr() {} };
 * deepEqual(serversCommand(io).commands.map((c) => c.name()), ["list", "running", "start", "stop", "tools"]);
 * ```
 */
export function serversCommand(io: CliIo, host?: ServersHost): Command {
  const servers = new Command("servers").description(
    "MCP servers declared as [servers.NAME] in config",
  );
  servers.command("list")
    .description("List the configured servers")
    .option("--json", "machine-readable output")
    .action(async (_opts: unknown, cmd: Command) => {
      const { config, warnings } = await loadCliConfig(cmd, io);
      for (const w of warnings) io.stderr(`warning: ${w}\n`);
      const rows = configuredServers(config).map(describeServer);
      if (wantsJson(cmd, io)) return printJson(io, rows);
      if (rows.length === 0) {
        io.stdout("No servers configured (add a [servers.NAME] table to config.toml).\n");
      }
      for (const r of rows) {
        const target = r.transport === "http"
          ? r.url
          : [r.command, ...(r.args as string[])].join(" ");
        const flags = [
          r.transport === "stdio" && r.sandbox === "off" ? "SANDBOX OFF" : "",
          r.network ? "network" : "",
          r.auto_start ? "auto_start" : "",
          r.binary_hash ? "hash-pinned" : "",
        ].filter(Boolean).join(",");
        io.stdout(
          `${String(r.name).padEnd(20)} ${r.transport} ${target}${flags ? ` [${flags}]` : ""}\n`,
        );
      }
    });
  servers.command("running")
    .description(
      "Servers running in the daemon when one runs, else in this process (a CLI command starts none by itself)",
    )
    .option("--json", "machine-readable output")
    .action(async (_opts: unknown, cmd: Command) => {
      const client = host ? null : await daemonFor(cmd, io);
      if (client) {
        const live = await viaDaemon<ServerStatus[]>(client, "servers.running", {});
        if (wantsJson(cmd, io)) return printJson(io, live);
        if (live.length === 0) io.stdout("No servers are running in the daemon.\n");
        return printStatus(io, live);
      }
      const rows = host ? host.manager.status().filter((s) => s.state !== "stopped") : [];
      if (wantsJson(cmd, io)) return printJson(io, rows);
      if (!host) {
        io.stdout(
          "No servers run in this process: each `astrid` command starts the servers it needs " +
            "and stops them when it ends. Long-lived servers belong to the daemon or the REPL.\n",
        );
        return;
      }
      if (rows.length === 0) io.stdout("No servers are running.\n");
      printStatus(io, rows);
    });
  servers.command("start")
    .description(
      "Start a server and complete the MCP handshake (checks binary_hash); in the daemon when one runs, else it stops again when this command exits",
    )
    .argument("<name>", "server name")
    .option("--json", "machine-readable output")
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const client = host ? null : await daemonFor(cmd, io);
      if (client) {
        const info = await viaDaemon<StartedInDaemon>(client, "servers.start", { name });
        if (wantsJson(cmd, io)) return printJson(io, info);
        io.stdout(
          `${name}: started in the daemon (${info.server?.name ?? "?"} ` +
            `${info.server?.version ?? ""}, ${info.tools} tools); it keeps running after this ` +
            "command\n",
        );
        return;
      }
      const manager = host?.manager ?? await managerFor(cmd, io);
      try {
        const conn = await manager.start(name);
        const tools = await conn.listTools();
        const info = {
          name,
          server: conn.serverInfo ?? null,
          pid: manager.status(name)[0]?.pid ?? null,
          tools: tools.length,
          rejectedTools: conn.rejectedTools,
          persistent: host !== undefined,
        };
        if (wantsJson(cmd, io)) printJson(io, info);
        else {
          io.stdout(
            `${name}: started (${info.server?.name ?? "?"} ${info.server?.version ?? ""}, ` +
              `${tools.length} tools)${host ? "" : "; it stops when this command exits"}\n`,
          );
        }
      } catch (err) {
        throw toCliError(err);
      } finally {
        if (!host) await manager.close();
      }
    });
  servers.command("stop")
    .description("Stop a server running in the daemon (when one runs) or in this process")
    .argument("<name>", "server name")
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const client = host ? null : await daemonFor(cmd, io);
      if (client) {
        const r = await viaDaemon<{ wasRunning: boolean }>(client, "servers.stop", { name });
        io.stdout(`${name}: ${r.wasRunning ? "stopped" : "was not running"} (in the daemon)\n`);
        return;
      }
      if (!host) {
        const { config } = await loadCliConfig(cmd, io);
        if (!configuredServers(config).some((s) => s.name === name)) {
          throw new CliError(`Cannot stop ${JSON.stringify(name)}: it is not configured`);
        }
        io.stdout(`${name}: not running in this process (nothing to stop)\n`);
        return;
      }
      try {
        await host.manager.stop(name);
      } catch (err) {
        throw toCliError(err);
      }
      io.stdout(`${name}: stopped\n`);
    });
  servers.command("tools")
    .description("Connect, list the tools of one server (or all), and disconnect")
    .argument("[name]", "server name (default: every configured server)")
    .option("--json", "machine-readable output (definitions with JSON schemas)")
    .action(async (name: string | undefined, _opts: unknown, cmd: Command) => {
      const manager = host?.manager ?? await managerFor(cmd, io);
      try {
        if (name !== undefined && !manager.servers.some((s) => s.name === name)) {
          throw new CliError(`Cannot list tools of ${JSON.stringify(name)}: it is not configured`);
        }
        const listing = await listMcpTools(manager, name !== undefined ? [name] : undefined);
        if (manager.servers.length === 0 && !wantsJson(cmd, io)) {
          io.stdout(
            "no MCP servers configured (add a [servers.NAME] table to config.toml: see `astrid config show`)\n",
          );
        }
        if (wantsJson(cmd, io)) printJson(io, listing);
        else {
          for (const t of listing.tools) {
            const summary = t.description.split("\n")[0]?.slice(0, 80) ?? "";
            io.stdout(`${t.name.padEnd(40)} ${summary}\n`);
          }
        }
        for (const e of listing.errors) io.stderr(`${e.server}: ${e.code}: ${e.message}\n`);
        if (listing.errors.length > 0) {
          const integrity = listing.errors.some((e) => e.code === "INTEGRITY");
          throw new CliError(
            `${listing.errors.length} server(s) could not be listed`,
            integrity ? ExitCode.Integrity : ExitCode.Error,
          );
        }
      } finally {
        if (!host) await manager.close();
      }
    });
  return servers;
}
