/**
 * `astrid sessions list|show ID|delete ID|cleanup [--older-than DAYS]`, all with `--json`.
 * A turn whose process died (SIGKILL mid-turn) is shown as `interrupted`.
 *
 * @module
 */
import { Command } from "commander";
import {
  type SessionHeader,
  type SessionMessage,
  SessionStore,
  type TurnRecord,
} from "../../agent/mod.ts";
import { type CliIo, printJson, wantsJson, withRuntime } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";

/**
 * True when process `pid` still runs on this machine (Linux `/proc`; elsewhere, or where this
 * process may not read `/proc`, assumed alive).
 *
 * @example This process is alive
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { processAlive } from "./sessions.ts";
 * ok(processAlive(Deno.pid));
 * ```
 */
export function processAlive(pid: number): boolean {
  if (Deno.build.os !== "linux") return true;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotCapable)) return false;
  }
  // Deno lets only an --allow-all process read /proc: the launcher's narrowed runtime asks
  // `kill -0` instead, and assumes the process runs when it may not even do that.
  try {
    return new Deno.Command("kill", { args: ["-0", String(pid)], stderr: "null" }).outputSync()
      .success;
  } catch {
    return true;
  }
}

/**
 * The header and turns as a reader should see them: a `running` session whose owning process
 * is gone is `idle`, and its running turn `interrupted`.
 *
 * @example A dead owner means an interrupted turn
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { effectiveView } from "./sessions.ts";
 * const header = { status: "running", ownerPid: 999_999_999 } as never;
 * const turn = { n: 1, status: "running" } as never;
 * const view = effectiveView(header, [turn], () => false);
 * equal(view.turns[0]?.status, "interrupted");
 * ```
 */
export function effectiveView(
  header: SessionHeader,
  turns: readonly TurnRecord[],
  alive: (pid: number) => boolean = processAlive,
): { header: SessionHeader; turns: TurnRecord[] } {
  const dead = header.status === "running" &&
    (header.ownerPid === null || !alive(header.ownerPid));
  if (!dead) return { header, turns: [...turns] };
  return {
    header: { ...header, status: "idle" },
    turns: turns.map((t) => t.status === "running" ? { ...t, status: "interrupted" } : t),
  };
}

/**
 * The one id among `ids` that is `given` or starts with it (git-like short ids). An exact match
 * wins; no match is null; several are a usage error that lists them.
 *
 * @example A unique prefix names the session
 * ```ts
 * import { equal, throws } from "node:assert/strict";
 * import { matchId } from "./sessions.ts";
 * equal(matchId("ab", ["abc1", "def2"], "session"), "abc1");
 * equal(matchId("zz", ["abc1"], "session"), null);
 * throws(() => matchId("a", ["abc1", "abd2"], "session"));
 * ```
 */
export function matchId(given: string, ids: Iterable<string>, noun: string): string | null {
  const all = [...new Set(ids)];
  if (all.includes(given)) return given;
  const found = given === "" ? [] : all.filter((id) => id.startsWith(given));
  if (found.length <= 1) return found[0] ?? null;
  throw new CliError(
    `Cannot pick a ${noun}: ${given} is ambiguous; it starts ${found.length} ids:\n  ${
      found.slice(0, 10).join("\n  ")
    }${found.length > 10 ? "\n  …" : ""}`,
    ExitCode.Usage,
  );
}

/** The hint an unknown session id ends with. */
export const NO_SUCH_SESSION = "no such session — see `astrid sessions list`";

/**
 * The full id of the stored session `given` names (the id or a unique prefix of it). Unknown
 * is a "not found" error (exit 1); an ambiguous prefix a usage error listing the candidates.
 */
export async function resolveSessionId(store: SessionStore, given: string): Promise<string> {
  const id = matchId(given, (await store.list()).map((h) => h.id), "session");
  if (id === null) throw new CliError(`${given}: ${NO_SUCH_SESSION}`, ExitCode.Error);
  return id;
}

/**
 * Builds the `sessions` command tree.
 *
 * @example The subcommands
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { sessionsCommand } from "./sessions.ts";
 * const io = { env: {}, cwd: "/", isTty: false, stdout() {}, stderr() {} };
 * deepEqual(sessionsCommand(io).commands.map((c) => c.name()), ["list", "show", "delete", "cleanup"]);
 * ```
 */
