import { Type } from "typebox";
import { definePluginEntry } from "openclaw/plugin-sdk/plugin-entry";
import { jsonResult } from "openclaw/plugin-sdk/tool-results";
import { describeDay } from "./src/describe.js";
import { celsiusTo } from "./src/units";
import { seasonOf } from "./src/lib";

export default definePluginEntry({
  id: "forecast",
  name: "Forecast",
  description: "Made-up weather forecasts for a city",
  register(api) {
    const units = String(api.pluginConfig?.units ?? "metric");
    const maxDays = Number(api.pluginConfig?.maxDays ?? 5);
    api.registerTool({
      name: "forecast",
      label: "Forecast",
      description: "Forecast for a city over a number of days",
      parameters: Type.Object({
        city: Type.String({ minLength: 1, description: "City name" }),
        days: Type.Integer({ minimum: 1, maximum: 7, description: "How many days" }),
      }),
      async execute(_toolCallId: string, params: { city: string; days: number }) {
        const days = Math.min(params.days, maxDays);
        const lines = [];
        for (let d = 0; d < days; d++) {
          lines.push(describeDay(params.city, d, celsiusTo(12 + d, units), units));
        }
        return {
          content: [{ type: "text", text: `${seasonOf(3)} in ${params.city}:\n${lines.join("\n")}` }],
          details: { city: params.city, days, units },
        };
      },
    });
    api.registerTool({
      name: "config_echo",
      description: "Shows the configured units and whether an API key is set",
      parameters: Type.Object({}),
      execute: async () => jsonResult({ units, maxDays, hasKey: Boolean(api.pluginConfig?.apiKey) }),
    });
    // Desktop-only: opts out in sandboxed runs, as OpenClaw's docs recommend.
    api.registerTool((ctx) => (ctx.sandboxed ? null : {
      name: "local_radar",
      description: "Opens the local radar app",
      parameters: Type.Object({}),
      execute: async () => ({ content: [{ type: "text", text: "opened" }] }),
    }), { name: "local_radar" });
    api.registerCli(() => {}, { commands: ["forecast"] });
  },
});
