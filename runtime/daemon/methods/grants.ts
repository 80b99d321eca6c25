/**
 * RPC methods `grants.list`, `grants.revoke`, `allowances.list` and `budget.get`: what runs
 * without asking (as `astrid grants list --json` lists it, and `astrid grants revoke` revokes
 * it, audited), one session's allowances, and what sessions have spent.
 *
 * Budgets are per session (`[budget] session_usd`); the store holds no workspace-wide limit, so
 * `budget.get` also reports the total spent by every session in the store, without a limit.
 *
 * @module
 */
import type { MethodGroup } from "./mod.ts";
import {
  type DaemonContext,
  type JsonSchema,
  RpcError,
  RpcErrorCode,
  type RpcMethod,
} from "../types.ts";
import {
  type Grant,
  GrantError,
  type GrantSources,
  listGrants,
  revokeGrant,
  runtimeGrantSources,
} from "../../agent/grants.ts";
import { type BudgetState, SessionBudget } from "../../security/budget.ts";

const text = (description: string) => ({ type: "string", description });
const nullable = (type: string, description: string) => ({ type: [type, "null"], description });

const GRANT: JsonSchema = {
  type: "object",
  additionalProperties: false,
  description: "One grant, as `astrid grants list --json` prints it",
  properties: {
    id: text("a token's or allowance's UUID, or rule- and 12 hex digits"),
    kind: { enum: ["token", "rule", "allowance"], description: "what kind of grant" },
    resource: text("the resource pattern (a glob over resource URIs)"),
    permissions: {
      type: "array",
      items: { type: "string" },
      description: "the permissions it grants (* for a rule)",
    },
    scope: {
      enum: ["workspace", "session", "user", "system", "env"],
      description: "how far it reaches, or where a rule is set",
    },
    subject: nullable("string", "the workspace id (token) or session id (allowance)"),
    expiresAt: nullable("string", "ISO time it expires, or null"),
    auditSeq: nullable("integer", "the audit entry that created it"),
    source: text("for a rule: where it is set (FILE:LINE, a file, or an environment variable)"),
  },
  required: ["id", "kind", "resource", "permissions", "scope", "subject", "expiresAt", "auditSeq"],
};

const GRANTS: JsonSchema = {
  type: "array",
  items: GRANT,
  description: "tokens, allowances, rules",
};

/** The grant sources of the daemon's runtime. */
const sources = (ctx: DaemonContext): GrantSources => runtimeGrantSources(ctx.rt);

const grantsList: RpcMethod = {
  name: "grants.list",
  summary: "What runs without asking: Allow Always tokens, session allowances, standing rules",
  params: { type: "object", additionalProperties: false, properties: {} },
  result: GRANTS,
  async handler(_params: Record<string, never>, call): Promise<Grant[]> {
    return await listGrants(sources(call.daemon));
  },
};

const grantsRevoke: RpcMethod = {
  name: "grants.revoke",
  summary: "Revoke a token or allowance (audited); a standing rule names the config line to edit",
  params: {
    type: "object",
    additionalProperties: false,
    properties: {
      id: {
        type: "string",
        minLength: 1,
        description: "the grant id, or a unique prefix of at least 4 characters",
      },
    },
    required: ["id"],
  },
  result: {
    type: "object",
    additionalProperties: false,
    properties: {
      grant: GRANT,
      auditSeq: { type: "integer", description: "the audit entry recording the revoke" },
    },
    required: ["grant", "auditSeq"],
  },
  async handler(params: { id: string }, call) {
    try {
      return await revokeGrant(sources(call.daemon), params.id);
    } catch (err) {
      if (!(err instanceof GrantError)) throw err;
      // A rule is refused: Astrid does not edit the user's config (the message says where).
      const code = err.code === "NOT_FOUND"
        ? RpcErrorCode.NotFound
        : err.code === "AMBIGUOUS"
        ? RpcErrorCode.InvalidParams
        : RpcErrorCode.Denied;
      throw new RpcError(code, err.message, { code: err.code });
    }
  },
};

