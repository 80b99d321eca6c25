/**
 * The daemon's contracts: what an RPC method is, what it is called with, the events it
 * streams, and the parts of the daemon that method groups reach through {@link DaemonContext}.
 * Every method group (`methods/*.ts`) and every frontend codes against these types only.
 *
 * @module
 */
import type { Runtime } from "../cli/context.ts";
import type {
  ApprovalAnswer,
  ApprovalRequest,
  ElicitationAnswer,
  ElicitationField,
  Provenance,
} from "../security/approval.ts";
import type { ActionInfo } from "../security/action.ts";

/** A JSON Schema (draft 2020-12 subset that ajv understands), as a plain object. */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** Who is on the other end of a connection. */
export interface ClientInfo {
  /** Unique per connection. */
  readonly id: string;
  /** `cli` (bearer token), `web` (browser session cookie), `link` (one-time approval link). */
  readonly kind: "cli" | "web" | "link";
  /** What the client said it is (`clientInfo` of `status`/`events.subscribe`), or the kind. */
  readonly name: string;
}

/** One call of a method. */
export interface RpcCall {
  readonly daemon: DaemonContext;
  readonly client: ClientInfo;
  /** Aborted when the connection closes. */
  readonly signal: AbortSignal;
  /** Sends a JSON-RPC notification to this connection only. */
  notify(method: string, params: unknown): void;
}

/**
 * One JSON-RPC method. `params` is validated against `params` before `handler` runs (a
 * mismatch is error -32602 naming the field); `result` documents what it returns (docs/rpc.md
 * is generated from these; tests validate results against it).
 */
export interface RpcMethod {
  /** Dotted noun: `approvals.respond`. */
  readonly name: string;
  /** One line for docs/rpc.md. */
  readonly summary: string;
  readonly params: JsonSchema;
  readonly result: JsonSchema;
  // deno-lint-ignore no-explicit-any
  handler(params: any, call: RpcCall): Promise<unknown>;
}

/** Application error codes (JSON-RPC reserves -32768..-32000 for the protocol and server). */
export const RpcErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  Internal: -32603,
  /** An unknown id (session, approval, server, capsule, grant). */
  NotFound: -32004,
  /** Refused by policy, a human, or because the client may not do it. */
  Denied: -32003,
  /** The thing is in the wrong state (already decided, already running). */
  Conflict: -32009,
  /** An integrity failure (audit verify, capsule hash). */
  Integrity: -32005,
} as const;

/** An error a handler throws to answer with a JSON-RPC error object. */
export class RpcError extends Error {
  /** One of {@link RpcErrorCode}. */
  readonly code: number;
  /** Extra detail for the client. */
  readonly data: unknown;
  /** Creates the error. */
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = "RpcError";
    this.code = code;
    this.data = data;
  }
}

/** An approval waiting for an answer: a live prompt of a daemon session, or a deferred one. */
export interface PendingApproval {
  readonly id: string;
  /** `live`: a session in the daemon is waiting on it; `deferred`: in the persistent queue. */
  readonly kind: "live" | "deferred";
  readonly sessionId: string;
  /** The action's kind (`file_write`, …). */
  readonly action: string;
  readonly summary: string;
  readonly resource: string;
  readonly risk: ActionInfo["risk"];
  readonly reason: string;
  readonly provenance: Provenance | null;
  readonly suggestions: readonly string[];
  readonly createdAt: number;
}

/** A request of an MCP server (in a daemon session) for information, waiting for a human. */
export interface PendingElicitation {
  readonly id: string;
  readonly sessionId: string;
  /** The server that asks. */
  readonly from: string;
  readonly mode: "form" | "url";
  readonly message: string;
  /** The form's fields (`form` mode). */
  readonly fields: readonly ElicitationField[];
  /** The page to visit (`url` mode). */
  readonly url: string | null;
  readonly createdAt: number;
}

/**
 * What the daemon streams to `events.subscribe` subscribers, as `events.event` notifications
 * with params `{ seq, event }`.
 */
