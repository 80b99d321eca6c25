import { definePluginEntry } from "openclaw/plugin-sdk/plugin-entry";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

export default definePluginEntry({
  id: "refuse-mcp-stdio",
  name: "MCP bridge",
  description: "Starts a local MCP server",
  register() {
    new StdioClientTransport({ command: "npx", args: ["-y", "some-mcp-server"] });
  },
});
