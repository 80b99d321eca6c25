/**
 * JSON Schemas of what the daemon streams: {@link DAEMON_EVENT_SCHEMA} (every
 * {@link DaemonEvent} variant, docs/rpc.md's events section) and {@link PENDING_APPROVAL_SCHEMA}
 * (shared by `approvals.list` and `approval.requested`). Tests validate real events against
 * them.
 *
 * @module
 */
import type { DaemonEvent, JsonSchema } from "./types.ts";

const str = (description: string) => ({ type: "string", description });
const num = (description: string) => ({ type: "number", description });

function variant(
  type: DaemonEvent["type"],
  description: string,
  properties: Record<string, unknown>,
  optional: readonly string[] = [],
): JsonSchema {
  return {
    type: "object",
    description,
    additionalProperties: false,
    required: ["type", ...Object.keys(properties).filter((k) => !optional.includes(k))],
    properties: { type: { const: type, description: "The event type." }, ...properties },
  };
}

/** Where data came from (security/approval.ts `Provenance`). */
export const PROVENANCE_SCHEMA: JsonSchema = {
  type: "object",
  description: "Where the data behind a call came from.",
  additionalProperties: false,
  required: ["trust"],
  properties: {
    trust: {
      enum: ["trusted", "pre_authorized", "untrusted"],
      description: "How far the data is trusted.",
    },
    source: str("For untrusted data: where it came from, e.g. `read_file /ws/README.md`."),
  },
};

/** One field of an elicitation form (security/approval.ts `ElicitationField`). */
const ELICITATION_FIELD_SCHEMA: JsonSchema = {
  type: "object",
  description: "One field of the form.",
  additionalProperties: false,
  required: ["name", "type", "required"],
  properties: {
    name: str("The field's key in `content`."),
    type: { enum: ["string", "number", "integer", "boolean"], description: "Its type." },
    required: { type: "boolean", description: "Whether an accepted answer must fill it." },
    title: str("A label."),
    description: str("Help text."),
    choices: { type: "array", items: { type: "string" }, description: "Allowed values." },
    default: { type: ["string", "number", "boolean"], description: "The default value." },
  },
};

/** An elicitation waiting for an answer (types.ts `PendingElicitation`). */
export const PENDING_ELICITATION_SCHEMA: JsonSchema = {
  type: "object",
  description: "A request of an MCP server for information, waiting for a human.",
  additionalProperties: false,
  required: ["id", "sessionId", "from", "mode", "message", "fields", "url", "createdAt"],
  properties: {
    id: str("The elicitation id (answer it with `elicitations.respond`)."),
    sessionId: str("The daemon session whose server asks."),
    from: str("The MCP server that asks."),
    mode: { enum: ["form", "url"], description: "A form to fill in, or a page to visit." },
    message: str("What the server says it needs (untrusted text)."),
    fields: { type: "array", items: ELICITATION_FIELD_SCHEMA, description: "The form's fields." },
    url: { type: ["string", "null"], description: "The page to visit (`url` mode)." },
    createdAt: num("When it was asked (ms since the epoch)."),
  },
};

/** A live or deferred approval waiting for an answer (types.ts `PendingApproval`). */
export const PENDING_APPROVAL_SCHEMA: JsonSchema = {
  type: "object",
  description: "An approval waiting for an answer.",
  additionalProperties: false,
  required: [
    "id",
    "kind",
    "sessionId",
    "action",
    "summary",
    "resource",
    "risk",
    "reason",
    "provenance",
    "suggestions",
    "createdAt",
  ],
  properties: {
    id: str("The approval id (also the deferred id)."),
    kind: {
      enum: ["live", "deferred"],
      description: "`live`: a daemon session waits on it; `deferred`: in the persistent queue.",
    },
    sessionId: str("The session that asked."),
    action: str("The action's kind (`file_write`, …)."),
    summary: str("One line describing the action."),
    resource: str("The action's resource URI."),
    risk: { enum: ["low", "medium", "high", "critical"], description: "The action's risk." },
    reason: str("Why a human is asked."),
    provenance: {
      anyOf: [PROVENANCE_SCHEMA, { type: "null" }],
      description: "Provenance, if known.",
    },
    suggestions: {
      type: "array",
      items: { type: "string" },
      description: "Patterns offered for Allow Session / Always.",
    },
    createdAt: num("When it was asked (ms since the epoch)."),
  },
};

