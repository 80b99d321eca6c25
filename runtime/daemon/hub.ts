/**
 * The daemon's {@link ApprovalHub}: live approval requests of daemon sessions. `ask` publishes
 * `approval.requested` (kind `live`) and offers the request to every attached frontend; the
 * first `answer` wins, `approval.resolved` is published, and every frontend is told it is
 * settled. An aborted ask rejects, is removed, and is published as resolved by `timeout`.
 *
 * @module
 */
import type { ApprovalAnswer, ApprovalRequest } from "../security/approval.ts";
import type { ApprovalHub, EventBus, Frontend, PendingApproval } from "./types.ts";

interface Waiting {
  readonly approval: PendingApproval;
  readonly resolve: (answer: ApprovalAnswer) => void;
}

/**
 * Turns a broker's request into what frontends are shown.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { toPending } from "./hub.ts";
 * const p = toPending({
 *   id: "a1", sessionId: "s1", action: { kind: "file_read", path: "/x" }, reason: "escape",
 *   info: { resource: "file:///x", permission: "read", risk: "medium", summary: "read /x" },
 *   suggestions: ["file:///x"],
 * }, 5);
 * equal(p.action, "file_read");
 * equal(p.kind, "live");
 * ```
 */
export function toPending(request: ApprovalRequest, now: number = Date.now()): PendingApproval {
  return {
    id: request.id,
    kind: "live",
    sessionId: request.sessionId,
    action: request.action.kind,
    summary: request.info.summary,
    resource: request.info.resource,
    risk: request.info.risk,
    reason: request.reason,
    provenance: request.provenance ?? null,
    suggestions: [...request.suggestions],
    createdAt: now,
  };
}

/**
 * The hub.
 *
 * @example First answer wins
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { EventLog } from "./events.ts";
 * import { Hub } from "./hub.ts";
 * const hub = new Hub(new EventLog());
 * hub.attach({ id: "t", onEvent() {}, offerApproval() {}, approvalSettled() {} });
 * const asked = hub.ask({
 *   id: "a1", sessionId: "s1", action: { kind: "file_read", path: "/x" }, reason: "escape",
 *   info: { resource: "file:///x", permission: "read", risk: "medium", summary: "read /x" },
 *   suggestions: [],
 * }, new AbortController().signal);
 * equal(hub.answer("a1", { choice: "once" }, "cli:1"), true);
 * equal(hub.answer("a1", { choice: "deny" }, "web:1"), false);
 * equal((await asked).choice, "once");
 * ```
 */
export class Hub implements ApprovalHub {
  readonly #events: EventBus;
  readonly #frontends = new Set<Frontend>();
  readonly #waiting = new Map<string, Waiting>();

  /** Creates a hub that publishes on `events`. */
  constructor(events: EventBus) {
    this.#events = events;
  }

  /** True when a frontend that can answer is attached. */
  canAsk(): boolean {
    return this.#frontends.size > 0;
  }

  /** Asks every attached frontend; resolves with the first answer, rejects on abort. */
  ask(request: ApprovalRequest, signal: AbortSignal): Promise<ApprovalAnswer> {
    if (signal.aborted) return Promise.reject(signal.reason ?? new Error("aborted"));
    if (this.#waiting.has(request.id)) {
      return Promise.reject(new Error(`Cannot ask approval ${request.id}: it is already asked`));
    }
    const approval = toPending(request);
    return new Promise<ApprovalAnswer>((resolve, reject) => {
      const onAbort = () => {
        if (!this.#waiting.delete(approval.id)) return;
        this.#settle(approval.id, "deny", "timeout", "cancelled");
        reject(signal.reason ?? new Error("aborted"));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiting.set(approval.id, {
        approval,
        resolve: (answer) => {
          signal.removeEventListener("abort", onAbort);
          resolve(answer);
        },
      });
      this.#events.publish({ type: "approval.requested", approval });
      for (const f of this.#frontends) {
        try {
          f.offerApproval(approval);
        } catch {
          // a frontend that fails to show it can still answer later (or another one will)
        }
      }
    });
  }

  /** The live requests waiting for an answer, oldest first. */
  pending(): readonly PendingApproval[] {
    return [...this.#waiting.values()].map((w) => w.approval);
  }

  /** Answers a live request; false when it is not (or no longer) waiting. */
  answer(id: string, answer: ApprovalAnswer, by: string): boolean {
    const waiting = this.#waiting.get(id);
    if (waiting === undefined) return false;
    this.#waiting.delete(id);
    waiting.resolve(answer);
    this.#settle(id, answer.choice, by, "answered");
    return true;
  }

  /** Attaches a frontend; it is offered every request still waiting. */
  attach(frontend: Frontend): () => void {
    this.#frontends.add(frontend);
    for (const w of this.#waiting.values()) frontend.offerApproval(w.approval);
    return () => void this.#frontends.delete(frontend);
  }

  #settle(id: string, choice: ApprovalAnswer["choice"], by: string, status: string): void {
    this.#events.publish({ type: "approval.resolved", id, answer: choice, by, status });
    for (const f of this.#frontends) {
      try {
        f.approvalSettled(id, choice, by);
      } catch {
        // its view is stale; the event above still told it
      }
    }
  }
}
