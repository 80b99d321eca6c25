/**
 * Environment overrides: `ASTRID_<SECTION>_<KEY>=value`, read once from the record passed in.
 *
 * Resolution: the name after `ASTRID_` is lower-cased, matched against the known section names
 * (longest first), and the rest must be a known key of that section. Variables that do not start
 * with a known section (`ASTRID_HOME`, …) are ignored; a known section with an unknown key is an
 * error, so a typo never silently does nothing.
 *
 * @module
 */
import { ConfigError } from "./errors.ts";
import { keySchema, validateLayer } from "./parse.ts";
import { CONFIG_SECTIONS, type ConfigLayerData } from "./schema.ts";

const PREFIX = "ASTRID_";
const SECTIONS_LONGEST_FIRST = Object.keys(CONFIG_SECTIONS).sort((a, b) => b.length - a.length);

/** What the environment contributed. */
export interface EnvLayer {
  /** The overrides, shaped like a config file. */
  readonly data: ConfigLayerData;
  /** The variable names that were used, sorted. */
  readonly variables: string[];
}

function fail(name: string, key: string, expected: string, value: string): never {
  const file = `environment variable ${name}`;
  throw new ConfigError(
    `Cannot use ${file}: key "${key}" must be ${expected}, got ${JSON.stringify(value)}`,
    { file, key, expected },
  );
}

function parseList(name: string, key: string, value: string): unknown {
  const text = value.trim();
  if (text.startsWith("[")) {
    try {
      return JSON.parse(text);
    } catch {
      return fail(name, key, "a JSON array or a comma-separated list", value);
    }
  }
  return text === "" ? [] : text.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

function parseValue(name: string, key: string, type: string, value: string): unknown {
  switch (type) {
    case "number": {
      const text = value.trim();
      const n = Number(text);
      if (text === "" || !Number.isFinite(n)) return fail(name, key, "a number", value);
      return n;
    }
    case "boolean": {
      const text = value.trim().toLowerCase();
      if (["true", "1", "yes", "on"].includes(text)) return true;
      if (["false", "0", "no", "off"].includes(text)) return false;
      return fail(name, key, "a boolean (true or false)", value);
    }
    case "array":
      return parseList(name, key, value);
    default:
      return value;
  }
}

/**
 * Refuses a variable for a section of named tables (`[pricing."MODEL"]`, `[servers.NAME]`),
 * which an environment variable cannot name, listing the keys each table takes.
 */
function tableSection(file: string, section: string, table: unknown): never {
  const keys = Object.keys((table as { shape?: object } | undefined)?.shape ?? {});
  const expected = `[${section}."NAME"] in config.toml, with keys: ${keys.join(", ")}`;
  const free = section === "pricing"
    ? "; to price a local model at $0 set ASTRID_MODEL_PRICING=free"
    : "";
  throw new ConfigError(
    `Cannot use ${file}: [${section}] holds one table per name, which an environment ` +
      `variable cannot name (expected ${expected})${free}`,
    { file, key: section, expected },
  );
}

/**
 * Reads `ASTRID_<SECTION>_<KEY>` overrides from `env`, typed and validated.
 *
 * @example Override the mode and a budget
 * ```ts
 * import { deepEqual, throws } from "node:assert/strict";
 * import { readEnvLayer } from "./env.ts";
 * const layer = readEnvLayer({ ASTRID_WORKSPACE_MODE: "guided", ASTRID_BUDGET_SESSION_USD: "2", ASTRID_HOME: "/h" });
 * deepEqual(layer.data, { workspace: { mode: "guided" }, budget: { session_usd: 2 } });
 * throws(() => readEnvLayer({ ASTRID_BUDGET_SESSION_USD: "lots" }), /ASTRID_BUDGET_SESSION_USD/);
 * ```
 */
export function readEnvLayer(env: Record<string, string | undefined>): EnvLayer {
  const data: Record<string, Record<string, unknown>> = {};
  const variables: string[] = [];
  for (const name of Object.keys(env).sort()) {
    // The value is read only for a variable that names a section: what the loader reads is
    // what its result depends on (snapshot.ts keys the cached configuration by it).
    if (!name.startsWith(PREFIX)) continue;
    const rest = name.slice(PREFIX.length).toLowerCase();
    const section = SECTIONS_LONGEST_FIRST.find((s) => rest.startsWith(s + "_"));
    if (!section) continue;
    const value = env[name];
    if (value === undefined) continue;
    const key = rest.slice(section.length + 1);
    const schema = keySchema(section, key);
    const dotted = `${section}.${key}`;
    if (!schema) {
      const sectionSchema = CONFIG_SECTIONS[section as keyof typeof CONFIG_SECTIONS];
      const known = Object.keys(sectionSchema.shape);
      const file = `environment variable ${name}`;
      if (known.length === 0) tableSection(file, section, sectionSchema._zod.def.catchall);
      const expected = `one of: ${known.join(", ")}`;
      throw new ConfigError(
        `Cannot use ${file}: key "${dotted}" is not a known setting (expected ${expected})`,
        { file, key: dotted, expected },
      );
    }
    const parsed = parseValue(name, dotted, schema._zod.def.type, value);
    validateLayer(
      { [section]: { [key]: parsed } },
      `use environment variable ${name}`,
      `environment variable ${name}`,
    );
    (data[section] ??= {})[key] = parsed;
    variables.push(name);
  }
  return { data: data as ConfigLayerData, variables };
}
