/**
 * What the bundler does with the imports Node would treat specially:
 *
 * - `openclaw/plugin-sdk` and `openclaw/plugin-sdk/<subpath>` resolve to Astrid's shim
 *   (toolchain/openclaw/sdk), never to an installed `openclaw` (a peer dependency that is
 *   usually absent); an unknown subpath is refused by name;
 * - Node built-ins resolve to the small compatibility set (toolchain/openclaw/node) or are
 *   refused, naming the module (`child_process` and friends say why);
 * - native addons (`.node` files, `bindings`, `node-gyp-build`, …) and stdio MCP servers
 *   (`@modelcontextprotocol/sdk/client/stdio`) are refused: a capsule cannot start processes or
 *   load machine code.
 *
 * Messages name the importing file and line (see {@link importSite}).
 *
 * @module
 */
import { builtinModules } from "node:module";
import { SUBPATHS } from "./sdk/subpaths.ts";
import { NODE_COMPAT } from "./node/modules.ts";

/** How one import specifier is handled. */
export type Special =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "refuse"; readonly message: string }
  | { readonly kind: "normal" };

/** Node built-ins the sandbox cannot offer, with what to use instead. */
const REFUSED_HINTS: Readonly<Record<string, string>> = {
  child_process: "capsules cannot start processes; expose the work as a tool of an MCP server",
  cluster: "capsules cannot start processes",
  worker_threads: "capsules run single-threaded; use async functions",
  net: "use fetch() (the manifest's net capability)",
  tls: "use fetch() (the manifest's net capability)",
  dgram: "use fetch() (the manifest's net capability)",
  http: "use fetch() (the manifest's net capability)",
  https: "use fetch() (the manifest's net capability)",
  http2: "use fetch() (the manifest's net capability)",
  fs: "use node:fs/promises or fs from @astrid/sdk (the manifest's fs_read/fs_write capabilities)",
  os: "capsules cannot inspect the host system",
  process: "capsules have no process; read settings from the plugin config",
  vm: "capsules cannot evaluate code in another context",
  module: "capsules are bundled ahead of time; there is no module loader at run time",
};

const BUILTINS = new Set(builtinModules.map((m) => m.replace(/^node:/, "")));
const NATIVE_LOADERS = new Set([
  "bindings",
  "node-gyp-build",
  "node-pre-gyp",
  "@mapbox/node-pre-gyp",
  "prebuild-install",
  "node-addon-api",
  "nan",
]);
const MCP_STDIO = /^@modelcontextprotocol\/sdk\/(?:dist\/(?:esm|cjs)\/)?client\/stdio(?:\.js)?$/;

/**
 * Classifies one import specifier.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { classifyImport } from "./resolve.ts";
 * equal(classifyImport("openclaw/plugin-sdk/plugin-entry").kind, "file");
 * equal(classifyImport("node:child_process").kind, "refuse");
 * equal(classifyImport("zod").kind, "normal");
 * ```
 */
export function classifyImport(source: string): Special {
  if (source === "openclaw" || source.startsWith("openclaw/")) {
    const m = /^openclaw\/plugin-sdk(?:\/(.+))?$/.exec(source);
    const sub = m ? (m[1] ?? "") : null;
    if (sub === "agent-harness-runtime") {
      return {
        kind: "refuse",
        message: `Cannot import "${source}": it starts stdio MCP server processes, and a capsule ` +
          `cannot start processes (declare the server under [servers] in Astrid's config instead)`,
      };
    }
    const path = sub === null ? undefined : SUBPATHS[sub];
    if (path) return { kind: "file", path };
    const known = Object.keys(SUBPATHS).filter((s) => s).sort().join(", ");
    return {
      kind: "refuse",
      message: `Cannot import "${source}": Astrid's OpenClaw shim does not provide ${
        sub === null ? "this module" : `the subpath "plugin-sdk/${sub}"`
      } (supported: openclaw/plugin-sdk and openclaw/plugin-sdk/{${known}})`,
    };
  }
  const bare = source.replace(/^node:/, "");
  if (source.startsWith("node:") || BUILTINS.has(bare)) {
    const path = NODE_COMPAT[bare];
    if (path) return { kind: "file", path };
    const top = bare.split("/")[0]!;
    const hint = REFUSED_HINTS[bare] ?? REFUSED_HINTS[top] ??
      `the capsule sandbox offers only ${Object.keys(NODE_COMPAT).sort().join(", ")}`;
    return {
      kind: "refuse",
      message: `Cannot import the Node built-in "${source}" in a capsule: ${hint}`,
    };
  }
  const pkg = source.startsWith("@")
    ? source.split("/").slice(0, 2).join("/")
    : source.split("/")[0]!;
  if (NATIVE_LOADERS.has(pkg) || /\.node$/.test(source)) {
    return {
      kind: "refuse",
      message: `Cannot import "${source}": it loads a native addon, and a capsule runs only ` +
        `JavaScript inside its wasm sandbox`,
    };
  }
  if (MCP_STDIO.test(source)) {
    return {
      kind: "refuse",
      message: `Cannot import "${source}": it spawns a stdio MCP server, and a capsule cannot ` +
        `start processes (declare the server under [servers] in Astrid's config instead)`,
    };
  }
  return { kind: "normal" };
}

/**
 * Where `importer` imports `source`: its path relative to `root` and the 1-based line of the
 * first import of that specifier (1 when it cannot be found).
 */
export function importSite(
  root: string,
  importer: string | undefined,
  source: string,
): { file: string; line: number } | undefined {
  if (!importer || importer.startsWith("\0")) return undefined;
  const file = importer.startsWith(`${root}/`) ? importer.slice(root.length + 1) : importer;
  let line = 1;
  try {
    const text = Deno.readTextFileSync(importer);
    const quoted = [`"${source}"`, `'${source}'`, `\`${source}\``];
    const lines = text.split("\n");
    const at = lines.findIndex((l) => quoted.some((q) => l.includes(q)));
    if (at >= 0) line = at + 1;
  } catch {
    // a virtual or unreadable importer: line 1
  }
  return { file, line };
}
