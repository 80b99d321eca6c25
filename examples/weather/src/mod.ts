/**
 * The weather capsule: an async example. Its tools `await fetch()` to a JSON service whose base
 * URL comes from `[env.WEATHER_URL]`; the manifest's `net` allows only 127.0.0.1. Compile it
 * with `deno run -A toolchain/compile.ts examples/weather`.
 *
 * @module
 */
import { config, defineCapsule } from "@astrid/sdk";
import { type Conditions, current } from "./client.ts";

/** Arguments of `current`. */
export type CurrentArgs = { city: string };

/** Arguments of `compare`. */
export type CompareArgs = { cities: string[] };

async function baseUrl(): Promise<string> {
  return (await config.get("WEATHER_URL")) ?? "http://127.0.0.1:8787";
}

/**
 * The capsule definition: `current` (one city) and `compare` (several, fetched concurrently).
 *
 * @example The tools are plain async functions
 * ```ts
 * import { equal } from "node:assert/strict";
 * import weather from "./mod.ts";
 * equal(typeof weather.tools.current.run, "function");
 * ```
 */
export default defineCapsule({
  tools: {
    current: {
      description: "Current weather in a city",
      input: {
        type: "object",
        properties: { city: { type: "string" } },
        required: ["city"],
      },
      run: async (args: CurrentArgs): Promise<Conditions> => current(await baseUrl(), args.city),
    },
    compare: {
      description: "Current weather in several cities, warmest first",
      input: {
        type: "object",
        properties: {
          cities: { type: "array", items: { type: "string" }, maxItems: 8 },
        },
        required: ["cities"],
      },
      run: async (args: CompareArgs): Promise<Conditions[]> => {
        const base = await baseUrl();
        const all = await Promise.all(
          args.cities.slice(0, 8).map((c) => current(base, c)),
        );
        return all.sort((a, b) => b.tempC - a.tempC);
      },
    },
  },
});