export type DaemonEvent =
  | { readonly type: "session.started"; readonly sessionId: string; readonly workspace: string }
  | {
    readonly type: "session.status";
    readonly sessionId: string;
    readonly status: "idle" | "running" | "ended" | "interrupted";
  }
  | { readonly type: "turn.start"; readonly sessionId: string; readonly turn: number }
  | { readonly type: "text"; readonly sessionId: string; readonly text: string }
  | {
    readonly type: "tool.start";
    readonly sessionId: string;
    readonly id: string;
    readonly name: string;
    readonly args: unknown;
    readonly provenance: Provenance;
  }
  | {
    readonly type: "tool.end";
    readonly sessionId: string;
    readonly id: string;
    readonly name: string;
    readonly status: string;
    readonly detail: string;
  }
  | {
    readonly type: "turn.end";
    readonly sessionId: string;
    readonly status: string;
    readonly text: string;
    readonly error: string | null;
    readonly costUsd: number;
    readonly deferred: readonly string[];
  }
  | { readonly type: "approval.requested"; readonly approval: PendingApproval }
  | {
    readonly type: "approval.resolved";
    readonly id: string;
    readonly answer: ApprovalAnswer["choice"];
    /** The client that answered (`cli:…`, `web:…`, `link`), or `timeout`. */
    readonly by: string;
    /** What happened: `executed`, `approved`, `denied`, `failed`, `answered` (live). */
    readonly status: string;
  }
  | { readonly type: "elicitation.requested"; readonly elicitation: PendingElicitation }
  | {
    readonly type: "elicitation.resolved";
    readonly id: string;
    readonly action: ElicitationAnswer["action"];
    /** The client that answered, or `timeout`. */
    readonly by: string;
  }
  | {
    readonly type: "budget.warning";
    readonly sessionId: string;
    readonly spentUsd: number;
    readonly limitUsd: number;
  }
  | {
    readonly type: "server.status";
    readonly name: string;
    readonly state: "starting" | "running" | "stopped" | "failed";
    readonly detail?: string;
  }
  | {
    readonly type: "cron.run";
    readonly capsule: string;
    readonly name: string;
    readonly sessionId: string | null;
    readonly status: "started" | "completed" | "failed" | "missed";
    readonly detail?: string;
  };

/** The daemon's event bus. */
export interface EventBus {
  /** Sends `event` to every matching subscriber; returns its sequence number. */
  publish(event: DaemonEvent): number;
  /** Calls `fn` for each later event whose type is in `types` (all when omitted). */
  subscribe(
    fn: (seq: number, event: DaemonEvent) => void,
    filter?: { readonly types?: readonly string[]; readonly sessionId?: string },
  ): () => void;
}

/**
 * The one interface every frontend implements: the CLI REPL, the web inbox, later Telegram.
 * A frontend sees conversation events, is offered approvals and elicitations, and may cancel a
 * turn. Approvals are offered to every attached frontend; the first answer wins and the others
 * see `approval.resolved`.
 */
export interface Frontend {
  /** `cli:<pid>`, `web:<id>`. */
  readonly id: string;
  /** Conversation and status events (model text, tool start/end, approvals, budget). */
  onEvent(event: DaemonEvent): void;
  /** Offers an approval; the frontend answers through {@link ApprovalHub.answer}. */
  offerApproval(request: PendingApproval): void;
  /** Tells the frontend an approval it was offered is settled (by it or another frontend). */
  approvalSettled(id: string, answer: ApprovalAnswer["choice"], by: string): void;
}

/**
 * Live approvals of daemon sessions: the security `Frontend` of each session asks the hub; the
 * hub offers the request to every attached frontend (as an `approval.requested` event) and the
 * first `answer` wins. With nobody attached, `canAsk()` is false and the broker defers.
 */
export interface ApprovalHub {
  /** True when at least one frontend that can answer is attached. */
  canAsk(): boolean;
  /** Asks and waits for the first answer (rejects when `signal` aborts). */
  ask(request: ApprovalRequest, signal: AbortSignal): Promise<ApprovalAnswer>;
  /** The live requests waiting for an answer. */
  pending(): readonly PendingApproval[];
  /** Answers a live request; false when `id` is not (or no longer) live. */
  answer(id: string, answer: ApprovalAnswer, by: string): boolean;
  /** Attaches a frontend that can answer; returns its detach function. */
  attach(frontend: Frontend): () => void;
}

/** One-time links that answer one approval from a browser (a phone). */
export interface ApprovalLinks {
  /** Mints a single-use link for approval `id`; it expires with the approval or at `ttlMs`. */
  mint(id: string, ttlMs?: number): Promise<{ readonly url: string; readonly expiresAt: number }>;
  /** Mints a one-time login URL for the web inbox (`astrid daemon open`). */
  login(): Promise<{ readonly url: string; readonly expiresAt: number }>;
}

/** What method groups reach. */
export interface DaemonContext {
  /** The opened runtime (config, store, key, audit, walls); lives as long as the daemon. */
  readonly rt: Runtime;
  readonly events: EventBus;
  readonly approvals: ApprovalHub;
  readonly links: ApprovalLinks;
  /** `http://127.0.0.1:PORT` as clients reach it. */
  readonly url: string;
  readonly startedAt: number;
  /** Connected clients right now. */
  clients(): readonly ClientInfo[];
  /** Named long-lived parts (the session host, the server manager, the scheduler). */
  readonly services: DaemonServices;
  /** Stops the daemon (after answering the current call). */
  shutdown(reason: string): void;
}

/**
 * Long-lived parts that method groups register when the daemon starts, looked up by the
 * groups that need them. Each is owned by one module (sessions.ts, servers.ts, cron.ts).
 */
export interface DaemonServices {
  get<T>(name: string): T | undefined;
  set<T>(name: string, service: T & { close?(): Promise<void> }): void;
}
