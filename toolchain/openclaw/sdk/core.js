// Astrid's shim for `openclaw/plugin-sdk/core`: the entry helpers plus the cheap, pure helpers
// (ids, tool-parameter readers, string enums). Channel plugins load, but Astrid has no channels:
// `defineChannelPluginEntry` registers through `api.registerChannel`, which Astrid notes as
// unsupported.
import { definePluginEntry, emptyPluginConfigSchema } from "./plugin-entry.js";

export {
  buildJsonPluginConfigSchema,
  buildPluginConfigSchema,
  definePluginEntry,
  emptyPluginConfigSchema,
} from "./plugin-entry.js";
export { jsonResult, textResult } from "./tool-results.js";
export { createPluginRuntimeStore } from "./runtime-store.js";

/** The account id of single-account channels. */
export const DEFAULT_ACCOUNT_ID = "default";

/** A random UUID (v4) from the host's CSPRNG. */
export function generateSecureUuid() {
  return crypto.randomUUID();
}

/** A random token: `bytes` random bytes as base64url. */
export function generateSecureToken(bytes = 32) {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const label = (key, options) => options?.label ?? key;

/** Reads a string tool parameter (trimmed unless `trim: false`); throws when required and absent. */
export function readStringParam(params, key, options = {}) {
  const raw = params?.[key];
  let value = typeof raw === "string" ? raw : typeof raw === "number" ? String(raw) : undefined;
  if (value !== undefined && options.trim !== false) value = value.trim();
  if (value === "" && !options.allowEmpty) value = undefined;
  if (value === undefined && options.required) {
    throw new Error(`${label(key, options)} required`);
  }
  return value;
}

/** Reads a finite number tool parameter (numeric strings accepted). */
export function readNumberParam(params, key, options = {}) {
  const raw = params?.[key];
  const n = typeof raw === "number"
    ? raw
    : typeof raw === "string" && raw.trim() !== ""
    ? Number(raw)
    : undefined;
  const value = n !== undefined && Number.isFinite(n)
    ? (options.integer ? Math.trunc(n) : n)
    : undefined;
  if (value === undefined && options.required) throw new Error(`${label(key, options)} required`);
  return value;
}

/** Reads a string-array tool parameter (a single string becomes a one-item array). */
export function readStringArrayParam(params, key, options = {}) {
  const raw = params?.[key];
  const list = Array.isArray(raw)
    ? raw.filter((v) => typeof v === "string").map((v) => v.trim()).filter(Boolean)
    : typeof raw === "string" && raw.trim() !== ""
    ? [raw.trim()]
    : undefined;
  if ((!list || list.length === 0) && options.required) {
    throw new Error(`${label(key, options)} required`);
  }
  return list;
}

/** A JSON Schema for one of the given strings. */
export function stringEnum(values, options = {}) {
  return { type: "string", enum: [...values], ...options };
}

/** Like stringEnum; optionality is expressed by leaving the key out of `required`. */
export function optionalStringEnum(values, options = {}) {
  return stringEnum(values, options);
}

/** A channel plugin entry: registers the channel (not supported by Astrid), then `registerFull`. */
export function defineChannelPluginEntry(options) {
  return definePluginEntry({
    id: options.id,
    name: options.name,
    description: options.description,
    configSchema: options.configSchema ?? emptyPluginConfigSchema(),
    register(api) {
      options.setRuntime?.(api.runtime);
      api.registerChannel({ plugin: options.plugin });
      options.registerFull?.(api);
    },
  });
}
