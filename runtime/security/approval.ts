/**
 * Human approval: the `Frontend` seam, the broker that asks it, and the persistent deferred
 * queue for actions nobody was there to approve. Session allowances live in allowances.ts and
 * are re-exported here.
 *
 * @module
 */
import type { Action, ActionInfo } from "./action.ts";
import type { SecurityInterceptor } from "./interceptor.ts";
import type { AstridConfig } from "../config/mod.ts";
import type { Store } from "../storage/mod.ts";
import { listAll } from "../storage/mod.ts";

export {
  type Allowance,
  ALLOWANCE_DOMAIN,
  type AllowanceCheck,
  type AllowanceCode,
  AllowanceStore,
  type RejectedAllowance,
  verifyAllowance,
} from "./allowances.ts";

/** The four answers a human can give. */
export type ApprovalChoice = "once" | "session" | "always" | "deny";

/** Every choice, in prompt order. */
export const APPROVAL_CHOICES: readonly ApprovalChoice[] = ["once", "session", "always", "deny"];

/** Where an action's arguments came from (input classification). */
export interface Provenance {
  readonly trust: "trusted" | "pre_authorized" | "untrusted";
  /** For untrusted data: where it came from, e.g. `read_file /ws/README.md`. */
  readonly source?: string;
}

/** What the human is asked. */
export interface ApprovalRequest {
  /** Also the deferred id if nobody answers. */
  readonly id: string;
  readonly sessionId: string;
  readonly action: Action;
  readonly info: ActionInfo;
  /** Why a human is asked (mode, escape, ask rule, untrusted provenance). */
  readonly reason: string;
  readonly provenance?: Provenance | undefined;
  /** Patterns offered for Allow Session / Always: the exact resource first, then broader ones. */
  readonly suggestions: readonly string[];
  /** How long an Allow Always answer lasts (the token's TTL), in ms, for the prompt to say. */
  readonly alwaysTtlMs?: number | undefined;
}

/** The human's answer. `pattern` picks one of the request's suggestions for session/always. */
export interface ApprovalAnswer {
  readonly choice: ApprovalChoice;
  readonly pattern?: string | undefined;
  readonly reason?: string | undefined;
}

/** One field of a form a server asks the human to fill in (MCP elicitation, form mode). */
export interface ElicitationField {
  readonly name: string;
  readonly type: "string" | "number" | "integer" | "boolean";
  readonly required: boolean;
  readonly title?: string | undefined;
  readonly description?: string | undefined;
  readonly choices?: readonly string[] | undefined;
  readonly default?: string | number | boolean | undefined;
}

/** A request from an outside party (an MCP server) for information or a visit to a URL. */
export type ElicitationRequest =
  | {
    readonly mode: "form";
    readonly from: string;
    readonly message: string;
    readonly fields: readonly ElicitationField[];
  }
  | { readonly mode: "url"; readonly from: string; readonly message: string; readonly url: string };

/** The human's reply to an {@link ElicitationRequest}. */
export interface ElicitationAnswer {
  readonly action: "accept" | "decline" | "cancel";
  readonly content?: Readonly<Record<string, string | number | boolean>> | undefined;
}

/** A user interface that can ask a human. CLI prompt, daemon inbox and tests implement it. */
export interface Frontend {
  /** False when nobody can answer right now (no TTY, no client): the broker defers. */
  canAsk(): boolean;
  /** Asks; must settle or reject when `signal` aborts. */
  ask(request: ApprovalRequest, signal: AbortSignal): Promise<ApprovalAnswer>;
  /** Asks the human to fill in a form or visit a URL; absent when the frontend cannot. */
  elicit?(request: ElicitationRequest, signal: AbortSignal): Promise<ElicitationAnswer>;
}

/**
 * A frontend that gives one answer decided in advance (`--approve once|session|always|deny`).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { PresetFrontend } from "./approval.ts";
 * const f = new PresetFrontend({ choice: "deny" });
 * equal(f.canAsk(), true);
 * ```
 */
