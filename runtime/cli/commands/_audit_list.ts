/**
 * `astrid audit list`: the latest entries of the audit log, oldest first. Kept apart from
 * audit.ts (the commander tree) so that main.ts can run it without loading commander.
 *
 * @module
 */
import type { AuditEntry } from "../../audit/mod.ts";
import { type CliIo, type OptionSource, printJson, wantsJson, withRuntime } from "../context.ts";

/** What `audit list` takes besides the global options. */
export interface AuditListOptions {
  /** Only this session's entries. */
  readonly session?: string;
  /** How many entries (default 50). */
  readonly limit?: number;
}

/**
 * Lists the latest entries (oldest first) as a table, or as JSON with `--json`. Opening the
 * runtime checks the signed head, the chain's tail and the witness first (exit 5 on tampering).
 */
export async function listAudit(
  io: CliIo,
  opts: AuditListOptions,
  cmd: OptionSource,
): Promise<void> {
  await withRuntime(cmd, io, async (rt) => {
    const filter = opts.session === undefined ? {} : { sessionId: opts.session };
    const entries = (await rt.audit.list({ ...filter, limit: opts.limit ?? 50, reverse: true }))
      .reverse();
    if (wantsJson(cmd, io)) printJson(io, entries);
    else if (entries.length === 0) io.stdout("no audit entries\n");
    else io.stdout(formatTable(entries));
  });
}

function oneLine(text: string, width: number): string {
  const flat = text.replace(/\p{Cc}+/gu, " ");
  return flat.length > width ? flat.slice(0, width - 1) + "…" : flat;
}

/**
 * Renders entries as an aligned text table (control characters flattened).
 *
 * @example No entries: the header alone
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { formatTable } from "./_audit_list.ts";
 * equal(formatTable([]), "SEQ  TIME  SESSION  DECISION  SUMMARY  PROOF\n");
 * ```
 */
export function formatTable(entries: AuditEntry[]): string {
  const rows = entries.map((e) => [
    String(e.seq),
    new Date(e.ts).toISOString().replace("T", " ").slice(0, 19),
    oneLine(e.sessionId, 24),
    e.decision,
    oneLine(e.action.summary, 48),
    oneLine(e.proof, 32),
  ]);
  const head = ["SEQ", "TIME", "SESSION", "DECISION", "SUMMARY", "PROOF"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows]
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  "))
    .join("\n") + "\n";
}
