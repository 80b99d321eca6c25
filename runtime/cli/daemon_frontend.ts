/**
 * The CLI as a frontend of a running daemon (`astrid chat` when `astrid daemon` runs): the
 * session runs in the daemon, and this side renders its events and answers its approvals. It is
 * one implementation of the daemon's {@link Frontend} interface (runtime/daemon/types.ts):
 *
 * - conversation events (`text`, `tool.start`, `tool.end`, …) become the agent events the
 *   existing renderers draw (the REPL's, or `chat -p`'s progress lines);
 * - an offered approval is asked with the existing prompt (single keys in the REPL) and
 *   answered with `approvals.respond`; when another frontend answers first, the local prompt is
 *   withdrawn and "answered in <by>: <answer>" is printed;
 * - {@link DaemonFrontend.run} sends a turn (`sessions.send` with `wait`), and an aborted
 *   signal (Ctrl-C) becomes `sessions.cancel`;
 * - {@link DaemonSessionModel} is the REPL's `/model` over the daemon session's model
 *   (`sessions.model`): listing shows the daemon's model and priced ones, and `/model NAME`
 *   switches the session there, priced and audited by the daemon as the local REPL does;
 * - {@link daemonCapsuleCommands} are the REPL's capsule slash commands over the daemon
 *   session (`commands.list`, `commands.run`): a wasm command runs in the daemon through the
 *   session's interceptor, a prompt command comes back expanded and the REPL sends it as its
 *   next turn ({@link DaemonFrontend.run}), as it sends a typed one.
 *
 * @module
 */
import type { AgentEvent, TurnResult } from "../agent/mod.ts";
import type { Action, ActionInfo } from "../security/action.ts";
import type {
  ApprovalAnswer,
  ApprovalRequest,
  ElicitationAnswer,
  Frontend as SecurityFrontend,
} from "../security/approval.ts";
import type { DaemonClient } from "../daemon/client.ts";
import type { SessionModelState as ModelState } from "../daemon/session_host.ts";
import type { ModelPrice } from "../llm/mod.ts";
import type { PricedModel } from "./_session_model.ts";
import type { ReplCapsuleCommands } from "./repl.ts";
import type { CommandRow } from "../daemon/methods/commands.ts";
import { type CommandRun, findSlashCommand, type SlashCommand } from "../capsule/commands.ts";
import type {
  DaemonEvent,
  Frontend,
  PendingApproval,
  PendingElicitation,
} from "../daemon/types.ts";

/** How long a turn may run before the CLI stops waiting on `sessions.send` (a day). */
export const TURN_TIMEOUT_MS = 24 * 3600_000;

/** What a {@link DaemonFrontend} works with. */
export interface DaemonFrontendOptions {
  readonly client: DaemonClient;
  readonly sessionId: string;
  /** `cli:<pid>`: how the daemon names this frontend's answers. */
  readonly id: string;
  /** Draws the session's events (the REPL's `onEvent`, or `chat -p`'s progress). */
  readonly render: (event: AgentEvent) => void;
  /** Who answers offered approvals here (the terminal prompt, a preset), or null: nobody. */
  readonly asker: SecurityFrontend | null;
  /** Prints one line for the user ("answered in web:…: once"). */
  readonly say: (line: string) => void;
}

/**
 * A CLI frontend of one daemon session.
 *
 * @example Model text is rendered as the agent's own event
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { DaemonFrontend } from "./daemon_frontend.ts";
 * const seen: unknown[] = [];
 * const f = new DaemonFrontend({
 *   client: {} as never, sessionId: "s1", id: "cli:1", asker: null, say() {},
 *   render: (e) => seen.push(e),
 * });
 * f.onEvent({ type: "text", sessionId: "s1", text: "hi" });
 * f.onEvent({ type: "text", sessionId: "s2", text: "not ours" });
 * deepEqual(seen, [{ type: "text", text: "hi" }]);
 * ```
 */
export class DaemonFrontend implements Frontend {
  readonly id: string;
  #o: DaemonFrontendOptions;
  /** Local prompts on screen, by approval id. */
  #asking = new Map<string, AbortController>();
  /** Prompts are shown one at a time, in the order offered. */
  #queue: Promise<unknown> = Promise.resolve();
  #settled = new Set<string>();

