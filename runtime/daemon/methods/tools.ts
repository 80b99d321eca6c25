/**
 * RPC methods `tools.list`, `capsules.list`, `capsules.load`, `capsules.unload` and `capsules.sync`.
 *
 * `tools.list` gives the same entries as `astrid tools list --json`: the built-in tools, the
 * installed capsules' tools (`<capsule>__<tool>`, from their verified install records) and, when
 * the daemon runs a server manager (service `servers`, the `McpServerManager` of servers.ts),
 * the configured MCP servers' tools (`mcp__<server>__<tool>`); a server that does not answer
 * within 5 s is left out and named in `errors`.
 *
 * `capsules.load` verifies a capsule against its signed install record (a changed wasm or
 * manifest is `Integrity`) and keeps it, with its compiled module, in the `capsules` service
 * until `capsules.unload` or shutdown.
 *
 * `capsules.sync` re-reads the install records and brings the daemon's `[[cron]]` schedule and
 * capsule services in line (cron.ts `CapsuleWatch`: a capsule installed since is scheduled and
 * its services started, a removed one's stopped, an upgraded one's restarted); `capsules.load`
 * and `capsules.unload` run the same sync (their answers keep their shapes). The daemon also syncs
 * by itself when the records change (every 2 s).
 *
 * @module
 */
import type { MethodGroup } from "./mod.ts";
import {
  type DaemonContext,
  type JsonSchema,
  RpcError,
  RpcErrorCode,
  type RpcMethod,
} from "../types.ts";
import { BUILTIN_TOOLS } from "../../tools/mod.ts";
import { capsuleDirs, type InstalledCapsule } from "../../capsule/install.ts";
import { InstallRecords } from "../../capsule/install_record.ts";
import { type InstalledList, listInstalled } from "../../capsule/installed.ts";
import { ModuleCache } from "../../capsule/loader.ts";
import type { McpServerManager } from "../../mcp/mod.ts";
import { type CapsuleSync, capsuleWatch } from "./cron.ts";

/** The service name of {@link LoadedCapsules}. */
export const CAPSULES_SERVICE = "capsules";

/** How long `tools.list` waits for each MCP server. */
export const MCP_LIST_TIMEOUT_MS = 5000;

/** Capsules warmed in the daemon, by name, with the compiled modules they use. */
export class LoadedCapsules {
  readonly loaded: Map<string, InstalledCapsule & { readonly loadedAt: number }> = new Map();
  readonly cache: ModuleCache = new ModuleCache();
  /** Drops every loaded capsule. */
  close(): Promise<void> {
    this.loaded.clear();
    return Promise.resolve();
  }
}

const text = (description: string) => ({ type: "string", description });

const TOOL: JsonSchema = {
  type: "object",
  description: "One tool, as `astrid tools list --json` prints it",
  properties: {
    name: text("read_file, <capsule>__<tool>, mcp__<server>__<tool>"),
    description: text("what the tool does"),
    inputSchema: { type: "object", description: "the JSON Schema of its arguments" },
  },
  required: ["name", "description", "inputSchema"],
};

/** The workspace a call names, canonical; `NotFound` when it is not a folder. */
async function workspaceOf(ctx: DaemonContext, given: string | undefined): Promise<string | null> {
  if (given === undefined) return ctx.rt.paths.workspaceRoot;
  try {
    const root = await Deno.realPath(given);
    if ((await Deno.stat(root)).isDirectory) return root;
  } catch { /* reported below */ }
  throw new RpcError(RpcErrorCode.NotFound, `Cannot use workspace ${given}: it is not a folder`);
}

/** The installed capsules (user, and the workspace's), verified against their records. */
async function installed(
  ctx: DaemonContext,
  workspaceRoot: string | null,
  cache?: ModuleCache,
): Promise<InstalledList> {
  const rt = ctx.rt;
  return await listInstalled(capsuleDirs(rt.paths.home, workspaceRoot), {
    requireHash: rt.config.capsules.require_hash,
    records: new InstallRecords(rt.store, rt.key),
    ...(cache === undefined ? {} : { cache }),
  });
}

function serverManager(ctx: DaemonContext): McpServerManager | null {
  return ctx.services.get<McpServerManager>("servers") ?? null;
}

