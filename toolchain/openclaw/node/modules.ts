/**
 * The Node built-ins a capsule may import, as absolute paths of Astrid's small compatibility
 * modules (the bundler maps both `node:X` and `X`). Each module's header says what it maps and
 * what it leaves out; every other built-in is refused at compile time
 * (toolchain/openclaw/resolve.ts).
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { NODE_COMPAT } from "./modules.ts";
 * ok(NODE_COMPAT["fs/promises"]?.endsWith("/fs_promises.js"));
 * ```
 *
 * @module
 */

const here = (file: string): string => decodeURIComponent(new URL(file, import.meta.url).pathname);

/** Built-in name (without `node:`) → absolute path of Astrid's module. */
export const NODE_COMPAT: Readonly<Record<string, string>> = Object.freeze({
  "fs/promises": here("./fs_promises.js"),
  "path": here("./path.js"),
  "path/posix": here("./path.js"),
  "crypto": here("./crypto.js"),
  "events": here("./events.js"),
  "buffer": here("./buffer.js"),
});
