/**
 * Grants: what may run without asking, and taking it back. Three kinds:
 * - `token`: an Allow Always answer, a signed capability token (scope `workspace`, with an
 *   expiry and the audit entry that minted it);
 * - `allowance`: an Allow Session answer (scope `session`, no expiry);
 * - `rule`: a standing `[permissions] allow` pattern from config (scope `user`, `system` or
 *   `env`). A rule cannot be revoked: Astrid never edits the user's config, so a revoke names the
 *   file and line to edit.
 *
 * A revoke is audited (`grant_revoked`), and the same action asks again. `astrid grants`, the
 * REPL's `/permissions` and the daemon's `grants.*` methods all use these.
 *
 * @module
 */
import type { Store } from "../storage/mod.ts";
import type { Signer } from "../crypto/mod.ts";
import { blake3Hex, toHex } from "../crypto/mod.ts";
import type { AuditEntry, AuditInput, AuditListOptions } from "../audit/mod.ts";
import { TokenStore } from "../security/token_store.ts";
import { allowanceSessions, AllowanceStore } from "../security/allowances.ts";

/** One grant as listed. */
export interface Grant {
  /** A token's or allowance's UUID, or `rule-` and 12 hex digits of the pattern's BLAKE3. */
  readonly id: string;
  readonly kind: "token" | "rule" | "allowance";
  /** The resource pattern (a glob over resource URIs). */
  readonly resource: string;
  /** The permissions it grants (a rule grants whatever its pattern matches: `*`). */
  readonly permissions: readonly string[];
  readonly scope: "workspace" | "session" | "user" | "system" | "env";
  /** The workspace id (token) or session id (allowance); null for rules. */
  readonly subject: string | null;
  /** ISO time it expires, or null (allowances last the session, rules until edited). */
  readonly expiresAt: string | null;
  /** The audit entry that created it, or null (rules; an allowance whose entry is gone). */
  readonly auditSeq: number | null;
  /** For a rule: where it is set (`FILE:LINE`, a file, or an environment variable). */
  readonly source?: string;
}

/** Where a rule comes from: the config files and environment the CLI loaded. */
export interface RuleOrigin {
  readonly systemConfig: string | null;
  readonly userConfig: string | null;
  readonly env: Record<string, string | undefined>;
}

/** What listing and revoking consult. Live stores (a REPL session's) are used when given. */
export interface GrantSources {
  readonly store: Store;
  readonly signer: Signer;
  readonly audit: {
    list(opts?: AuditListOptions): Promise<AuditEntry[]>;
    append(input: AuditInput): Promise<AuditEntry>;
  };
  /** `[permissions] allow` of the merged config. */
  readonly allow: readonly string[];
  readonly origin: RuleOrigin;
  /** The session's token store; default: one opened over `store`. */
  readonly tokens?: TokenStore;
  /** The session whose allowances are live in memory. */
  readonly session?: { readonly id: string; readonly allowances: AllowanceStore };
  readonly now?: () => number;
}

/**
 * The grant sources of an opened runtime (a CLI command's, or the daemon's), with no live
 * session.
 */
export function runtimeGrantSources(rt: {
  readonly store: Store;
  readonly key: Signer;
  readonly audit: GrantSources["audit"];
  readonly config: { readonly permissions: { readonly allow: readonly string[] } };
  readonly paths: { readonly systemConfig: string; readonly userConfig: string };
  readonly io: { readonly env: Readonly<Record<string, string | undefined>> };
}): GrantSources {
  return {
    store: rt.store,
    signer: rt.key,
    audit: rt.audit,
    allow: rt.config.permissions.allow,
    origin: {
      systemConfig: rt.paths.systemConfig,
      userConfig: rt.paths.userConfig,
      env: rt.io.env,
    },
  };
}

/** What a revoke did. */
export interface RevokeResult {
  readonly grant: Grant;
  readonly auditSeq: number;
}

