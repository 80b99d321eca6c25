/**
 * What `astrid tools list` does, without commander (main.ts runs it straight from here), and the
 * helpers commands share to reach tools: the capsule host (installed capsules and their limits)
 * and the MCP manager. It imports nothing of the gate or the executors, so listing does not load
 * them (`tools call` is _tools_run.ts).
 *
 * @module
 */
import {
  type CliIo,
  type OptionSource,
  phase,
  printJson,
  type Runtime,
  wantsJson,
  withRuntime,
} from "../context.ts";
// The capsule engine (extism), the MCP SDK and the LLM SDKs load only when a capsule, a server
// or a model is actually used.
import type { CapsuleHost } from "../../capsule/registry.ts";
import { InstallRecords } from "../../capsule/install_record.ts";
import { installedDirs, installWarnings, listInstalled } from "../../capsule/installed.ts";
// Statically: a few lines, where importing the module when capsules are listed cost 0.4–0.5 ms
// of every listing with capsules (a separate chunk of the bundle, read and compiled then).
import { listCapsuleTools } from "../../capsule/tool_list.ts";
import type { listMcpTools, McpServerManager } from "../../mcp/mod.ts";
import { workspaceCreator } from "../../sandbox/creator.ts";
import type { CapsuleLlm } from "../../capsule/host/context.ts";
import { lazyCompleter } from "../../llm/complete.ts";
import { pricingFromConfig } from "../../llm/pricing.ts";

/**
 * Imports a module by a computed specifier, when a call needs it: a literal `import()` would put
 * it (the capsule engine, the MCP SDK, the LLM SDKs) in the module graph Deno builds when this
 * module loads. The type stays checked: `lazy<typeof import(PATH)>(PATH)`.
 */
const lazy = <T>(path: string): Promise<T> => import(new URL(path, import.meta.url).href);

/** `tools list`: the built-in tools, installed capsules' and configured MCP servers'. */
export async function listToolsAction(io: CliIo, cmd: OptionSource): Promise<void> {
  const { BUILTIN_TOOLS } = await lazy<typeof import("../../tools/registry.ts")>(
    "../../tools/registry.ts",
  );
  const defs: { name: string; description: string; inputSchema: object }[] = BUILTIN_TOOLS
    .map((t) => ({ ...t.definition }));
  await withRuntime(cmd, io, async (rt) => {
    const host = await capsuleHost(rt, rt.paths.workspaceRoot);
    // The MCP SDK loads only when there is a server to list.
    if (host.capsules.length > 0) {
      const start = performance.now();
      const capsuleTools = await listCapsuleTools(host.capsules);
      phase("capsule tools", start);
      for (const t of capsuleTools) defs.push(t);
    }
    if (Object.keys(rt.config.servers).length === 0) return;
    await using manager = await mcpManager(rt, rt.paths.workspaceRoot);
    const mcp = await listWithDeadline(manager, MCP_LIST_TIMEOUT_MS);
    for (const e of mcp.errors) io.stderr(`warning: ${e.server}: ${e.code}: ${e.message}\n`);
    for (const t of mcp.tools) defs.push(t);
  });
  if (wantsJson(cmd, io)) return printJson(io, defs);
  // One write for the whole list: a write per line cost 2–3 ms with 50 capsules' 600 tools.
  io.stdout(
    defs.map((d) => {
      const schema = d.inputSchema as { properties?: object; required?: string[] };
      const params = Object.keys(schema.properties ?? {}).map((p) =>
        schema.required?.includes(p) ? p : `[${p}]`
      );
      return `${d.name.padEnd(24)} ${params.join(" ")}\n`;
    }).join(""),
  );
}

/** `tools list` as main.ts runs it without commander (its QUICK table). */
export function quickListTools(
  io: CliIo,
  _opts: Record<string, unknown>,
  cmd: OptionSource,
): Promise<void> {
  return listToolsAction(io, cmd);
}

/** How long `tools list` waits for each MCP server's tool list. */
export const MCP_LIST_TIMEOUT_MS = 5000;

/**
 * The tools of every configured MCP server, all started at once; a server that has not answered
 * within `timeoutMs` is left out with a `SLOW` error (it is stopped when the manager closes).
 */
