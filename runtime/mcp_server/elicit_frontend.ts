/**
 * Approvals when nobody is at a terminal: a {@link Frontend} that asks the MCP client's human
 * through elicitation (form mode: the action, its risk, and Once / Session / Deny). A client
 * without form elicitation cannot ask, so the broker defers the action to the queue.
 *
 * The elicitation goes out as part of the tool call that needs it (`relatedRequestId`), so a
 * Streamable HTTP client receives it on that call's stream.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { ApprovalAnswer, ApprovalRequest, Frontend } from "../security/approval.ts";
import type { ElicitRequestFormParams, Implementation } from "./_sdk.ts";

/** The tool call being handled: its JSON-RPC id (the elicitation relates to it). */
export interface CallScope {
  readonly requestId: string | number;
  /** Aborts when the client cancels the call (a `task` sub-agent stops with it). */
  readonly signal?: AbortSignal | undefined;
}

/** The one side of the SDK server this frontend uses. */
export interface Elicitor {
  getClientCapabilities(): { elicitation?: { form?: object | undefined } | undefined } | undefined;
  getClientVersion(): Implementation | undefined;
  elicitInput(
    params: ElicitRequestFormParams,
    options: { signal: AbortSignal; timeout: number; relatedRequestId?: string | number },
  ): Promise<
    { action: "accept" | "decline" | "cancel"; content?: Record<string, unknown> | undefined }
  >;
}

/** The form's one field. */
export const DECISION_FIELD = "decision";

/**
 * The elicitation a request becomes: a message naming the action, its risk, its resource and
 * why a human is asked, and one required single-select field.
 *
 * @example
 * ```ts
 * import { equal, ok } from "node:assert/strict";
 * import { approvalForm } from "./elicit_frontend.ts";
 * const form = approvalForm({
 *   id: "1", sessionId: "s", action: { kind: "file_write", path: "/etc/x" },
 *   info: { resource: "file:///etc/x", permission: "write", risk: "medium", summary: "Write file /etc/x" },
 *   reason: "it leaves the workspace", suggestions: ["file:///etc/x"],
 * });
 * ok(form.message.includes("risk: medium"));
 * equal(form.requestedSchema.required?.[0], "decision");
 * ```
 */
export function approvalForm(
  request: ApprovalRequest,
  offerSession = true,
): ElicitRequestFormParams {
  const { info } = request;
  const choices = [
    { const: "once", title: "Allow once" },
    ...(offerSession
      ? [{ const: "session", title: `Allow for this session (${info.resource})` }]
      : []),
    { const: "deny", title: "Deny" },
  ];
  return {
    mode: "form",
    message: [
      `Astrid asks for approval: ${info.summary}`,
      `risk: ${info.risk}`,
      `resource: ${info.resource} (${info.permission})`,
      `why: ${request.reason}`,
      `approval id: ${request.id}`,
    ].join("\n"),
    requestedSchema: {
      type: "object",
      properties: {
        [DECISION_FIELD]: {
          type: "string",
          title: "Decision",
          description: offerSession
            ? "Allow this action once, for the rest of this session, or deny it"
            : "Allow this action once, or deny it",
          oneOf: choices,
        },
      },
      required: [DECISION_FIELD],
    },
  };
}

/**
 * Asks the MCP client's human. `canAsk()` is true only when the client declared form
 * elicitation. `offerSession` false (safe mode, where an untrusted call asks every time, so a
 * session allowance would never apply) leaves out Allow for this session. Accept with a decision → that choice; decline → deny; cancel (dismissed) →
 * unanswered, so the action is deferred to the queue.
 *
 * @example A client without elicitation cannot be asked
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { AsyncLocalStorage } from "node:async_hooks";
 * import { ElicitingFrontend } from "./elicit_frontend.ts";
 * const server = { getClientCapabilities: () => ({}), getClientVersion: () => undefined, elicitInput: () => { throw new Error("no"); } };
 * equal(new ElicitingFrontend(server, new AsyncLocalStorage(), 60_000).canAsk(), false);
 * ```
 */
export class ElicitingFrontend implements Frontend {
  #server: Elicitor;
  #scope: AsyncLocalStorage<CallScope>;
  #timeoutMs: number;
  #offerSession: boolean;
  /** Creates the frontend over the SDK server; `scope` carries the current call's id. */
  constructor(
    server: Elicitor,
    scope: AsyncLocalStorage<CallScope>,
    timeoutMs: number,
    offerSession = true,
  ) {
    this.#server = server;
    this.#scope = scope;
    this.#timeoutMs = timeoutMs;
    this.#offerSession = offerSession;
  }

  /** True when the client declared form elicitation. */
  canAsk(): boolean {
    return this.#server.getClientCapabilities()?.elicitation?.form !== undefined;
  }

  /** Sends the form and maps the reply to an answer. */
  async ask(request: ApprovalRequest, signal: AbortSignal): Promise<ApprovalAnswer> {
    const call = this.#scope.getStore();
    const reply = await this.#server.elicitInput(approvalForm(request, this.#offerSession), {
      signal,
      timeout: this.#timeoutMs,
      ...(call ? { relatedRequestId: call.requestId } : {}),
    });
    const client = this.#server.getClientVersion()?.name ?? "the MCP client";
    if (reply.action === "decline") {
      return { choice: "deny", reason: `declined through ${client}` };
    }
    if (reply.action !== "accept") {
      throw new Error(`the request was dismissed in ${client}`);
    }
    const decision = reply.content?.[DECISION_FIELD];
    if (decision === "once") return { choice: "once" };
    if (decision === "session" && this.#offerSession) {
      return { choice: "session", pattern: request.suggestions[0] };
    }
    if (decision === "deny") return { choice: "deny", reason: `denied through ${client}` };
    throw new TypeError(
      `Cannot read the approval from ${client}: decision is ${JSON.stringify(decision)}`,
    );
  }
}
