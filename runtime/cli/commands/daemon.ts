/**
 * `astrid daemon run|start|status|stop|open`: the daemon (`astridd`, runtime/daemon/).
 *
 * - `run [--port N] [--listen HOST:PORT] [--ephemeral]`: in the foreground (systemd,
 *   containers), inside the opened runtime, until SIGTERM/SIGINT or `daemon stop`.
 * - `start` (same options): runs `daemon run` detached through the launcher (so it gets its
 *   own permission flags), logging to `$ASTRID_HOME/daemon/daemon.log`; waits until `status`
 *   answers and prints the URL. Already running: says where, exit 0.
 * - `status [--json]`: the daemon's status; exit 1 when none runs.
 * - `stop`: asks it to stop (`daemon.stop`), waits for its pid to exit, else sends SIGTERM.
 * - `open [--print]`: prints a one-time login URL for the web inbox (and opens it with
 *   `xdg-open` when there is a display and `--print` is not given).
 *
 * @module
 */
import { Command, Option } from "commander";
import { join } from "node:path";
import { connectDaemon, type DaemonClient } from "../../daemon/client.ts";
import { RpcError } from "../../daemon/types.ts";
import { daemonDir, ensureDaemonDir, findDaemon, pidAlive } from "../../daemon/state.ts";
import type { DaemonStatus } from "../../daemon/methods/status.ts";
import {
  type CliIo,
  globalOptions,
  loadCliConfig,
  printJson,
  wantsJson,
  withRuntime,
} from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { CHILD_V8_FLAGS } from "../launch.ts";

const LAUNCH = decodeURIComponent(new URL("../launch.ts", import.meta.url).pathname);
const CONFIG = decodeURIComponent(new URL("../../../deno.json", import.meta.url).pathname);
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

interface ServeOptions {
  port?: string;
  listen?: string;
  publicUrl?: string;
  ephemeral?: boolean;
  log?: string;
}

function parsePort(text: string | undefined): number {
  if (text === undefined) return 0;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CliError(`Cannot use --port ${text}: expected 0..65535`, ExitCode.Usage);
  }
  return port;
}

async function homeOf(cmd: Command, io: CliIo): Promise<string> {
  return (await loadCliConfig(cmd, io)).paths.home;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * `status` as text lines.
 *
 * @example
 * ```ts
 * import { match } from "node:assert/strict";
 * import { formatStatus } from "./daemon.ts";
 * const lines = formatStatus({
 *   version: "0.1.0", pid: 7, url: "http://127.0.0.1:9", startedAt: 0, uptimeMs: 61_000,
 *   home: "/h", clients: 1,
 * });
 * match(lines.join("\n"), /pid 7 at http:\/\/127\.0\.0\.1:9/);
 * ```
 */
export function formatStatus(s: DaemonStatus): string[] {
  const up = Math.round(s.uptimeMs / 1000);
  return [
    `daemon running: pid ${s.pid} at ${s.url}`,
    `  home:     ${s.home}`,
    `  uptime:   ${Math.floor(up / 3600)}h ${Math.floor((up % 3600) / 60)}m ${up % 60}s`,
    `  clients:  ${s.clients}`,
    ...(s.sessions === undefined ? [] : [`  sessions: ${s.sessions}`]),
    `  version:  ${s.version}`,
  ];
}

async function connectOrFail(home: string, name: string): Promise<DaemonClient> {
  const client = await connectDaemon(home, name);
  if (client === null) throw new CliError(`no daemon is running for ${home}`);
  return client;
}

/** `kill -TERM pid` (Deno.kill is refused to a narrowed runtime; `kill` may run). */
function terminate(pid: number): void {
  try {
    Deno.kill(pid, "SIGTERM");
    return;
  } catch {
    // not permitted here: ask `kill`
  }
  try {
    new Deno.Command("kill", { args: ["-TERM", String(pid)], stderr: "null" }).outputSync();
  } catch {
    // gone, or not ours
  }
}

async function waitExit(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!pidAlive(pid)) return true;
    await sleep(50);
  }
  return !pidAlive(pid);
}

function fileLog(path: string): { line(text: string): void; close(): void } {
  const file = Deno.openSync(path, { append: true, create: true, mode: 0o600 });
  const enc = new TextEncoder();
  return {
    line(text) {
      let bytes = enc.encode(`${new Date().toISOString()} ${text.trimEnd()}\n`);
      while (bytes.length > 0) bytes = bytes.subarray(file.writeSync(bytes));
    },
    close: () => file.close(),
  };
}

