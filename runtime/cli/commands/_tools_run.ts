/**
 * What `astrid tools list` and `astrid tools call` do, without commander (tools.ts builds the
 * commands; main.ts runs the common command lines of both straight from here: loading commander,
 * which is CommonJS, switched on Deno's Node compatibility layer, about 16 ms of a call), and the
 * helpers other commands share: the capsule host, the MCP manager, the command's gate.
 *
 * @module
 */
import type { FileToolName } from "../../tools/types.ts";
import { createToolSession, type InvokeOutcome, invokeTool } from "../../tools/invoke.ts";
import { type Gate, openGate } from "../../security/gate.ts";
import { type Frontend, PresetFrontend } from "../../security/approval.ts";
import type { ApprovalChoice } from "../../security/approval.ts";
import {
  type CliIo,
  type OptionSource,
  phase,
  printJson,
  requireWorkspace,
  type Runtime,
  wantsJson,
  withRuntime,
} from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
// Only what every call needs is imported here: the capsule engine (extism), the MCP SDK and
// the agent are loaded where a call involves a capsule, an MCP server or an agent session.
import type { CapsuleHost } from "../../capsule/registry.ts";
import { InstallRecords } from "../../capsule/install_record.ts";
import { installedDirs, installWarnings, listInstalled } from "../../capsule/installed.ts";
import type { listMcpTools, McpServerManager } from "../../mcp/mod.ts";
import { parseMcpToolName } from "../../mcp/names.ts";
import { workspaceCreator } from "../../sandbox/creator.ts";
import type { CapsuleLlm } from "../../capsule/host/context.ts";
import { lazyCompleter } from "../../llm/complete.ts";
import { pricingFromConfig } from "../../llm/pricing.ts";

/**
 * Imports a module by a computed specifier, when a call needs it: a literal `import()` would put
 * it (the capsule engine, the MCP SDK, the agent, the LLM SDKs) in the module graph Deno builds
 * when this module loads, and building that graph costs more than a built-in tool's call (see
 * main.ts). The type stays checked: `lazy<typeof import(PATH)>(PATH)`.
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
    // The capsule registry and the MCP SDK load only when there is something to list.
    if (host.capsules.length > 0) {
      const { listCapsuleTools } = await lazy<typeof import("../../capsule/registry.ts")>(
        "../../capsule/registry.ts",
      );
      const capsuleTools = await listCapsuleTools(host.capsules, host.limits, {
        parentEnv: io.env,
        workspaceRoot: host.workspaceRoot,
      });
      for (const t of capsuleTools) defs.push(t);
    }
    if (Object.keys(rt.config.servers).length === 0) return;
    await using manager = await mcpManager(rt, rt.paths.workspaceRoot);
    const mcp = await listWithDeadline(manager, MCP_LIST_TIMEOUT_MS);
    for (const e of mcp.errors) io.stderr(`warning: ${e.server}: ${e.code}: ${e.message}\n`);
    for (const t of mcp.tools) defs.push(t);
  });
  if (wantsJson(cmd, io)) return printJson(io, defs);
  for (const d of defs) {
    const schema = d.inputSchema as { properties?: object; required?: string[] };
    const params = Object.keys(schema.properties ?? {}).map((p) =>
      schema.required?.includes(p) ? p : `[${p}]`
    );
    io.stdout(`${d.name.padEnd(24)} ${params.join(" ")}\n`);
  }
}

/** `tools call NAME`: one call through the interceptor, its outcome printed. */
export async function callToolAction(
  io: CliIo,
  name: string,
  opts: CallToolOpts,
  cmd: OptionSource,
): Promise<void> {
  let args: unknown;
  try {
    args = JSON.parse(opts.args);
  } catch (err) {
    throw new CliError(`Cannot parse --args: ${(err as Error).message}`, ExitCode.Usage);
  }
  await withRuntime(cmd, io, async (rt) => {
    const outcome = await callTool(rt, name, args, opts);
    // With a daemon running: a one-time approval link (and QR code) for the deferred id.
    if (outcome.status === "deferred") {
      const { announceDeferrals } = await lazy<typeof import("../_deferral_link.ts")>(
        "../_deferral_link.ts",
      );
      await announceDeferrals(io, rt.paths.home, [outcome.id]);
    }
    reportOutcome(io, outcome, wantsJson(cmd, io));
  });
}

/** `tools list` as main.ts runs it without commander (its QUICK table). */
export function quickListTools(
  io: CliIo,
  _opts: Record<string, unknown>,
  cmd: OptionSource,
): Promise<void> {
  return listToolsAction(io, cmd);
}

