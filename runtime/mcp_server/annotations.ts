/**
 * MCP tool annotations (`readOnlyHint`, `destructiveHint`, `openWorldHint`) derived from the
 * Actions a tool's calls classify into (security/action.ts): the hints a client shows are the
 * same facts the gate decides on. They are hints for the client's UI, never a grant: every
 * call still passes the interceptor.
 *
 * @module
 */
import { type Action, describeAction, type Permission } from "../security/action.ts";
import type { InstalledCapsule } from "../capsule/mod.ts";

/** The three hints MCP defines for a tool's behaviour. */
export interface ToolHints {
  readonly readOnlyHint: boolean;
  readonly destructiveHint: boolean;
  readonly openWorldHint: boolean;
}

const CHANGES: ReadonlySet<Permission> = new Set(["write", "delete", "execute", "spend", "grant"]);
const OUTSIDE: ReadonlySet<Permission> = new Set(["network", "transmit", "spend", "spawn"]);

/**
 * The hints of a tool whose calls may take `actions`: read-only when every action only reads
 * (or invokes a capsule that only reads), destructive when one may write, delete, execute,
 * spend or grant, open-world when one may reach the network, spawn an agent or call another
 * server.
 *
 * @example A write is destructive, a read is read-only
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { hintsFor } from "./annotations.ts";
 * deepEqual(hintsFor([{ kind: "file_read", path: "/ws/a" }]), {
 *   readOnlyHint: true, destructiveHint: false, openWorldHint: false,
 * });
 * deepEqual(hintsFor([{ kind: "file_write", path: "/ws/a" }]).destructiveHint, true);
 * ```
 */
export function hintsFor(actions: readonly Action[]): ToolHints {
  const permissions = actions.map((a) => describeAction(a).permission);
  const external = actions.some((a) => a.kind === "mcp_tool_call");
  return {
    readOnlyHint: !external && permissions.every((p) => p === "read" || p === "invoke"),
    destructiveHint: permissions.some((p) => CHANGES.has(p)),
    openWorldHint: external || permissions.some((p) => OUTSIDE.has(p)),
  };
}

const WS = "/workspace";

/** What each built-in tool's calls classify into (tools/*_tool.ts `classify`). */
const BUILTIN_ACTIONS: Readonly<Record<string, readonly Action[]>> = {
  read_file: [{ kind: "file_read", path: `${WS}/f` }],
  write_file: [{ kind: "file_write", path: `${WS}/f` }],
  edit_file: [{ kind: "file_read", path: `${WS}/f` }, { kind: "file_write", path: `${WS}/f` }],
  glob: [{ kind: "file_read", path: WS }],
  grep: [{ kind: "file_read", path: WS }],
  list_directory: [{ kind: "file_read", path: WS }],
  bash: [
    { kind: "execute_command", argv: ["sh"] },
    { kind: "network_request", url: "https://example.invalid/" },
  ],
  task: [{ kind: "sub_agent_spawn", parentSession: "s", description: "d" }],
};

/**
 * The hints of built-in tool `name` (unknown names get the most cautious hints).
 *
 * @example bash may change things and reach the network
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { builtinHints } from "./annotations.ts";
 * deepEqual(builtinHints("bash"), { readOnlyHint: false, destructiveHint: true, openWorldHint: true });
 * ```
 */
export function builtinHints(name: string): ToolHints {
  const actions = BUILTIN_ACTIONS[name];
  return actions ? hintsFor(actions) : CAUTIOUS;
}

const CAUTIOUS: ToolHints = { readOnlyHint: false, destructiveHint: true, openWorldHint: true };

/**
 * The hints of a capsule's tools, from what its install record granted: `[capabilities]`
 * `fs_read`/`fs_write`/`net`/`kv`/`llm` and `[[mcp_server]]`s (an outside process).
 *
 * @example A capsule with no capabilities is read-only
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { capsuleHints } from "./annotations.ts";
 * const caps = { net: [], fs_read: [], fs_write: [], kv: false, host_process: [], llm: false };
 * const capsule = { loaded: { manifest: { package: { name: "hello" }, capabilities: caps, mcp_server: [] } } };
 * equal(capsuleHints(capsule as never).readOnlyHint, true);
 * ```
 */
export function capsuleHints(capsule: InstalledCapsule): ToolHints {
  const { manifest } = capsule.loaded;
  const name = manifest.package.name;
  const caps = manifest.capabilities;
  const actions: Action[] = [{ kind: "capsule_tool_call", capsule: name, tool: "t" }];
  for (const p of caps.fs_read) {
    actions.push({ kind: "capsule_file_access", capsule: name, capability: "read_file", path: p });
  }
  for (const p of caps.fs_write) {
    actions.push({ kind: "capsule_file_access", capsule: name, capability: "write_file", path: p });
  }
  for (const host of caps.net) {
    actions.push({ kind: "capsule_http_request", capsule: name, url: `https://${host}/` });
  }
  const hints = hintsFor(actions);
  const spawns = caps.host_process.length > 0 || (manifest.mcp_server?.length ?? 0) > 0;
  return {
    readOnlyHint: hints.readOnlyHint && !caps.kv && !spawns,
    destructiveHint: hints.destructiveHint || spawns,
    openWorldHint: hints.openWorldHint || caps.llm || spawns,
  };
}

/**
 * The hints of a tool of a configured MCP server: another party's tool, so open-world and
 * never read-only, whatever that server claims.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { mcpHints } from "./annotations.ts";
 * equal(mcpHints("github", "create_issue").openWorldHint, true);
 * ```
 */
export function mcpHints(server: string, tool: string): ToolHints {
  const hints = hintsFor([{ kind: "mcp_tool_call", server, tool }]);
  return { ...hints, destructiveHint: true };
}
