/**
 * The `openclaw/plugin-sdk/<subpath>` modules Astrid implements, as absolute file paths for the
 * bundler (toolchain/openclaw/resolve.ts). `""` is the bare `openclaw/plugin-sdk`. A subpath not
 * listed here is refused at compile time, naming it.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { SUBPATHS } from "./subpaths.ts";
 * ok(SUBPATHS["plugin-entry"]?.endsWith("/plugin-entry.js"));
 * ```
 *
 * @module
 */

const here = (file: string): string => decodeURIComponent(new URL(file, import.meta.url).pathname);

/** Subpath (without `openclaw/plugin-sdk/`) → absolute path of Astrid's shim module. */
export const SUBPATHS: Readonly<Record<string, string>> = Object.freeze({
  "": here("./index.js"),
  "plugin-entry": here("./plugin-entry.js"),
  "tool-plugin": here("./tool-plugin.js"),
  "core": here("./core.js"),
  "runtime-store": here("./runtime-store.js"),
  "tool-results": here("./tool-results.js"),
  "types": here("./types.js"),
  "param-readers": here("./param-readers.js"),
  "string-coerce-runtime": here("./string-coerce-runtime.js"),
  "error-runtime": here("./error-runtime.js"),
});
