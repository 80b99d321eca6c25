// Astrid's shim for `openclaw/plugin-sdk/tool-plugin`: defineToolPlugin, which declares tools
// statically (metadata for manifests) and registers them through `api.registerTool` when the
// plugin starts. Plain return values of `execute` are wrapped: a string becomes one text part,
// anything else indented JSON text plus `details`.
import { buildJsonPluginConfigSchema, definePluginEntry } from "./plugin-entry.js";
import { jsonResult, textResult } from "./tool-results.js";

/** The (registry-wide) symbol under which a defined tool plugin keeps its metadata. */
export const toolPluginMetadataSymbol = Symbol.for("openclaw.toolPluginMetadata");

const json = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
const EMPTY_CONFIG = { type: "object", additionalProperties: false, properties: {} };

const isToolResult = (v) =>
  v !== null && typeof v === "object" && Array.isArray(v.content) &&
  v.content.every((part) => part && typeof part === "object" && typeof part.type === "string");

/** Wraps a plain `execute` return value as an AgentToolResult. */
const wrap = (value) => {
  if (isToolResult(value)) return value;
  if (typeof value === "string") return textResult(value, undefined);
  return jsonResult(value === undefined ? null : value);
};

/** Normalises one tool declaration (the `tool` callback handed to `tools`). */
function declare(definition) {
  if (!definition || typeof definition !== "object") {
    throw new TypeError(`Cannot declare a tool: current value is ${String(definition)}`);
  }
  const { name, description, parameters, execute, factory } = definition;
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`Cannot declare a tool: current name is ${JSON.stringify(name)}`);
  }
  if ((typeof execute === "function") === (typeof factory === "function")) {
    throw new TypeError(`Cannot declare tool ${name}: give exactly one of execute or factory`);
  }
  return {
    name,
    label: definition.label ?? name,
    description: String(description ?? ""),
    parameters,
    ...(definition.outputSchema ? { outputSchema: definition.outputSchema } : {}),
    optional: !!definition.optional,
    ...(execute ? { execute } : { factory }),
  };
}

/** Defines a plugin whose surface is its tools; the entry carries metadata for manifests. */
export function defineToolPlugin(definition) {
  if (!definition || typeof definition !== "object" || typeof definition.tools !== "function") {
    throw new TypeError("Cannot define the tool plugin: current value has no tools(tool) function");
  }
  const tools = [...definition.tools(declare)];
  const configJson = json(definition.configSchema) ?? EMPTY_CONFIG;
  const configSchema = buildJsonPluginConfigSchema(configJson);
  const metadata = {
    id: definition.id,
    name: definition.name,
    description: definition.description,
    activation: definition.activation ?? { onStartup: true },
    configSchema: configJson,
    tools: tools.map((t) => ({
      name: t.name,
      label: t.label,
      description: t.description,
      parameters: json(t.parameters) ?? { type: "object" },
      ...(t.outputSchema ? { outputSchema: json(t.outputSchema) } : {}),
      ...(t.optional ? { optional: true } : {}),
    })),
  };
  const entry = definePluginEntry({
    id: definition.id,
    name: definition.name,
    description: definition.description,
    configSchema,
    register(api) {
      const parsed = configSchema.safeParse(api.pluginConfig ?? {});
      const config = parsed.success ? parsed.data : (api.pluginConfig ?? {});
      for (const t of tools) {
        const opts = { name: t.name, optional: t.optional };
        if (t.factory) {
          api.registerTool((toolContext) => t.factory({ api, config, toolContext }), opts);
          continue;
        }
        api.registerTool({
          name: t.name,
          label: t.label,
          description: t.description,
          parameters: t.parameters,
          ...(t.outputSchema ? { outputSchema: t.outputSchema } : {}),
          execute: async (toolCallId, params, signal, onUpdate) =>
            wrap(await t.execute(params, config, { api, signal, toolCallId, onUpdate })),
        }, opts);
      }
    },
  });
  Object.defineProperty(entry, toolPluginMetadataSymbol, { value: metadata, enumerable: false });
  return entry;
}

/** The metadata of an entry made by defineToolPlugin, or undefined. */
export function getToolPluginMetadata(entry) {
  return entry && typeof entry === "object" ? entry[toolPluginMetadataSymbol] : undefined;
}
