/**
 * `astrid grants list [--json]|revoke ID`: what may run without asking, and taking it back.
 *
 * Three kinds of grant:
 * - `token`: an Allow Always answer, a signed capability token (scope `workspace`, with an
 *   expiry and the audit entry that minted it);
 * - `allowance`: an Allow Session answer (scope `session`, no expiry);
 * - `rule`: a standing `[permissions] allow` pattern from config (scope `user`, `system` or
 *   `env`). A rule cannot be revoked here: Astrid never edits the user's config, so `revoke`
 *   names the file and line to edit and exits 2.
 *
 * A revoke is audited (`grant_revoked`), and the same action asks again. The REPL's
 * `/permissions` uses `listGrants` and `revokeGrant` (runtime/agent/grants.ts) over the live
 * session's stores.
 *
 * @module
 */
import { Command } from "commander";
import type { AllowanceStore } from "../../security/allowances.ts";
import type { TokenStore } from "../../security/token_store.ts";
import {
  type Grant,
  GrantError,
  type GrantSources,
  listGrants,
  revokeGrant,
  type RevokeResult,
  runtimeGrantSources,
} from "../../agent/grants.ts";
import { type CliIo, printJson, type Runtime, wantsJson, withRuntime } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";

export {
  type Grant,
  GrantError,
  type GrantSources,
  listGrants,
  revokeGrant,
  type RevokeResult,
  ruleId,
  type RuleOrigin,
  runtimeGrantSources,
} from "../../agent/grants.ts";

/**
 * Grants as aligned text lines (id, kind, scope, expiry, audit seq, permissions, resource).
 *
 * @example
 * ```ts
 * import { match } from "node:assert/strict";
 * import { formatGrants } from "./grants.ts";
 * const lines = formatGrants([{
 *   id: "rule-0123456789ab", kind: "rule", resource: "exec://ls", permissions: ["*"],
 *   scope: "user", subject: null, expiresAt: null, auditSeq: null, source: "/h/config.toml:3",
 * }]);
 * match(lines[1] ?? "", /rule-0123456789ab\s+rule\s+user/);
 * ```
 */
export function formatGrants(grants: readonly Grant[]): string[] {
  if (grants.length === 0) {
    return ["no grants: nothing runs without asking beyond what the workspace mode allows"];
  }
  const lines = [
    `${"ID".padEnd(36)}  ${"KIND".padEnd(9)}  ${"SCOPE".padEnd(9)}  ${"EXPIRES".padEnd(20)}  ${
      "AUDIT".padEnd(6)
    }  RESOURCE`,
  ];
  for (const g of grants) {
    const expires = g.expiresAt === null
      ? (g.kind === "allowance" ? "end of session" : "never")
      : g.expiresAt.slice(0, 19).replace("T", " ");
    const seq = g.auditSeq === null ? "-" : `#${g.auditSeq}`;
    const where = g.kind === "rule" ? `  (${g.source})` : "";
    lines.push(
      `${g.id.padEnd(36)}  ${g.kind.padEnd(9)}  ${g.scope.padEnd(9)}  ${expires.padEnd(20)}  ${
        seq.padEnd(6)
      }  ${printable(g.permissions.join(","))} ${printable(g.resource)}${printable(where)}`,
    );
  }
  return lines;
}

function printable(text: string): string {
  // deno-lint-ignore no-control-regex -- patterns may hold planted control characters
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
}

/**
 * Builds the `grants` command tree.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { grantsCommand } from "./grants.ts";
 * const io = { env: {}, cwd: "/", isTty: false, stdout() {}, stderr() {} };
 * deepEqual(grantsCommand(io).commands.map((c) => c.name()), ["list", "revoke"]);
 * ```
 */
export function grantsCommand(io: CliIo): Command {
  const grants = new Command("grants").description(
    "List and revoke what runs without asking: Allow Always tokens, session allowances and " +
      "standing [permissions] allow rules",
  );
  grants.command("list")
    .description("List grants: id, kind, scope, expiry, the audit entry that created it")
    .option("--json", "machine-readable output")
    .action(async (_opts: unknown, cmd: Command) => {
      await withRuntime(cmd, io, async (rt) => {
        const list = await listGrants(runtimeGrantSources(rt));
        if (wantsJson(cmd, io)) return printJson(io, list);
        for (const line of formatGrants(list)) io.stdout(`${line}\n`);
      });
    });
  grants.command("revoke")
    .description("Revoke a token or allowance (a rule names the config line to edit, exit 2)")
    .argument("<id>", "grant id, or a unique prefix of it (see `astrid grants list`)")
    .option("--json", "machine-readable output")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await withRuntime(cmd, io, async (rt) => {
        let result: RevokeResult;
        try {
          result = await revokeGrant(runtimeGrantSources(rt), id);
        } catch (err) {
          if (!(err instanceof GrantError)) throw err;
          throw new CliError(
            err.message,
            err.code === "NOT_FOUND" ? ExitCode.Error : ExitCode.Usage,
          );
        }
        if (wantsJson(cmd, io)) return printJson(io, result);
        const g = result.grant;
        io.stdout(
          `revoked ${g.kind} ${g.id} (${printable(g.resource)}); audit #${result.auditSeq}\n`,
        );
      });
    });
  return grants;
}

/**
 * The REPL's `/permissions [list | revoke ID]`: the same list as `astrid grants list`, over the
 * live session's stores, and a revoke; returns the lines to print. Without sources (a REPL
 * opened without them) it says so.
 *
 * @example Usage for an unknown subcommand
 * ```ts
 * import { match } from "node:assert/strict";
 * import { permissionsCommand } from "./grants.ts";
 * match((await permissionsCommand("frobnicate", undefined))[0] ?? "", /not available|usage/);
 * ```
 */
export async function permissionsCommand(
  args: string,
  src: GrantSources | undefined,
): Promise<string[]> {
  const [sub = "list", id, ...extra] = args.trim().split(/\s+/).filter((w) => w !== "");
  if (src === undefined) return ["grants are not available in this session"];
  if (sub === "list" && id === undefined) return formatGrants(await listGrants(src));
  if (sub !== "revoke" || id === undefined || extra.length > 0) {
    return ["usage: /permissions [list] | /permissions revoke ID"];
  }
  try {
    const { grant, auditSeq } = await revokeGrant(src, id);
    return [
      `revoked ${grant.kind} ${grant.id} (${printable(grant.resource)}); audit #${auditSeq}`,
      "the next action it covered asks again",
    ];
  } catch (err) {
    if (err instanceof GrantError) return [printable(err.message)];
    throw err;
  }
}

/**
 * The grant sources of a chat session: the runtime's, with the session's live token store and
 * allowances (so a revoke takes effect in the running session at once).
 */
export function sessionGrantSources(
  rt: Runtime,
  live: {
    readonly sessionId: string;
    readonly tokens: TokenStore;
    readonly allowances: AllowanceStore;
  },
): GrantSources {
  return {
    ...runtimeGrantSources(rt),
    tokens: live.tokens,
    session: { id: live.sessionId, allowances: live.allowances },
  };
}
