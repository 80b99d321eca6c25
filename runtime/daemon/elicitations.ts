/**
 * Elicitations of daemon sessions: when an MCP server a daemon session runs asks the human for
 * information (MCP elicitation, form or URL mode), the request waits here. It is published as
 * `elicitation.requested`, listed by `elicitations.list`, and the first
 * `elicitations.respond` settles it (`elicitation.resolved`). An accepted form is checked
 * against the fields the server asked for before the server sees it. With no frontend
 * attached, the request is cancelled at once, as the MCP client does without a human.
 *
 * @module
 */
import type {
  ElicitationAnswer,
  ElicitationField,
  ElicitationRequest,
} from "../security/approval.ts";
import type { ApprovalHub, EventBus, PendingElicitation } from "./types.ts";

/** The service name of the {@link ElicitationBroker}. */
export const ELICITATIONS_SERVICE = "elicitations";

/** What an accepted form may hold. */
export type ElicitationContent = Readonly<Record<string, string | number | boolean>>;

interface Waiting {
  readonly pending: PendingElicitation;
  readonly resolve: (answer: ElicitationAnswer) => void;
}

/**
 * Checks `content` against `fields`: every required field present, no unknown field, each value
 * of its field's type and among its choices. Returns why not, or null.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { checkContent } from "./elicitations.ts";
 * const fields = [{ name: "n", type: "integer" as const, required: true }];
 * equal(checkContent(fields, { n: 3 }), null);
 * equal(checkContent(fields, { n: 1.5 }), "content.n must be an integer");
 * equal(checkContent(fields, {}), "content.n is required");
 * ```
 */
export function checkContent(
  fields: readonly ElicitationField[],
  content: ElicitationContent,
): string | null {
  const byName = new Map(fields.map((f) => [f.name, f]));
  for (const key of Object.keys(content)) {
    if (!byName.has(key)) return `content.${key} is not a field of this form`;
  }
  for (const f of fields) {
    const value = content[f.name];
    if (value === undefined) {
      if (f.required) return `content.${f.name} is required`;
      continue;
    }
    const type: string = f.type === "integer" ? "number" : f.type;
    if (typeofValue(value) !== type) return `content.${f.name} must be a ${f.type}`;
    if (f.type === "integer" && !Number.isInteger(value)) {
      return `content.${f.name} must be an integer`;
    }
    if (f.choices && !f.choices.includes(String(value))) {
      return `content.${f.name} must be one of ${f.choices.join("|")}`;
    }
  }
  return null;
}

const typeofValue = (value: unknown): string => typeof value;

/**
 * The broker.
 *
 * @example First answer wins
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { EventLog } from "./events.ts";
 * import { Hub } from "./hub.ts";
 * import { ElicitationBroker } from "./elicitations.ts";
 * const events = new EventLog();
 * const hub = new Hub(events);
 * hub.attach({ id: "t", onEvent() {}, offerApproval() {}, approvalSettled() {} });
 * const broker = new ElicitationBroker(events, hub);
 * const asked = broker.ask("s1", { mode: "form", from: "srv", message: "name?", fields: [] },
 *   new AbortController().signal);
 * const [p] = broker.pending();
 * equal(broker.respond(p!.id, { action: "decline" }, "cli:1"), true);
 * equal(broker.respond(p!.id, { action: "accept" }, "web:1"), false);
 * equal((await asked).action, "decline");
 * ```
 */
export class ElicitationBroker {
  readonly #events: EventBus;
  readonly #hub: ApprovalHub;
  readonly #waiting = new Map<string, Waiting>();

  /** A broker publishing on `events`; `hub` says whether any frontend can answer. */
  constructor(events: EventBus, hub: ApprovalHub) {
    this.#events = events;
    this.#hub = hub;
  }

  /** True when an attached frontend can answer. */
  canAsk(): boolean {
    return this.#hub.canAsk();
  }

  /** Asks; resolves with the first answer, or `cancel` when nobody can answer or on abort. */
  ask(
    sessionId: string,
    request: ElicitationRequest,
    signal: AbortSignal,
  ): Promise<ElicitationAnswer> {
    if (signal.aborted || !this.#hub.canAsk()) return Promise.resolve({ action: "cancel" });
    const pending: PendingElicitation = {
      id: crypto.randomUUID(),
      sessionId,
      from: request.from,
      mode: request.mode,
      message: request.message,
      fields: request.mode === "form" ? [...request.fields] : [],
      url: request.mode === "url" ? request.url : null,
      createdAt: Date.now(),
    };
    return new Promise<ElicitationAnswer>((resolve) => {
      const onAbort = () => {
        if (!this.#waiting.delete(pending.id)) return;
        this.#settled(pending.id, "cancel", "timeout");
        resolve({ action: "cancel" });
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiting.set(pending.id, {
        pending,
        resolve: (answer) => {
          signal.removeEventListener("abort", onAbort);
          resolve(answer);
        },
      });
      this.#events.publish({ type: "elicitation.requested", elicitation: pending });
    });
  }

  /** The requests waiting, oldest first. */
  pending(): readonly PendingElicitation[] {
    return [...this.#waiting.values()].map((w) => w.pending);
  }

  /** The request `id`, if it still waits. */
  get(id: string): PendingElicitation | undefined {
    return this.#waiting.get(id)?.pending;
  }

  /** Answers `id`; false when it does not (or no longer) wait. Check content first. */
  respond(id: string, answer: ElicitationAnswer, by: string): boolean {
    const waiting = this.#waiting.get(id);
    if (waiting === undefined) return false;
    this.#waiting.delete(id);
    waiting.resolve(answer);
    this.#settled(id, answer.action, by);
    return true;
  }

  /** Cancels every waiting request (shutdown). */
  close(): Promise<void> {
    for (const id of [...this.#waiting.keys()]) this.respond(id, { action: "cancel" }, "timeout");
    return Promise.resolve();
  }

  #settled(id: string, action: ElicitationAnswer["action"], by: string): void {
    this.#events.publish({ type: "elicitation.resolved", id, action, by });
  }
}
