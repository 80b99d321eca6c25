/**
 * The Action union: every tool call becomes one or more Actions before anything runs.
 * Each action yields a resource URI, a permission and a risk (see ARCHITECTURE.md).
 *
 * @module
 */
import { execResource, fileResource, netResource, urlResource } from "./resource.ts";

/** How much harm an action can do. */
export type Risk = "low" | "medium" | "high" | "critical";

/** The verb a token or rule grants over a resource. */
export type Permission =
  | "read"
  | "write"
  | "delete"
  | "execute"
  | "network"
  | "invoke"
  | "spawn"
  | "transmit"
  | "spend"
  | "grant";

/** Every permission, in a stable order. */
export const PERMISSIONS: readonly Permission[] = [
  "read",
  "write",
  "delete",
  "execute",
  "network",
  "invoke",
  "spawn",
  "transmit",
  "spend",
  "grant",
];

/** Risks in increasing order. */
export const RISKS: readonly Risk[] = ["low", "medium", "high", "critical"];

/** Read a file (absolute, canonical path). */
export interface FileReadAction {
  readonly kind: "file_read";
  readonly path: string;
}
/** Create or overwrite a file. */
export interface FileWriteAction {
  readonly kind: "file_write";
  readonly path: string;
}
/** Delete a file or folder. */
export interface FileDeleteAction {
  readonly kind: "file_delete";
  readonly path: string;
}
/** Run one simple command. `line` is the whole command line it came from, when there is one. */
export interface ExecuteCommandAction {
  readonly kind: "execute_command";
  readonly argv: readonly string[];
  readonly line?: string;
  readonly cwd?: string;
  /**
   * Set when the command runs code the policy cannot read (text handed to an interpreter:
   * `… | sh`, `python3 -c`, `eval "$x"`): one sentence saying what. Such a command is never
   * covered by a standing rule, a token or a session allowance; only the mode or a human.
   */
  readonly opaque?: string;
}
/** Open a network connection or make an HTTP request. */
export interface NetworkRequestAction {
  readonly kind: "network_request";
  readonly url: string;
  readonly method?: string;
}
/** Call a tool on an MCP server. */
export interface McpToolCallAction {
  readonly kind: "mcp_tool_call";
  readonly server: string;
  readonly tool: string;
  readonly args?: unknown;
}
/** Call a tool exported by a capsule. */
export interface CapsuleToolCallAction {
  readonly kind: "capsule_tool_call";
  readonly capsule: string;
  readonly tool: string;
  readonly args?: unknown;
}
/** A capsule host call touching the filesystem; `capability` is the host function name. */
export interface CapsuleFileAccessAction {
  readonly kind: "capsule_file_access";
  readonly capsule: string;
  readonly capability:
    | "read_file"
    | "write_file"
    | "fs_exists"
    | "fs_mkdir"
    | "fs_readdir"
    | "fs_stat"
    | "fs_unlink";
  readonly path: string;
}
/** A capsule host call making an HTTP request. */
export interface CapsuleHttpRequestAction {
  readonly kind: "capsule_http_request";
  readonly capsule: string;
  readonly url: string;
  readonly method?: string;
}
/** A capsule host call asking the runtime's model for a completion (`llm-complete`). */
export interface CapsuleLlmCallAction {
  readonly kind: "capsule_llm_call";
  readonly capsule: string;
  /** The model the request is sent to. */
  readonly model: string;
  /** The most output tokens the call may produce. */
  readonly maxTokens: number;
  /** The capsule's stated reason, shown to the human (at most 200 characters). */
  readonly purpose?: string;
}
/**
 * A capsule host call changing one of its own `[env]` config values (`set-config`). The value
 * of a secret key is never part of the action (nor its summary, audit entry or prompt).
 */
export interface CapsuleConfigWriteAction {
  readonly kind: "capsule_config_write";
  readonly capsule: string;
  /** The `[env]` key, an identifier the capsule's manifest declares. */
  readonly key: string;
  /** True when the manifest types the key `secret`: `value` is then absent. */
  readonly secret: boolean;
  /** The new value, only for a key that is not secret. */
  readonly value?: string;
}
/** Spawn a sub-agent. */
export interface SubAgentSpawnAction {
  readonly kind: "sub_agent_spawn";
  readonly parentSession: string;
  readonly description: string;
}
/** Send data to a destination outside the runtime. */
export interface TransmitDataAction {
  readonly kind: "transmit_data";
  readonly destination: string;
  readonly bytes: number;
}
/** Spend money. */
export interface FinancialTransactionAction {
  readonly kind: "financial_transaction";
  readonly payee: string;
  readonly amountUsd: number;
}
/** Grant a capability to someone else. */
export interface CapabilityGrantAction {
  readonly kind: "capability_grant";
  readonly resource: string;
  readonly permissions: readonly Permission[];
}

/** Every action the runtime knows. */
export type Action =
  | FileReadAction
  | FileWriteAction
  | FileDeleteAction
  | ExecuteCommandAction
  | NetworkRequestAction
  | McpToolCallAction
  | CapsuleToolCallAction
  | CapsuleFileAccessAction
  | CapsuleHttpRequestAction
  | CapsuleLlmCallAction
  | CapsuleConfigWriteAction
  | SubAgentSpawnAction
  | TransmitDataAction
  | FinancialTransactionAction
  | CapabilityGrantAction;

/** The kind tag of an action. */
export type ActionKind = Action["kind"];

/** What the interceptor needs to know about an action. */
export interface ActionInfo {
  readonly resource: string;
  readonly permission: Permission;
  readonly risk: Risk;
  /** A one-line description for prompts and logs. */
  readonly summary: string;
}