export class PresetFrontend implements Frontend {
  #answer: ApprovalAnswer;
  /** Creates a frontend that always answers `answer`. */
  constructor(answer: ApprovalAnswer) {
    this.#answer = answer;
  }
  /** Always true. */
  canAsk(): boolean {
    return true;
  }
  /** Returns the preset answer. */
  ask(): Promise<ApprovalAnswer> {
    return Promise.resolve(this.#answer);
  }
}

/**
 * Patterns to offer for an "allow session/always" answer. A command offers the exact command
 * and, for multi-word commands, its prefix (`exec://npm run test*`); a file offers itself and its folder.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { suggestPatterns } from "./approval.ts";
 * deepEqual(suggestPatterns("exec://npm run test"), ["exec://npm run test", "exec://npm run test*"]);
 * ```
 */
export function suggestPatterns(resource: string): string[] {
  if (resource.startsWith("exec://")) {
    const words = resource.slice("exec://".length).split(" ");
    const out = [resource];
    if (words.length > 1) out.push(`${resource}*`);
    return out;
  }
  if (resource.startsWith("file://")) {
    const dir = resource.slice(0, resource.lastIndexOf("/"));
    return dir.length > "file://".length ? [resource, `${dir}/**`] : [resource];
  }
  return [resource];
}

/** How to run a deferred action later: the name of a registered executor and its input. */
export interface Execution {
  readonly executor: string;
  readonly payload: unknown;
}

/** A deferred action waiting in the queue. */
export interface DeferredRecord {
  readonly id: string;
  readonly createdAt: number;
  readonly sessionId: string;
  readonly workspaceRoot: string | null;
  readonly action: Action;
  readonly info: ActionInfo;
  readonly reason: string;
  readonly provenance: Provenance | null;
  readonly execution: Execution | null;
  readonly costUsd: number;
  readonly status: "pending" | "approved" | "denied" | "executed" | "failed";
  readonly decision: { choice: ApprovalChoice; at: number; reason: string | null } | null;
  readonly result: unknown;
}

/** Raised when a deferred record cannot move to the requested state. */
export class ApprovalError extends Error {
  /** `NOT_FOUND` or `NOT_PENDING`. */
  readonly code: "NOT_FOUND" | "NOT_PENDING";
  /** Creates the error. */
  constructor(code: "NOT_FOUND" | "NOT_PENDING", message: string) {
    super(message);
    this.name = "ApprovalError";
    this.code = code;
  }
}

/** The persistent queue of deferred actions (`["approvals", id]`). It survives restarts. */
export class DeferredQueue {
  #store: Store;
  /** Wraps a store. */
  constructor(store: Store) {
    this.#store = store;
  }