/** `tools call NAME` as main.ts runs it without commander (`--args` defaults to `{}`). */
export function quickCallTool(
  io: CliIo,
  opts: Record<string, unknown>,
  cmd: OptionSource,
): Promise<void> {
  const o = opts as { name: string; args?: string; approve?: ApprovalChoice; session?: string };
  return callToolAction(io, o.name, {
    args: o.args ?? "{}",
    ...(o.approve !== undefined ? { approve: o.approve } : {}),
    ...(o.session !== undefined ? { session: o.session } : {}),
  }, cmd);
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

/** `tools call`'s options. */
export interface CallToolOpts {
  args: string;
  approve?: ApprovalChoice;
  session?: string;
}

/**
 * The gate of one CLI command (`tools call`, `capsule call`, `capsule run`) in the workspace
 * `ws`, for session `sessionId` (a fresh one by default): the human's answer given up front
 * (`--approve`), else the terminal when it can ask, else nobody (what needs a human is deferred).
 */
export async function commandGate(
  rt: Runtime,
  ws: { readonly root: string; readonly id: string },
  approve: ApprovalChoice | undefined,
  sessionId: string = crypto.randomUUID(),
): Promise<Gate> {
  // The terminal's prompt loads only when no answer was given up front.
  const terminal = approve
    ? null
    : new (await lazy<typeof import("../prompt.ts")>("../prompt.ts")).TerminalFrontend(rt.io);
  const frontend: Frontend | null = approve
    ? new PresetFrontend({ choice: approve })
    : terminal?.canAsk()
    ? terminal
    : null;
  return await openGate({
    store: rt.store,
    signer: rt.key,
    audit: rt.audit,
    config: rt.config,
    workspaceRoot: ws.root,
    workspaceId: ws.id,
    sessionId,
    frontend,
    walls: rt.walls,
  });
}

async function callTool(
  rt: Runtime,
  name: string,
  args: unknown,
  opts: CallToolOpts,
): Promise<InvokeOutcome> {
  const ws = await requireWorkspace(rt.paths);
  const given = opts.session === undefined ? null : await knownSession(rt, opts.session);
  const sessionId = given ?? crypto.randomUUID();
  let start = performance.now();
  // A fresh session has no saved working directory.
  const saved = given === null
    ? null
    : (await rt.store.get<{ cwd: string }>(["tool_sessions", sessionId])).value;
  const toolSession = (workspaceRoot: string) =>
    createToolSession({
      workspaceRoot,
      sessionId,
      cwd: saved?.cwd,
      sandbox: rt.config.tools.sandbox,
      outputLimitChars: rt.config.tools.output_limit_chars,
      walls: rt.walls,
    });
  const root = await Deno.realPath(ws.root);
  let session = await toolSession(root);
  phase("tool session", start);
  try {
    start = performance.now();
    const opening = commandGate(rt, ws, opts.approve, sessionId);
    opening.catch(() => {}); // awaited below
    // A file tool's Worker starts while the gate's reads are under way; its start-up then runs
    // on its own thread while this one opens the gate and screens the call. It gets no request
    // unless the call is allowed.
    if (isFileTool(name)) session.files.start(name);
    const gate = await opening;
    phase("gate and worker start", start);
    for (const r of gate.allowances.rejected) {
      rt.io.stderr(`warning: session allowance ${r.key} ignored (${r.code}): ${r.reason}\n`);
    }
    if (gate.boundary.root !== root) {
      // The tools act on the root the gate checks paths against, and nothing else.
      session.files.close();
      session = await toolSession(gate.boundary.root);
    }
    const mcp = parseMcpToolName(name);
    // The MCP SDK loads only for an MCP tool's call.
    await using manager = mcp ? await mcpManager(rt, ws.root) : null;
    // Installed capsules' [[interceptor]] before_tool_call hooks screen every call (capsule/hooks.ts).
    start = performance.now();
    const host = await capsuleHost(rt, ws.root, { warnBroken: false }); // the outcome says why
    if (host.capsules.length > 0) {
      const { attachCapsuleHooks } = await lazy<typeof import("../../capsule/hooks.ts")>(
        "../../capsule/hooks.ts",
      );
      attachCapsuleHooks({ host, interceptor: gate.interceptor });
    }
    phase("capsules", start);
    start = performance.now();
    const capsules = mcp ? null : await capsuleRegistry(name);
    const outcome = mcp && manager
      ? await (await lazy<typeof import("../../agent/external_tools.ts")>(
        "../../agent/external_tools.ts",
      )).screenedMcpCall(
        gate.interceptor,
        manager,
        mcp.server,
        mcp.tool,
        args,
        { outputLimitChars: rt.config.tools.output_limit_chars },
      )
      : capsules?.splitToolName(name)
      ? await capsules.callCapsuleTool(gate.interceptor, host, name, args)
      : await invokeTool(gate.interceptor, session, name, args);
    phase("call", start);
    // A fresh session is kept (and named) only when the call got somewhere: a call that was
    // refused or failed leaves no session behind.
    if (given !== null || outcome.status === "ok" || outcome.status === "deferred") {
      await rt.store.set(["tool_sessions", sessionId], { cwd: session.ctx.cwd, at: Date.now() });
    }
    if (outcome.status === "deferred") rt.io.stderr(`session ${sessionId}\n`);
    return outcome;
  } finally {
    session.files.close();
  }
}

/** The built-in tools that run in the file executor's Worker. */
const FILE_TOOLS: ReadonlySet<string> = new Set<FileToolName>([
  "read_file",
  "write_file",
  "edit_file",
  "glob",
  "grep",
  "list_directory",
]);

function isFileTool(name: string): name is FileToolName {
  return FILE_TOOLS.has(name);
}

/**
 * The capsule registry (and with it the capsule engine) when `name` may name a capsule's tool
 * (`<capsule>__<tool>`), else null: a built-in tool's name has no `__`.
 */
async function capsuleRegistry(
  name: string,
): Promise<typeof import("../../capsule/registry.ts") | null> {
  return name.includes("__")
    ? await lazy<typeof import("../../capsule/registry.ts")>("../../capsule/registry.ts")
    : null;
}

/**
 * The session `given` names among the known ones (tool sessions and agent sessions), by id or
 * unique prefix; an id nobody knows yet names a new session. An ambiguous prefix is a usage
 * error listing the candidates.
 */
async function knownSession(rt: Runtime, given: string): Promise<string> {
  const ids: string[] = [];
  for await (const e of rt.store.list({ prefix: ["tool_sessions"] })) {
    if (typeof e.key[1] === "string") ids.push(e.key[1]);
  }
  const [{ SessionStore }, { matchId }] = await Promise.all([
    lazy<typeof import("../../agent/mod.ts")>("../../agent/mod.ts"),
    lazy<typeof import("./sessions.ts")>("./sessions.ts"),
  ]);
  for (const h of await new SessionStore(rt.store).list()) ids.push(h.id);
  return matchId(given, ids, "session") ?? given;
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
  const list = await listInstalled(installedDirs(rt.paths.home, workspaceRoot), {
    requireHash: rt.config.capsules.require_hash,
    records: new InstallRecords(rt.store, rt.key),
  });
  for (const w of installWarnings(list)) rt.io.stderr(`warning: ${w}\n`);
  for (const b of opts.warnBroken === false ? [] : list.broken) {
    rt.io.stderr(`warning: capsule at ${b.dir} not loaded: ${b.error.message}\n`);
  }
  return {
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
    ...(isCapsuleModel(rt.config.model) ? {} : { llm: configuredModel(rt) }),
  };
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

/**
 * Prints a tool call's outcome (or its JSON) and turns a refusal into the CLI's exit code:
 * denied 3, deferred 4 (the id printed), integrity 5, bad arguments 2, other errors 1. Shared by
 * `tools call` and `capsule call`.
 */
export function reportOutcome(io: CliIo, outcome: InvokeOutcome, json: boolean): void {
  if (json) printJson(io, outcome);
  switch (outcome.status) {
    case "ok":
      if (!json) {
        io.stdout(
          outcome.result.output.endsWith("\n") || outcome.result.output === ""
            ? outcome.result.output
            : `${outcome.result.output}\n`,
        );
      }
      if (outcome.result.isError) throw new CliError("the tool reported an error", ExitCode.Error);
      return;
    case "denied":
      // Arguments that do not even parse are the caller's mistake (usage), not a refusal.
      if (outcome.code === "MALFORMED") {
        throw new CliError(`Cannot call the tool: ${outcome.reason}`, ExitCode.Usage);
      }
      throw new CliError(
        `denied (${outcome.code}): ${outcome.summary}: ${outcome.reason}`,
        ExitCode.Denied,
      );
    case "deferred":
      if (!json) io.stdout(`${outcome.id}\n`);
      throw new CliError(
        `deferred: ${outcome.summary} is waiting for approval (astrid approvals approve ${outcome.id})`,
        ExitCode.Deferred,
      );
    case "error":
      // A capsule whose wasm or manifest changed since install is an integrity failure.
      throw new CliError(
        `${outcome.code}: ${outcome.message}`,
        outcome.code === "INTEGRITY"
          ? ExitCode.Integrity
          : outcome.code === "INVALID_ARGS"
          ? ExitCode.Usage
          : ExitCode.Error,
      );
  }
}