const allowancesList: RpcMethod = {
  name: "allowances.list",
  summary: "One session's Allow Session allowances",
  params: {
    type: "object",
    additionalProperties: false,
    properties: { sessionId: { type: "string", minLength: 1, description: "the session id" } },
    required: ["sessionId"],
  },
  result: GRANTS,
  async handler(params: { sessionId: string }, call): Promise<Grant[]> {
    const all = await listGrants({ ...sources(call.daemon), allow: [] });
    return all.filter((g) => g.kind === "allowance" && g.subject === params.sessionId);
  },
};

const STATE: JsonSchema = {
  type: "object",
  additionalProperties: false,
  description: "A session's budget across every process sharing the store, in USD",
  properties: {
    sessionId: text("the session"),
    spentUsd: { type: "number", description: "spent so far" },
    reservedUsd: { type: "number", description: "set aside by actions in flight" },
    limitUsd: { type: "number", description: "[budget] session_usd" },
    remainingUsd: { type: "number", description: "limit - spent - reserved, never below 0" },
    warned: { type: "boolean", description: "the warn_at threshold was crossed" },
  },
  required: ["sessionId", "spentUsd", "reservedUsd", "limitUsd", "remainingUsd", "warned"],
};

/** What `budget.get` returns. */
export interface BudgetReport {
  readonly session: (BudgetState & { readonly sessionId: string }) | null;
  readonly total: {
    readonly sessions: number;
    readonly spentUsd: number;
    readonly reservedUsd: number;
  };
  readonly limits: {
    readonly sessionUsd: number;
    readonly perActionUsd: number;
    readonly warnAt: number;
  };
}

const budgetGet: RpcMethod = {
  name: "budget.get",
  summary: "A session's budget (spent, reserved, limit, remaining) and the total of all sessions",
  params: {
    type: "object",
    additionalProperties: false,
    properties: {
      sessionId: { type: "string", minLength: 1, description: "the session (default: none)" },
    },
  },
  result: {
    type: "object",
    additionalProperties: false,
    properties: {
      session: { oneOf: [{ type: "null" }, STATE], description: "the session's budget, or null" },
      total: {
        type: "object",
        additionalProperties: false,
        description: "every session with a budget record in the store (there is no overall limit)",
        properties: {
          sessions: { type: "integer", description: "sessions with a budget record" },
          spentUsd: { type: "number", description: "their total spend" },
          reservedUsd: { type: "number", description: "their reservations in flight" },
        },
        required: ["sessions", "spentUsd", "reservedUsd"],
      },
      limits: {
        type: "object",
        additionalProperties: false,
        description: "the configured [budget]",
        properties: {
          sessionUsd: { type: "number", description: "what one session may spend" },
          perActionUsd: { type: "number", description: "the largest single reservation" },
          warnAt: { type: "number", description: "fraction of session_usd that warns" },
        },
        required: ["sessionUsd", "perActionUsd", "warnAt"],
      },
    },
    required: ["session", "total", "limits"],
  },
  async handler(params: { sessionId?: string }, call): Promise<BudgetReport> {
    const { store, config } = call.daemon.rt;
    const limits = {
      sessionUsd: config.budget.session_usd,
      perActionUsd: config.budget.per_action_usd,
      warnAt: config.budget.warn_at,
    };
    const stateOf = async (id: string) => (await SessionBudget.load(store, id, limits)).state();
    const ids: string[] = [];
    for await (const e of store.list({ prefix: ["budget"] })) {
      if (e.key.length === 2 && typeof e.key[1] === "string") ids.push(e.key[1]);
    }
    const total = { sessions: 0, spentUsd: 0, reservedUsd: 0 };
    for (const id of ids) {
      const s = await stateOf(id);
      total.sessions++;
      total.spentUsd += s.spentUsd;
      total.reservedUsd += s.reservedUsd;
    }
    const id = params.sessionId;
    const micros = (usd: number) => Math.round(usd * 1e6) / 1e6;
    return {
      session: id === undefined ? null : { sessionId: id, ...await stateOf(id) },
      total: { ...total, spentUsd: micros(total.spentUsd), reservedUsd: micros(total.reservedUsd) },
      limits,
    };
  },
};

/** The grants, allowances and budget methods. */
export const group: MethodGroup = {
  methods: [grantsList, grantsRevoke, allowancesList, budgetGet],
};
