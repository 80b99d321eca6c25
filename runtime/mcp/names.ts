/**
 * Names: server names from config, tool names from servers, and the `mcp__<server>__<tool>`
 * names the model sees. A server controls its tool names, so they are checked before they
 * become part of a resource URI (`mcp://server/tool`) that permission globs match against.
 *
 * @module
 */

// Letters, digits, `-` and single `_` (never `__`, never at the end), so that the first `__`
// after `mcp__` always ends the server name.
const SERVER_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]|_(?!_))*$/;
// MCP 2025-11-25 tool names: 1–128 of A–Z a–z 0–9 _ - . (no `/`, so no path games).
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const PREFIX = "mcp__";

/**
 * True when `name` may name a server (`[servers.NAME]`).
 *
 * @example Valid and invalid server names
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { isServerName } from "./names.ts";
 * ok(isServerName("github") && isServerName("my_srv-2"));
 * ok(!isServerName("a__b") && !isServerName("a_") && !isServerName("../x") && !isServerName(""));
 * ```
 */
export function isServerName(name: string): boolean {
  return name.length <= 64 && SERVER_NAME.test(name) && !name.endsWith("_");
}

/**
 * True when a server-supplied tool name is safe to expose and to put in a resource URI.
 *
 * @example Hostile tool names are refused
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { isToolName } from "./names.ts";
 * ok(isToolName("create_issue") && isToolName("v1.search"));
 * ok(!isToolName("a/../b") && !isToolName("..") && !isToolName("*") && !isToolName(""));
 * ```
 */
export function isToolName(name: string): boolean {
  return TOOL_NAME.test(name) && name !== "." && !name.includes("..");
}

/**
 * The name the model sees for `tool` on `server`: `mcp__<server>__<tool>`.
 *
 * @example Name a tool for the model
 * ```ts
 * import { equal, throws } from "node:assert/strict";
 * import { mcpToolName } from "./names.ts";
 * equal(mcpToolName("github", "create_issue"), "mcp__github__create_issue");
 * throws(() => mcpToolName("a__b", "t"), TypeError);
 * ```
 */
export function mcpToolName(server: string, tool: string): string {
  if (!isServerName(server)) {
    throw new TypeError(`Cannot name an MCP tool: server name is ${JSON.stringify(server)}`);
  }
  if (!isToolName(tool)) {
    throw new TypeError(`Cannot name an MCP tool: tool name is ${JSON.stringify(tool)}`);
  }
  return `${PREFIX}${server}__${tool}`;
}

/**
 * Splits `mcp__<server>__<tool>`; null when `name` is not a well-formed MCP tool name.
 *
 * @example Split a name back into server and tool
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { parseMcpToolName } from "./names.ts";
 * deepEqual(parseMcpToolName("mcp__github__create__issue"), { server: "github", tool: "create__issue" });
 * equal(parseMcpToolName("read_file"), null);
 * equal(parseMcpToolName("mcp__x__../y"), null);
 * ```
 */
export function parseMcpToolName(name: string): { server: string; tool: string } | null {
  if (!name.startsWith(PREFIX)) return null;
  const rest = name.slice(PREFIX.length);
  const cut = rest.indexOf("__");
  if (cut <= 0) return null;
  const server = rest.slice(0, cut);
  const tool = rest.slice(cut + 2);
  return isServerName(server) && isToolName(tool) ? { server, tool } : null;
}