/** Raised by {@link revokeGrant}: `NOT_FOUND`, `AMBIGUOUS`, or `RULE` (a config rule). */
export class GrantError extends Error {
  /** Why. */
  readonly code: "NOT_FOUND" | "AMBIGUOUS" | "RULE";
  /** Creates the error. */
  constructor(code: "NOT_FOUND" | "AMBIGUOUS" | "RULE", message: string) {
    super(message);
    this.name = "GrantError";
    this.code = code;
  }
}

/**
 * The id a standing rule is listed under.
 *
 * @example Stable for a pattern
 * ```ts
 * import { equal, match } from "node:assert/strict";
 * import { ruleId } from "./grants.ts";
 * match(ruleId("exec://npm test"), /^rule-[0-9a-f]{12}$/);
 * equal(ruleId("exec://npm test"), ruleId("exec://npm test"));
 * ```
 */
export function ruleId(pattern: string): string {
  return `rule-${blake3Hex(`permissions.allow:${pattern}`).slice(0, 12)}`;
}

async function openTokens(src: GrantSources): Promise<TokenStore> {
  return src.tokens ??
    await TokenStore.open(src.store, { trustedIssuers: [toHex(src.signer.publicKey)] });
}

async function sessionAllowances(src: GrantSources, id: string): Promise<AllowanceStore> {
  return src.session?.id === id
    ? src.session.allowances
    : await AllowanceStore.load(src.store, id, src.signer);
}

/** Where `pattern` is set: the environment, else the last config file that holds it. */
async function ruleSource(pattern: string, origin: RuleOrigin): Promise<[Grant["scope"], string]> {
  if (origin.env.ASTRID_PERMISSIONS_ALLOW !== undefined) {
    return ["env", "environment variable ASTRID_PERMISSIONS_ALLOW"];
  }
  const quoted = [JSON.stringify(pattern), `'${pattern}'`];
  for (
    const [scope, file] of [["user", origin.userConfig], ["system", origin.systemConfig]] as const
  ) {
    if (file === null) continue;
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch {
      continue;
    }
    const line = text.split("\n").findIndex((l) => quoted.some((q) => l.includes(q)));
    if (line >= 0) return [scope, `${file}:${line + 1}`];
  }
  return ["user", origin.userConfig ?? "the user config"];
}

/**
 * Every grant: Allow Always tokens, session allowances (of every session) and standing rules,
 * in that order. Expired tokens are left out.
 *
 * @example A rule from config is listed
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { AuditLog } from "../audit/mod.ts";
 * import { listGrants } from "./grants.ts";
 * using store = await openStore(":memory:");
 * const signer = signerFromSeed(generateSeed());
 * const audit = await AuditLog.open(store, signer);
 * const grants = await listGrants({
 *   store, signer, audit, allow: ["exec://npm test"],
 *   origin: { systemConfig: null, userConfig: null, env: {} },
 * });
 * equal(grants[0]?.kind, "rule");
 * await audit.close();
 * ```
 */
