/**
 * Loading the layered config: defaults → system → user → environment → workspace.
 *
 * @module
 */
import { join } from "./path.ts";
import { readEnvLayer } from "./env.ts";
import { ConfigError } from "./errors.ts";
import { type LayerName, mergeLayer } from "./merge.ts";
import type { AstridPaths } from "./paths.ts";
import { PARSE_ONCE, parseConfigText, readConfigFile } from "./parse.ts";
import { type AstridConfig, configSchema, DEFAULT_CONFIG, MODEL_PRESETS } from "./schema.ts";

/** One layer as loaded. */
export interface ConfigLayer {
  /** Which layer. */
  name: LayerName;
  /** Its file, or null for defaults and the environment (and when there is no workspace). */
  path: string | null;
  /** Whether it contributed (file existed, or at least one ASTRID_* override was set). */
  present: boolean;
}

/** The merged config plus how it was made. */
export interface LoadedConfig {
  /** The merged config, every key present. */
  config: AstridConfig;
  /** The layers in the order they were applied. */
  layers: ConfigLayer[];
  /** Loosening attempts that were ignored or clamped. */
  warnings: string[];
}

const PROVIDER_ENV = {
  anthropic: { key: "ANTHROPIC_API_KEY", url: "ANTHROPIC_BASE_URL" },
  openai: { key: "OPENAI_API_KEY", url: "OPENAI_BASE_URL" },
} as const;

/**
 * Loads and merges every layer. Missing files are skipped; anything else wrong is a ConfigError.
 * `env` is read once, here; nothing else in the runtime reads the environment.
 *
 * `[model]` is then resolved: a preset provider (`ollama`, `zai`) becomes `openai` at the preset's
 * URL (its key from the preset's variable, e.g. `ZAI_API_KEY`); `ASTRID_MODEL_PROVIDER` naming
 * another provider than the files drops the files' `api_url` and `api_key` (unless the
 * environment sets them too); an empty key or URL falls back to `ANTHROPIC_API_KEY` /
 * `ANTHROPIC_BASE_URL` or `OPENAI_API_KEY` / `OPENAI_BASE_URL`.
 *
 * @example Load with an env override and no files
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { loadConfig, resolvePaths } from "./mod.ts";
 * const env = { ASTRID_HOME: "/nonexistent/astrid", ASTRID_BUDGET_SESSION_USD: "2" };
 * const paths = await resolvePaths({ env, cwd: "/", systemConfig: "/nonexistent/system.toml" });
 * const { config, layers } = await loadConfig(paths, env);
 * equal(config.budget.session_usd, 2);
 * equal(layers.find((l) => l.name === "env")?.present, true);
 * ```
 */
export async function loadConfig(
  paths: AstridPaths,
  env: Record<string, string | undefined>,
): Promise<LoadedConfig> {
  let config: AstridConfig = structuredClone(DEFAULT_CONFIG);
  const layers: ConfigLayer[] = [{ name: "defaults", path: null, present: true }];
  const warnings: string[] = [];

  const apply = (data: Parameters<typeof mergeLayer>[1], name: LayerName, file: string) => {
    const merged = mergeLayer(config, data, name, file);
    config = merged.config;
    warnings.push(...merged.warnings);
  };
  const applyFile = async (
    name: "system" | "user" | "workspace",
    path: string | null,
    shownPath: string | null = path,
  ) => {
    const text = path === null ? null : await readConfigFile(path);
    layers.push({ name, path: shownPath, present: text !== null });
    if (text !== null && path !== null) apply(parseConfigText(text, path), name, path);
  };

  await applyFile("system", paths.systemConfig);
  await applyFile("user", paths.userConfig);
  const fileProvider = config.model.provider;
  const envLayer = readEnvLayer(env);
  layers.push({ name: "env", path: null, present: envLayer.variables.length > 0 });
  apply(envLayer.data, "env", "environment");
  // ASTRID_MODEL_PROVIDER switching provider: the files' URL and key belong to the other one.
  const envModel = envLayer.data.model ?? {};
  if (envModel.provider !== undefined && envModel.provider !== fileProvider) {
    if (envModel.api_url === undefined) config.model.api_url = "";
    if (envModel.api_key === undefined) config.model.api_key = "";
  }
  // Only paths.workspaceConfig is read: resolvePaths leaves it null when it is the user config.
  await applyFile(
    "workspace",
    paths.workspaceConfig,
    paths.workspaceConfig ??
      (paths.workspaceRoot === null ? null : join(paths.workspaceRoot, ".astrid", "config.toml")),
  );

  const provider = config.model.provider;
  // A `capsule:<name>` provider has no key or URL to fall back to.
  if (provider === "ollama" || provider === "zai") {
    // A preset is the OpenAI-compatible provider at the preset's URL (schema.ts MODEL_PRESETS).
    const preset = MODEL_PRESETS[provider];
    if (config.model.api_url === "") config.model.api_url = preset.baseUrl;
    if (config.model.api_key === "" && preset.keyEnv !== null && env[preset.keyEnv]) {
      config.model.api_key = env[preset.keyEnv]!;
    }
    if (config.model.api_key === "" && preset.keyEnv !== null) {
      warnings.push(
        `[model] provider = "${provider}" has no key: set ${preset.keyEnv} or api_key under [model]`,
      );
    }
    config.model.provider = "openai";
  } else if (provider === "anthropic" || provider === "openai") {
    const fallback = PROVIDER_ENV[provider];
    if (config.model.api_key === "" && env[fallback.key]) config.model.api_key = env[fallback.key]!;
    if (config.model.api_url === "" && env[fallback.url]) config.model.api_url = env[fallback.url]!;
  }

  const checked = configSchema.safeParse(config, PARSE_ONCE);
  if (!checked.success) {
    throw new ConfigError(
      `Cannot load config: the merged result is invalid (${checked.error.message})`,
      {
        file: null,
        key: null,
        expected: null,
      },
    );
  }
  return { config: checked.data, layers, warnings };
}

