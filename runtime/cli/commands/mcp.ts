/**
 * `astrid mcp serve [--transport stdio|http] [--port N] [--tools PATTERN…] [--token-file FILE]
 * [--listen ADDR] [--include-servers]`: Astrid's tools for other agents (Claude Code, Cursor,
 * Codex…) over MCP, every call through the gate and the audit (runtime/mcp_server).
 *
 * - The workspace is the nearest one of the user's folder, `--workspace DIR`, or, when there is
 *   none, the folder itself.
 * - stdio: stdout carries the protocol; everything else goes to stderr.
 * - `task` (sub-agents) is offered only when `[model]` names a usable provider (a key, or a
 *   local `api_url`); its sub-agents' calls pass the same gate, narrowed as in `chat`.
 * - http: `http://127.0.0.1:PORT/mcp` with `Authorization: Bearer <token>` (`--token-file`,
 *   else the daemon's token, else `$ASTRID_HOME/mcp/token`, created 0600). Any other bind
 *   address must be named with `--listen ADDR`.
 *
 * @module
 */
import { Command, Option } from "commander";
import { type CliIo, type Runtime, withRuntime, workspaceId } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { capsuleHost, mcpManager } from "./_tools_run.ts";
import { listMcpTools } from "../../mcp/mod.ts";
import {
  buildCatalog,
  lazyTaskModel,
  resolveServeToken,
  type ServeContext,
  serveHttp,
  serveStdio,
  toolGlob,
} from "../../mcp_server/mod.ts";

interface ServeOpts {
  transport: "stdio" | "http";
  port: string;
  tools?: string[];
  tokenFile?: string;
  listen?: string;
  includeServers?: boolean;
}

const LOOPBACK = "127.0.0.1";

/**
 * Builds the `mcp` command tree.
 *
 * @example The subcommands
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { mcpCommand } from "./mcp.ts";
 * const io = { env: {}, cwd: "/", isTty: false, stdout() {}, stderr() {} };
 * deepEqual(mcpCommand(io).commands.map((c) => c.name()), ["serve"]);
 * ```
 */
export function mcpCommand(io: CliIo): Command {
  const mcp = new Command("mcp").description("Offer Astrid's tools to other agents over MCP");
  mcp.command("serve")
    .description(
      "Serve the built-in and capsule tools over MCP; every call passes the gate and the audit",
    )
    .addOption(
      new Option("--transport <transport>", "stdio or Streamable HTTP").choices(["stdio", "http"])
        .default("stdio"),
    )
    .option("--port <n>", "HTTP port (0: any free port, printed on stderr)", "0")
    .option("--tools <pattern...>", "only the tools whose names match these globs (* and ?)")
    .option("--token-file <file>", "HTTP bearer token file (default: the daemon's, else mcp/token)")
    .option(
      "--listen <addr>",
      "HTTP bind address other than 127.0.0.1 (put TLS in front: see the README)",
    )
    .option("--include-servers", "also offer the configured MCP servers' tools (mcp__server__tool)")
    .action(async (opts: ServeOpts, cmd: Command) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new CliError(
          `Cannot serve: --port is ${opts.port}, expected an integer 0-65535`,
          ExitCode.Usage,
        );
      }
      try {
        for (const p of opts.tools ?? []) toolGlob(p);
      } catch (err) {
        throw new CliError((err as Error).message, ExitCode.Usage);
      }
      if (opts.transport === "stdio" && (opts.listen || opts.tokenFile)) {
        throw new CliError(
          "Cannot serve: --listen and --token-file apply to --transport http only",
          ExitCode.Usage,
        );
      }
      await withRuntime(cmd, io, (rt) => serve(rt, opts, port));
    });
  return mcp;
}

async function serve(rt: Runtime, opts: ServeOpts, port: number): Promise<void> {
  const log = (line: string) => rt.io.stderr(`${line}\n`);
  const root = rt.paths.workspaceRoot ?? await Deno.realPath(rt.io.cwd);
  const workspace = { root, id: await workspaceId(root) };
  if (!rt.paths.workspaceRoot) log(`note: no .astrid/ workspace found; serving ${root}`);
  const host = await capsuleHost(rt, root);
  await using manager = await mcpManager(rt, root);
  const external = opts.includeServers ? await listMcpTools(manager) : { tools: [], errors: [] };
  for (const e of external.errors) log(`warning: MCP server ${e.server}: ${e.message}`);
  // `task` is served when [model] names a usable provider (built on the first task call).
  const taskModel = lazyTaskModel(rt.config);
  const tools = await buildCatalog({
    includeTask: taskModel !== null,
    host,
    external: external.tools,
    patterns: opts.tools ?? [],
  });
  const ctx: ServeContext = {
    store: rt.store,
    signer: rt.key,
    audit: rt.audit,
    config: rt.config,
    walls: rt.walls,
    workspace,
    host,
    tools,
    mcp: opts.includeServers ? manager : null,
    log,
    taskModel,
  };
  log(
    `astrid mcp serve: ${tools.length} tools over ${opts.transport} for workspace ${root}` +
      " (each client gets its own session; every call passes the gate)",
  );
  const stop = new AbortController();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const onSignal = () => stop.abort();
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    if (opts.transport === "stdio") return await serveStdio(ctx, stop.signal);
    const token = await resolveServeToken({ home: rt.paths.home, tokenFile: opts.tokenFile })
      .catch((err: Error) => {
        throw new CliError(`Cannot serve over HTTP: ${err.message}`, ExitCode.Error);
      });
    if (token.created) log(`created a bearer token in ${token.path} (mode 0600)`);
    else log(`bearer token: ${token.path}`);
    const hostname = opts.listen ?? LOOPBACK;
    if (hostname !== LOOPBACK) {
      log(`warning: listening on ${hostname}, not loopback: put TLS in front (see the README)`);
    }
    await serveHttp(ctx, {
      hostname,
      port,
      token: token.token,
      signal: stop.signal,
      onListen: (url) => log(`listening on ${url}`),
    });
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
}
