/**
 * The admin policy's configuration and answers (the policy itself is policy.ts).
 *
 * @module
 */
import { DEFAULT_CONFIG } from "../config/defaults.ts";
import type { Walls } from "./walls.ts";

/**
 * The admin policy as configured (`[policy]` plus `[permissions] deny`).
 *
 * @example Tightening the defaults
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { AdminPolicy, DEFAULT_POLICY, type PolicyConfig } from "./policy.ts";
 * const config: PolicyConfig = { ...DEFAULT_POLICY, denied_hosts: ["*.evil.com"] };
 * equal(new AdminPolicy(config).check({ kind: "network_request", url: "https://evil.com" }).ok, false);
 * ```
 */
export interface PolicyConfig {
  /** Commands never run: `sudo` (any argv0 named sudo) or `rm -rf /` (argv0 plus tokens). */
  blocked_commands: string[];
  /** Absolute path globs never touched; `/etc/**` also covers `/etc`. */
  denied_paths: string[];
  /** Host globs never contacted; `*.evil.com` also covers `evil.com`. */
  denied_hosts: string[];
  /** Largest tool-argument payload, and largest single argument or path, in bytes. */
  max_argument_bytes: number;
  /** Tool names never called. */
  blocked_tools: string[];
  /** Capsule names never run. */
  blocked_capsules: string[];
  /** `[permissions] deny` resource globs (see resource.ts). */
  deny_rules: string[];
  /** What no agent-side action may touch (see walls.ts); default: only the `.astrid` rule. */
  walls?: Walls;
  /**
   * Commands run inside the sandbox (`[tools] sandbox = "bwrap"`). Then a command whose name is
   * only known at run time (`$CMD`, `eval "$x"`) is not denied here: it is opaque code, which
   * only the mode or a human may allow, and the wall contains whatever it turns out to be.
   * Default false: such a command is denied (fail closed).
   */
  sandboxed?: boolean;
}

/**
 * The built-in policy: the `[policy]` section of the default configuration.
 *
 * @example The defaults block sudo
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { DEFAULT_POLICY } from "./policy.ts";
 * ok(DEFAULT_POLICY.blocked_commands.includes("sudo"));
 * ```
 */
export const DEFAULT_POLICY: PolicyConfig = Object.freeze({
  ...DEFAULT_CONFIG.policy,
  deny_rules: DEFAULT_CONFIG.permissions.deny,
}) as PolicyConfig;

/**
 * Who is asking, when it matters to the policy.
 *
 * @example A blocked tool is denied whatever the action
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { AdminPolicy, DEFAULT_POLICY, type PolicyContext } from "./policy.ts";
 * const policy = new AdminPolicy({ ...DEFAULT_POLICY, blocked_tools: ["bash"] });
 * const ctx: PolicyContext = { tool: "bash", argumentBytes: 12 };
 * equal(policy.check({ kind: "execute_command", argv: ["ls"] }, ctx).ok, false);
 * ```
 */
export interface PolicyContext {
  tool?: string | undefined;
  capsule?: string | undefined;
  argumentBytes?: number | undefined;
}

/**
 * The policy's answer. `rule` names the config entry that denied.
 *
 * @example Matching on the rule
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { AdminPolicy, DEFAULT_POLICY, type PolicyVerdict } from "./policy.ts";
 * const v: PolicyVerdict = new AdminPolicy(DEFAULT_POLICY).check({ kind: "file_read", path: "/etc/passwd" });
 * equal(v.ok ? "allowed" : v.rule, "denied_paths");
 * ```
 */
export type PolicyVerdict = { ok: true } | {
  ok: false;
  code: "POLICY";
  rule: string;
  reason: string;
};