/**
 * Checks one file as the given layer would read it (over the built-in defaults). Throws a
 * ConfigError when it is missing or invalid; returns the warnings a workspace file would raise.
 *
 * @example A workspace file that tries to loosen the mode
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { validateConfigFile } from "./mod.ts";
 * const path = await Deno.makeTempFile({ suffix: ".toml" });
 * await Deno.writeTextFile(path, '[workspace]\nmode = "autonomous"\n');
 * equal((await validateConfigFile(path, "workspace")).length, 1);
 * await Deno.remove(path);
 * ```
 */
export async function validateConfigFile(
  path: string,
  layer: "system" | "user" | "workspace",
): Promise<string[]> {
  const text = await readConfigFile(path);
  if (text === null) {
    throw new ConfigError(`Cannot load ${path}: the file does not exist`, {
      file: path,
      key: null,
      expected: "an existing file",
    });
  }
  return mergeLayer(DEFAULT_CONFIG, parseConfigText(text, path), layer, path).warnings;
}

/**
 * A copy of `config` with secrets replaced by `***` (only when set), for display.
 *
 * @example Redact an API key
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { DEFAULT_CONFIG, redactConfig } from "./mod.ts";
 * const config = structuredClone(DEFAULT_CONFIG);
 * config.model.api_key = "sk-secret";
 * equal(redactConfig(config).model.api_key, "***");
 * equal(redactConfig(DEFAULT_CONFIG).model.api_key, "");
 * ```
 */
export function redactConfig(config: AstridConfig): AstridConfig {
  const copy = structuredClone(config);
  if (copy.model.api_key !== "") copy.model.api_key = "***";
  copy.storage.kv_url = redactUrl(copy.storage.kv_url);
  copy.model.api_url = redactUrl(copy.model.api_url);
  // `[servers.NAME] env` commonly carries tokens for the server: show the names only.
  for (const server of Object.values(copy.servers)) {
    for (const name of Object.keys(server.env)) server.env[name] = "***";
    if (server.url) server.url = redactUrl(server.url);
  }
  return copy;
}

/** Hides credentials embedded in a URL (`https://user:pass@host` or `?access_token=`). */
function redactUrl(value: string): string {
  if (value === "") return value;
  try {
    const url = new URL(value);
    let changed = false;
    if (url.username || url.password) {
      url.username = url.username ? "***" : "";
      url.password = url.password ? "***" : "";
      changed = true;
    }
    for (const name of [...url.searchParams.keys()]) {
      if (/token|key|secret|password/i.test(name)) {
        url.searchParams.set(name, "***");
        changed = true;
      }
    }
    return changed ? url.toString() : value;
  } catch {
    return value;
  }
}
