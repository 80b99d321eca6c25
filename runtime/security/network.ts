/**
 * Commands that always reach a host. Shared by the policy (whose denied-host check reads their
 * bare arguments as host names) and the tools' classifier (which turns them into
 * `network_request` actions).
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { NETWORK_COMMANDS } from "./network.ts";
 * ok(NETWORK_COMMANDS.has("curl"));
 * ```
 *
 * @module
 */

/** Commands that always reach a host. */
export const NETWORK_COMMANDS: ReadonlySet<string> = new Set([
  "curl",
  "wget",
  "ssh",
  "scp",
  "sftp",
  "rsync",
  "nc",
  "ncat",
  "netcat",
  "telnet",
  "ftp",
  "ping",
  "ping6",
  "dig",
  "nslookup",
  "host",
  "socat",
  "aria2c",
  "http",
  "https",
  "xh",
  "lynx",
  "w3m",
  "whois",
  "mosh",
  "npx",
  "bunx",
  "pipx",
  "gh",
]); // deno-fmt-ignore
