// Astrid's shim for the bare `openclaw/plugin-sdk`: everything the focused subpaths offer.
export * from "./core.js";
export {
  defineToolPlugin,
  getToolPluginMetadata,
  toolPluginMetadataSymbol,
} from "./tool-plugin.js";
