/**
 * RPC methods `approvals.list`, `approvals.respond` and `approvals.link`: the actions waiting for
 * a human, live prompts of daemon sessions first, then the persistent deferred queue.
 *
 * A deferred action is decided exactly as `astrid approvals approve ID --scope X` and
 * `astrid approvals deny ID` decide it (runtime/agent/deferred_decide.ts): the same audit
 * entries, the same execution through the interceptor and the action's executor, the same
 * results. The decision is atomic, so of two clients answering at once exactly one wins; the
 * other gets `Conflict`. Each decision is published as `approval.resolved`.
 *
 * While the daemon runs, a watcher polls the queue (other processes, the CLI and
 * `mcp serve`, defer into the same store): a new pending action is published as
 * `approval.requested`, one decided by another process as `approval.resolved` (by `cli`).
 *
 * @module
 */
import type { MethodGroup } from "./mod.ts";
import {
  type ClientInfo,
  type DaemonContext,
  type JsonSchema,
  type PendingApproval,
  RpcError,
  RpcErrorCode,
  type RpcMethod,
} from "../types.ts";
import {
  type ApprovalChoice,
  DeferredQueue,
  type DeferredRecord,
  suggestPatterns,
} from "../../security/approval.ts";
import {
  approveDeferred,
  DeferredDecideError,
  denyDeferred,
  resolveDeferredId,
} from "../../agent/deferred_decide.ts";
import { workspaceId } from "../../cli/context.ts";

/** How often the watcher looks at the deferred queue. */
export const WATCH_INTERVAL_MS = 500;

/** The service name of the {@link DeferredWatcher}. */
export const WATCHER_SERVICE = "approvals.watcher";

/** One entry of `approvals.list`: a {@link PendingApproval} and its status. */
export interface ListedApproval extends PendingApproval {
  readonly status: "pending" | DeferredRecord["status"];
}

/** What `approvals.respond` returns. */
export interface RespondResult {
  readonly id: string;
  /** `answered` for a live prompt; for a deferred action what `approvals approve/deny` did. */
  readonly status: "answered" | "executed" | "approved" | "denied" | "failed";
  readonly message: string;
  readonly result?: unknown;
}

const text = (description: string) => ({ type: "string", description });

const PROVENANCE: JsonSchema = {
  description: "Where the action's arguments came from; null when unknown",
  oneOf: [
    { type: "null" },
    {
      type: "object",
      properties: {
        trust: {
          enum: ["trusted", "pre_authorized", "untrusted"],
          description: "trust class of the input",
        },
        source: text("for untrusted data: where it came from"),
      },
      required: ["trust"],
    },
  ],
};

const LISTED: JsonSchema = {
  type: "object",
  description: "An action waiting for a human (or, with all, one decided already)",
  properties: {
    id: text("the approval id (a deferred id may be shortened to a unique prefix)"),
    kind: {
      enum: ["live", "deferred"],
      description: "live: a daemon session waits on it; deferred: in the persistent queue",
    },
    action: text("the action's kind: file_write, execute_command, …"),
    summary: text("one line saying what the action does"),
    resource: text("the resource URI it touches"),
    risk: { enum: ["low", "medium", "high", "critical"], description: "the action's risk" },
    reason: text("why a human is asked"),
    provenance: PROVENANCE,
    suggestions: {
      type: "array",
      items: { type: "string" },
      description: "patterns offered for an Allow Session / Always answer",
    },
    sessionId: text("the session that asked"),
    createdAt: { type: "number", description: "when it was asked (ms since the epoch)" },
    status: {
      enum: ["pending", "approved", "denied", "executed", "failed"],
      description: "pending until decided; then what became of it",
    },
  },
  required: [
    "id",
    "kind",
    "action",
    "summary",
    "resource",
    "risk",
    "reason",
    "provenance",
    "suggestions",
    "sessionId",
    "createdAt",
    "status",
  ],
};

/** A deferred record as a {@link PendingApproval} (what `approval.requested` carries). */
export function pendingFromRecord(r: DeferredRecord): PendingApproval {
  return {
    id: r.id,
    kind: "deferred",
    sessionId: r.sessionId,
    action: r.action.kind,
    summary: r.info.summary,
    resource: r.info.resource,
    risk: r.info.risk,
    reason: r.reason,
    provenance: r.provenance,
    suggestions: suggestPatterns(r.info.resource),
    createdAt: r.createdAt,
  };
}

/** A deferred record as a {@link ListedApproval}. */
export function listedFromRecord(r: DeferredRecord): ListedApproval {
  return { ...pendingFromRecord(r), status: r.status };
}