  /** Stores a new pending record. */
  async add(record: DeferredRecord): Promise<void> {
    const res = await this.#store.atomic().check({
      key: ["approvals", record.id],
      versionstamp: null,
    })
      .set(["approvals", record.id], record).commit();
    if (!res.ok) throw new ApprovalError("NOT_PENDING", `Cannot defer: id ${record.id} exists`);
  }

  /** One record, or null. */
  async get(id: string): Promise<DeferredRecord | null> {
    return (await this.#store.get<DeferredRecord>(["approvals", id])).value;
  }

  /** Records, oldest first, optionally only one status. */
  async list(status?: DeferredRecord["status"]): Promise<DeferredRecord[]> {
    const all = (await listAll<DeferredRecord>(this.#store, ["approvals"])).map((e) => e.value);
    return all.filter((r) => !status || r.status === status).sort((a, b) =>
      a.createdAt - b.createdAt
    );
  }

  /**
   * Moves a pending record to approved or denied, atomically: two concurrent decisions on the
   * same id cannot both win.
   */
  async decide(id: string, choice: ApprovalChoice, reason: string | null): Promise<DeferredRecord> {
    const entry = await this.#store.get<DeferredRecord>(["approvals", id]);
    if (!entry.value) {
      throw new ApprovalError("NOT_FOUND", `Cannot decide: no deferred action ${id}`);
    }
    if (entry.value.status !== "pending") {
      throw new ApprovalError(
        "NOT_PENDING",
        `Cannot decide ${id}: its status is already ${entry.value.status}`,
      );
    }
    const next: DeferredRecord = {
      ...entry.value,
      status: choice === "deny" ? "denied" : "approved",
      decision: { choice, at: Date.now(), reason },
    };
    const res = await this.#store.atomic().check(entry).set(["approvals", id], next).commit();
    if (!res.ok) {
      throw new ApprovalError("NOT_PENDING", `Cannot decide ${id}: it was decided concurrently`);
    }
    return next;
  }

  /** Records the result of executing an approved action. */
  async finish(id: string, status: "executed" | "failed", result: unknown): Promise<void> {
    const entry = await this.#store.get<DeferredRecord>(["approvals", id]);
    if (!entry.value) {
      throw new ApprovalError("NOT_FOUND", `Cannot finish: no deferred action ${id}`);
    }
    await this.#store.set(["approvals", id], { ...entry.value, status, result });
  }
}

/** What the broker got: an answer, or a deferral when nobody could answer in time. */
export type BrokerResult =
  | { readonly kind: "answer"; readonly answer: ApprovalAnswer }
  | { readonly kind: "unanswered"; readonly why: string };

/**
 * Asks the frontend, with a timeout. Never throws for "nobody there": that is `unanswered`,
 * and the interceptor defers the action.
 *
 * @example No frontend means unanswered
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { ApprovalBroker } from "./approval.ts";
 * const broker = new ApprovalBroker(null, 1000);
 * const r = await broker.ask({} as never);
 * equal(r.kind, "unanswered");
 * ```
 */
export class ApprovalBroker {
  #frontend: Frontend | null;
  #timeoutMs: number;
  /** Creates a broker over `frontend` (null: nobody can answer). */
  constructor(frontend: Frontend | null, timeoutMs: number) {
    this.#frontend = frontend;
    this.#timeoutMs = timeoutMs;
  }

  /** Asks the human; resolves `unanswered` on no frontend, timeout or a frontend failure. */
  async ask(request: ApprovalRequest, signal?: AbortSignal): Promise<BrokerResult> {
    const frontend = this.#frontend;
    if (!frontend || !frontend.canAsk()) {
      return { kind: "unanswered", why: "no interactive frontend can answer" };
    }
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let onAbort: () => void = () => {};
    const aborted = new Promise<BrokerResult>((resolve) => {
      onAbort = () =>
        resolve({
          kind: "unanswered",
          why: timeout.aborted
            ? `no answer within ${Math.round(this.#timeoutMs / 1000)} s`
            : "the request was cancelled",
        });
      combined.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([
        frontend.ask(request, combined).then((answer): BrokerResult => {
          if (!answer || !APPROVAL_CHOICES.includes(answer.choice)) {
            return { kind: "unanswered", why: "the frontend gave no valid answer" };
          }
          return { kind: "answer", answer };
        }),
        aborted,
      ]);
    } catch (err) {
      return { kind: "unanswered", why: `the frontend failed: ${(err as Error).message}` };
    } finally {
      combined.removeEventListener("abort", onAbort);
    }
  }
}

/** What an executor gets when it carries out an approved, deferred action. */
export interface ExecutionEnv {
  readonly sessionId: string;
  readonly workspaceRoot: string;
  /** Intercepts the executor's actions with the human's recorded answer applied. */
  readonly interceptor: SecurityInterceptor;
  readonly answer: ApprovalAnswer;
  /** The configuration in force when the action is carried out. */
  readonly config: AstridConfig;
}

/** Runs a stored {@link Execution}'s payload; registered by name (for example `"tool"`). */
export type Executor = (payload: unknown, env: ExecutionEnv) => Promise<unknown>;