/** The tools of every server, each given `timeoutMs`. */
async function mcpTools(
  manager: McpServerManager,
  timeoutMs: number,
): Promise<{ tools: object[]; errors: { server: string; code: string; message: string }[] }> {
  const { listMcpTools } = await import("../../mcp/mod.ts");
  const results = await Promise.all(manager.servers.map(async ({ name }) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const slow = new Promise<Awaited<ReturnType<typeof listMcpTools>>>((resolve) => {
      timer = setTimeout(() =>
        resolve({
          tools: [],
          errors: [{ server: name, code: "SLOW", message: `no tool list within ${timeoutMs} ms` }],
        }), timeoutMs);
    });
    try {
      return await Promise.race([listMcpTools(manager, [name]), slow]);
    } finally {
      clearTimeout(timer);
    }
  }));
  return { tools: results.flatMap((r) => r.tools), errors: results.flatMap((r) => r.errors) };
}

const toolsList: RpcMethod = {
  name: "tools.list",
  summary: "The tools: built-in, installed capsules' and (when the daemon runs them) MCP servers'",
  params: {
    type: "object",
    additionalProperties: false,
    properties: {
      workspace: {
        type: "string",
        minLength: 1,
        description: "the workspace folder whose capsules count (default: the daemon's)",
      },
    },
  },
  result: {
    type: "object",
    additionalProperties: false,
    properties: {
      tools: { type: "array", items: TOOL, description: "built-in, then capsule, then MCP tools" },
      errors: {
        type: "array",
        description: "MCP servers that failed or were too slow to list",
        items: {
          type: "object",
          properties: {
            server: text("the server"),
            code: text("why (SLOW, …)"),
            message: text("what happened"),
          },
          required: ["server", "code", "message"],
        },
      },
    },
    required: ["tools", "errors"],
  },
  async handler(params: { workspace?: string }, call) {
    const ctx = call.daemon;
    const root = await workspaceOf(ctx, params.workspace);
    const tools: object[] = BUILTIN_TOOLS.map((t) => ({ ...t.definition }));
    const list = await installed(ctx, root);
    const { listCapsuleTools } = await import("../../capsule/tool_list.ts");
    for (const t of await listCapsuleTools(list.capsules)) {
      tools.push({ name: t.name, description: t.description, inputSchema: t.inputSchema });
    }
    const manager = serverManager(ctx);
    const mcp = manager ? await mcpTools(manager, MCP_LIST_TIMEOUT_MS) : { tools: [], errors: [] };
    return { tools: [...tools, ...mcp.tools], errors: mcp.errors };
  },
};

const CAPSULE_ROW: JsonSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    name: text("the capsule's name"),
    version: text("its version"),
    scope: { enum: ["user", "workspace"], description: "where it is installed" },
    hash: { type: ["string", "null"], description: "its wasm's BLAKE3 (null: static)" },
    manifestHash: text("the pinned manifest hash"),
    installedAt: text("when it was installed (ISO)"),
    tools: { type: "array", items: { type: "string" }, description: "its tools' names" },
  },
  required: ["name", "version", "scope", "hash", "manifestHash", "installedAt", "tools"],
};

function row(c: InstalledCapsule) {
  return {
    name: c.record.name,
    version: c.loaded.manifest.package.version,
    scope: c.scope,
    hash: c.loaded.wasm?.hash ?? null,
    manifestHash: c.record.manifestHash,
    installedAt: c.record.installedAt,
    tools: c.record.tools.map((t) => t.name),
  };
}

const capsulesList: RpcMethod = {
  name: "capsules.list",
  summary: "Installed capsules, broken ones and ignored folders (as `astrid capsule list --json`)",
  params: { type: "object", additionalProperties: false, properties: {} },
  result: {
    type: "object",
    additionalProperties: false,
    properties: {
      capsules: { type: "array", items: CAPSULE_ROW, description: "verified, usable capsules" },
      broken: {
        type: "array",
        description: "installed capsules that fail their checks",
        items: {
          type: "object",
          properties: {
            name: text("the capsule"),
            scope: text("user or workspace"),
            dir: text("its folder"),
            code: text("INTEGRITY, …"),
            error: text("what is wrong"),
          },
          required: ["name", "scope", "dir", "code", "error"],
        },
      },
      ignored: { type: "array", description: "folders without a valid install record" },
      missing: { type: "array", description: "records whose folder is gone" },
    },
    required: ["capsules", "broken", "ignored", "missing"],
  },
  async handler(_params: Record<string, never>, call) {
    const list = await installed(call.daemon, call.daemon.rt.paths.workspaceRoot);
    return {
      capsules: list.capsules.map(row),
      broken: list.broken.map((b) => ({
        name: b.name,
        scope: b.scope,
        dir: b.dir,
        code: (b.error as { code?: string }).code ?? "ERROR",
        error: b.error.message,
      })),
      ignored: list.ignored,
      missing: list.missing,
    };
  },
};

