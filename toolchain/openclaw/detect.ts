/**
 * Recognises an OpenClaw plugin and derives the capsule it compiles into.
 *
 * A folder is an OpenClaw plugin when it has `openclaw.plugin.json`, or a `package.json` whose
 * `openclaw` key declares `extensions` (TypeScript/JavaScript entries) or `runtimeExtensions`
 * (built JavaScript). The entry is the first declared extension that exists, then the first
 * runtime extension (packages that ship only `dist/*.js`). The plugin's `configSchema` becomes
 * the capsule's `[env]`: one entry per top-level property, asked for at install time, secret
 * when the manifest's `uiHints` mark it `sensitive` or its name says it holds a credential.
 *
 * A `Capsule.toml` beside the plugin is an overlay the human writes for what OpenClaw has no
 * words for (`[capabilities] net = [...]`, `[[cron]]`, …): its sections win over the generated
 * ones, and `[env]` entries merge key by key.
 *
 * @module
 */
import { parse as parseToml } from "smol-toml";

/** What a UI hint in `openclaw.plugin.json` says about one config field. */
export interface UiHint {
  readonly label?: string;
  readonly help?: string;
  readonly placeholder?: string;
  readonly sensitive?: boolean;
}

/** One top-level config property, as the capsule's adapter parses its stored value. */
export interface ConfigKey {
  readonly key: string;
  /** The property's JSON Schema type (`string` when it declares none). */
  readonly type: string;
}

/** A detected OpenClaw plugin. */
export interface OpenClawPlugin {
  /** The plugin id, as OpenClaw knows it. */
  readonly id: string;
  /** The capsule name derived from the id (lower-case, `-`, single `_`). */
  readonly capsuleName: string;
  readonly name: string;
  readonly description: string;
  readonly version: string;
  /** Absolute path of the entry module. */
  readonly entry: string;
  /** The entry as declared (for messages). */
  readonly declaredEntry: string;
  /** Where the plugin was recognised. */
  readonly detectedBy: "openclaw.plugin.json" | "package.json#openclaw";
  readonly configSchema: Record<string, unknown>;
  readonly uiHints: Record<string, UiHint>;
  readonly configKeys: readonly ConfigKey[];
  /** Declared extensions that are not compiled (only the first entry is). */
  readonly ignoredEntries: readonly string[];
}

/** Raised when a folder looks like an OpenClaw plugin but cannot be read as one. */
export class OpenClawDetectError extends Error {
  /** The file at fault, relative to the plugin folder. */
  readonly file: string;
  /**
   * @param message a "Cannot X: current value is Y" message
   * @param file the file at fault
   */
  constructor(message: string, file: string) {
    super(message);
    this.name = "OpenClawDetectError";
    this.file = file;
  }
}

type Json = Record<string, unknown>;

async function readJson(dir: string, name: string): Promise<Json | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/${name}`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Json;
  } catch (e) {
    throw new OpenClawDetectError(`Cannot parse ${name}: ${(e as Error).message}`, name);
  }
  throw new OpenClawDetectError(`Cannot read ${name}: current value is not a JSON object`, name);
}

const object = (
  v: unknown,
): Json => (v && typeof v === "object" && !Array.isArray(v) ? v as Json : {});
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string" && x.length > 0) : [];
const text = (v: unknown): string | undefined => (typeof v === "string" && v ? v : undefined);

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * Turns an OpenClaw id (or npm name) into a capsule name: the scope and an `openclaw-` prefix
 * dropped, lower-cased, anything else than letters, digits, `-` and single `_` replaced by `-`.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { capsuleNameOf } from "./detect.ts";
 * equal(capsuleNameOf("@acme/openclaw-Stock.Quotes"), "stock-quotes");
 * equal(capsuleNameOf("my__plugin"), "my_plugin");
 * ```
 */