export async function listWithDeadline(
  manager: McpServerManager,
  timeoutMs: number,
): Promise<Awaited<ReturnType<typeof listMcpTools>>> {
  const { listMcpTools } = await lazy<typeof import("../../mcp/mod.ts")>("../../mcp/mod.ts");
  const results = await Promise.all(manager.servers.map(async ({ name }) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const slow = new Promise<Awaited<ReturnType<typeof listMcpTools>>>((resolve) => {
      timer = setTimeout(() =>
        resolve({
          tools: [],
          errors: [{
            server: name,
            code: "SLOW",
            message: `no tool list within ${
              timeoutMs / 1000
            } s; skipped (try \`astrid servers tools ${name}\`)`,
          }],
        }), timeoutMs);
    });
    try {
      return await Promise.race([listMcpTools(manager, [name]), slow]);
    } finally {
      clearTimeout(timer);
    }
  }));
  return {
    tools: results.flatMap((r) => r.tools),
    errors: results.flatMap((r) => r.errors),
  };
}

/**
 * A manager for the configured MCP servers; servers start on first use and stop on dispose. The
 * MCP SDK loads here, when a command needs the manager, not when this module does.
 */
export async function mcpManager(
  rt: Runtime,
  workspaceRoot: string | null,
): Promise<McpServerManager> {
  const { openServerManager } = await lazy<typeof import("./servers.ts")>("./servers.ts");
  return openServerManager(rt.config, {
    env: rt.io.env,
    cwd: rt.io.cwd,
    workspaceRoot,
    walls: rt.walls,
  });
}

/**
 * The installed capsules (user and workspace) and their limits, for capsule tool calls. Only
 * folders with a verified install record are used; the others, and capsules that fail their
 * integrity checks, are reported as warnings (calling a broken one is an `INTEGRITY` outcome).
 */
export async function capsuleHost(
  rt: Runtime,
  workspaceRoot: string | null,
  opts: { readonly warnBroken?: boolean } = {},
): Promise<CapsuleHost> {
  const start = performance.now();
  const list = await listInstalled(installedDirs(rt.paths.home, workspaceRoot), {
    requireHash: rt.config.capsules.require_hash,
    records: new InstallRecords(rt.store, rt.key),
  });
  phase("installed capsules", start);
  for (const w of installWarnings(list)) rt.io.stderr(`warning: ${w}\n`);
  for (const b of opts.warnBroken === false ? [] : list.broken) {
    rt.io.stderr(`warning: capsule at ${b.dir} not loaded: ${b.error.message}\n`);
  }
  const host: CapsuleHost = {
    capsules: list.capsules,
    broken: list.broken,
    workspaceRoot: workspaceRoot ?? rt.paths.home,
    store: rt.store,
    limits: {
      timeoutMs: rt.config.capsules.timeout_seconds * 1000,
      memoryMb: rt.config.capsules.memory_mb,
    },
    outputLimitChars: rt.config.tools.output_limit_chars,
    parentEnv: rt.io.env,
    walls: rt.walls,
    ...(workspaceRoot === null ? {} : { creator: workspaceCreator(rt.walls, workspaceRoot) }),
  };
  if (!isCapsuleModel(rt.config.model)) {
    // Made when a capsule is first run (its pricing table is built then), not by listing.
    let llm: CapsuleLlm | undefined;
    Object.defineProperty(host, "llm", {
      get: () => llm ??= configuredModel(rt),
      enumerable: true,
    });
  }
  return host;
}

/** True when `[model] provider` names a capsule (`capsule:<name>`). */
function isCapsuleModel(model: Runtime["config"]["model"]): boolean {
  return model.provider.startsWith("capsule:");
}

/**
 * The configured model for capsules' `llm-complete` calls, its provider SDK loaded only when a
 * capsule calls it (a missing API key then fails that call, not the command). `chat` replaces
 * it with the session's own provider.
 */
function configuredModel(rt: Runtime): CapsuleLlm {
  const model = rt.config.model;
  return lazyCompleter(model.provider, model.model, pricingFromConfig(rt.config), async () => {
    const { createProvider } = await lazy<typeof import("../../llm/create_provider.ts")>(
      "../../llm/create_provider.ts",
    );
    return createProvider(model);
  });
}
