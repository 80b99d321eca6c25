/**
 * Discovers a capsule's tools once, at install time (the human's `astrid capsule install`),
 * for its install record: the manifest's `[[tool]]` entries, else what its wasm describes (an
 * instance whose host calls are all refused), plus what each `[[mcp_server]]` lists (the
 * servers are started, asked, and stopped). Listing tools afterwards reads the record and never
 * starts a process or an instance.
 *
 * What a capsule or server describes is untrusted: each tool is copied through JSON (plain
 * data only), names that could not be `<capsule>__<tool>` are dropped, and the first tool of a
 * name wins (the wasm's before a server's).
 *
 * @module
 */
import { CapsuleError } from "./errors.ts";
import { CapsuleInstance, type WasmLimits } from "./engines/wasm.ts";
import {
  type CapsuleMcpContext,
  type CapsuleMcpSource,
  listCapsuleMcpTools,
  withCapsuleMcp,
} from "./engines/mcp.ts";
import type { RecordedTool } from "./install_record.ts";

const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const MAX_DESCRIPTION = 4000;

/** Where and how `[[mcp_server]]`s are started for the listing (as for a call). */
export type DiscoverContext = CapsuleMcpContext;

function plain(value: unknown): Record<string, unknown> {
  const copy: unknown = JSON.parse(JSON.stringify(value ?? { type: "object" }));
  return typeof copy === "object" && copy !== null && !Array.isArray(copy)
    ? copy as Record<string, unknown>
    : { type: "object" };
}

function add(
  out: RecordedTool[],
  dropped: string[],
  name: unknown,
  description: unknown,
  schema: unknown,
  server?: string,
): void {
  if (typeof name !== "string" || !TOOL_NAME.test(name) || name.includes("..")) {
    dropped.push(String(name).slice(0, 80));
    return;
  }
  if (out.some((t) => t.name === name)) return;
  const text = typeof description === "string" ? description.slice(0, MAX_DESCRIPTION) : "";
  out.push({
    name,
    description: text.isWellFormed() ? text : text.toWellFormed(),
    inputSchema: plain(schema),
    ...(server === undefined ? {} : { server }),
  });
}

/**
 * The tools of a capsule, for its install record. `dropped` lists names refused.
 *
 * @throws {CapsuleError} `INSTALL` when the wasm cannot describe itself or a server cannot list
 *
 * @example Declared tools need neither wasm nor servers
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { parseManifest } from "./manifest.ts";
 * import { discoverTools } from "./discover.ts";
 * const { manifest } = parseManifest(
 *   '[package]\nname = "docs"\nversion = "1"\n[[tool]]\nname = "search"\n',
 * );
 * const { tools } = await discoverTools(
 *   { loaded: { dir: "/c", manifest, warnings: [], wasm: null }, env: {} },
 *   { timeoutMs: 5000, memoryMb: 64 },
 *   { parentEnv: {}, workspaceRoot: null },
 * );
 * equal(tools[0]?.name, "search");
 * ```
 */
export async function discoverTools(
  source: CapsuleMcpSource,
  limits: WasmLimits,
  ctx: DiscoverContext,
): Promise<{ tools: RecordedTool[]; dropped: string[] }> {
  const { loaded } = source;
  const name = loaded.manifest.package.name;
  const tools: RecordedTool[] = [];
  const dropped: string[] = [];
  for (const t of loaded.manifest.tool) add(tools, dropped, t.name, t.description, t.input_schema);
  if (loaded.manifest.tool.length === 0 && loaded.wasm) {
    try {
      const instance = await CapsuleInstance.create(loaded, null, limits);
      try {
        for (const t of (await instance.describe()).tools) {
          add(tools, dropped, t.name, t.description, t.input_schema);
        }
      } finally {
        await instance.close();
      }
    } catch (e) {
      throw new CapsuleError(
        "INSTALL",
        `Cannot install ${name}: its wasm could not list its tools (${(e as Error).message})`,
      );
    }
  }
  if (loaded.manifest.mcp_server.length > 0) {
    let served;
    try {
      served = await withCapsuleMcp(source, ctx, listCapsuleMcpTools);
    } catch (e) {
      throw new CapsuleError(
        "INSTALL",
        `Cannot install ${name}: its MCP servers could not list their tools ` +
          `(${(e as Error).message})`,
      );
    }
    for (const t of served) add(tools, dropped, t.tool, t.description, t.inputSchema, t.server);
  }
  return { tools, dropped };
}
