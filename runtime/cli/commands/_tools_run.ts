/**
 * What `astrid tools call` does, without commander (tools.ts builds the commands; main.ts runs
 * the common command lines straight from here: loading commander, which is CommonJS, switched on
 * Deno's Node compatibility layer, about 16 ms of a call), and the command's gate other commands
 * share. `tools list`, the capsule host and the MCP manager are in _tools_host.ts (re-exported
 * here), which loads none of the gate.
 *
 * @module
 */
import type { FileToolName } from "../../tools/types.ts";
import {
  createToolSession,
  earlyFileExecutor,
  type InvokeOutcome,
  invokeTool,
} from "../../tools/invoke.ts";
import type { FileExecutor } from "../../tools/file_executor.ts";
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
  type RuntimeAhead,
  wantsJson,
  withRuntime,
} from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
// Only what every call needs is imported here: the capsule engine (extism), the MCP SDK and
// the agent are loaded where a call involves a capsule, an MCP server or an agent session.
import { parseMcpToolName } from "../../mcp/names.ts";
import { capsuleHost, mcpManager } from "./_tools_host.ts";

export {
  capsuleHost,
  listToolsAction,
  listWithDeadline,
  MCP_LIST_TIMEOUT_MS,
  mcpManager,
  quickListTools,
} from "./_tools_host.ts";

/**
 * Imports a module by a computed specifier, when a call needs it: a literal `import()` would put
 * it (the capsule engine, the MCP SDK, the agent, the LLM SDKs) in the module graph Deno builds
 * when this module loads, and building that graph costs more than a built-in tool's call (see
 * main.ts). The type stays checked: `lazy<typeof import(PATH)>(PATH)`.
 */
const lazy = <T>(path: string): Promise<T> => import(new URL(path, import.meta.url).href);

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
  // A file tool's executor starts as soon as the config has loaded: its Worker loads its ops
  // while the store, the key and the audit log open.
  let ahead: Promise<FilesAhead | null> = Promise.resolve(null);
  const startAhead = isFileTool(name)
    ? (opened: RuntimeAhead) => {
      ahead = filesAhead(opened, name);
      ahead.catch(() => {}); // a failure only means the session makes its own
    }
    : undefined;
  try {
    await withRuntime(cmd, io, async (rt) => {
      const outcome = await callTool(rt, name, args, opts, await ahead.catch(() => null));
      // With a daemon running: a one-time approval link (and QR code) for the deferred id.
      if (outcome.status === "deferred") {
        const { announceDeferrals } = await lazy<typeof import("../_deferral_link.ts")>(
          "../_deferral_link.ts",
        );
        await announceDeferrals(io, rt.paths.home, [outcome.id]);
      }
      reportOutcome(io, outcome, wantsJson(cmd, io));
    }, startAhead);
  } finally {
    // Unused (the runtime failed to open, or the call went elsewhere): stopped, never left behind.
    (await ahead.catch(() => null))?.files.close();
  }
}

/** A file executor started ahead of the call, for the workspace at `root`. */
interface FilesAhead {
  readonly root: string;
  readonly files: FileExecutor;
}

async function filesAhead(
  { paths, config, walls }: RuntimeAhead,
  tool: FileToolName,
): Promise<FilesAhead | null> {
  if (paths.workspaceRoot === null) return null;
  const [root, w] = await Promise.all([Deno.realPath(paths.workspaceRoot), walls]);
  const files = earlyFileExecutor({
    workspaceRoot: root,
    outputLimitChars: config.tools.output_limit_chars,
    walls: w,
  }, tool);
  return { root, files };
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
  ahead: FilesAhead | null = null,
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
      // The executor started ahead serves this root only.
      files: ahead?.root === workspaceRoot ? ahead.files : undefined,
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
