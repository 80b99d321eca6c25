/**
 * RPC methods `elicitations.list` and `elicitations.respond`: what MCP servers in daemon
 * sessions ask the human (runtime/daemon/elicitations.ts), answered from any frontend. The
 * broker is registered as the `elicitations` service when the daemon starts; sessions ask it.
 *
 * @module
 */
import type { MethodGroup } from "./mod.ts";
import { PENDING_ELICITATION_SCHEMA } from "../event_schema.ts";
import {
  checkContent,
  ElicitationBroker,
  type ElicitationContent,
  ELICITATIONS_SERVICE,
} from "../elicitations.ts";
import { type DaemonContext, RpcError, RpcErrorCode, type RpcMethod } from "../types.ts";
import { answeredBy } from "./approvals.ts";

function broker(ctx: DaemonContext): ElicitationBroker {
  const found = ctx.services.get<ElicitationBroker>(ELICITATIONS_SERVICE);
  if (found === undefined) throw new RpcError(RpcErrorCode.Internal, "no elicitation broker");
  return found;
}

const list: RpcMethod = {
  name: "elicitations.list",
  summary: "What MCP servers in daemon sessions are asking the human, oldest first.",
  params: { type: "object", additionalProperties: false, properties: {} },
  result: { type: "array", items: PENDING_ELICITATION_SCHEMA, description: "Waiting requests." },
  handler(_params: Record<string, never>, call) {
    return Promise.resolve(broker(call.daemon).pending());
  },
};

const respond: RpcMethod = {
  name: "elicitations.respond",
  summary: "Answers an elicitation: accept (with the form's content), decline or cancel.",
  params: {
    type: "object",
    additionalProperties: false,
    required: ["id", "action"],
    properties: {
      id: { type: "string", minLength: 1, maxLength: 64, description: "The elicitation id." },
      action: {
        enum: ["accept", "decline", "cancel"],
        description: "Accept sends `content` to the server; decline and cancel send nothing.",
      },
      content: {
        type: "object",
        maxProperties: 64,
        additionalProperties: {
          type: ["string", "number", "boolean"],
          maxLength: 8192,
        },
        description: "The filled-in form (accept, form mode): field name → value.",
      },
    },
  },
  result: {
    type: "object",
    additionalProperties: false,
    required: ["id", "action"],
    properties: {
      id: { type: "string", description: "The elicitation id." },
      action: { enum: ["accept", "decline", "cancel"], description: "The answer given." },
    },
  },
  handler(
    params: { id: string; action: "accept" | "decline" | "cancel"; content?: ElicitationContent },
    call,
  ) {
    const b = broker(call.daemon);
    const pending = b.get(params.id);
    if (pending === undefined) {
      throw new RpcError(
        RpcErrorCode.NotFound,
        `no waiting elicitation ${params.id} (already answered, or never asked)`,
      );
    }
    const accepted = params.action === "accept";
    if (!accepted && params.content !== undefined) {
      throw new RpcError(RpcErrorCode.InvalidParams, `params.content is only for accept`);
    }
    const content = accepted && pending.mode === "form" ? params.content ?? {} : undefined;
    if (content !== undefined) {
      const problem = checkContent(pending.fields, content);
      if (problem !== null) throw new RpcError(RpcErrorCode.InvalidParams, `params.${problem}`);
    }
    const answer = content === undefined
      ? { action: params.action }
      : { action: params.action, content };
    if (!b.respond(params.id, answer, answeredBy(call.client))) {
      throw new RpcError(RpcErrorCode.Conflict, `elicitation ${params.id} was already answered`);
    }
    return Promise.resolve({ id: params.id, action: params.action });
  },
};

/** The elicitation methods; `start` registers the broker. */
export const group: MethodGroup = {
  methods: [list, respond],
  start(ctx) {
    const b = new ElicitationBroker(ctx.events, ctx.approvals);
    ctx.services.set(ELICITATIONS_SERVICE, b);
    return Promise.resolve(() => b.close());
  },
};