function serveOptions(cmd: Command): Command {
  return cmd
    .option("--port <n>", "loopback port to listen on (default: any free port)")
    .option(
      "--listen <host:port>",
      "listen on another address (plain HTTP: put TLS or a reverse proxy in front)",
    )
    .option(
      "--public-url <url>",
      "the https URL a TLS reverse proxy serves the daemon at (browsers may connect from it)",
    )
    .option("--ephemeral", "exit when the last client disconnects");
}

/** The `astrid daemon` command. */
export function daemonCommand(io: CliIo): Command {
  const daemon = new Command("daemon").description(
    "Run the daemon (astridd): JSON-RPC over WebSocket, shared sessions, the web approval inbox",
  );

  serveOptions(daemon.command("run"))
    .description("Run the daemon in the foreground (for systemd or containers)")
    .addOption(new Option("--log <file>", "append log lines to FILE instead of stderr").hideHelp())
    .action(async (opts: ServeOptions, cmd: Command) => {
      const port = parsePort(opts.port);
      const file = opts.log === undefined ? null : fileLog(opts.log);
      const log = file ? file.line : (line: string) => io.stderr(`${line}\n`);
      const runIo: CliIo = file ? { ...io, stderr: (t) => file.line(t) } : io;
      const { runDaemon } = await import("../../daemon/daemon.ts");
      try {
        await withRuntime(cmd, runIo, (rt) =>
          runDaemon({
            rt,
            port,
            ...(opts.listen === undefined ? {} : { listen: opts.listen }),
            ...(opts.publicUrl === undefined ? {} : { publicUrl: opts.publicUrl }),
            ephemeral: opts.ephemeral === true,
            log,
            debug: io.env.ASTRID_DEBUG === "1",
          }));
      } catch (err) {
        if ((err as { code?: unknown }).code === "DAEMON_RUNNING") {
          throw new CliError((err as Error).message);
        }
        if (err instanceof RangeError) throw new CliError(err.message, ExitCode.Usage);
        throw err;
      } finally {
        file?.close();
      }
    });

  serveOptions(daemon.command("start"))
    .description("Start the daemon in the background and print its URL")
    .action(async (opts: ServeOptions, cmd: Command) => {
      parsePort(opts.port);
      const home = await homeOf(cmd, io);
      const running = await findDaemon(home);
      if (running !== null) {
        if (wantsJson(cmd, io)) printJson(io, { running: true, ...running.info });
        else {
          io.stdout(
            `a daemon is already running for ${home}: pid ${running.info.pid} at ${running.info.url}\n`,
          );
        }
        return;
      }
      await ensureDaemonDir(home);
      const logPath = join(daemonDir(home), "daemon.log");
      const workspace = globalOptions(cmd).workspace;
      const args = [
        "run",
        "-A",
        "--quiet",
        CHILD_V8_FLAGS, // the flags of the CLI it starts (launch.ts): one code cache for both
        "--config",
        CONFIG,
        LAUNCH,
        ...(workspace === undefined ? [] : ["--workspace", workspace]),
        "daemon",
        "run",
        ...(opts.port === undefined ? [] : ["--port", opts.port]),
        ...(opts.listen === undefined ? [] : ["--listen", opts.listen]),
        ...(opts.publicUrl === undefined ? [] : ["--public-url", opts.publicUrl]),
        ...(opts.ephemeral ? ["--ephemeral"] : []),
        "--log",
        logPath,
      ];
      const child = new Deno.Command(Deno.execPath(), {
        args,
        cwd: io.cwd,
        detached: true,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      let exited: Deno.CommandStatus | null = null;
      child.status.then((s) => exited = s);
      child.unref();
      const end = Date.now() + START_TIMEOUT_MS;
      while (Date.now() < end) {
        await sleep(100);
        const client = await connectDaemon(home, "cli:start").catch(() => null);
        if (client !== null) {
          try {
            const status = await client.call<DaemonStatus>("status", {}, { timeoutMs: 5000 });
            if (wantsJson(cmd, io)) printJson(io, { running: true, ...status });
            else io.stdout(`daemon started: pid ${status.pid} at ${status.url}\n`);
            return;
          } finally {
            client.close();
          }
        }
        if (exited !== null) break;
      }
      const tail = await Deno.readTextFile(logPath).then(
        (t) => t.trimEnd().split("\n").slice(-3).join("\n"),
        () => "",
      );
      throw new CliError(
        `Cannot start the daemon: ${
          exited !== null ? "it exited" : `no answer within ${START_TIMEOUT_MS / 1000} s`
        } (log: ${logPath}; \`astrid daemon run\` shows why in the foreground)${
          tail ? `\n${tail}` : ""
        }`,
      );
    });

  daemon.command("status")
    .description("Show whether the daemon runs, where, and who is connected")
    .option("--json", "print JSON")
    .action(async (_opts: unknown, cmd: Command) => {
      const home = await homeOf(cmd, io);
      const client = await connectOrFail(home, "cli:status");
      try {
        const status = await client.call<DaemonStatus>("status");
        if (wantsJson(cmd, io)) printJson(io, status);
        else io.stdout(formatStatus(status).join("\n") + "\n");
      } finally {
        client.close();
      }
    });

  daemon.command("stop")
    .description("Stop the daemon and wait until it exited")
    .action(async (_opts: unknown, cmd: Command) => {
      const home = await homeOf(cmd, io);
      const found = await findDaemon(home);
      if (found === null) throw new CliError(`no daemon is running for ${home}`);
      const pid = found.info.pid;
      const client = await connectDaemon(home, "cli:stop").catch(() => null);
      if (client !== null) {
        await client.call("daemon.stop", {}, { timeoutMs: 5000 }).catch(() => {});
        client.close();
      }
      if (!await waitExit(pid, STOP_TIMEOUT_MS)) {
        io.stderr(`warning: the daemon did not stop; sending SIGTERM to pid ${pid}\n`);
        terminate(pid);
        if (!await waitExit(pid, STOP_TIMEOUT_MS)) {
          throw new CliError(`Cannot stop the daemon: pid ${pid} still runs`);
        }
      }
      io.stdout(`daemon stopped (pid ${pid})\n`);
    });

  daemon.command("open")
    .description("Print (or open) a one-time login URL for the web inbox")
    .option("--print", "only print the URL, never open a browser")
    .action(async (opts: { print?: boolean }, cmd: Command) => {
      const home = await homeOf(cmd, io);
      const client = await connectOrFail(home, "cli:open");
      let login: { url: string; expiresAt: number };
      try {
        login = await client.call("web.login");
      } catch (err) {
        if (err instanceof RpcError) throw new CliError(`Cannot get a login URL: ${err.message}`);
        throw err;
      } finally {
        client.close();
      }
      if (wantsJson(cmd, io)) printJson(io, login);
      else io.stdout(`${login.url}\n`);
      if (!opts.print && io.env.DISPLAY) {
        try {
          await new Deno.Command("xdg-open", {
            args: [login.url],
            stdin: "null",
            stdout: "null",
            stderr: "null",
          }).output();
        } catch {
          // no opener: the URL is printed
        }
      }
    });

  return daemon;
}

/** How long `capsule install|remove|upgrade` waits for a running daemon to take the change. */
export const CAPSULE_NOTIFY_TIMEOUT_MS = 10_000;

/**
 * Tells a running daemon of `home` that the installed capsules changed (`capsules.sync`), so it
 * schedules, starts, stops or restarts them now rather than at its next check. Best effort:
 * with no daemon, nothing happens, and a daemon that does not answer is only mentioned (it
 * notices the change by itself within seconds); it never fails the command.
 *
 * @example No daemon, nothing to do
 * ```ts
 * import { notifyCapsulesChanged } from "./daemon.ts";
 * await notifyCapsulesChanged(await Deno.makeTempDir(), () => {});
 * ```
 */
export async function notifyCapsulesChanged(
  home: string,
  say: (line: string) => void,
): Promise<void> {
  let client: DaemonClient | null = null;
  try {
    client = await connectDaemon(home, "cli", { connectTimeoutMs: CAPSULE_NOTIFY_TIMEOUT_MS });
    if (client === null) return;
    const sync = await client.call<{ added: string[]; removed: string[]; upgraded: string[] }>(
      "capsules.sync",
      {},
      { timeoutMs: CAPSULE_NOTIFY_TIMEOUT_MS },
    );
    const parts = [
      ...sync.added.map((n) => `${n} started`),
      ...sync.upgraded.map((n) => `${n} restarted`),
      ...sync.removed.map((n) => `${n} stopped`),
    ];
    if (parts.length > 0) say(`daemon: ${parts.join(", ")}`);
  } catch (err) {
    say(
      `daemon: not told of the change (${(err as Error).message}); ` +
        "it picks it up by itself within seconds",
    );
  } finally {
    client?.close();
  }
}
