/**
 * The MCP host engine: a capsule's `[[mcp_server]]` entries run as child processes spoken to
 * over MCP stdio. The "airlock" is narrow: a server starts only when its `command` is listed in
 * the capsule's `[capabilities] host_process` exactly; its environment is the capsule's `[env]`
 * values plus PATH and HOME, nothing else from the parent. Its tools become the capsule's tools
 * (`<capsule>__<tool>`) and every call is gated as a `capsule_tool_call` action by the caller.
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
import type { InstalledCapsule } from "../install.ts";
import { CapsuleError } from "../errors.ts";
import type { ToolResult } from "../../tools/types.ts";

/** One MCP-served tool of a capsule. */
export interface CapsuleMcpTool {
  readonly server: string;
  readonly tool: string;
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
}

/**
 * The server configs of a capsule's `[[mcp_server]]` entries. Throws `CapsuleError` (`MANIFEST`)
 * when a command is not granted by `[capabilities] host_process`.
 *
 * @example A command outside host_process is refused
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { capsuleMcpServers } from "./mcp.ts";
 * const installed = { env: {}, loaded: { dir: "/c", manifest: {
 *   package: { name: "c" }, env: {}, capabilities: { host_process: [] },
 *   mcp_server: [{ id: "git", type: "stdio", command: "npx", args: [] }],
 * } } } as never;
 * throws(() => capsuleMcpServers(installed), /host_process/);
 * ```
 */
export function capsuleMcpServers(installed: InstalledCapsule): StdioServerConfig[] {
  const { manifest, dir } = installed.loaded;
  const env = capsuleConfig(manifest, installed.env).values;
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
      // A capsule's server never runs unwalled; network only when the manifest declares hosts.
      sandbox: { network: manifest.capabilities.net.length > 0, writable: [] },
    };
  });
}

/** Runs `fn` with a manager for the capsule's MCP servers, stopping them afterwards. */
export async function withCapsuleMcp<T>(
  installed: InstalledCapsule,
  parentEnv: Readonly<Record<string, string | undefined>>,
  workspaceRoot: string,
  fn: (manager: Manager) => Promise<T>,
): Promise<T> {
  await using manager = new McpServerManager({
    servers: capsuleMcpServers(installed),
    // Only PATH and HOME are ever passed on from here (runtime/mcp/spawn.ts childEnv).
    parentEnv: { PATH: parentEnv.PATH, HOME: parentEnv.HOME },
    baseDir: installed.loaded.dir,
    connection: { clientInfo: { name: "astrid-capsule", version: "0.1.0" }, workspaceRoot },
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

/** Calls `tool` on whichever of the capsule's servers offers it. */
export async function callCapsuleMcpTool(
  manager: Manager,
  tool: string,
  args: unknown,
  limit: number,
): Promise<ToolResult | null> {
  const found = (await listCapsuleMcpTools(manager)).find((t) => t.tool === tool);
  if (!found) return null;
  const record = typeof args === "object" && args !== null && !Array.isArray(args)
    ? args as Record<string, unknown>
    : {};
  const r = renderMcpResult(await manager.callTool(found.server, tool, record), limit);
  return {
    output: r.output,
    isError: r.isError,
    ...(r.truncatedChars ? { truncatedChars: r.truncatedChars } : {}),
  };
}
