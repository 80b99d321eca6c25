/**
 * The daemon's {@link EventBus}: a sequence counter, filtered subscribers, and a bounded ring
 * of the last events so a subscriber can replay what it missed (`events.subscribe {since}`).
 *
 * @module
 */
import type { DaemonEvent, EventBus } from "./types.ts";

/** What a subscriber wants: event types (all when omitted) and one session (all when omitted). */
export interface EventFilter {
  readonly types?: readonly string[];
  readonly sessionId?: string;
}

type Listener = (seq: number, event: DaemonEvent) => void;

/** How many past events {@link EventLog} keeps for replay. */
export const RING_SIZE = 1000;

/**
 * The event bus. A subscriber that throws is reported through `onError` and stays subscribed;
 * it never stops delivery to the others.
 *
 * @example Publish, filter, replay
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { EventLog } from "./events.ts";
 * const bus = new EventLog();
 * const seen: string[] = [];
 * bus.subscribe((_seq, e) => seen.push(e.type), { types: ["text"] });
 * bus.publish({ type: "turn.start", sessionId: "s", turn: 1 });
 * equal(bus.publish({ type: "text", sessionId: "s", text: "hi" }), 2);
 * equal(seen.join(), "text");
 * equal(bus.replay(1).length, 1);
 * ```
 */
export class EventLog implements EventBus {
  #seq = 0;
  readonly #ring: { seq: number; event: DaemonEvent }[] = [];
  readonly #listeners = new Set<{ fn: Listener; filter: EventFilter }>();
  /** The session of each live approval, so `approval.resolved` can be filtered by session. */
  readonly #approvalSessions = new Map<string, string>();
  readonly #onError: (err: unknown) => void;
  readonly #size: number;

  /** Creates an empty bus keeping the last `size` events. */
  constructor(opts: { readonly size?: number; readonly onError?: (err: unknown) => void } = {}) {
    this.#size = opts.size ?? RING_SIZE;
    this.#onError = opts.onError ?? (() => {});
  }

  /** The last sequence number handed out (0 before the first event). */
  get seq(): number {
    return this.#seq;
  }

  /** Sends `event` to every matching subscriber; returns its sequence number. */
  publish(event: DaemonEvent): number {
    const seq = ++this.#seq;
    if (event.type === "approval.requested") {
      this.#approvalSessions.set(event.approval.id, event.approval.sessionId);
    }
    const session = this.#sessionOf(event);
    if (event.type === "approval.resolved") this.#approvalSessions.delete(event.id);
    this.#ring.push({ seq, event });
    if (this.#ring.length > this.#size) this.#ring.shift();
    for (const l of this.#listeners) {
      if (!matches(event, session, l.filter)) continue;
      try {
        l.fn(seq, event);
      } catch (err) {
        this.#onError(err);
      }
    }
    return seq;
  }

  /** Calls `fn` for each later matching event; returns the unsubscribe function. */
  subscribe(fn: Listener, filter: EventFilter = {}): () => void {
    const entry = { fn, filter };
    this.#listeners.add(entry);
    return () => void this.#listeners.delete(entry);
  }

  /** The kept events after `since` that match `filter`, oldest first. */
  replay(since: number, filter: EventFilter = {}): { seq: number; event: DaemonEvent }[] {
    return this.#ring.filter((e) =>
      e.seq > since && matches(e.event, this.#sessionOf(e.event), filter)
    );
  }

  /** How many subscribers are attached. */
  get subscribers(): number {
    return this.#listeners.size;
  }

  #sessionOf(event: DaemonEvent): string | null {
    if ("sessionId" in event) return event.sessionId;
    if (event.type === "approval.requested") return event.approval.sessionId;
    if (event.type === "approval.resolved") return this.#approvalSessions.get(event.id) ?? null;
    return null;
  }
}

function matches(event: DaemonEvent, session: string | null, filter: EventFilter): boolean {
  if (filter.types !== undefined && !filter.types.includes(event.type)) return false;
  // Events of no session (server status, cron runs without one) reach session subscribers too.
  if (filter.sessionId !== undefined && session !== null && session !== filter.sessionId) {
    return false;
  }
  return true;
}
