import axios from "axios";
import createClient from "openapi-fetch";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { z } from "zod";
import { Type } from "typebox";
import { definePluginEntry } from "openclaw/plugin-sdk/plugin-entry";

const Item = z.object({ sku: z.string(), count: z.number().int().nonnegative() });
const Inventory = z.object({ warehouse: z.string(), items: z.array(Item) });

interface Paths {
  "/items/{sku}": {
    get: {
      parameters: { path: { sku: string } };
      responses: { 200: { content: { "application/json": { sku: string; count: number } } } };
    };
  };
}

export default definePluginEntry({
  id: "heavy",
  name: "Heavy",
  description: "Talks to an inventory service with axios and openapi-fetch",
  register(api) {
    const baseURL = String(api.pluginConfig?.baseUrl ?? "http://127.0.0.1:9");
    const http = axios.create({ baseURL, adapter: "fetch", timeout: 5000 });
    const client = createClient<Paths>({ baseUrl: baseURL });
    api.registerTool({
      name: "inventory",
      description: "Reads the warehouse inventory (YAML) and summarises it",
      parameters: Type.Object({ warehouse: Type.String() }),
      async execute(_id: string, params: { warehouse: string }) {
        const res = await http.get(`/inventory/${encodeURIComponent(params.warehouse)}.yaml`, {
          responseType: "text",
          headers: { "x-client": "heavy" },
        });
        const inv = Inventory.parse(parseYaml(String(res.data)));
        const total = inv.items.reduce((n, i) => n + i.count, 0);
        return {
          content: [{
            type: "text",
            text: stringifyYaml({ warehouse: inv.warehouse, skus: inv.items.length, total }),
          }],
          details: inv,
        };
      },
    });
    api.registerTool({
      name: "item",
      description: "Reads one item through the typed OpenAPI client",
      parameters: Type.Object({ sku: Type.String() }),
      async execute(_id: string, params: { sku: string }) {
        const { data, error } = await client.GET("/items/{sku}", {
          params: { path: { sku: params.sku } },
        });
        if (error || !data) throw new Error(`item ${params.sku} not found`);
        return { content: [{ type: "text", text: `${data.sku}: ${Item.parse(data).count}` }] };
      },
    });
  },
});
