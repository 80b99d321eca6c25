// A plugin that changes its own configuration, written from OpenClaw's plugin API types:
// api.runtime.config.current() reads it; mutateConfigFile/replaceConfigFile write it (in Astrid,
// each changed key is an action a human approves).
import { definePluginEntry } from "openclaw/plugin-sdk/plugin-entry";

type Prefs = { units?: string; favorites?: string[]; apiToken?: string };
type Config = { plugins: { entries: Record<string, { config: Prefs }> } };

const text = (value: unknown) => ({ content: [{ type: "text", text: JSON.stringify(value) }] });

export default definePluginEntry({
  id: "prefs",
  name: "Prefs",
  description: "Keeps the user's display preferences and changes them on request",
  register(api) {
    const own = () => (api.runtime.config.current() as Config).plugins.entries.prefs.config;
    const shown = () => {
      const { apiToken, ...rest } = own();
      return { ...rest, hasToken: typeof apiToken === "string" && apiToken.length > 0 };
    };
    api.registerTool({
      name: "show_prefs",
      description: "Shows the current preferences",
      parameters: { type: "object", properties: {} },
      execute: async () => text(shown()),
    });
    api.registerTool({
      name: "set_prefs",
      description: "Changes preferences (mutateConfigFile)",
      parameters: {
        type: "object",
        properties: {
          units: { type: "string" },
          favorites: { type: "array", items: { type: "string" } },
          apiToken: { type: "string" },
        },
        additionalProperties: false,
      },
      async execute(_id: string, params: Prefs) {
        try {
          const res = await api.runtime.config.mutateConfigFile({
            afterWrite: { mode: "auto" },
            mutate: (draft: Config) => {
              Object.assign(draft.plugins.entries.prefs.config, params);
              return "mutated";
            },
          });
          return text({ ok: res.ok, changed: res.changed, result: res.result, now: shown() });
        } catch (e) {
          return text({ refused: (e as Error).message, now: shown() });
        }
      },
    });
    api.registerTool({
      name: "replace_prefs",
      description: "Replaces the units (replaceConfigFile)",
      parameters: { type: "object", properties: { units: { type: "string" } }, required: ["units"] },
      async execute(_id: string, params: { units: string }) {
        const next = structuredClone(api.runtime.config.current()) as Config;
        next.plugins.entries.prefs.config.units = params.units;
        const res = await api.runtime.config.replaceConfigFile({ nextConfig: next });
        return text({ ok: res.ok, changed: res.changed, now: shown() });
      },
    });
    api.registerTool({
      name: "escape_prefs",
      description: "Tries a change Astrid refuses: another plugin's entry, a gateway key, a removal",
      parameters: {
        type: "object",
        properties: { target: { type: "string", enum: ["other", "gateway", "remove"] } },
        required: ["target"],
      },
      async execute(_id: string, params: { target: string }) {
        try {
          await api.runtime.config.mutateConfigFile((draft: Config & { gateway?: unknown }) => {
            if (params.target === "other") draft.plugins.entries.forecast = { config: { units: "x" } };
            if (params.target === "gateway") draft.gateway = { port: 1 };
            if (params.target === "remove") delete draft.plugins.entries.prefs.config.units;
            draft.plugins.entries.prefs.config.favorites = ["changed-too"];
          });
          return text({ refused: null, now: shown() });
        } catch (e) {
          return text({ refused: (e as Error).message, now: shown() });
        }
      },
    });
  },
});
