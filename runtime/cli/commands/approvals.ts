/**
 * `astrid approvals list|show|approve|deny`: the deferred queue, decided by a human later.
 * An id may be shortened to a unique prefix; an unknown id is "not found" (exit 1).
 * Approving records the decision and carries the action out through its registered executor,
 * passing the interceptor again (policy may have changed since it was queued).
 *
 * @module
 */
import { Command, Option } from "commander";
import type { ApprovalChoice, Executor } from "../../security/approval.ts";
import { DeferredQueue } from "../../security/approval.ts";
import {
  approveDeferred,
  type ApproveOutcome,
  type DecideRuntime,
  DeferredDecideError,
  denyDeferred,
  resolveDeferredId,
} from "../../agent/deferred_decide.ts";
import {
  type CliIo,
  printJson,
  type Runtime,
  wantsJson,
  withRuntime,
  workspaceId,
} from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { type ApprovalsListOptions, listApprovals } from "./_approvals_list.ts";

// The executors load by a computed specifier, out of the start-up module graph of `list`/`show`.
const executorsModule = () =>
  import(new URL("../executors.ts", import.meta.url).href) as Promise<
    typeof import("../executors.ts")
  >;

/** Executors by name, built for the runtime a command opened. */
export type ExecutorFactory = (rt: Runtime) => ReadonlyMap<string, Executor>;

/**
 * Builds the `approvals` command tree; `executors` (default: the built-in tools, capsule tools and
 * MCP tools) carry out approved actions by name. The default executors (the tools, the capsule
 * engine, the MCP SDK) load only when an action is approved, so `list` and `show` start light.
 */
export function approvalsCommand(
  io: CliIo,
  executors?: ExecutorFactory,
): Command {
  const approvals = new Command("approvals").description(
    "List and decide actions that were deferred because nobody could approve them",
  );
  approvals.command("list")
    .description("List deferred actions (pending first)")
    .option("--all", "include decided ones")
    .option("--json", "machine-readable output")
    .action(async (opts: ApprovalsListOptions, cmd: Command) => {
      await listApprovals(io, opts, cmd);
    });
  approvals.command("show")
    .description("Show one deferred action: what, why, its status, decision and result")
    .argument("<id>", "deferred action id (or a unique prefix of it)")
    .option("--json", "machine-readable output")
    .action(async (given: string, _opts: unknown, cmd: Command) => {
      await withRuntime(cmd, io, async (rt) => {
        const queue = new DeferredQueue(rt.store);
        const record = (await queue.get(await resolveApprovalId(queue, given)))!;
        if (wantsJson(cmd, io)) return printJson(io, record);
        const decision = record.decision
          ? `${record.decision.choice} at ${new Date(record.decision.at).toISOString()}${
            record.decision.reason ? ` (${record.decision.reason})` : ""
          }`
          : "-";
        io.stdout(
          `id        ${record.id}\nstatus    ${record.status}\nrisk      ${record.info.risk}\n` +
            `action    ${record.info.summary}\nresource  ${record.info.resource}\n` +
            `why       ${record.reason}\nsession   ${record.sessionId}\n` +
            `workspace ${record.workspaceRoot ?? "-"}\n` +
            `created   ${new Date(record.createdAt).toISOString()}\ndecision  ${decision}\n`,
        );
        const output = resultOutput(record.result);
        if (output !== null) io.stdout(`result:\n${withNewline(output)}`);
      });
    });
  approvals.command("approve")
    .description("Approve a deferred action and carry it out")
    .argument("<id>", "deferred action id")
    .addOption(
      new Option("--scope <scope>", "how far the approval reaches")
        .choices(["once", "session", "always"]).default("once"),
    )
    .option("--json", "machine-readable output")
    .action(async (id: string, opts: { scope: ApprovalChoice }, cmd: Command) => {
      await withRuntime(cmd, io, async (rt) => {
        const full = await resolveApprovalId(new DeferredQueue(rt.store), id);
        const factory = executors ?? (await executorsModule()).defaultExecutors;
        const result = await approve(rt, factory(rt), full, opts.scope);
        if (wantsJson(cmd, io)) printJson(io, result);
        else {
          io.stdout(`${result.message}\n`);
          const output = resultOutput(result.result);
          if (output !== null) io.stdout(withNewline(output));
        }
        if (result.status === "denied") throw new CliError(result.message, ExitCode.Denied);
        if (result.status === "failed") throw new CliError(result.message, ExitCode.Error);
      });
    });
  approvals.command("deny")
    .description("Deny a deferred action")
    .argument("<id>", "deferred action id")
    .option("--reason <text>", "why (recorded in the audit log)")
    .action(async (id: string, opts: { reason?: string }, cmd: Command) => {
      await withRuntime(cmd, io, async (rt) => {
        const queue = new DeferredQueue(rt.store);
        id = await resolveApprovalId(queue, id);
        const { record } = await cliErrors(() => denyDeferred(rt, queue, id, opts.reason ?? null));
        io.stdout(`denied ${id}: ${record.info.summary}\n`);
      });
    });
  return approvals;
}

/**
 * The full id of the deferred action `given` names (the id or a unique prefix). Unknown is
 * "not found" (exit 1); an ambiguous prefix a usage error listing the candidates.
 */
export async function resolveApprovalId(queue: DeferredQueue, given: string): Promise<string> {
  try {
    return await resolveDeferredId(queue, given);
  } catch (err) {
    if (!(err instanceof DeferredDecideError)) throw err;
    if (err.code === "AMBIGUOUS") {
      const found = err.candidates;
      throw new CliError(
        `Cannot pick a deferred action: ${given} is ambiguous; it starts ${found.length} ids:\n  ${
          found.slice(0, 10).join("\n  ")
        }${found.length > 10 ? "\n  …" : ""}`,
        ExitCode.Usage,
      );
    }
    throw new CliError(
      `no deferred action ${given} — see \`astrid approvals list --all\``,
      ExitCode.Error,
    );
  }
}

/** What an executed action printed (a tool result's `output`), or null. */
function resultOutput(result: unknown): string | null {
  if (typeof result === "string") return result;
  const output = (result as { output?: unknown } | null | undefined)?.output;
  return typeof output === "string" ? output : null;
}

const withNewline = (s: string) => s === "" || s.endsWith("\n") ? s : `${s}\n`;

/** Maps a {@link DeferredDecideError} to the CLI's error (exit 1). */
async function cliErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof DeferredDecideError) throw new CliError(err.message, ExitCode.Error);
    throw err;
  }
}

/** The part of a CLI runtime that deciding a deferred action uses. */
export function decideRuntime(rt: Runtime): DecideRuntime {
  return {
    store: rt.store,
    key: rt.key,
    audit: rt.audit,
    config: rt.config,
    walls: rt.walls,
    workspaceRoot: rt.paths.workspaceRoot,
    workspaceId,
  };
}

/** Approves `id` with `scope`, then executes it through the interceptor and its executor. */
export async function approve(
  rt: Runtime,
  executors: ReadonlyMap<string, Executor>,
  id: string,
  scope: ApprovalChoice,
): Promise<ApproveOutcome> {
  if (scope === "deny") throw new TypeError("Cannot approve with scope deny: use deny");
  return await cliErrors(() =>
    approveDeferred(decideRuntime(rt), new DeferredQueue(rt.store), executors, id, scope)
  );
}
