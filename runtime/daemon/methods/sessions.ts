/**
 * RPC methods: `sessions.*`. Sessions run inside the daemon (runtime/daemon/session_host.ts):
 * `create`, `resume`, `send` (a turn), `cancel` (the running turn), `list`, `end`, `close`
 * (unload without ending), `show`, `model` (show or switch the session's model, priced and
 * audited as the REPL's `/model`). `create` and `resume` take `maxTurns` (`chat --max-turns`).
 * Their events (`turn.start`, `text`, `tool.start`, `tool.end`, `turn.end`, `session.status`,
 * `budget.warning`) reach `events.subscribe` subscribers through the daemon's event bus.
 *
 * @module
 */
import type { DaemonContext, JsonSchema, RpcMethod } from "../types.ts";
import type { MethodGroup } from "./mod.ts";
import { SessionHost } from "../session_host.ts";

const SESSION_ID = {
  type: "string",
  minLength: 1,
  maxLength: 200,
  description: "The session's id (from sessions.create or sessions.list).",
} as const;

const MAX_TURNS = {
  type: "integer",
  minimum: 1,
  maximum: 10_000,
  description: "Model calls allowed in one turn (default: the workspace's [agent] max_rounds).",
} as const;

const ID_PARAMS: JsonSchema = {
  type: "object",
  additionalProperties: false,
  required: ["sessionId"],
  properties: { sessionId: SESSION_ID },
};

const STATUS = {
  type: "string",
  enum: ["idle", "running", "ended", "interrupted"],
  description: "idle, running (a turn is in progress), ended, or interrupted (a turn died).",
} as const;

/** The schema of one `sessions.list` row (fixed: scripts and other frontends rely on it). */
export const SESSION_SUMMARY_SCHEMA: JsonSchema = {
  type: "object",
  additionalProperties: false,
  required: ["id", "title", "workspace", "status", "live", "createdAt", "updatedAt", "turnCount"],
  properties: {
    id: { type: "string", description: "The session id." },
    title: { type: "string", description: "The given title, or the first prompt shortened." },
    workspace: { type: "string", description: "The workspace root the session works in." },
    status: STATUS,
    live: { type: "boolean", description: "True when the session is open in this daemon." },
    createdAt: { type: "number", description: "Creation time, ms since the epoch." },
    updatedAt: { type: "number", description: "Last save, ms since the epoch." },
    turnCount: { type: "integer", minimum: 0, description: "Turns so far." },
    costUsd: { type: "number", description: "Model spend of its turns (live sessions only)." },
  },
};

/** The schema of a turn's result (`sessions.send` with `wait`). */
export const TURN_RESULT_SCHEMA: JsonSchema = {
  type: "object",
  additionalProperties: false,
  required: ["status", "text", "error", "code", "costUsd", "rounds", "deferred"],
  properties: {
    status: {
      type: "string",
      description: "completed, cancelled, failed, max_turns, budget_exceeded or interrupted.",
    },
    text: { type: "string", description: "The model's final text." },
    error: { type: ["string", "null"], description: "Why the turn did not complete." },
    code: { type: ["string", "null"], description: "The error code, if any." },
    costUsd: { type: "number", description: "What the turn's model calls cost." },
    rounds: { type: "integer", description: "Model calls made." },
    deferred: {
      type: "array",
      items: { type: "string" },
      description: "Ids of actions queued for approval during the turn.",
    },
  },
};

const hostOf = (ctx: DaemonContext): SessionHost => SessionHost.of(ctx);

const create: RpcMethod = {
  name: "sessions.create",
  summary: "Start an agent session in an initialised workspace, running in the daemon.",
  params: {
    type: "object",
    additionalProperties: false,
    required: ["workspace"],
    properties: {
      workspace: {
        type: "string",
        minLength: 1,
        maxLength: 4096,
        description:
          "Absolute path of an initialised workspace (it has .astrid/); its config applies.",
      },
      title: { type: "string", maxLength: 200, description: "A title for listings." },
      maxTurns: MAX_TURNS,
    },
  },
  result: {
    type: "object",
    additionalProperties: false,
    required: ["sessionId"],
    properties: { sessionId: { type: "string", description: "The new session's id." } },
  },
  handler: (p: { workspace: string; title?: string; maxTurns?: number }, call) =>
    hostOf(call.daemon).create(p.workspace, p.title, p.maxTurns),
};

