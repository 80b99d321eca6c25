/**
 * `[servers.NAME]` tables, checked and turned into typed server descriptions. The config schema
 * only checks types; this adds the rules that need the whole table (stdio needs `command`, http
 * needs an http(s) `url`, a valid name, no `binary_hash` without a command).
 *
 * @module
 */
import type { AstridConfig } from "../config/mod.ts";
import { McpError } from "./errors.ts";
import { isServerName } from "./names.ts";

/** What happens when a server exits on its own. */
export type RestartPolicy = "never" | "on_failure" | "always";

interface CommonServerConfig {
  readonly name: string;
  readonly autoStart: boolean;
  readonly restartPolicy: RestartPolicy;
}
/**
 * The wall a stdio server runs in (runtime/sandbox): every capability dropped, its own PID
 * namespace, an allowlisted environment, `$ASTRID_HOME` and credentials hidden, the filesystem
 * read-only except `writable`, and no network unless `network`.
 */
export interface ServerWall {
  /** The server may use the network. */
  readonly network: boolean;
  /**
   * Paths the server may write: absolute, `~/…` for the user's home, or relative to the
   * workspace (`"."` is the workspace itself).
   */
  readonly writable: readonly string[];
  /** Paths shown read-only even inside hidden folders (a capsule's own folder); not configurable. */
  readonly readable?: readonly string[];
}

/** A server run as a child process, spoken to over stdin/stdout. */
export interface StdioServerConfig extends CommonServerConfig {
  readonly transport: "stdio";
  readonly command: string;
  readonly args: readonly string[];
  /** Variables given to the child on top of PATH and HOME. */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string | undefined;
  /** `blake3:<hex>` of the resolved executable; the server does not start on a mismatch. */
  readonly binaryHash?: string | undefined;
  /**
   * Its wall, or `"off"` when a user-configured server opts out (`sandbox = "off"`). Absent: the
   * default wall (no network, nothing writable).
   */
  readonly sandbox?: ServerWall | "off" | undefined;
}
/** A remote server over Streamable HTTP. */
export interface HttpServerConfig extends CommonServerConfig {
  readonly transport: "http";
  readonly url: string;
}
/** One configured server. */
export type McpServerConfig = StdioServerConfig | HttpServerConfig;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type WallKeys = "sandbox" | "network" | "writable";
/** One `[servers.NAME]` table as parsed; the wall keys take their defaults when absent. */
type ServerTable =
  & Omit<AstridConfig["servers"][string], WallKeys>
  & Partial<Pick<AstridConfig["servers"][string], WallKeys>>;

function bad(name: string, what: string): never {
  throw new McpError("BAD_CONFIG", `Cannot use [servers.${name}]: ${what}`);
}

/**
 * Checks every `[servers.NAME]` table of a merged config, in name order.
 *
 * @example A stdio server and a remote one
 * ```ts
 * import { equal, throws } from "node:assert/strict";
 * import { readServerConfigs } from "./server_config.ts";
 * const servers = readServerConfigs({
 *   servers: {
 *     files: { transport: "stdio", command: "deno", args: ["run", "srv.ts"], env: {}, auto_start: true, restart_policy: "on_failure" },
 *     docs: { transport: "http", url: "https://mcp.example.com/mcp", args: [], env: {}, auto_start: false, restart_policy: "never" },
 *   },
 * });
 * equal(servers.length, 2);
 * equal(servers[1]?.transport, "stdio");
 * throws(
 *   () => readServerConfigs({ servers: { x: { transport: "stdio", args: [], env: {}, auto_start: false, restart_policy: "never" } } }),
 *   /Cannot use \[servers.x\]: stdio needs a command/,
 * );
 * ```
 */
export function readServerConfigs(
  config: { servers: Record<string, ServerTable> },
): McpServerConfig[] {
  const out: McpServerConfig[] = [];
  for (const name of Object.keys(config.servers).sort()) {
    const raw = config.servers[name];
    if (!raw) continue;
    if (!isServerName(name)) {
      bad(
        name,
        `the name must be letters, digits, "-" and single "_" (got ${JSON.stringify(name)})`,
      );
    }
    const common = {
      name,
      autoStart: raw.auto_start,
      restartPolicy: raw.restart_policy,
    };
    if (raw.transport === "http") {
      if (!raw.url) bad(name, "http needs a url; current value is not set");
      if (raw.command !== undefined || raw.binary_hash !== undefined || raw.cwd !== undefined) {
        bad(name, "command, cwd and binary_hash apply to stdio servers only");
      }
      if (raw.network || (raw.writable ?? []).length > 0 || raw.sandbox === "off") {
        bad(name, "sandbox, network and writable apply to stdio servers only");
      }
      let url: URL;
      try {
        url = new URL(raw.url);
      } catch {
        return bad(
          name,
          `url must be an absolute URL; current value is ${JSON.stringify(raw.url)}`,
        );
      }
      if (url.protocol !== "https:" && url.protocol !== "http:") {
        bad(name, `url must be http or https; current value is ${JSON.stringify(raw.url)}`);
      }
      out.push({ ...common, transport: "http", url: url.href });
      continue;
    }
    if (!raw.command) bad(name, "stdio needs a command; current value is not set");
    if (raw.url !== undefined) bad(name, "url applies to http servers only");
    for (const key of Object.keys(raw.env)) {
      if (!ENV_NAME.test(key)) bad(name, `env key ${JSON.stringify(key)} is not a variable name`);
    }
    out.push({
      ...common,
      transport: "stdio",
      command: raw.command,
      args: [...raw.args],
      env: { ...raw.env },
      cwd: raw.cwd,
      binaryHash: raw.binary_hash,
      sandbox: raw.sandbox === "off"
        ? "off"
        : { network: raw.network ?? false, writable: [...(raw.writable ?? [])] },
    });
  }
  return out;
}
