/**
 * The commented `config.toml` that `astrid init` writes into `<workspace>/.astrid/`.
 *
 * @module
 */

const TEMPLATE =
  `# Astrid workspace config. It is laid over the system (/etc/astrid/config.toml) and
# user ($ASTRID_HOME/config.toml) configs and the ASTRID_* environment, and may only TIGHTEN them:
# - lists of blocked/denied things are added to (nothing here can remove a built-in wall);
# - limits are lowered to the smaller value (a higher value is ignored with a warning);
# - modes only become stricter (a looser value is ignored with a warning);
# - permissions.allow, model.provider, model.api_key, model.api_url and storage.kv_url
#   may not be set here at all (loading fails if they are).
# Uncomment a line to use it. \`astrid config validate\` checks this file.

[workspace]
# How much the agent may do without asking: "safe" (strictest) > "guided" > "autonomous".
# mode = "safe"
# What happens when a tool reaches outside the workspace: "deny" (stricter) or "ask".
# escape_policy = "deny"

[policy]
# Extra commands that are never run (matched against the whole command line).
# blocked_commands = ["git push --force", "npm publish"]
# Extra paths that are never read or written (globs).
# denied_paths = ["/home/*/.ssh/**"]
# Hosts that are never contacted.
# denied_hosts = ["example.com"]
# Built-in tools and capsules that may not be used here.
# blocked_tools = ["bash"]
# blocked_capsules = ["weather"]
# Largest tool argument in bytes (may only be lowered).
# max_argument_bytes = 262144

[permissions]
# Resource globs that always prompt, even where the mode would auto-approve.
# ask = ["exec://git push*"]
# Resource globs that are always denied.
# deny = ["net://*:25"]

[budget]
# Spend limits in USD (may only be lowered).
# session_usd = 2
# per_action_usd = 0.5
# Warn when this fraction of the session budget is spent, in (0, 1] (may only be lowered).
# warn_at = 0.5

[approval]
# How long "Allow Always" grants last, in seconds (may only be lowered).
# always_ttl_seconds = 900
# How long to wait for a human before deferring, in seconds.
# timeout_seconds = 300

[audit]
# Write a signed checkpoint at least every N entries or T seconds (may only be lowered).
# checkpoint_every = 64
# checkpoint_seconds = 2

[model]
# Model name and sampling temperature for this workspace.
# model = "claude-sonnet-4-6"
# temperature = 0.5
# Largest response in tokens (may only be lowered).
# max_tokens = 4096

[tools]
# Run bash under bubblewrap; a workspace can turn the sandbox on, never off.
# sandbox = "bwrap"
# Limits for bash and tool output (may only be lowered).
# bash_timeout_seconds = 60
# output_limit_chars = 10000

[capsules]
# Require capsule hashes to match; a workspace can turn this on, never off.
# require_hash = true
# Memory (MiB) and CPU time (seconds) per capsule call (may only be lowered).
# memory_mb = 32
# timeout_seconds = 10
`;

/**
 * The workspace `config.toml` template: valid TOML whose every setting is commented out, each
 * with a line saying what it does and how a workspace may change it.
 *
 * @example The template is valid TOML with nothing set
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { parse } from "smol-toml";
 * import { workspaceConfigTemplate } from "./template.ts";
 * const parsed = parse(workspaceConfigTemplate());
 * ok(Object.values(parsed).every((section) => Object.keys(section as object).length === 0));
 * ```
 */
export function workspaceConfigTemplate(): string {
  return TEMPLATE;
}