export async function listGrants(src: GrantSources): Promise<Grant[]> {
  const now = (src.now ?? Date.now)();
  const out: Grant[] = [];
  for (const t of (await openTokens(src)).list()) {
    if (t.expiresAt <= now) continue;
    out.push({
      id: t.id,
      kind: "token",
      resource: t.resource,
      permissions: [...t.permissions],
      scope: t.scope === "persistent" ? "workspace" : "session",
      subject: t.subject,
      expiresAt: new Date(t.expiresAt).toISOString(),
      auditSeq: t.auditId,
    });
  }
  const allowances: Grant[] = [];
  const sessions = new Set(await allowanceSessions(src.store));
  if (src.session) sessions.add(src.session.id);
  for (const sessionId of [...sessions].sort()) {
    for (const a of (await sessionAllowances(src, sessionId)).list()) {
      allowances.push({
        id: a.id,
        kind: "allowance",
        resource: a.pattern,
        permissions: [a.permission],
        scope: "session",
        subject: a.sessionId,
        expiresAt: null,
        auditSeq: null,
      });
    }
  }
  if (allowances.length > 0) {
    // The interceptor audits an Allow Session answer with `approval:session allowance:<id>`.
    const seqs = new Map<string, number>();
    for (const e of await src.audit.list()) {
      const m = /^approval:session allowance:(\S+)$/.exec(e.proof);
      if (m) seqs.set(m[1]!, e.seq);
    }
    for (const a of allowances) out.push({ ...a, auditSeq: seqs.get(a.id) ?? null });
  }
  for (const pattern of src.allow) {
    const [scope, source] = await ruleSource(pattern, src.origin);
    out.push({
      id: ruleId(pattern),
      kind: "rule",
      resource: pattern,
      permissions: ["*"],
      scope,
      subject: null,
      expiresAt: null,
      auditSeq: null,
      source,
    });
  }
  return out;
}

/**
 * Revokes the grant `id` (or the one grant whose id starts with `id`, at least 4 characters)
 * and audits it. Throws {@link GrantError}: `NOT_FOUND`, `AMBIGUOUS`, or `RULE` for a standing
 * rule, whose message names the file and line to edit.
 *
 * @example A rule cannot be revoked here
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { AuditLog } from "../audit/mod.ts";
 * import { revokeGrant, ruleId } from "./grants.ts";
 * using store = await openStore(":memory:");
 * const signer = signerFromSeed(generateSeed());
 * const audit = await AuditLog.open(store, signer);
 * const src = {
 *   store, signer, audit, allow: ["exec://ls"],
 *   origin: { systemConfig: null, userConfig: null, env: {} },
 * };
 * await rejects(revokeGrant(src, ruleId("exec://ls")), { code: "RULE" });
 * await rejects(revokeGrant(src, "nope"), { code: "NOT_FOUND" });
 * await audit.close();
 * ```
 */
export async function revokeGrant(src: GrantSources, id: string): Promise<RevokeResult> {
  const wanted = id.trim().toLowerCase();
  const grants = await listGrants(src);
  const exact = grants.filter((g) => g.id === wanted);
  const matches = exact.length > 0 || wanted.length < 4
    ? exact
    : grants.filter((g) => g.id.startsWith(wanted));
  if (matches.length === 0) {
    throw new GrantError(
      "NOT_FOUND",
      `Cannot revoke ${JSON.stringify(id)}: no grant has that id; see \`astrid grants list\``,
    );
  }
  if (matches.length > 1) {
    throw new GrantError(
      "AMBIGUOUS",
      `Cannot revoke ${JSON.stringify(id)}: it starts ${matches.length} grant ids (${
        matches.map((g) => g.id).join(", ")
      }); give more of it`,
    );
  }
  const grant = matches[0]!;
  if (grant.kind === "rule") {
    throw new GrantError(
      "RULE",
      `Cannot revoke ${grant.id}: it is the standing rule allow = ${
        JSON.stringify(grant.resource)
      } set in ${grant.source}; Astrid does not edit your config: remove it from [permissions] ` +
        "allow there",
    );
  }
  const reason = "revoked by the user (grants revoke)";
  if (grant.kind === "token") {
    await (await openTokens(src)).revoke(grant.id, reason);
  } else {
    await (await sessionAllowances(src, grant.subject!)).revoke(grant.id);
  }
  const entry = await src.audit.append({
    sessionId: grant.subject ?? "cli",
    action: {
      kind: "grant_revoked",
      resource: grant.resource,
      permission: grant.permissions.join(","),
      summary: `revoked ${grant.kind} ${grant.id} (${grant.resource})`,
      detail: { kind: grant.kind, id: grant.id, createdBySeq: grant.auditSeq },
    },
    decision: "event",
    proof: "user:grants revoke",
  });
  return { grant, auditSeq: entry.seq };
}
