/**
 * The built-in configuration defaults and the provider presets, as plain frozen data: no zod
 * and no TOML parser, so a module that needs only a default (the admin policy's built-in walls)
 * or the presets does not load the schema (zod alone costs about 20 ms at start-up).
 * runtime/config/schema.ts re-exports both; its `AstridConfig` type checks the defaults.
 *
 * @module
 */
import type { AstridConfig } from "./schema.ts";

/** Config files larger than this are refused (a config file is a few KB). */
export const MAX_CONFIG_BYTES = 1_048_576;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * The built-in defaults (frozen). Deny lists here are walls: no layer can remove them.
 *
 * @example Read a default
 * ```ts
 * import { equal, ok } from "node:assert/strict";
 * import { DEFAULT_CONFIG } from "./defaults.ts";
 * equal(DEFAULT_CONFIG.workspace.mode, "safe");
 * ok(DEFAULT_CONFIG.policy.blocked_commands.includes("sudo"));
 * ```
 */
export const DEFAULT_CONFIG: AstridConfig = deepFreeze({
  workspace: { mode: "safe", escape_policy: "ask" },
  policy: {
    blocked_commands: [
      "sudo",
      "su",
      "doas",
      "pkexec",
      "mkfs",
      "dd",
      "shutdown",
      "reboot",
      "rm -rf /",
      "chmod 777",
    ],
    denied_paths: ["/etc/**", "/boot/**", "/sys/**", "/proc/**", "/dev/**"],
    denied_hosts: [],
    max_argument_bytes: 1_048_576,
    blocked_tools: [],
    blocked_capsules: [],
  },
  permissions: { allow: [], ask: [], deny: [] },
  budget: { session_usd: 5, per_action_usd: 1, warn_at: 0.8 },
  approval: { timeout_seconds: 300, always_ttl_seconds: 3600 },
  audit: { checkpoint_every: 256, checkpoint_seconds: 5, witness_path: "" },
  storage: { kv_url: "" },
  model: {
    provider: "anthropic",
    model: "claude-sonnet-4-6",
    api_key: "",
    api_url: "",
    max_tokens: 8192,
    temperature: 1,
    pricing: "auto",
  },
  tools: { sandbox: "bwrap", bash_timeout_seconds: 120, output_limit_chars: 30000 },
  sandbox: { hide: [] },
  runtime: { allow_net: [] },
  capsules: { require_hash: true, memory_mb: 64, timeout_seconds: 30 },
  servers: {},
  pricing: {},
  agent: {
    max_rounds: 25,
    task_budget_usd: 1,
    max_concurrency: 5,
    max_depth: 3,
    task_timeout_seconds: 600,
  },
  daemon: { notify_command: [], link_ttl_seconds: 900 },
});

/** A provider preset: an OpenAI-compatible service known by name (`[model] provider`). */
export interface ModelPreset {
  /** The OpenAI-compatible base URL, ending in the API version as the SDK expects. */
  readonly baseUrl: string;
  /** The environment variable that holds its key, or null when it takes none. */
  readonly keyEnv: string | null;
}

/**
 * The provider presets, chosen for this release: `provider = "ollama"` or `"zai"` is the
 * OpenAI-compatible provider at the preset's URL (the loader rewrites it so). Ollama is a local
 * server (no key, $0); Z.ai's GLM prices are in runtime/llm's `DEFAULT_PRICING`.
 *
 * @example The Ollama preset is a loopback URL with no key
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { MODEL_PRESETS } from "./defaults.ts";
 * equal(MODEL_PRESETS.ollama.baseUrl, "http://127.0.0.1:11434/v1");
 * equal(MODEL_PRESETS.zai.keyEnv, "ZAI_API_KEY");
 * ```
 */
export const MODEL_PRESETS: Readonly<Record<"ollama" | "zai", ModelPreset>> = deepFreeze({
  ollama: { baseUrl: "http://127.0.0.1:11434/v1", keyEnv: null },
  zai: { baseUrl: "https://api.z.ai/api/paas/v4", keyEnv: "ZAI_API_KEY" },
});
