// Built output (as tsc would emit it); the package ships no src/.
import { Type } from "typebox";
import { defineToolPlugin } from "openclaw/plugin-sdk/tool-plugin";
import { priceOf } from "./prices.js";

export default defineToolPlugin({
  id: "quotes",
  name: "Quotes",
  description: "Fetch stock quote snapshots.",
  configSchema: Type.Object({
    currency: Type.Optional(Type.String({ description: "Currency code" })),
  }),
  tools: (tool) => [
    tool({
      name: "quote",
      label: "Quote",
      description: "A quote snapshot for one ticker symbol.",
      parameters: Type.Object({ symbol: Type.String({ pattern: "^[A-Za-z]{1,5}$" }) }),
      execute: ({ symbol }, config) => ({
        symbol: symbol.toUpperCase(),
        price: priceOf(symbol),
        currency: config.currency ?? "USD",
      }),
    }),
    tool({
      name: "quote_text",
      description: "A quote as one line of text.",
      parameters: Type.Object({ symbol: Type.String() }),
      execute: ({ symbol }) => `${symbol.toUpperCase()} trades at ${priceOf(symbol)}`,
    }),
    tool({
      name: "watchlist",
      description: "Quotes for several symbols (a factory tool).",
      parameters: Type.Object({ symbols: Type.Array(Type.String(), { minItems: 1 }) }),
      factory: ({ toolContext }) => ({
        name: "watchlist",
        label: "Watchlist",
        description: "Quotes for several symbols (a factory tool).",
        parameters: Type.Object({ symbols: Type.Array(Type.String(), { minItems: 1 }) }),
        async execute(toolCallId, params) {
          const lines = params.symbols.map((s) => `${s.toUpperCase()}: ${priceOf(s)}`);
          return {
            content: [{ type: "text", text: lines.join("\n") }],
            details: { sandboxed: toolContext.sandboxed === true, toolCallId },
          };
        },
      }),
    }),
    tool({
      name: "desk_ticker",
      description: "Shows a ticker on the desktop (not in sandboxes).",
      parameters: Type.Object({}),
      factory: ({ toolContext }) => (toolContext.sandboxed ? null : undefined),
    }),
  ],
});