  /** Creates the frontend; call {@link DaemonFrontend.attach} to receive the session's events. */
  constructor(opts: DaemonFrontendOptions) {
    this.id = opts.id;
    this.#o = opts;
  }

  /**
   * Subscribes to the session's events (`canAnswer` when someone here can answer) and routes
   * them here; returns the function that stops.
   */
  async attach(): Promise<() => void> {
    const stop = this.#o.client.onNotification((method, params) => {
      if (method !== "events.event") return;
      const event = (params as { event?: DaemonEvent } | null)?.event;
      if (event) this.onEvent(event);
    });
    try {
      await this.#o.client.call("events.subscribe", {
        sessionId: this.#o.sessionId,
        canAnswer: this.#o.asker?.canAsk() ?? false,
      });
    } catch (err) {
      stop();
      throw err;
    }
    return stop;
  }

  /** Routes one daemon event: this session's conversation, offers and settlements. */
  onEvent(event: DaemonEvent): void {
    if (event.type === "approval.requested") {
      if (event.approval.sessionId === this.#o.sessionId) this.offerApproval(event.approval);
      return;
    }
    if (event.type === "approval.resolved") {
      return this.approvalSettled(event.id, event.answer, event.by);
    }
    if (event.type === "elicitation.requested") {
      if (event.elicitation.sessionId === this.#o.sessionId) {
        this.#offerElicitation(event.elicitation);
      }
      return;
    }
    if (event.type === "elicitation.resolved") {
      return this.approvalSettled(event.id, event.action === "accept" ? "once" : "deny", event.by);
    }
    if (!("sessionId" in event) || event.sessionId !== this.#o.sessionId) return;
    const agentEvent = toAgentEvent(event);
    if (agentEvent) this.#o.render(agentEvent);
  }

  /** Asks the local prompt (one at a time) and answers the daemon with what was chosen. */
  offerApproval(request: PendingApproval): void {
    const asker = this.#o.asker;
    if (!asker?.canAsk() || this.#asking.has(request.id) || this.#settled.has(request.id)) return;
    const controller = new AbortController();
    this.#asking.set(request.id, controller);
    const run = async () => {
      if (controller.signal.aborted) return;
      let answer: ApprovalAnswer;
      try {
        answer = await asker.ask(toApprovalRequest(request), controller.signal);
      } catch {
        return; // withdrawn: answered elsewhere, or the turn ended
      } finally {
        this.#asking.delete(request.id);
      }
      if (controller.signal.aborted) return;
      await this.#o.client.call("approvals.respond", {
        id: request.id,
        answer: answer.choice,
        ...(answer.pattern !== undefined ? { pattern: answer.pattern } : {}),
        ...(answer.reason !== undefined ? { reason: answer.reason } : {}),
      }).catch((err: Error) => this.#o.say(`(the answer was not taken: ${err.message})`));
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => {});
  }

  /** Asks an MCP server's elicitation here (after any earlier prompt), answers the daemon. */
  #offerElicitation(request: PendingElicitation): void {
    const elicit = this.#o.asker?.elicit?.bind(this.#o.asker);
    if (!elicit || this.#asking.has(request.id) || this.#settled.has(request.id)) return;
    const controller = new AbortController();
    this.#asking.set(request.id, controller);
    const run = async () => {
      if (controller.signal.aborted) return;
      let answer: ElicitationAnswer;
      try {
        answer = await elicit(
          request.mode === "url"
            ? { mode: "url", from: request.from, message: request.message, url: request.url ?? "" }
            : {
              mode: "form",
              from: request.from,
              message: request.message,
              fields: request.fields,
            },
          controller.signal,
        );
      } catch {
        return; // withdrawn: answered elsewhere, or the turn ended
      } finally {
        this.#asking.delete(request.id);
      }
      if (controller.signal.aborted) return;
      await this.#o.client.call("elicitations.respond", {
        id: request.id,
        action: answer.action,
        ...(answer.action === "accept" && answer.content ? { content: answer.content } : {}),
      }).catch((err: Error) => this.#o.say(`(the answer was not taken: ${err.message})`));
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => {});
  }

  /** Withdraws a local prompt another frontend answered first, and says who answered. */
  approvalSettled(id: string, answer: ApprovalAnswer["choice"], by: string): void {
    this.#settled.add(id);
    const open = this.#asking.get(id);
    if (!open) return;
    this.#asking.delete(id);
    open.abort();
    if (by !== this.id) this.#o.say(`answered in ${by}: ${answer}`);
  }

  /** Runs one turn in the daemon; an abort of `signal` (Ctrl-C) cancels it there. */
  async run(prompt: string, opts: { readonly signal?: AbortSignal } = {}): Promise<TurnResult> {
    const { client, sessionId } = this.#o;
    const onAbort = () => void client.call("sessions.cancel", { sessionId }).catch(() => {});
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await client.call<TurnResult>(
        "sessions.send",
        { sessionId, text: prompt, wait: true },
        { timeoutMs: TURN_TIMEOUT_MS },
      );
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
    }
  }
}

