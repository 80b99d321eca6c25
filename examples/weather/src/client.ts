/**
 * The weather service client: `fetch()` (the shim's polyfill over the gated `http-request` host
 * function, so every request passes the manifest's `net` and the interceptor) plus a check of
 * the reply's shape, because what comes back over the network is untrusted.
 *
 * @module
 */

/** Current conditions in one city. */
export type Conditions = {
  /** The city as the service names it. */
  city: string;
  /** Temperature in degrees Celsius. */
  tempC: number;
  /** A short description ("sunny", "rain"). */
  summary: string;
};

/**
 * Checks an untrusted reply and keeps only the known fields.
 *
 * @example Extra fields are dropped, wrong types refused
 * ```ts
 * import { deepEqual, throws } from "node:assert/strict";
 * import { toConditions } from "./client.ts";
 * deepEqual(toConditions({ city: "Oslo", tempC: 3, summary: "snow", x: 1 }),
 *   { city: "Oslo", tempC: 3, summary: "snow" });
 * throws(() => toConditions({ city: "Oslo", tempC: "3" }), /tempC/);
 * ```
 */
export function toConditions(value: unknown): Conditions {
  const v = (value ?? {}) as Record<string, unknown>;
  if (typeof v.city !== "string") {
    throw new TypeError(`Cannot use city: current value is ${v.city}`);
  }
  if (typeof v.tempC !== "number" || !Number.isFinite(v.tempC)) {
    throw new TypeError(
      `Cannot use tempC: current value is ${JSON.stringify(v.tempC)}`,
    );
  }
  if (typeof v.summary !== "string") {
    throw new TypeError(
      `Cannot use summary: current value is ${JSON.stringify(v.summary)}`,
    );
  }
  return { city: v.city, tempC: v.tempC, summary: v.summary };
}

/**
 * GETs `<base>/current?city=<city>` and returns the checked conditions.
 *
 * @example Against a local service (outside a capsule, the global fetch answers)
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { current } from "./client.ts";
 * await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} },
 *   () => Response.json({ city: "Oslo", tempC: 3, summary: "snow" }));
 * deepEqual(await current(`http://127.0.0.1:${server.addr.port}`, "Oslo"),
 *   { city: "Oslo", tempC: 3, summary: "snow" });
 * ```
 */
export async function current(base: string, city: string): Promise<Conditions> {
  const url = `${base.replace(/\/+$/, "")}/current?city=${encodeURIComponent(city)}`;
  const res = await fetch(url, { headers: { accept: "application/json" } });
  if (!res.ok) {
    throw new Error(`Cannot get the weather for ${city}: HTTP ${res.status}`);
  }
  return toConditions(await res.json());
}