export function sessionsCommand(io: CliIo): Command {
  const sessions = new Command("sessions").description("List, show and delete agent sessions");
  sessions.command("list")
    .description("List sessions, most recent first")
    .option("--json", "machine-readable output")
    .action(async (_opts: unknown, cmd: Command) => {
      await withRuntime(cmd, io, async (rt) => {
        const store = new SessionStore(rt.store);
        const headers = (await store.list()).map((h) => effectiveView(h, []).header);
        if (wantsJson(cmd, io)) return printJson(io, headers);
        if (headers.length === 0) return io.stdout("no sessions\n");
        for (const h of headers) {
          const parent = h.parentId ? ` (sub-agent of ${h.parentId})` : "";
          io.stdout(
            `${h.id}  ${h.status.padEnd(7)} ${new Date(h.updatedAt).toISOString()}  ${
              String(h.turnCount).padStart(3)
            } turns  ${h.model}  ${h.title}${parent}\n`,
          );
        }
      });
    });
  sessions.command("show")
    .description("Show a session: header, turns and transcript")
    .argument("<id>", "session id (or a unique prefix of it)")
    .option("--json", "machine-readable output")
    .action(async (given: string, _opts: unknown, cmd: Command) => {
      await withRuntime(cmd, io, async (rt) => {
        const store = new SessionStore(rt.store);
        const id = await resolveSessionId(store, given);
        const session = await store.load(id);
        const view = effectiveView(session.header, session.turns);
        if (wantsJson(cmd, io)) {
          return printJson(io, { ...view, messages: session.messages });
        }
        const h = view.header;
        io.stdout(
          `session   ${h.id}\nstatus    ${h.status}\nmodel     ${h.provider} ${h.model}\n` +
            `workspace ${h.workspaceRoot}\nparent    ${h.parentId ?? "-"}\n` +
            `created   ${new Date(h.createdAt).toISOString()}\n` +
            `updated   ${new Date(h.updatedAt).toISOString()}\n\nturns:\n`,
        );
        for (const t of view.turns) {
          io.stdout(
            `  #${t.n} ${t.status.padEnd(15)} $${t.costUsd.toFixed(4)}  ${t.prompt.slice(0, 60)}${
              t.error ? `\n      ${t.error}` : ""
            }\n`,
          );
        }
        io.stdout("\ntranscript:\n");
        for (const m of session.messages) io.stdout(renderMessage(m));
      });
    });
  sessions.command("delete")
    .description("Delete a session and its transcript")
    .argument("<id>", "session id (or a unique prefix of it)")
    .option("--json", "machine-readable output")
    .action(async (given: string, _opts: unknown, cmd: Command) => {
      await withRuntime(cmd, io, async (rt) => {
        const store = new SessionStore(rt.store);
        const id = await resolveSessionId(store, given);
        const deleted = await store.delete(id);
        if (!deleted) throw new CliError(`${given}: ${NO_SUCH_SESSION}`);
        if (wantsJson(cmd, io)) return printJson(io, { deleted: [id] });
        io.stdout(`deleted ${id}\n`);
      });
    });
  sessions.command("cleanup")
    .description("Delete sessions not updated for a number of days (running ones are kept)")
    .option("--older-than <days>", "age in days", "30")
    .option("--json", "machine-readable output")
    .action(async (opts: { olderThan: string }, cmd: Command) => {
      const days = Number(opts.olderThan);
      if (!Number.isFinite(days) || days < 0) {
        throw new CliError(
          `Cannot clean up sessions: --older-than is ${opts.olderThan}, expected a number of days >= 0`,
          ExitCode.Usage,
        );
      }
      await withRuntime(cmd, io, async (rt) => {
        const store = new SessionStore(rt.store);
        const cutoff = Date.now() - days * 86_400_000;
        const deleted: string[] = [];
        for (const h of await store.list()) {
          if (h.updatedAt > cutoff) continue;
          if (effectiveView(h, []).header.status === "running") continue;
          await store.delete(h.id);
          deleted.push(h.id);
        }
        if (wantsJson(cmd, io)) return printJson(io, { deleted });
        io.stdout(`deleted ${deleted.length} session(s)\n`);
      });
    });
  return sessions;
}

function renderMessage(m: SessionMessage): string {
  const label = `[${m.message.role} · ${m.trust}${m.source ? ` · ${m.source}` : ""}]`;
  const parts = m.message.content.map((c) => {
    if (c.type === "text") return c.text;
    if (c.type === "tool_use") return `tool_use ${c.name} ${JSON.stringify(c.args)}`;
    const body = c.content.length > 400 ? `${c.content.slice(0, 400)}…` : c.content;
    return `tool_result${c.isError ? " (error)" : ""}: ${body}`;
  });
  return `${label}\n  ${parts.join("\n  ").replaceAll("\n", "\n  ")}\n`;
}
