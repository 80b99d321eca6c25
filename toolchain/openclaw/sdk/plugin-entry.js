// Astrid's shim for `openclaw/plugin-sdk/plugin-entry`: definePluginEntry and the config-schema
// builders. Written against OpenClaw's published types; the schemas validate only what a capsule
// needs (object shape, required keys, property types) and never load a JSON Schema engine.

const issue = (path, message) => ({ path, message });
const typeOf = (v) =>
  v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v;
const matches = (want, v) => {
  const got = typeOf(v);
  if (want === "number") return got === "number" || got === "integer";
  return got === want;
};

/** Checks `value` against the few JSON Schema keywords a plugin config commonly uses. */
function check(schema, value, path, issues) {
  if (!schema || typeof schema !== "object") return;
  const types = schema.type === undefined ? [] : [].concat(schema.type);
  if (types.length && !types.some((t) => matches(t, value))) {
    issues.push(issue(path, `must be ${types.join(" or ")} (current value is ${typeOf(value)})`));
    return;
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => e === value)) {
    issues.push(issue(path, `must be one of ${JSON.stringify(schema.enum)}`));
  }
  if (typeOf(value) === "object") {
    const props = schema.properties ?? {};
    for (const key of schema.required ?? []) {
      if (!(key in value)) issues.push(issue([...path, key], "is required"));
    }
    for (const [key, v] of Object.entries(value)) {
      if (key in props) check(props[key], v, [...path, key], issues);
      else if (schema.additionalProperties === false) {
        issues.push(issue([...path, key], "is not an allowed key"));
      }
    }
  }
  if (typeOf(value) === "array" && schema.items && typeof schema.items === "object") {
    value.forEach((v, i) => check(schema.items, v, [...path, i], issues));
  }
}

/** Fills `default`s of the top-level properties of `schema` into a copy of `value`. */
function withDefaults(schema, value) {
  if (typeOf(value) !== "object") return value;
  const out = { ...value };
  for (const [key, prop] of Object.entries(schema?.properties ?? {})) {
    if (out[key] === undefined && prop && typeof prop === "object" && "default" in prop) {
      out[key] = structuredClone(prop.default);
    }
  }
  return out;
}

const parser = (safeParse) => (value) => {
  const r = safeParse(value);
  if (r.success) return r.data;
  const first = r.error?.issues?.[0];
  const where = first?.path?.length ? first.path.join(".") : "config";
  throw new TypeError(`Cannot use the plugin config: ${where} ${first?.message ?? "is invalid"}`);
};

/** A schema for plugins that take no config keys. */
export function emptyPluginConfigSchema() {
  const jsonSchema = { type: "object", additionalProperties: false, properties: {} };
  return buildJsonPluginConfigSchema(jsonSchema);
}

/** A config schema from a JSON Schema object (validation of common keywords, defaults filled). */
export function buildJsonPluginConfigSchema(schema, options = {}) {
  const jsonSchema = schema && typeof schema === "object" ? schema : { type: "object" };
  const safeParse = options.safeParse ?? ((value) => {
    const data = withDefaults(jsonSchema, value ?? {});
    const issues = [];
    check(jsonSchema, data, [], issues);
    return issues.length ? { success: false, error: { issues } } : { success: true, data };
  });
  return {
    safeParse,
    parse: parser(safeParse),
    jsonSchema,
    ...(options.uiHints ? { uiHints: options.uiHints } : {}),
  };
}

/** A config schema from a Zod schema (its JSON Schema when the Zod runtime can export one). */
export function buildPluginConfigSchema(schema, options = {}) {
  const safeParse = options.safeParse ?? ((value) => {
    const r = schema.safeParse(value);
    if (r.success) return { success: true, data: r.data };
    const issues = (r.error?.issues ?? []).map((i) => issue(i.path ?? [], String(i.message)));
    return { success: false, error: { issues } };
  });
  let jsonSchema = { type: "object" };
  try {
    const exported = typeof schema.toJSONSchema === "function" ? schema.toJSONSchema() : null;
    if (exported && typeof exported === "object") jsonSchema = exported;
  } catch {
    // this Zod cannot export JSON Schema: keep the permissive object schema
  }
  return {
    safeParse,
    parse: parser(safeParse),
    jsonSchema,
    ...(options.uiHints ? { uiHints: options.uiHints } : {}),
  };
}

/** Declares a (non-channel) plugin entry: the object OpenClaw loads, with `register(api)`. */
export function definePluginEntry(options) {
  if (!options || typeof options !== "object" || typeof options.register !== "function") {
    throw new TypeError(
      "Cannot define the plugin entry: current value has no register(api) function",
    );
  }
  const { configSchema, ...rest } = options;
  const schema = typeof configSchema === "function" ? configSchema() : configSchema;
  return { ...rest, configSchema: schema ?? emptyPluginConfigSchema() };
}