const NAME = {
  type: "object",
  additionalProperties: false,
  properties: { name: { type: "string", minLength: 1, description: "the capsule's name" } },
  required: ["name"],
};

function loadedService(ctx: DaemonContext): LoadedCapsules {
  let service = ctx.services.get<LoadedCapsules>(CAPSULES_SERVICE);
  if (!service) {
    service = new LoadedCapsules();
    ctx.services.set(CAPSULES_SERVICE, service);
  }
  return service;
}

const names = (description: string) => ({
  type: "array",
  items: { type: "string" },
  description,
});

const SYNC: JsonSchema = {
  type: "object",
  additionalProperties: false,
  description: "What the daemon changed to match the install records",
  properties: {
    added: names("capsules scheduled and started since the last sync"),
    removed: names("capsules whose cron entries and services stopped"),
    upgraded: names("capsules reinstalled or upgraded: stopped, then started again"),
  },
  required: ["added", "removed", "upgraded"],
};

/** Syncs the daemon's capsules; nothing when the cron group does not run (tests). */
async function syncCapsules(ctx: DaemonContext): Promise<CapsuleSync> {
  return await capsuleWatch(ctx)?.sync() ?? { added: [], removed: [], upgraded: [] };
}

const capsulesSync: RpcMethod = {
  name: "capsules.sync",
  summary: "Re-read the install records: schedule, start, stop or restart capsules that changed",
  params: { type: "object", additionalProperties: false, properties: {} },
  result: SYNC,
  handler: (_params: Record<string, never>, call) => syncCapsules(call.daemon),
};

const capsulesLoad: RpcMethod = {
  name: "capsules.load",
  summary: "Verify an installed capsule against its record and keep it warm (syncs capsules first)",
  params: NAME,
  result: {
    ...CAPSULE_ROW,
    properties: {
      ...(CAPSULE_ROW.properties as object),
      loadedAt: { type: "number", description: "when it was loaded (ms since the epoch)" },
    },
    required: [...(CAPSULE_ROW.required as string[]), "loadedAt"],
  },
  async handler(params: { name: string }, call) {
    const ctx = call.daemon;
    await syncCapsules(ctx); // the schedule and services follow the records too
    const service = loadedService(ctx);
    const list = await installed(ctx, ctx.rt.paths.workspaceRoot, service.cache);
    const broken = list.broken.find((b) => b.name === params.name);
    if (broken) {
      throw new RpcError(
        RpcErrorCode.Integrity,
        `Cannot load ${params.name}: ${broken.error.message}`,
        { code: (broken.error as { code?: string }).code ?? "ERROR" },
      );
    }
    const found = list.capsules.find((c) => c.record.name === params.name);
    if (!found) {
      throw new RpcError(
        RpcErrorCode.NotFound,
        `Cannot load ${params.name}: no installed capsule has that name`,
      );
    }
    const loaded = { ...found, loadedAt: Date.now() };
    service.loaded.set(params.name, loaded);
    return { ...row(found), loadedAt: loaded.loadedAt };
  },
};

const capsulesUnload: RpcMethod = {
  name: "capsules.unload",
  summary: "Drop a capsule loaded with capsules.load (and sync capsules, as capsules.sync)",
  params: NAME,
  result: {
    type: "object",
    additionalProperties: false,
    properties: {
      name: text("the capsule"),
      unloaded: { const: true, description: "always true" },
    },
    required: ["name", "unloaded"],
  },
  async handler(params: { name: string }, call) {
    const service = call.daemon.services.get<LoadedCapsules>(CAPSULES_SERVICE);
    if (!service?.loaded.delete(params.name)) {
      throw new RpcError(RpcErrorCode.NotFound, `Cannot unload ${params.name}: it is not loaded`);
    }
    await syncCapsules(call.daemon); // the schedule and services follow the records too
    return { name: params.name, unloaded: true };
  },
};

/** The tools and capsules methods. */
export const group: MethodGroup = {
  methods: [toolsList, capsulesList, capsulesLoad, capsulesUnload, capsulesSync],
};