const resume: RpcMethod = {
  name: "sessions.resume",
  summary: "Open a persisted session in the daemon (an interrupted turn is recovered).",
  params: {
    type: "object",
    additionalProperties: false,
    required: ["sessionId"],
    properties: {
      sessionId: SESSION_ID,
      maxTurns: {
        ...MAX_TURNS,
        description: "Model calls allowed in one turn; a live session with another limit is " +
          "reopened with this one (a conflict while a turn runs).",
      },
    },
  },
  result: {
    type: "object",
    additionalProperties: false,
    required: ["sessionId", "recovered"],
    properties: {
      sessionId: { type: "string", description: "The session's id." },
      recovered: {
        type: "boolean",
        description: "True when a turn left running was marked interrupted on opening.",
      },
    },
  },
  handler: (p: { sessionId: string; maxTurns?: number }, call) =>
    hostOf(call.daemon).resume(p.sessionId, p.maxTurns),
};

const send: RpcMethod = {
  name: "sessions.send",
  summary: "Send the user's input: starts a turn; returns its number, or its result with wait.",
  params: {
    type: "object",
    additionalProperties: false,
    required: ["sessionId", "text"],
    properties: {
      sessionId: SESSION_ID,
      text: { type: "string", minLength: 1, maxLength: 1_000_000, description: "The prompt." },
      wait: { type: "boolean", description: "Answer when the turn ends, with its result." },
    },
  },
  result: {
    oneOf: [
      {
        type: "object",
        additionalProperties: false,
        required: ["turn"],
        properties: { turn: { type: "integer", description: "The number of the turn started." } },
      },
      TURN_RESULT_SCHEMA,
    ],
  },
  handler: async (p: { sessionId: string; text: string; wait?: boolean }, call) => {
    const { turn, done } = await hostOf(call.daemon).send(p.sessionId, p.text);
    if (!p.wait) return { turn };
    const r = await done;
    return {
      status: r.status,
      text: r.text,
      error: r.error,
      code: r.code,
      costUsd: r.costUsd,
      rounds: r.rounds,
      deferred: [...r.deferred],
    };
  },
};

const cancel: RpcMethod = {
  name: "sessions.cancel",
  summary: "Cancel the session's running turn (the session stays).",
  params: ID_PARAMS,
  result: {
    type: "object",
    additionalProperties: false,
    required: ["cancelled"],
    properties: {
      cancelled: { type: "boolean", description: "False when no turn was running." },
    },
  },
  handler: (p: { sessionId: string }, call) =>
    Promise.resolve({ cancelled: hostOf(call.daemon).cancel(p.sessionId) }),
};

const list: RpcMethod = {
  name: "sessions.list",
  summary: "Persisted sessions, newest first, with which are live in the daemon.",
  params: {
    type: "object",
    additionalProperties: false,
    properties: {
      workspace: {
        type: "string",
        maxLength: 4096,
        description: "Only sessions of this workspace root.",
      },
      all: { type: "boolean", description: "Include sub-agent sessions too." },
    },
  },
  result: { type: "array", items: SESSION_SUMMARY_SCHEMA },
  handler: (p: { workspace?: string; all?: boolean }, call) => hostOf(call.daemon).list(p),
};

const end: RpcMethod = {
  name: "sessions.end",
  summary: "End a session: its running turn is cancelled and it is closed and marked ended.",
  params: ID_PARAMS,
  result: {
    type: "object",
    additionalProperties: false,
    required: ["ended"],
    properties: { ended: { type: "boolean", description: "Always true." } },
  },
  handler: async (p: { sessionId: string }, call) => {
    await hostOf(call.daemon).end(p.sessionId);
    return { ended: true };
  },
};