export function capsuleNameOf(id: string): string {
  const name = id.replace(/^@[^/]+\//, "").replace(/^openclaw-(?:plugin-)?/i, "").toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-").replace(/_{2,}/g, "_").replace(/^[^a-z]+/, "")
    .replace(/[-_]+$/, "").slice(0, 64);
  return name || "openclaw-plugin";
}

const CREDENTIAL = /(?:api[-_]?key|token|secret|password|passwd|credential|private[-_]?key)/i;

/**
 * Detects an OpenClaw plugin in `dir` (an absolute, canonical path).
 *
 * @returns the plugin, or null when the folder is not one
 * @throws {OpenClawDetectError} when its metadata is malformed or its entry is missing
 */
export async function detectOpenClaw(dir: string): Promise<OpenClawPlugin | null> {
  const manifest = await readJson(dir, "openclaw.plugin.json");
  const pkg = await readJson(dir, "package.json");
  const declared = object(pkg?.openclaw);
  const extensions = strings(declared.extensions);
  const runtimeExtensions = strings(declared.runtimeExtensions);
  if (!manifest && extensions.length === 0 && runtimeExtensions.length === 0) return null;
  const detectedBy = manifest ? "openclaw.plugin.json" : "package.json#openclaw";

  const candidates = [...extensions, ...runtimeExtensions];
  if (candidates.length === 0) {
    candidates.push("./index.ts", "./src/index.ts", "./index.js", "./dist/index.js");
  }
  let entry: string | undefined;
  for (const c of candidates) {
    const rel = c.replace(/^\.\//, "");
    if (rel.startsWith("/") || rel.split("/").includes("..")) {
      throw new OpenClawDetectError(
        `Cannot use the plugin entry ${JSON.stringify(c)}: it must stay inside the plugin folder`,
        "package.json",
      );
    }
    if (await isFile(`${dir}/${rel}`)) {
      entry = c;
      break;
    }
  }
  if (entry === undefined) {
    throw new OpenClawDetectError(
      `Cannot find the OpenClaw plugin's entry: current value is none of ${
        candidates.join(", ")
      } exists (build the package first when only openclaw.runtimeExtensions is declared)`,
      extensions.length + runtimeExtensions.length > 0 ? "package.json" : "openclaw.plugin.json",
    );
  }
  const id = text(manifest?.id) ?? text(pkg?.name) ?? "";
  if (!id) {
    throw new OpenClawDetectError(
      "Cannot name the capsule: openclaw.plugin.json has no id and package.json no name",
      manifest ? "openclaw.plugin.json" : "package.json",
    );
  }
  const configSchema = object(manifest?.configSchema);
  const uiHints: Record<string, UiHint> = {};
  for (const [k, v] of Object.entries(object(manifest?.uiHints))) uiHints[k] = object(v) as UiHint;
  const properties = object(configSchema.properties);
  const configKeys = Object.entries(properties).map(([key, schema]) => {
    const t = object(schema).type;
    return { key, type: typeof t === "string" ? t : Array.isArray(t) ? String(t[0]) : "string" };
  });
  return {
    id,
    capsuleName: capsuleNameOf(id),
    name: text(manifest?.name) ?? id,
    description: text(manifest?.description) ?? text(pkg?.description) ?? "",
    version: text(manifest?.version) ?? text(pkg?.version) ?? "0.1.0",
    entry: `${dir}/${entry.replace(/^\.\//, "")}`,
    declaredEntry: entry,
    detectedBy,
    configSchema,
    uiHints,
    configKeys,
    ignoredEntries: candidates.filter((c) => c !== entry && extensions.includes(c)),
  };
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The `[env]` table for the plugin's config schema: each top-level property becomes one entry
 * (asked for at install time), typed `secret` when it holds a credential.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { envFromConfig } from "./detect.ts";
 * deepEqual(
 *   envFromConfig(
 *     { type: "object", required: ["apiKey"], properties: { apiKey: { type: "string" }, days: { type: "integer", default: 3 } } },
 *     { apiKey: { label: "API key", sensitive: true } },
 *   ),
 *   {
 *     apiKey: { type: "secret", request: "API key", required: true },
 *     days: { type: "string", default: "3", required: false },
 *   },
 * );
 * ```
 */
export function envFromConfig(
  schema: Record<string, unknown>,
  hints: Record<string, UiHint>,
): Record<string, Record<string, unknown>> {
  const required = new Set(strings(schema.required));
  const env: Record<string, Record<string, unknown>> = {};
  for (const [key, raw] of Object.entries(object(schema.properties))) {
    if (!ENV_NAME.test(key)) continue;
    const prop = object(raw);
    const hint = hints[key] ?? {};
    const secret = hint.sensitive === true || (hint.sensitive !== false && CREDENTIAL.test(key));
    const request = text(hint.label) ?? text(prop.title) ?? text(prop.description) ??
      text(hint.help);
    const entry: Record<string, unknown> = { type: secret ? "secret" : "string" };
    if (request) entry.request = request;
    if (prop.default !== undefined && prop.default !== null) {
      entry.default = typeof prop.default === "string"
        ? prop.default
        : JSON.stringify(prop.default);
    }
    entry.required = required.has(key) && entry.default === undefined;
    env[key] = entry;
  }
  return env;
}

/**
 * The generated `Capsule.toml` data for a plugin, with the overlay (`Capsule.toml` beside the
 * plugin, if any) applied.
 */
export async function pluginManifest(
  dir: string,
  plugin: OpenClawPlugin,
): Promise<Record<string, unknown> & { package: Record<string, unknown> }> {
  let overlay: Record<string, unknown> = {};
  try {
    overlay = parseToml(await Deno.readTextFile(`${dir}/Capsule.toml`)) as Record<string, unknown>;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new OpenClawDetectError(
        `Cannot parse the Capsule.toml overlay: ${(e as Error).message.split("\n")[0]}`,
        "Capsule.toml",
      );
    }
  }
  const pkg: Record<string, unknown> = {
    name: plugin.capsuleName,
    version: plugin.version,
    ...(plugin.description ? { description: plugin.description } : {}),
    keywords: ["openclaw"],
    ...object(overlay.package),
  };
  const env = { ...envFromConfig(plugin.configSchema, plugin.uiHints), ...object(overlay.env) };
  const capabilities = { kv: true, ...object(overlay.capabilities) };
  const out: Record<string, unknown> & { package: Record<string, unknown> } = {
    ...overlay,
    package: pkg,
    capabilities,
  };
  if (Object.keys(env).length > 0) out.env = env;
  return out;
}
