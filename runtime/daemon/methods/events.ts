/**
 * RPC methods: `events.subscribe` and `events.unsubscribe`. A subscription streams
 * `events.event` notifications (`{seq, event}`) to the connection that made it, after replaying
 * the kept events newer than `since`; it ends with `events.unsubscribe` or the connection.
 *
 * A subscription with `canAnswer: true` also attaches the connection to the approval hub as a
 * frontend: the hub then counts it as someone who can answer live approvals, and the
 * subscription always receives `approval.requested` and `approval.resolved` (the offers and
 * settlements), whatever its `types` say. The connection answers with `approvals.respond`.
 *
 * @module
 */
import type { MethodGroup } from "./mod.ts";
import { type DaemonContext, RpcError, RpcErrorCode, type RpcMethod } from "../types.ts";
import { DAEMON_EVENT_SCHEMA, DAEMON_EVENT_TYPES } from "../event_schema.ts";
import { type EventFilter, EventLog } from "../events.ts";

/** The service name of {@link Subscriptions}. */
export const SUBSCRIPTIONS = "events.subscriptions";

interface Subscription {
  readonly clientId: string;
  stop(): void;
}

/** The live subscriptions of every connection. */
export class Subscriptions {
  readonly #all = new Map<string, Subscription>();

  /** Registers one; returns its id. */
  add(sub: Subscription): string {
    const id = crypto.randomUUID();
    this.#all.set(id, sub);
    return id;
  }

  /** Ends subscription `id` of `clientId`; false when it has no such subscription. */
  remove(id: string, clientId: string): boolean {
    const sub = this.#all.get(id);
    if (sub === undefined || sub.clientId !== clientId) return false;
    this.#all.delete(id);
    sub.stop();
    return true;
  }

  /** How many are live. */
  get size(): number {
    return this.#all.size;
  }

  /** Ends all of them. */
  close(): Promise<void> {
    for (const sub of this.#all.values()) sub.stop();
    this.#all.clear();
    return Promise.resolve();
  }
}

function subscriptions(ctx: DaemonContext): Subscriptions {
  let subs = ctx.services.get<Subscriptions>(SUBSCRIPTIONS);
  if (subs === undefined) {
    subs = new Subscriptions();
    ctx.services.set(SUBSCRIPTIONS, subs);
  }
  return subs;
}

const APPROVAL_EVENTS = ["approval.requested", "approval.resolved"];

const subscribe: RpcMethod = {
  name: "events.subscribe",
  summary: "Streams daemon events to this connection as `events.event` notifications.",
  params: {
    type: "object",
    additionalProperties: false,
    properties: {
      types: {
        type: "array",
        items: { enum: [...DAEMON_EVENT_TYPES] },
        description: "Event types to receive (all when omitted).",
      },
      sessionId: {
        type: "string",
        description: "Only this session's events (plus events of no session).",
      },
      since: {
        type: "integer",
        minimum: 0,
        description: "Replay the kept events (the last 1,000) with a larger seq first.",
      },
      canAnswer: {
        type: "boolean",
        description: "Attach as a frontend that answers live approvals (offers arrive as events).",
      },
    },
  },
  result: {
    type: "object",
    additionalProperties: false,
    required: ["subscription", "seq"],
    properties: {
      subscription: { type: "string", description: "The id for `events.unsubscribe`." },
      seq: { type: "integer", description: "The last seq handed out when it subscribed." },
    },
  },
  handler(
    params: {
      types?: string[];
      sessionId?: string;
      since?: number;
      canAnswer?: boolean;
    },
    call,
  ) {
    const ctx = call.daemon;
    if (params.canAnswer && call.client.kind === "link") {
      throw new RpcError(RpcErrorCode.Denied, "a one-time link cannot attach as a frontend");
    }
    const types = params.types === undefined
      ? undefined
      : params.canAnswer
      ? [...new Set([...params.types, ...APPROVAL_EVENTS])]
      : params.types;
    const filter: EventFilter = {
      ...(types === undefined ? {} : { types }),
      ...(params.sessionId === undefined ? {} : { sessionId: params.sessionId }),
    };
    const log = ctx.events instanceof EventLog ? ctx.events : null;
    const seq = log?.seq ?? 0;
    // Live events wait until the reply and the replay are out, so they arrive in order.
    let queue: [number, unknown][] | null = [];
    const send = (s: number, event: unknown) => call.notify("events.event", { seq: s, event });
    const unsubscribe = ctx.events.subscribe((s, event) => {
      if (queue !== null) queue.push([s, event]);
      else send(s, event);
    }, filter);
    const detach = params.canAnswer
      ? ctx.approvals.attach({
        id: `${call.client.kind}:${call.client.id}`,
        onEvent() {},
        offerApproval() {},
        approvalSettled() {},
      })
      : () => {};
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      unsubscribe();
      detach();
      call.signal.removeEventListener("abort", onClose);
    };
    const subs = subscriptions(ctx);
    const id = subs.add({ clientId: call.client.id, stop });
    const onClose = () => subs.remove(id, call.client.id);
    call.signal.addEventListener("abort", onClose, { once: true });
    if (call.signal.aborted) onClose();
    setTimeout(() => {
      if (stopped) return;
      if (params.since !== undefined && log !== null) {
        for (const e of log.replay(params.since, filter)) if (e.seq <= seq) send(e.seq, e.event);
      }
      const pending = queue ?? [];
      queue = null;
      for (const [s, event] of pending) send(s, event);
    }, 0);
    return Promise.resolve({ subscription: id, seq });
  },
};

const unsubscribe: RpcMethod = {
  name: "events.unsubscribe",
  summary: "Ends a subscription of this connection.",
  params: {
    type: "object",
    additionalProperties: false,
    required: ["subscription"],
    properties: {
      subscription: { type: "string", description: "The id `events.subscribe` returned." },
    },
  },
  result: {
    type: "object",
    additionalProperties: false,
    required: ["unsubscribed"],
    properties: { unsubscribed: { const: true, description: "Always true." } },
  },
  handler(params: { subscription: string }, call) {
    if (!subscriptions(call.daemon).remove(params.subscription, call.client.id)) {
      throw new RpcError(
        RpcErrorCode.NotFound,
        `no subscription ${params.subscription} on this connection`,
      );
    }
    return Promise.resolve({ unsubscribed: true });
  },
};

/** Documents the notification (docs/rpc.md reads it). */
export const EVENT_NOTIFICATION = {
  name: "events.event",
  params: {
    type: "object",
    additionalProperties: false,
    required: ["seq", "event"],
    properties: {
      seq: { type: "integer", description: "The event's sequence number." },
      event: DAEMON_EVENT_SCHEMA,
    },
  },
} as const;

/** The events methods. */
export const group: MethodGroup = {
  methods: [subscribe, unsubscribe],
  start(ctx) {
    const subs = subscriptions(ctx);
    return Promise.resolve(() => subs.close());
  },
};