const close: RpcMethod = {
  name: "sessions.close",
  summary: "Unload a live session from the daemon without ending it (it stays resumable).",
  params: ID_PARAMS,
  result: {
    type: "object",
    additionalProperties: false,
    required: ["closed"],
    properties: {
      closed: { type: "boolean", description: "False when the session was not live." },
    },
  },
  handler: async (p: { sessionId: string }, call) => ({
    closed: await hostOf(call.daemon).unload(p.sessionId),
  }),
};

const show: RpcMethod = {
  name: "sessions.show",
  summary: "A session's summary, turns and messages, for a frontend to render its history.",
  params: ID_PARAMS,
  result: {
    type: "object",
    additionalProperties: false,
    required: ["session", "turns", "messages"],
    properties: {
      session: SESSION_SUMMARY_SCHEMA,
      turns: {
        type: "array",
        description: "Every turn: n, status, prompt, startedAt, endedAt, error, costUsd.",
        items: { type: "object" },
      },
      messages: {
        type: "array",
        description: "The transcript, oldest first.",
        items: {
          type: "object",
          required: ["role", "trust", "turn", "content"],
          properties: {
            role: { type: "string", description: "user or assistant." },
            trust: { type: "string", description: "trusted, pre_authorized or untrusted." },
            source: { type: "string", description: "Where untrusted content came from." },
            turn: { type: "integer", description: "The turn it belongs to." },
            content: { description: "The message's content blocks as the model saw them." },
          },
        },
      },
    },
  },
  handler: (p: { sessionId: string }, call) => hostOf(call.daemon).show(p.sessionId),
};

const model: RpcMethod = {
  name: "sessions.model",
  summary: "A session's model and the priced ones; with model, switch it (priced, audited).",
  params: {
    type: "object",
    additionalProperties: false,
    required: ["sessionId"],
    properties: {
      sessionId: SESSION_ID,
      model: {
        type: "string",
        minLength: 1,
        maxLength: 200,
        description: "Switch the session to this model id (same provider and key); it must be " +
          "priced (built-in table or [pricing]); the switch is audited (model_switch).",
      },
    },
  },
  result: {
    type: "object",
    additionalProperties: false,
    required: ["provider", "model", "configured", "switchable", "maxTurns", "price", "priced"],
    properties: {
      provider: { type: "string", description: "The provider (anthropic, openai, …)." },
      model: { type: "string", description: "The model in use (after the switch)." },
      configured: { type: "string", description: "The workspace config's [model] model." },
      switchable: { type: "boolean", description: "False for a capsule:<name> model." },
      maxTurns: { type: "integer", description: "Model calls allowed in one turn." },
      price: {
        type: ["object", "null"],
        additionalProperties: false,
        required: ["inputPerMtok", "outputPerMtok"],
        description: "What the model in use costs (USD per million tokens); null: not priced.",
        properties: {
          inputPerMtok: { type: "number", description: "Input tokens." },
          outputPerMtok: { type: "number", description: "Output tokens." },
        },
      },
      priced: {
        type: "array",
        description: "The priced models, sorted; current marks the one in use.",
        items: {
          type: "object",
          additionalProperties: false,
          required: ["model", "inputPerMtok", "outputPerMtok", "current"],
          properties: {
            model: { type: "string", description: "The model id." },
            inputPerMtok: { type: "number", description: "USD per million input tokens." },
            outputPerMtok: { type: "number", description: "USD per million output tokens." },
            current: { type: "boolean", description: "True for the model in use." },
          },
        },
      },
    },
  },
  handler: (p: { sessionId: string; model?: string }, call) =>
    hostOf(call.daemon).model(p.sessionId, p.model),
};

/** The sessions methods; `start` registers the host and recovers interrupted sessions. */
export const group: MethodGroup = {
  methods: [create, resume, send, cancel, list, end, close, show, model],
  async start(ctx) {
    const host = hostOf(ctx);
    await host.recover();
    return () => host.close();
  },
};
