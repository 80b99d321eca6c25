/**
 * The MCP client and server lifecycle.
 *
 * - {@link McpServerManager} starts, stops and restarts the `[servers.NAME]` of the config
 *   (see {@link readServerConfigs}), checking `binary_hash` before a stdio server is spawned.
 * - {@link callMcpTool} and {@link listMcpTools} expose MCP tools to the agent as
 *   `mcp__<server>__<tool>`: every call is an `mcp_tool_call` action through the interceptor.
 * - {@link gatedSampler} puts a server's sampling requests through the interceptor too.
 * - {@link McpConnection} and {@link connectHttp} speak MCP 2025-11-25 over any transport;
 *   {@link OAuthSession} and {@link oauthFetch} authorize remote servers.
 *
 * @example List the tools of a configured stdio server
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { listMcpTools, McpServerManager, readServerConfigs } from "./mod.ts";
 * const fixture = new URL("../../tests/fixtures/mcp_basic_server.ts", import.meta.url).pathname;
 * const servers = readServerConfigs({
 *   servers: {
 *     basic: {
 *       transport: "stdio", command: Deno.execPath(), args: ["run", "-A", fixture], env: {},
 *       auto_start: false, restart_policy: "never",
 *     },
 *   },
 * });
 * await using manager = new McpServerManager({ servers, parentEnv: {}, baseDir: Deno.cwd() });
 * const { tools } = await listMcpTools(manager);
 * ok(tools.some((t) => t.name === "mcp__basic__echo"));
 * ```
 *
 * @module
 */
export { McpError, type McpErrorCode } from "./errors.ts";
export { isServerName, isToolName, mcpToolName, parseMcpToolName } from "./names.ts";
export {
  type HttpServerConfig,
  type McpServerConfig,
  readServerConfigs,
  type RestartPolicy,
  type ServerWall,
  type StdioServerConfig,
} from "./server_config.ts";
export {
  childEnv,
  type LaunchSpec,
  prepareLaunch,
  resolveExecutable,
  verifyBinaryHash,
} from "./spawn.ts";
export { type StdioLimits, StdioProcessTransport } from "./stdio_transport.ts";
export {
  type CallToolResult,
  type ConnectionOptions,
  type CreateMessageRequestParams,
  type CreateMessageResult,
  type Elicitor,
  type ElicitRequestParams,
  type ElicitResult,
  type GetPromptResult,
  McpConnection,
  type Prompt,
  type ReadResourceResult,
  type RequestOpts,
  type Resource,
  type Sampler,
  type Tool,
} from "./connection.ts";
export { connectHttp, type HttpConnectOptions } from "./http_connect.ts";
export {
  type BackoffOptions,
  type ManagerOptions,
  McpServerManager,
  type ServerEvent,
  type ServerState,
  type ServerStatus,
} from "./manager.ts";
export {
  callMcpTool,
  listMcpTools,
  type McpCallOptions,
  type McpCallOutcome,
  type McpCallPayload,
  type McpToolDefinition,
  type McpToolListing,
  type McpToolResult,
  renderMcpResult,
} from "./call.ts";
export { gatedSampler, type GatedSamplerOptions, SAMPLING_TOOL } from "./sampling.ts";
export { frontendElicitor } from "./elicitation.ts";
export {
  type Authorizer,
  clientCredentials,
  oauthFetch,
  OAuthSession,
  type OAuthSessionOptions,
} from "./oauth.ts";
export {
  bearerFetch,
  type EnterpriseAuthOptions,
  enterpriseManagedTokens,
} from "./enterprise_auth.ts";