const CAPSULE_FS_PERMISSION: Record<CapsuleFileAccessAction["capability"], Permission> = {
  read_file: "read",
  fs_exists: "read",
  fs_readdir: "read",
  fs_stat: "read",
  write_file: "write",
  fs_mkdir: "write",
  fs_unlink: "delete",
};

/**
 * Returns the resource URI, permission, risk and summary of an action.
 *
 * @example A command resource is the whole argv
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { describeAction } from "./action.ts";
 * const info = describeAction({ kind: "execute_command", argv: ["git", "push"] });
 * deepEqual(info.resource, "exec://git push");
 * deepEqual(info.risk, "high");
 * ```
 */
export function describeAction(action: Action): ActionInfo {
  switch (action.kind) {
    case "file_read":
      return info(fileResource(action.path), "read", "low", `Read file ${action.path}`);
    case "file_write":
      return info(fileResource(action.path), "write", "medium", `Write file ${action.path}`);
    case "file_delete":
      return info(fileResource(action.path), "delete", "high", `Delete ${action.path}`);
    case "execute_command":
      return info(
        execResource(action.argv),
        "execute",
        "high",
        `Run command: ${action.argv.join(" ")}`,
      );
    case "network_request":
      return info(
        urlResource(action.url),
        "network",
        "medium",
        `${action.method ?? "GET"} ${action.url}`,
      );
    case "mcp_tool_call":
      return info(
        `mcp://${action.server}/${action.tool}`,
        "invoke",
        "medium",
        `Call MCP tool ${action.tool} on server ${action.server}`,
      );
    case "capsule_tool_call":
      return info(
        `capsule://${action.capsule}/${action.tool}`,
        "invoke",
        "medium",
        `Call tool ${action.tool} of capsule ${action.capsule}`,
      );
    case "capsule_file_access":
      return info(
        `capsule://${action.capsule}/${action.capability}`,
        CAPSULE_FS_PERMISSION[action.capability],
        action.capability === "fs_unlink" ? "high" : action.capability === "write_file" ||
            action.capability === "fs_mkdir"
          ? "medium"
          : "low",
        `Capsule ${action.capsule}: ${action.capability} ${action.path}`,
      );
    case "capsule_http_request":
      return info(
        `capsule://${action.capsule}/http_request`,
        "network",
        "medium",
        `Capsule ${action.capsule}: ${action.method ?? "GET"} ${action.url}`,
      );
    case "capsule_llm_call":
      return info(
        `capsule://${action.capsule}/llm_complete`,
        "invoke",
        "medium",
        `Capsule ${action.capsule}: ask model ${action.model} (up to ${action.maxTokens} tokens)${
          action.purpose ? ` for: ${action.purpose}` : ""
        }`,
      );
    case "capsule_config_write":
      return info(
        `capsule://${action.capsule}/config/${action.key}`,
        "write",
        "medium",
        configWriteSummary(action),
      );
    case "sub_agent_spawn":
      return info(
        `agent://${action.parentSession}/spawn`,
        "spawn",
        "medium",
        `Spawn a sub-agent: ${action.description}`,
      );
    case "transmit_data":
      return info(
        action.destination,
        "transmit",
        "high",
        `Send ${action.bytes} bytes to ${action.destination}`,
      );
    case "financial_transaction":
      return info(
        `pay://${action.payee}`,
        "spend",
        "critical",
        `Pay $${action.amountUsd.toFixed(2)} to ${action.payee}`,
      );
    case "capability_grant":
      return info(
        action.resource,
        "grant",
        "critical",
        `Grant ${action.permissions.join(",")} on ${action.resource}`,
      );
  }
}

function info(resource: string, permission: Permission, risk: Risk, summary: string): ActionInfo {
  return { resource, permission, risk, summary };
}

/** The longest part of a non-secret config value a summary shows, in characters. */
const CONFIG_PREVIEW_CHARS = 60;

/** What a config write shows a human: a secret's value never, any other value quoted, short. */
function configWriteSummary(action: CapsuleConfigWriteAction): string {
  const head = `Capsule ${action.capsule}: change its`;
  if (action.secret) return `${head} secret config key ${action.key} (value hidden)`;
  const value = action.value ?? "";
  const shown = value.length > CONFIG_PREVIEW_CHARS
    ? `${value.slice(0, CONFIG_PREVIEW_CHARS)}…`
    : value;
  return `${head} config key ${action.key} to ${JSON.stringify(shown)}`;
}

/**
 * Extra resources an action also touches: a network action's `net://host:port`, so a rule or
 * token over the host covers every URL on it.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { aliasResources } from "./action.ts";
 * deepEqual(aliasResources({ kind: "network_request", url: "https://a.example/x" }), [
 *   "net://a.example:443",
 * ]);
 * ```
 */
export function aliasResources(action: Action): string[] {
  if (action.kind === "network_request") return [netResource(action.url)];
  return [];
}

/**
 * The filesystem path an action touches, if any (used for the workspace boundary).
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { actionPath } from "./action.ts";
 * deepEqual(actionPath({ kind: "file_read", path: "/ws/a" }), "/ws/a");
 * ```
 */
export function actionPath(action: Action): string | undefined {
  switch (action.kind) {
    case "file_read":
    case "file_write":
    case "file_delete":
    case "capsule_file_access":
      return action.path;
    default:
      return undefined;
  }
}

/**
 * The host a network-reaching action contacts, if any (for denied hosts).
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { actionHost } from "./action.ts";
 * deepEqual(actionHost({ kind: "network_request", url: "https://Evil.example/x" }), "evil.example");
 * ```
 */
export function actionHost(action: Action): string | undefined {
  if (action.kind === "network_request" || action.kind === "capsule_http_request") {
    return new URL(urlResource(action.url)).hostname;
  }
  return undefined;
}
