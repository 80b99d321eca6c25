/**
 * Layered TOML configuration: built-in defaults → `/etc/astrid/config.toml` →
 * `$ASTRID_HOME/config.toml` → `ASTRID_<SECTION>_<KEY>` environment overrides →
 * `<workspace>/.astrid/config.toml`. Deny lists are unioned across every layer; the workspace
 * layer may only tighten. The environment is read once, from the record passed to
 * {@link loadConfig}.
 *
 * @example Resolve paths and load the config
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { loadConfig, resolvePaths } from "./mod.ts";
 * const env = { ASTRID_HOME: "/nonexistent/astrid-home", ASTRID_WORKSPACE_MODE: "guided" };
 * const paths = await resolvePaths({ env, cwd: "/", systemConfig: "/nonexistent/system.toml" });
 * const { config } = await loadConfig(paths, env);
 * equal(config.workspace.mode, "guided");
 * ```
 *
 * @module
 */
export { ConfigError, type ConfigErrorDetails } from "./errors.ts";
export {
  type AstridConfig,
  CONFIG_SECTIONS,
  type ConfigLayerData,
  configSchema,
  type ConfigSection,
  DEFAULT_CONFIG,
} from "./schema.ts";
export {
  type AstridPaths,
  expandHome,
  resolvePaths,
  type ResolvePathsOptions,
  resolveWitnessPath,
  SYSTEM_CONFIG_PATH,
} from "./paths.ts";
export {
  type ConfigLayer,
  loadConfig,
  type LoadedConfig,
  redactConfig,
  validateConfigFile,
} from "./load.ts";
export type { LayerName } from "./merge.ts";
export { workspaceConfigTemplate } from "./template.ts";
