/**
 * The one error type of runtime/mcp. Callers match on `code`, never on the message.
 *
 * @module
 */

/** Why an MCP operation failed. */
export type McpErrorCode =
  /** No `[servers.NAME]` table with that name. */
  | "UNKNOWN_SERVER"
  /** A `[servers.NAME]` table that cannot be used as written. */
  | "BAD_CONFIG"
  /** The executable's BLAKE3 does not match `binary_hash`: the server is not started. */
  | "INTEGRITY"
  /** The process could not be spawned or did not complete the MCP handshake. */
  | "START_FAILED"
  /** No wall (bubblewrap) can be built here, and the server may not run unwalled. */
  | "SANDBOX_UNAVAILABLE"
  /** The server is not running (stopped, or waiting to be restarted). */
  | "NOT_RUNNING"
  /** The server exited or its connection broke while a call was pending. */
  | "SERVER_EXITED"
  /** The server answered with something we refuse (oversized line, hostile tool name). */
  | "PROTOCOL"
  /** The server answered the request with an error. */
  | "CALL_FAILED"
  /** Remote authorization did not complete. */
  | "AUTH_FAILED";

/**
 * A domain failure of runtime/mcp.
 *
 * @example Match on the code
 * ```ts
 * import { equal, ok } from "node:assert/strict";
 * import { McpError } from "./errors.ts";
 * const err = new McpError("UNKNOWN_SERVER", 'Cannot start server "x": current value is not configured');
 * ok(err instanceof Error);
 * equal(err.code, "UNKNOWN_SERVER");
 * ```
 */
export class McpError extends Error {
  /** What went wrong, for callers to branch on. */
  readonly code: McpErrorCode;
  /** Creates the error. */
  constructor(code: McpErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "McpError";
    this.code = code;
  }
}
