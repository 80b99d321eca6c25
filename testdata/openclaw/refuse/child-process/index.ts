import { definePluginEntry } from "openclaw/plugin-sdk/plugin-entry";
import { run } from "./src/run.ts";

export default definePluginEntry({
  id: "refuse-child-process",
  name: "Runs commands",
  description: "Shells out",
  register(api) {
    api.registerTool({
      name: "uptime",
      description: "uptime",
      parameters: { type: "object" },
      execute: async () => ({ content: [{ type: "text", text: run("uptime") }] }),
    });
  },
});