/** The `by` of an `approval.resolved` event for `client`: `cli:…`, `web:…` or `link`. */
export function answeredBy(client: ClientInfo): string {
  if (client.kind === "link") return "link";
  return client.id.startsWith(`${client.kind}:`) ? client.id : `${client.kind}:${client.id}`;
}

/**
 * Watches the deferred queue for actions deferred or decided by other processes and publishes
 * them. Decisions made through this daemon are `claim`ed first so they are not published twice.
 */
export class DeferredWatcher {
  #ctx: DaemonContext;
  #queue: DeferredQueue;
  #pending = new Set<string>();
  #claimed = new Set<string>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #busy: Promise<void> = Promise.resolve();

  /** Creates a watcher over the daemon's store. */
  constructor(ctx: DaemonContext) {
    this.#ctx = ctx;
    this.#queue = new DeferredQueue(ctx.rt.store);
  }

  /** Takes the current pending ids as known (nothing is published for them) and starts polling. */
  async start(intervalMs = WATCH_INTERVAL_MS): Promise<void> {
    for (const r of await this.#queue.list("pending")) this.#pending.add(r.id);
    this.#timer = setInterval(() => {
      this.#busy = this.#busy.then(() => this.poll()).catch(() => {});
    }, intervalMs);
  }

  /** Marks `id` as decided by this daemon (its event is published by the decider). */
  claim(id: string): void {
    this.#claimed.add(id);
  }

  /** Undoes {@link claim} when the decision did not happen here. */
  release(id: string): void {
    this.#claimed.delete(id);
  }

  /** One look at the queue: publishes new pending ids and those decided elsewhere. */
  async poll(): Promise<void> {
    const pending = await this.#queue.list("pending");
    const now = new Set(pending.map((r) => r.id));
    for (const r of pending) {
      if (this.#pending.has(r.id)) continue;
      this.#pending.add(r.id);
      this.#ctx.events.publish({ type: "approval.requested", approval: pendingFromRecord(r) });
    }
    for (const id of this.#pending) {
      if (now.has(id)) continue;
      this.#pending.delete(id);
      if (this.#claimed.delete(id)) continue;
      const r = await this.#queue.get(id);
      this.#ctx.events.publish({
        type: "approval.resolved",
        id,
        answer: r?.decision?.choice ?? "deny",
        by: "cli",
        status: r?.status ?? "failed",
      });
    }
  }

  /** Stops polling (after the poll in progress). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#busy;
  }
}

const list: RpcMethod = {
  name: "approvals.list",
  summary: "Actions waiting for a human: live prompts of daemon sessions, then the deferred queue",
  params: {
    type: "object",
    additionalProperties: false,
    properties: {
      all: { type: "boolean", description: "include decided deferred actions (default false)" },
    },
  },
  result: { type: "array", items: LISTED, description: "live prompts first, then oldest first" },
  async handler(params: { all?: boolean }, call) {
    const ctx = call.daemon;
    const live: ListedApproval[] = ctx.approvals.pending().map((p) => ({
      ...p,
      status: "pending",
    }));
    const records = await new DeferredQueue(ctx.rt.store).list(params.all ? undefined : "pending");
    const deferred = records.map(listedFromRecord);
    if (params.all) {
      deferred.sort((a, b) => Number(b.status === "pending") - Number(a.status === "pending"));
    }
    return [...live, ...deferred];
  },
};

const RESPOND_RESULT: JsonSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    id: text("the full approval id"),
    status: {
      enum: ["answered", "executed", "approved", "denied", "failed"],
      description: "answered (a live prompt), or what `astrid approvals approve/deny` did: " +
        "executed, approved (nothing to execute), denied (by the human, or by policy on " +
        "re-check), failed",
    },
    message: text("one line for the human"),
    result: { description: "what the executed action returned (a tool result)" },
  },
  required: ["id", "status", "message"],
};

async function decideDeferred(
  ctx: DaemonContext,
  id: string,
  answer: ApprovalChoice,
  reason: string | null,
): Promise<RespondResult> {
  const queue = new DeferredQueue(ctx.rt.store);
  if (answer === "deny") {
    const { message } = await denyDeferred(ctx.rt, queue, id, reason);
    return { id, status: "denied", message };
  }
  const rt = ctx.rt;
  const { defaultExecutors } = await import("../../cli/executors.ts");
  const decide = {
    store: rt.store,
    key: rt.key,
    audit: rt.audit,
    config: rt.config,
    walls: rt.walls,
    workspaceRoot: rt.paths.workspaceRoot,
    workspaceId,
  };
  try {
    return await approveDeferred(decide, queue, defaultExecutors(rt), id, answer);
  } catch (err) {
    // The record is marked failed: the answer was taken, the action could not be carried out.
    const code = (err as { code?: string }).code;
    if (code === "NO_WORKSPACE" || code === "NO_EXECUTOR") {
      return { id, status: "failed", message: (err as Error).message };
    }
    throw err;
  }
}

function rpcErrorOf(err: unknown): unknown {
  if (!(err instanceof DeferredDecideError)) return err;
  switch (err.code) {
    case "NOT_FOUND":
      return new RpcError(RpcErrorCode.NotFound, err.message);
    case "NOT_PENDING":
      return new RpcError(RpcErrorCode.Conflict, err.message);
    case "AMBIGUOUS":
      return new RpcError(RpcErrorCode.InvalidParams, err.message, { candidates: err.candidates });
    default:
      return new RpcError(RpcErrorCode.Internal, err.message);
  }
}

const respond: RpcMethod = {
  name: "approvals.respond",
  summary: "Answer an approval: a live prompt, or a deferred action exactly as " +
    "`astrid approvals approve/deny` decides it",
  params: {
    type: "object",
    additionalProperties: false,
    properties: {
      id: { ...text("the approval id (a deferred id may be a unique prefix)"), minLength: 1 },
      answer: {
        enum: ["once", "session", "always", "deny"],
        description: "Allow Once, Allow Session, Allow Always, or Deny",
      },
      pattern: text("for a live session/always answer: one of the request's suggestions"),
      reason: text("why (recorded in the audit log with a deny)"),
    },
    required: ["id", "answer"],
  },
  result: RESPOND_RESULT,
  async handler(
    params: { id: string; answer: ApprovalChoice; pattern?: string; reason?: string },
    call,
  ): Promise<RespondResult> {
    const ctx = call.daemon;
    const by = answeredBy(call.client);
    const live = ctx.approvals.pending().some((p) => p.id === params.id);
    if (live) {
      const answer = {
        choice: params.answer,
        ...(params.pattern === undefined ? {} : { pattern: params.pattern }),
        ...(params.reason === undefined ? {} : { reason: params.reason }),
      };
      if (ctx.approvals.answer(params.id, answer, by)) {
        return {
          id: params.id,
          status: "answered",
          message: `answered ${params.id}: ${params.answer}`,
        };
      }
      throw new RpcError(
        RpcErrorCode.Conflict,
        `Cannot answer ${params.id}: it is already settled`,
      );
    }
    const watcher = ctx.services.get<DeferredWatcher>(WATCHER_SERVICE);
    const queue = new DeferredQueue(ctx.rt.store);
    let id = params.id;
    try {
      id = await resolveDeferredId(queue, params.id);
      watcher?.claim(id);
      const outcome = await decideDeferred(ctx, id, params.answer, params.reason ?? null);
      ctx.events.publish({
        type: "approval.resolved",
        id,
        answer: params.answer,
        by,
        status: outcome.status,
      });
      return outcome;
    } catch (err) {
      if ((err as { code?: string }).code === "NOT_PENDING") watcher?.release(id);
      throw rpcErrorOf(err);
    }
  },
};

const link: RpcMethod = {
  name: "approvals.link",
  summary: "Mint a single-use link that answers one pending approval from a browser (a phone)",
  params: {
    type: "object",
    additionalProperties: false,
    properties: { id: { ...text("the approval id (or a unique prefix)"), minLength: 1 } },
    required: ["id"],
  },
  result: {
    type: "object",
    additionalProperties: false,
    properties: {
      url: text("the one-time link"),
      expiresAt: { type: "number", description: "when it stops working (ms since the epoch)" },
    },
    required: ["url", "expiresAt"],
  },
  async handler(params: { id: string }, call) {
    const ctx = call.daemon;
    if (ctx.approvals.pending().some((p) => p.id === params.id)) {
      return await ctx.links.mint(params.id);
    }
    const queue = new DeferredQueue(ctx.rt.store);
    let id: string;
    try {
      id = await resolveDeferredId(queue, params.id);
    } catch (err) {
      throw rpcErrorOf(err);
    }
    const record = await queue.get(id);
    if (record?.status !== "pending") {
      throw new RpcError(
        RpcErrorCode.Conflict,
        `Cannot link ${id}: its status is already ${record?.status}`,
      );
    }
    return await ctx.links.mint(id);
  },
};

/** The approvals methods, and the watcher of the deferred queue. */
export const group: MethodGroup = {
  methods: [list, respond, link],
  async start(ctx) {
    const watcher = new DeferredWatcher(ctx);
    await watcher.start();
    ctx.services.set(WATCHER_SERVICE, watcher);
    return () => watcher.close();
  },
};
