/**
 * `astrid approvals list`: the deferred queue, pending first. Kept apart from approvals.ts (the
 * commander tree) so that main.ts can run it without loading commander.
 *
 * @module
 */
import { DeferredQueue } from "../../security/approval.ts";
import { type CliIo, type OptionSource, printJson, wantsJson, withRuntime } from "../context.ts";

/** What `approvals list` takes besides the global options. */
export interface ApprovalsListOptions {
  /** Include decided ones. */
  readonly all?: boolean;
}

/** Lists deferred actions (pending ones, or all with `--all`), or prints them as JSON. */
export async function listApprovals(
  io: CliIo,
  opts: ApprovalsListOptions,
  cmd: OptionSource,
): Promise<void> {
  await withRuntime(cmd, io, async (rt) => {
    const records = await new DeferredQueue(rt.store).list(opts.all ? undefined : "pending");
    if (wantsJson(cmd, io)) return printJson(io, records);
    if (records.length === 0) return io.stdout("no pending approvals\n");
    // One write for the whole list (a write per record is a system call each).
    io.stdout(
      records.map((r) =>
        `${r.id}  ${r.status.padEnd(8)} ${
          r.info.risk.padEnd(8)
        } ${r.info.summary}\n    why: ${r.reason}\n`
      ).join(""),
    );
  });
}
