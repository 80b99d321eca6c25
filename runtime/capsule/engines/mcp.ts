/**
 * The MCP host engine: a capsule's `[[mcp_server]]` entries run as child processes spoken to
 * over MCP stdio. The "airlock" is narrow: a server starts only when its `command` is listed in
 * the capsule's `[capabilities] host_process` exactly; its environment is the capsule's `[env]`
 * values plus PATH and HOME, nothing else from the parent. Its tools become the capsule's tools
 * (`<capsule>__<tool>`) and every call is gated as a `capsule_tool_call` action by the caller.
 *
 * Servers start only for a human's `capsule install` (to record the tool list) and for an
 * allowed tool call, never to list tools. Every one runs walled (runtime/mcp spawns it under
 * bubblewrap): network only when the manifest declares `net` hosts, and writable only at the
 * canonical workspace paths of its `fs_write` entries. A capsule cannot opt out.
 *
 * @module
 */
import {
  McpServerManager,
  type McpServerManager as Manager,
  renderMcpResult,
  type StdioServerConfig,
} from "../../mcp/mod.ts";
import { capsuleConfig } from "../env_store.ts";
import type { LoadedCapsule } from "../loader.ts";
import { CapsuleError } from "../errors.ts";
import { fileBases } from "../host/confine.ts";
import { NO_WALLS, type Walls } from "../../security/walls.ts";
import type { ToolResult } from "../../tools/types.ts";

/** One MCP-served tool of a capsule. */
export interface CapsuleMcpTool {
  readonly server: string;
  readonly tool: string;
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
}

/** What starting a capsule's servers needs: the loaded capsule and its stored `[env]` values. */
export interface CapsuleMcpSource {
  readonly loaded: LoadedCapsule;
  readonly env: Readonly<Record<string, string>>;
}

/**
 * The server configs of a capsule's `[[mcp_server]]` entries. Throws `CapsuleError` (`MANIFEST`)
 * when a command is not granted by `[capabilities] host_process`. Each config carries its wall:
 * `network` when the manifest declares hosts, `writable` the canonical paths of its `fs_write`
 * entries inside `workspaceRoot` (none without a workspace, none under `.astrid`), `readable` its
 * own folder.
 *
 * @example A command outside host_process is refused; a granted one is walled
 * ```ts
 * import { deepEqual, throws } from "node:assert/strict";
 * import { parseManifest } from "../manifest.ts";
 * import { capsuleMcpServers } from "./mcp.ts";
 * const toml = (granted: string) => parseManifest(`[package]\nname = "c"\nversion = "1"\n` +
 *   `[capabilities]\nhost_process = [${granted}]\nfs_write = ["out", ".astrid"]\n` +
 *   `[[mcp_server]]\nid = "git"\ntype = "stdio"\ncommand = "npx"\n`).manifest;
 * const source = (granted: string) => ({ env: {}, loaded: { dir: "/c", manifest: toml(granted) } });
 * throws(() => capsuleMcpServers(source("") as never, null), /host_process/);
 * const root = await Deno.realPath(await Deno.makeTempDir());
 * const [server] = capsuleMcpServers(source('"npx"') as never, root);
 * deepEqual(server?.sandbox, { network: false, writable: [`${root}/out`], readable: ["/c"] });
 * ```
 */
export function capsuleMcpServers(
  installed: CapsuleMcpSource,
  workspaceRoot: string | null,
): StdioServerConfig[] {
  const { manifest, dir } = installed.loaded;
  const env = capsuleConfig(manifest, installed.env).values;
  // Configuration (`.astrid`) is never writable, whatever fs_write says (the wall agrees).
  const writable = workspaceRoot === null
    ? []
    : fileBases(manifest, workspaceRoot).write.filter((p) => !p.split("/").includes(".astrid"));
  return manifest.mcp_server.map((s) => {
    if (!manifest.capabilities.host_process.includes(s.command)) {
      throw new CapsuleError(
        "MANIFEST",
        `Cannot start MCP server "${s.id}" of capsule ${manifest.package.name}: its command ` +
          `"${s.command}" is not granted by [capabilities] host_process`,
      );
    }
    return {
      name: s.id,
      transport: "stdio",
      command: s.command,
      args: s.args,
      env,
      cwd: dir,
      autoStart: false,
      restartPolicy: "never",
      // A capsule's server never runs unwalled; network only when the manifest declares hosts,
      // writes only under its fs_write folders in the workspace, and it sees its own folder
      // (read-only) even where the wall hides what holds it ($ASTRID_HOME).
      sandbox: {
        network: manifest.capabilities.net.length > 0,
        writable: [...writable],
        readable: [dir],
      },
    };
  });
}

/** Where a capsule's servers start: what they may see of the parent, the workspace, the walls. */
export interface CapsuleMcpContext {
  /** PATH and HOME are passed on from here; nothing else. */
  readonly parentEnv: Readonly<Record<string, string | undefined>>;
  /** Canonical workspace root (roots, and the writable `fs_write` folders), or null. */
  readonly workspaceRoot: string | null;
  /** What the wall hides besides its built-in list (`$ASTRID_HOME`, …); none: {@link NO_WALLS}. */
  readonly walls?: Walls | undefined;
}

/** Runs `fn` with a manager for the capsule's MCP servers, stopping them afterwards. */
export async function withCapsuleMcp<T>(
  installed: CapsuleMcpSource,
  ctx: CapsuleMcpContext,
  fn: (manager: Manager) => Promise<T>,
): Promise<T> {
  const { parentEnv, workspaceRoot } = ctx;
  await using manager = new McpServerManager({
    servers: capsuleMcpServers(installed, workspaceRoot),
    // Only PATH and HOME are ever passed on from here (runtime/mcp/spawn.ts childEnv).
    parentEnv: { PATH: parentEnv.PATH, HOME: parentEnv.HOME },
    baseDir: installed.loaded.dir,
    walls: ctx.walls ?? NO_WALLS,
    connection: {
      clientInfo: { name: "astrid-capsule", version: "0.1.0" },
      ...(workspaceRoot === null ? {} : { workspaceRoot }),
    },
  });
  return await fn(manager);
}

/** Lists the tools every MCP server of the capsule offers. */
export async function listCapsuleMcpTools(manager: Manager): Promise<CapsuleMcpTool[]> {
  const out: CapsuleMcpTool[] = [];
  for (const server of manager.servers) {
    for (const t of await manager.listTools(server.name)) {
      out.push({
        server: server.name,
        tool: t.name,
        description: t.description ?? "",
        inputSchema: (t.inputSchema ?? { type: "object" }) as Record<string, unknown>,
      });
    }
  }
  return out;
}

/** Calls `tool` on `server`, the capsule server its install record says serves it. */
export async function callCapsuleMcpTool(
  manager: Manager,
  server: string,
  tool: string,
  args: unknown,
  limit: number,
): Promise<ToolResult | null> {
  if (!manager.servers.some((s) => s.name === server)) return null;
  const record = typeof args === "object" && args !== null && !Array.isArray(args)
    ? args as Record<string, unknown>
    : {};
  const r = renderMcpResult(await manager.callTool(server, tool, record), limit);
  return {
    output: r.output,
    isError: r.isError,
    ...(r.truncatedChars ? { truncatedChars: r.truncatedChars } : {}),
  };
}
