/**
 * The one place runtime/mcp imports the MCP SDK from (pinned exactly).
 *
 * The SDK's `exports` map sends `./*.js` types to `*.js.d.ts`, which does not exist, so Deno
 * would type every import as `any`. Each import therefore names its types with `@ts-types`
 * (the extensionless subpath, which does resolve to the right `.d.ts`).
 *
 * @module
 */
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/client/index"
export { Client } from "npm:@modelcontextprotocol/sdk@1.32.2/client/index.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/client/streamableHttp"
export { StreamableHTTPClientTransport } from "npm:@modelcontextprotocol/sdk@1.32.2/client/streamableHttp.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/client/auth"
export {
  auth,
  discoverOAuthServerInfo,
  extractWWWAuthenticateParams,
  type OAuthClientProvider,
} from "npm:@modelcontextprotocol/sdk@1.32.2/client/auth.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/client/auth-extensions"
export {
  ClientCredentialsProvider,
  PrivateKeyJwtProvider,
} from "npm:@modelcontextprotocol/sdk@1.32.2/client/auth-extensions.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/shared/auth"
export type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from "npm:@modelcontextprotocol/sdk@1.32.2/shared/auth.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/shared/transport"
export type {
  FetchLike,
  Transport,
} from "npm:@modelcontextprotocol/sdk@1.32.2/shared/transport.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/shared/responseMessage"
export { takeResult } from "npm:@modelcontextprotocol/sdk@1.32.2/shared/responseMessage.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/types"
export {
  type CallToolResult,
  CallToolResultSchema,
  type ClientCapabilities,
  type ContentBlock,
  type CreateMessageRequestParams,
  CreateMessageRequestSchema,
  type CreateMessageResult,
  type ElicitRequestParams,
  ElicitRequestSchema,
  type ElicitResult,
  ErrorCode,
  type GetPromptResult,
  type Implementation,
  type JSONRPCMessage,
  JSONRPCMessageSchema,
  ListRootsRequestSchema,
  McpError as SdkMcpError,
  type Prompt,
  type ReadResourceResult,
  type Resource,
  type ServerCapabilities,
  type Tool,
  ToolListChangedNotificationSchema,
} from "npm:@modelcontextprotocol/sdk@1.32.2/types.js";