/**
 * The agent event a daemon event stands for (what the CLI's renderers draw), or null.
 *
 * @example A finished tool call
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { toAgentEvent } from "./daemon_frontend.ts";
 * const e = toAgentEvent({
 *   type: "tool.end", sessionId: "s", id: "t1", name: "read_file", status: "ok", detail: "ok",
 * });
 * equal(e?.type, "tool_end");
 * ```
 */
export function toAgentEvent(event: DaemonEvent): AgentEvent | null {
  switch (event.type) {
    case "turn.start":
      return { type: "turn_start", sessionId: event.sessionId, turn: event.turn };
    case "text":
      return { type: "text", text: event.text };
    case "tool.start":
      return {
        type: "tool_start",
        id: event.id,
        name: event.name,
        args: event.args,
        provenance: event.provenance,
      };
    case "tool.end":
      return {
        type: "tool_end",
        id: event.id,
        name: event.name,
        status: event.status as Extract<AgentEvent, { type: "tool_end" }>["status"],
        detail: event.detail,
      };
    default:
      return null;
  }
}

/** What the terminal prompt needs to show an offered approval. */
function toApprovalRequest(p: PendingApproval): ApprovalRequest {
  return {
    id: p.id,
    sessionId: p.sessionId,
    // The prompt shows the summary, resource and risk; the action itself stays in the daemon.
    action: { kind: p.action } as unknown as Action,
    info: { summary: p.summary, resource: p.resource, risk: p.risk } as ActionInfo,
    reason: p.reason,
    ...(p.provenance ? { provenance: p.provenance } : {}),
    suggestions: p.suggestions,
  };
}

/**
 * The model of a daemon session, with the surface the REPL's `/model` uses
 * (cli/_session_model.ts `SessionModel`: `name`, `model`, `configured`, `priced()`,
 * `switchTo()`). It holds the daemon's last answer; {@link DaemonSessionModel.refresh} reads it
 * again (after each turn: another frontend may have switched).
 *
 * @example The listing is the daemon's
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { DaemonSessionModel } from "./daemon_frontend.ts";
 * const state = {
 *   provider: "anthropic", model: "m1", configured: "m1", switchable: true, maxTurns: 5,
 *   price: { inputPerMtok: 1, outputPerMtok: 2 },
 *   priced: [{ model: "m1", inputPerMtok: 1, outputPerMtok: 2, current: true }],
 * };
 * const client = { call: () => Promise.resolve(state) } as never;
 * const m = await DaemonSessionModel.open(client, "s1");
 * equal(m.priced()[0]?.price.output_per_mtok, 2);
 * equal(m.maxTurns, 5);
 * ```
 */
export class DaemonSessionModel {
  #client: DaemonClient;
  #sessionId: string;
  #state: ModelState;

  private constructor(client: DaemonClient, sessionId: string, state: ModelState) {
    this.#client = client;
    this.#sessionId = sessionId;
    this.#state = state;
  }

  /** Reads the session's model from the daemon. */
  static async open(client: DaemonClient, sessionId: string): Promise<DaemonSessionModel> {
    const state = await client.call<ModelState>("sessions.model", { sessionId });
    return new DaemonSessionModel(client, sessionId, state);
  }

