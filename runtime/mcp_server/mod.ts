/**
 * `astrid mcp serve`: Astrid's tools (built-ins, installed capsules, optionally configured MCP
 * servers) offered to other agents over MCP, every call through the same gate and audit as
 * Astrid's own agent.
 *
 * - {@link buildCatalog}: the tools, their input schemas and hints, filtered by `--tools`.
 * - {@link createSessionServer}: one connection's SDK server (a session per client).
 * - {@link serveStdio} / {@link serveHttp}: the two transports.
 * - {@link ElicitingFrontend}: approvals asked through the client's elicitation.
 * - {@link resolveServeToken} / {@link bearerMatches}: the HTTP bearer token.
 * - {@link lazyTaskModel} / {@link sessionTaskRunner}: `task` (sub-agents) when a model is
 *   configured.
 *
 * @module
 */
export { builtinHints, capsuleHints, hintsFor, mcpHints, type ToolHints } from "./annotations.ts";
export {
  buildCatalog,
  type CatalogSources,
  type ExternalTool,
  type ServedTool,
  toolGlob,
  type ToolSource,
} from "./catalog.ts";
export {
  approvalForm,
  type CallScope,
  DECISION_FIELD,
  ElicitingFrontend,
  type Elicitor,
} from "./elicit_frontend.ts";
export {
  cleanClientField,
  clientSessionId,
  createSessionServer,
  RESOURCES,
  type ServeContext,
  type SessionServer,
  toResult,
} from "./session_server.ts";
export {
  fromLoopbackNames,
  type HttpServeOptions,
  MAX_BODY_BYTES,
  serveHttp,
  serveStdio,
} from "./serve.ts";
export { bearerMatches, MIN_TOKEN_CHARS, resolveServeToken, type ServeToken } from "./token.ts";
export {
  lazyTaskModel,
  type SessionTaskOptions,
  sessionTaskRunner,
  type TaskModel,
  taskModelConfigured,
  type TaskModelLoader,
} from "./task_runner.ts";