const SESSION = str("The session id.");
const SESSION_STATUS = ["idle", "running", "ended", "interrupted"];

/** Every {@link DaemonEvent} variant. */
export const DAEMON_EVENT_VARIANTS: readonly JsonSchema[] = [
  variant("session.started", "A session started.", {
    sessionId: SESSION,
    workspace: str("Its workspace root."),
  }),
  variant("session.status", "A session changed state.", {
    sessionId: SESSION,
    status: { enum: SESSION_STATUS, description: "The new state." },
  }),
  variant("turn.start", "A turn began.", {
    sessionId: SESSION,
    turn: { type: "integer", description: "The turn number." },
  }),
  variant("text", "Model text as it streams.", { sessionId: SESSION, text: str("A text delta.") }),
  variant("tool.start", "A tool call began.", {
    sessionId: SESSION,
    id: str("The tool call id."),
    name: str("The tool's name."),
    args: { description: "The tool's arguments." },
    provenance: PROVENANCE_SCHEMA,
  }),
  variant("tool.end", "A tool call ended.", {
    sessionId: SESSION,
    id: str("The tool call id."),
    name: str("The tool's name."),
    status: str("How it ended (`ok`, `denied`, `deferred`, `error`, …)."),
    detail: str("A one-line detail."),
  }),
  variant("turn.end", "A turn ended.", {
    sessionId: SESSION,
    status: str("How it ended."),
    text: str("The turn's final text."),
    error: { type: ["string", "null"], description: "The error, if it failed." },
    costUsd: num("What the turn cost (USD)."),
    deferred: {
      type: "array",
      items: { type: "string" },
      description: "Ids of actions deferred during the turn.",
    },
  }),
  variant("approval.requested", "An action waits for a human.", {
    approval: PENDING_APPROVAL_SCHEMA,
  }),
  variant("approval.resolved", "An approval was answered (first answer wins) or withdrawn.", {
    id: str("The approval id."),
    answer: { enum: ["once", "session", "always", "deny"], description: "The answer." },
    by: str("Who answered (`cli:…`, `web:…`, `link`), or `timeout`."),
    status: str(
      "What happened: `executed`, `approved`, `denied`, `failed`, `answered` (live), " +
        "`cancelled` (the asking turn stopped waiting).",
    ),
  }),
  variant("elicitation.requested", "An MCP server in a daemon session asks the human.", {
    elicitation: PENDING_ELICITATION_SCHEMA,
  }),
  variant("elicitation.resolved", "An elicitation was answered (first answer wins).", {
    id: str("The elicitation id."),
    action: { enum: ["accept", "decline", "cancel"], description: "The answer." },
    by: str("Who answered (`cli:…`, `web:…`), or `timeout`."),
  }),
  variant("budget.warning", "A session neared its budget.", {
    sessionId: SESSION,
    spentUsd: num("Spent so far (USD)."),
    limitUsd: num("The limit (USD)."),
  }),
  variant("server.status", "An MCP server or service changed state.", {
    name: str("The server's name."),
    state: { enum: ["starting", "running", "stopped", "failed"], description: "Its new state." },
    detail: str("Why, when it failed or stopped."),
  }, ["detail"]),
  variant("cron.run", "A capsule cron entry ran, or a run was missed.", {
    capsule: str("The capsule."),
    name: str("The cron entry's name."),
    sessionId: { type: ["string", "null"], description: "The run's session, if one started." },
    status: {
      enum: ["started", "completed", "failed", "missed"],
      description: "What happened.",
    },
    detail: str("A detail (the error, the missed time)."),
  }, ["detail"]),
];

/** The types of {@link DaemonEvent}, in docs order. */
export const DAEMON_EVENT_TYPES: readonly string[] = DAEMON_EVENT_VARIANTS.map((v) =>
  (v.properties as { type: { const: string } }).type.const
);

/**
 * One daemon event.
 *
 * @example Every event type is documented
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { DAEMON_EVENT_TYPES } from "./event_schema.ts";
 * ok(DAEMON_EVENT_TYPES.includes("approval.requested"));
 * ```
 */
export const DAEMON_EVENT_SCHEMA: JsonSchema = {
  description: "One daemon event (the `event` of an `events.event` notification).",
  oneOf: DAEMON_EVENT_VARIANTS,
};
