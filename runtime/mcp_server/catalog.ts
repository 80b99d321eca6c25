/**
 * The tools `astrid mcp serve` offers: the built-in tools, the installed capsules' tools
 * (`<capsule>__<tool>`) and, opted in, the configured MCP servers' tools
 * (`mcp__<server>__<tool>`), each with its input schema and hints, filtered by `--tools` globs.
 *
 * @module
 */
import { BUILTIN_TOOLS } from "../tools/mod.ts";
import { type CapsuleHost, listCapsuleTools } from "../capsule/mod.ts";
import { builtinHints, capsuleHints, mcpHints, type ToolHints } from "./annotations.ts";

/** Where a served tool runs. */
export type ToolSource = "builtin" | "capsule" | "mcp";

/** One tool as `tools/list` shows it. */
export interface ServedTool {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
  readonly annotations: ToolHints;
  readonly source: ToolSource;
}

/** A configured MCP server's tool, already named `mcp__<server>__<tool>`. */
export interface ExternalTool {
  readonly name: string;
  readonly server: string;
  readonly tool: string;
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
}

/** What {@link buildCatalog} lists. */
export interface CatalogSources {
  /** Offer `task` (only when a model provider can run sub-agents). */
  readonly includeTask: boolean;
  readonly host: CapsuleHost;
  /** Tools of configured MCP servers (`--include-servers`); empty when not opted in. */
  readonly external?: readonly ExternalTool[];
  /** `--tools` globs; empty offers everything. */
  readonly patterns?: readonly string[];
}

/**
 * Compiles a `--tools` glob over tool names: `*` matches any run of characters, `?` one
 * character; everything else is literal.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { toolGlob } from "./catalog.ts";
 * equal(toolGlob("hello__*").test("hello__greet"), true);
 * equal(toolGlob("read_*").test("write_file"), false);
 * ```
 */
export function toolGlob(pattern: string): RegExp {
  if (pattern.length === 0 || pattern.length > 200) {
    throw new RangeError(
      `Cannot use --tools pattern: its length is ${pattern.length}, expected 1-200`,
    );
  }
  const body = [...pattern].map((c) =>
    c === "*" ? ".*" : c === "?" ? "." : c.replace(/[\\^$.|+()[\]{}]/g, "\\$&")
  ).join("");
  return new RegExp(`^${body}$`);
}

/**
 * The catalog, in a stable order: built-ins, capsules, then external servers.
 *
 * @example Only the tools the globs name
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { buildCatalog } from "./catalog.ts";
 * const host = { capsules: [], workspaceRoot: "/ws", store: null as never, limits: { timeoutMs: 1, memoryMb: 1 } };
 * const tools = await buildCatalog({ includeTask: false, host, patterns: ["read_*", "glob"] });
 * deepEqual(tools.map((t) => t.name), ["read_file", "glob"]);
 * ```
 */
export async function buildCatalog(sources: CatalogSources): Promise<ServedTool[]> {
  const out: ServedTool[] = [];
  for (const t of BUILTIN_TOOLS) {
    const name = t.definition.name;
    if (name === "task" && !sources.includeTask) continue;
    out.push({
      name,
      description: t.definition.description,
      inputSchema: t.definition.inputSchema as unknown as Record<string, unknown>,
      annotations: builtinHints(name),
      source: "builtin",
    });
  }
  const byName = new Map(sources.host.capsules.map((c) => [c.record.name, c]));
  for (const t of await listCapsuleTools(sources.host.capsules)) {
    const capsule = byName.get(t.capsule);
    if (!capsule) continue;
    out.push({
      name: t.name,
      description: t.description,
      inputSchema: objectSchema(t.inputSchema),
      annotations: capsuleHints(capsule),
      source: "capsule",
    });
  }
  for (const t of sources.external ?? []) {
    out.push({
      name: t.name,
      description: t.description,
      inputSchema: objectSchema(t.inputSchema),
      annotations: mcpHints(t.server, t.tool),
      source: "mcp",
    });
  }
  const globs = (sources.patterns ?? []).map(toolGlob);
  return globs.length === 0 ? out : out.filter((t) => globs.some((g) => g.test(t.name)));
}

/** MCP requires `inputSchema.type` to be `"object"`. */
function objectSchema(schema: Record<string, unknown>): Record<string, unknown> {
  return schema.type === "object" ? schema : { properties: {}, ...schema, type: "object" };
}