  /** The provider's name. */
  get name(): string {
    return this.#state.provider;
  }

  /** The model in use in the daemon session. */
  get model(): string {
    return this.#state.model;
  }

  /** The workspace config's model. */
  get configured(): string {
    return this.#state.configured;
  }

  /** False for a `capsule:<name>` model. */
  get switchable(): boolean {
    return this.#state.switchable;
  }

  /** Model calls allowed per turn in the daemon session. */
  get maxTurns(): number {
    return this.#state.maxTurns;
  }

  /** The priced models as the daemon's table has them, the one in use marked. */
  priced(): PricedModel[] {
    return this.#state.priced.map((p) => ({
      model: p.model,
      price: { input_per_mtok: p.inputPerMtok, output_per_mtok: p.outputPerMtok },
      current: p.current,
    }));
  }

  /**
   * Switches the daemon session to `model` (the daemon prices and audits it; `_ctx` is unused:
   * the audit entry is written by the daemon). Throws with the daemon's reason when refused.
   */
  async switchTo(model: string, _ctx?: unknown): Promise<ModelPrice> {
    const state = await this.#client.call<ModelState>("sessions.model", {
      sessionId: this.#sessionId,
      model,
    });
    this.#state = state;
    const p = state.price;
    return { input_per_mtok: p?.inputPerMtok ?? 0, output_per_mtok: p?.outputPerMtok ?? 0 };
  }

  /** Reads the daemon's answer again; keeps the last one when the daemon does not answer. */
  async refresh(): Promise<void> {
    this.#state = await this.#client.call<ModelState>("sessions.model", {
      sessionId: this.#sessionId,
    }).catch(() => this.#state);
  }
}

/**
 * The capsule slash commands of daemon session `sessionId`, for the REPL: listed once
 * (`commands.list`; a session's capsules are fixed when it opens), each run in the daemon
 * (`commands.run`). A daemon without these methods offers none. Ctrl-C stops waiting here; a
 * command already running in the daemon finishes there.
 *
 * @example Listed from the daemon, run there
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { daemonCapsuleCommands } from "./daemon_frontend.ts";
 * const calls: unknown[] = [];
 * const client = {
 *   call: (method: string, params: unknown) => {
 *     calls.push([method, params]);
 *     return Promise.resolve(method === "commands.list"
 *       ? [{ slash: "note", capsule: "notes", command: "note", description: "Save", kind: "wasm" }]
 *       : { kind: "prompt", prompt: "x" });
 *   },
 * } as never;
 * const cmds = await daemonCapsuleCommands(client, "s1");
 * equal(cmds.find("notes:note")?.slash, "note");
 * await cmds.run(cmds.list[0]!, "hi", new AbortController().signal);
 * deepEqual(calls[1], ["commands.run", { sessionId: "s1", slash: "note", args: "hi" }]);
 * ```
 */
export async function daemonCapsuleCommands(
  client: DaemonClient,
  sessionId: string,
): Promise<ReplCapsuleCommands> {
  const rows = await client.call<CommandRow[]>("commands.list", { sessionId }).catch(() => []);
  const list: SlashCommand[] = rows.map((r) => ({
    slash: r.slash,
    capsule: r.capsule,
    name: r.command,
    description: r.description,
    // The template stays in the daemon: commands.run expands it.
    ...(r.kind === "prompt" ? { kind: "prompt", prompt: "" } as const : { kind: "wasm" } as const),
  }));
  return {
    list,
    find: (word) => findSlashCommand(list, word),
    run: (command, args, signal) =>
      new Promise<CommandRun>((resolve, reject) => {
        const stop = () =>
          reject(
            new Error(
              `Cannot wait for /${command.slash}: cancelled (it may still finish in the daemon)`,
            ),
          );
        if (signal.aborted) return stop();
        signal.addEventListener("abort", stop, { once: true });
        client.call<CommandRun>("commands.run", { sessionId, slash: command.slash, args }, {
          timeoutMs: TURN_TIMEOUT_MS,
        }).then(resolve, reject).finally(() => signal.removeEventListener("abort", stop));
      }),
  };
}
