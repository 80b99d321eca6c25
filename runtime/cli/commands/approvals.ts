/**
 * `astrid approvals list|show|approve|deny`: the deferred queue, decided by a human later.
 * An id may be shortened to a unique prefix; an unknown id is "not found" (exit 1).
 * Approving records the decision and carries the action out through its registered executor,
 * passing the interceptor again (policy may have changed since it was queued).
 *
 * @module
 */
import { Command, Option } from "commander";
import type { ApprovalChoice, DeferredRecord, Executor } from "../../security/approval.ts";
import { DeferredQueue } from "../../security/approval.ts";
import { openGate } from "../../security/gate.ts";
import {
  type CliIo,
  printJson,
  type Runtime,
  wantsJson,
  withRuntime,
  workspaceId,
} from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { defaultExecutors } from "../executors.ts";
import { matchId } from "./sessions.ts";

/** Executors by name, built for the runtime a command opened. */
export type ExecutorFactory = (rt: Runtime) => ReadonlyMap<string, Executor>;

/**
 * Builds the `approvals` command tree; `executors` (default: the built-in tools, capsule tools and
 * MCP tools) carry out approved actions by name.
 */
export function approvalsCommand(
  io: CliIo,
  executors: ExecutorFactory = defaultExecutors,
): Command {
  const approvals = new Command("approvals").description(
    "List and decide actions that were deferred because nobody could approve them",
  );
  approvals.command("list")
    .description("List deferred actions (pending first)")
    .option("--all", "include decided ones")
    .option("--json", "machine-readable output")
    .action(async (opts: { all?: boolean }, cmd: Command) => {
      await withRuntime(cmd, io, async (rt) => {
        const records = await new DeferredQueue(rt.store).list(opts.all ? undefined : "pending");
        if (wantsJson(cmd, io)) return printJson(io, records);
        if (records.length === 0) return io.stdout("no pending approvals\n");
        for (const r of records) {
          io.stdout(
            `${r.id}  ${r.status.padEnd(8)} ${
              r.info.risk.padEnd(8)
            } ${r.info.summary}\n    why: ${r.reason}\n`,
          );
        }
      });
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
        const result = await approve(rt, executors(rt), full, opts.scope);
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
        const record = await decideOrThrow(queue, id, "deny", opts.reason ?? null);
        await rt.audit.append({
          sessionId: record.sessionId,
          action: {
            kind: record.action.kind,
            resource: record.info.resource,
            permission: record.info.permission,
            risk: record.info.risk,
            summary: record.info.summary,
          },
          decision: "denied",
          proof: `human:deferred:${id}`,
          outcome: { code: "HUMAN_DENIED", reason: opts.reason ?? "denied by the user" },
        });
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
  if (await queue.get(given)) return given;
  const id = matchId(given, (await queue.list()).map((r) => r.id), "deferred action");
  if (id === null) {
    throw new CliError(
      `no deferred action ${given} — see \`astrid approvals list --all\``,
      ExitCode.Error,
    );
  }
  return id;
}

/** What an executed action printed (a tool result's `output`), or null. */
function resultOutput(result: unknown): string | null {
  if (typeof result === "string") return result;
  const output = (result as { output?: unknown } | null | undefined)?.output;
  return typeof output === "string" ? output : null;
}

const withNewline = (s: string) => s === "" || s.endsWith("\n") ? s : `${s}\n`;

interface ApproveResult {
  id: string;
  status: "executed" | "approved" | "denied" | "failed";
  message: string;
  result?: unknown;
}

async function decideOrThrow(
  queue: DeferredQueue,
  id: string,
  choice: ApprovalChoice,
  reason: string | null,
): Promise<DeferredRecord> {
  try {
    return await queue.decide(id, choice, reason);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "NOT_FOUND") throw new CliError((err as Error).message, ExitCode.Error);
    if (code === "NOT_PENDING") throw new CliError((err as Error).message, ExitCode.Error);
    throw err;
  }
}

/** Approves `id` with `scope`, then executes it through the interceptor and its executor. */
export async function approve(
  rt: Runtime,
  executors: ReadonlyMap<string, Executor>,
  id: string,
  scope: ApprovalChoice,
): Promise<ApproveResult> {
  const queue = new DeferredQueue(rt.store);
  const record = await decideOrThrow(queue, id, scope, null);
  const root = record.workspaceRoot ?? rt.paths.workspaceRoot;
  if (!root) throw new CliError(`Cannot approve ${id}: it names no workspace`, ExitCode.Error);
  const gate = await openGate({
    store: rt.store,
    signer: rt.key,
    audit: rt.audit,
    config: rt.config,
    workspaceRoot: root,
    workspaceId: await workspaceId(root),
    sessionId: record.sessionId,
    frontend: null,
    walls: rt.walls,
  });
  const answer = { choice: scope, reason: `approved from the queue (${id})` };
  if (!record.execution) {
    const decision = await gate.interceptor.intercept(record.action, {
      answer,
      costUsd: record.costUsd,
      provenance: record.provenance ?? undefined,
    });
    if (decision.outcome === "allowed") await decision.complete({ ok: true });
    const status = decision.outcome === "allowed" ? "approved" : "denied";
    await queue.finish(id, status === "approved" ? "executed" : "failed", decision);
    return {
      id,
      status,
      message: status === "approved"
        ? `approved ${id}: ${record.info.summary} (nothing to execute)`
        : `Cannot carry out ${id}: ${(decision as { reason: string }).reason}`,
    };
  }
  const executor = executors.get(record.execution.executor);
  if (!executor) {
    await queue.finish(id, "failed", { error: `no executor ${record.execution.executor}` });
    throw new CliError(
      `Cannot execute ${id}: no executor named "${record.execution.executor}" is registered`,
    );
  }
  try {
    const result = await executor(record.execution.payload, {
      sessionId: record.sessionId,
      workspaceRoot: root,
      interceptor: gate.interceptor,
      answer,
      config: rt.config,
    });
    await queue.finish(id, "executed", result);
    return {
      id,
      status: "executed",
      message: `approved and executed ${id}: ${record.info.summary}`,
      result,
    };
  } catch (err) {
    const message = (err as Error).message;
    await queue.finish(id, "failed", { error: message });
    const denied = (err as { code?: string }).code === "DENIED";
    return {
      id,
      status: denied ? "denied" : "failed",
      message: `Cannot execute ${id}: ${message}`,
    };
  }
}
