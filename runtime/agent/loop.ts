/**
 * The agent loop: a user prompt → a model stream → each complete tool call through the
 * registry and the interceptor → the results back to the model → repeat until the model stops
 * calling tools. Every model call first reserves its estimated cost on the session budget (a
 * session over budget stops before the call) and commits the actual cost afterwards. The
 * session is saved when the turn starts, after every tool round and when it ends, so a process
 * killed mid-turn loses no completed round and the turn is later shown as `interrupted`.
 *
 * Durable commits: a save that is directly followed by a budget change rides in the budget's
 * commit (a `Rider`), so one fsync makes both durable, all or nothing:
 * - the turn's start (prompt, turn record) with the first call's reservation;
 * - each tool round (the model's reply, the tool results and the call's charge) with the next
 *   call's reservation;
 * - the turn's end with the last call's charge (or refund).
 *
 * A call's charge that is followed by tools waits for the next commit only when the budget
 * charges the call's reservation in full if this process dies first (`chargeIfAbandoned`,
 * see security/budget.ts "Abandoned reservations") and the charge is within the reservation: a
 * kill -9 during the tools then leaves the reservation charged, never less than was spent.
 * Otherwise (a budget that does not promise it, or a call that cost more than reserved) the
 * charge is committed on its own before the tools run, and so is one followed by the
 * `message_sending` hook. A turn with one tool round thus makes 3 commits (4 before the charge
 * waited; 7 before saves rode with the budget).
 *
 * @module
 */
// From the modules themselves, not llm/mod.ts: that would load the provider SDKs for every
// command that only names the loop's types.
import { costOf, estimateCost, type PricingTable } from "../llm/pricing.ts";
import type {
  LlmContent,
  LlmError,
  LlmMessage,
  LlmProvider,
  LlmRequest,
  LlmStopReason,
  LlmUsage,
} from "../llm/provider.ts";
import type { Provenance } from "../security/approval.ts";
import type { Reservation, ReserveOptions } from "../security/budget.ts";
import type { InvokeOutcome } from "../tools/invoke.ts";
import { assistantTrust, provenanceAfter, sourceOf, wrapUntrusted } from "./classify.ts";
import type { ToolRegistry } from "./registry.ts";
import type { Rider } from "../storage/store.ts";
import type { AgentSession, SessionMessage, SessionSave, TurnStatus } from "./session.ts";

/** Turns a request and a usage report into US dollars (wired to runtime/llm pricing). */
export interface AgentCosts {
  /** The most a request may cost; reserved before the call. Throws for an unpriced model. */
  estimate(req: LlmRequest): number;
  /** What a call cost. */
  actual(usage: LlmUsage): number;
}

/**
 * {@link AgentCosts} from a pricing table: the reservation is `estimateCost` (input characters / 4
 * plus `maxTokens` of output), the charge is `costOf` the reported usage.
 *
 * @example Price a call
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { DEFAULT_PRICING } from "../llm/mod.ts";
 * import { pricedCosts } from "./loop.ts";
 * const costs = pricedCosts("claude-sonnet-4-5", DEFAULT_PRICING, 1000);
 * ok(costs.estimate({ messages: [], tools: [], system: "hi" }) > costs.actual({ inputTokens: 1, outputTokens: 1 }));
 * ```
 */
export function pricedCosts(
  model: string,
  table: Readonly<PricingTable>,
  maxTokens: number,
): AgentCosts {
  return {
    estimate: (req) => estimateCost(req, model, table, req.maxTokens ?? maxTokens),
    actual: (usage) => costOf(usage, model, table),
  };
}

/** The part of the session budget the loop uses. */
export interface BudgetLike {
  /**
   * Sets an amount aside; rejects (`BudgetError`, `RangeError`) when it does not fit. A budget
   * that carries `rider` writes it in the same commit (see `SessionBudget.reserve`); one that
   * ignores it leaves it to the loop, which then saves on its own.
   */
  reserve(amountUsd: number, rider?: Rider, opts?: ReserveOptions): Promise<Reservation>;
}

/** How the loop reserves a model call: once made, its money may be gone (see the module doc). */
const MODEL_CALL: ReserveOptions = Object.freeze({ chargeIfAbandoned: true });

/** What the loop reports while it runs (CLI streaming output, `--json` events). */
export type AgentEvent =
  | { readonly type: "turn_start"; readonly sessionId: string; readonly turn: number }
  | { readonly type: "text"; readonly text: string }
  | {
    readonly type: "tool_start";
    readonly id: string;
    readonly name: string;
    readonly args: unknown;
    readonly provenance: Provenance;
  }
  | {
    readonly type: "tool_end";
    readonly id: string;
    readonly name: string;
    readonly status: InvokeOutcome["status"];
    readonly detail: string;
  }
  | { readonly type: "turn_end"; readonly result: TurnResult };

/** How one turn ended. */
export interface TurnResult {
  readonly status: TurnStatus;
  /** The model's final text (the text of its last call). */
  readonly text: string;
  /** Why the turn did not complete, or null. */
  readonly error: string | null;
  /** The error code (`BUDGET_EXCEEDED`, an `LlmError` code, `MAX_TURNS`, …), or null. */
  readonly code: string | null;
  readonly costUsd: number;
  /** Model calls made. */
  readonly rounds: number;
  /** Ids of deferred actions queued during the turn. */
  readonly deferred: readonly string[];
}

/**
 * The agent-loop side of capsule lifecycle hooks (runtime/capsule/hooks.ts `CapsuleHooks`):
 * best-effort events that never throw, and `message_sending`, which may rewrite or cancel the
 * final reply of a turn.
 */
export interface AgentHooks {
  /** True when some capsule handles `event` (`message_sending` makes the loop buffer text). */
  has(event: string): boolean;
  /** The workspace hook contexts name. */
  readonly workspaceDir: string;
  /** Runs `event`'s handlers with `{ event, ctx }`; failures are reported, never thrown. */
  notify(event: string, payload: { event: unknown; ctx: unknown }): Promise<void>;
  /** Runs the `message_sending` handlers over the reply. */
  messageSending(
    content: string,
    sessionId: string,
  ): Promise<
    | { readonly kind: "send"; readonly content: string }
    | { readonly kind: "cancel"; readonly capsule: string; readonly reason: string }
  >;
}

/** What an {@link Agent} needs. */
export interface AgentOptions {
  readonly provider: LlmProvider;
  readonly tools: ToolRegistry;
  readonly budget: BudgetLike;
  readonly costs: AgentCosts;
  readonly session: AgentSession;
  readonly system: string;
  readonly maxTokens?: number;
  readonly temperature?: number;
  /** Model calls per turn before the turn stops (default 25). */
  readonly maxRounds?: number;
  readonly onEvent?: (event: AgentEvent) => void;
  /** The `bash` working directory to persist after each round. */
  readonly cwd?: () => string;
  /** Provenance of the first prompt (default trusted): a sub-agent inherits its parent's. */
  readonly promptProvenance?: Provenance;
  /** Capsule lifecycle hooks (message_received, message_sending, after_tool_call, agent_end). */
  readonly hooks?: AgentHooks | undefined;
}

/** Per-turn options. */
export interface RunOptions {
  /** Aborting it cancels the turn (not the session); open reservations are refunded. */
  readonly signal?: AbortSignal;
}

interface Streamed {
  text: string;
  calls: { id: string; name: string; args: unknown }[];
  usage: LlmUsage | null;
  stop: LlmStopReason | null;
  error: { code: string; message: string } | null;
}

/**
 * The merged conversation for the provider: consecutive messages of the same role (an
 * interrupted turn followed by a new prompt) are joined so roles alternate.
 *
 * @example Two user messages in a row become one
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { toLlmMessages } from "./loop.ts";
 * const m = (text: string) => ({
 *   message: { role: "user" as const, content: [{ type: "text" as const, text }] },
 *   trust: "trusted" as const, turn: 1,
 * });
 * equal(toLlmMessages([m("a"), m("b")]).length, 1);
 * ```
 */
export function toLlmMessages(items: readonly SessionMessage[]): LlmMessage[] {
  const out: LlmMessage[] = [];
  for (const { message } of items) {
    if (message.content.length === 0) continue;
    const last = out.at(-1);
    if (last && last.role === message.role) {
      last.content = [...last.content, ...message.content];
    } else {
      out.push({ role: message.role, content: [...message.content] });
    }
  }
  return out;
}

/**
 * One agent over one session. Turns run one at a time.
 *
 * @example A turn with no tools
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { SessionBudget } from "../security/budget.ts";
 * import { Agent } from "./loop.ts";
 * import { SessionStore } from "./session.ts";
 * import type { LlmEvent, LlmProvider } from "../llm/mod.ts";
 * using store = await openStore(":memory:");
 * const provider: LlmProvider = {
 *   name: "scripted", model: "m",
 *   async *stream(): AsyncIterable<LlmEvent> {
 *     yield { type: "text_delta", text: "hello" };
 *     yield { type: "usage", inputTokens: 10, outputTokens: 1 };
 *     yield { type: "done", stopReason: "end_turn" };
 *   },
 * };
 * const session = new SessionStore(store).create({
 *   provider: "scripted", model: "m", workspaceRoot: "/ws", workspaceId: "w",
 * });
 * const agent = new Agent({
 *   provider, session, system: "be brief",
 *   tools: { definitions: () => [], call: () => Promise.reject(new Error("no tools")) },
 *   budget: await SessionBudget.load(store, session.id, { sessionUsd: 1, perActionUsd: 1, warnAt: 1 }),
 *   costs: { estimate: () => 0.01, actual: () => 0.001 },
 * });
 * const result = await agent.run("hi");
 * equal(result.status, "completed");
 * equal(result.text, "hello");
 * ```
 */
export class Agent {
  #o: AgentOptions;
  #busy = false;

  /** Creates the agent. */
  constructor(options: AgentOptions) {
    this.#o = options;
  }

  /** The session the agent works on. */
  get session(): AgentSession {
    return this.#o.session;
  }

  /** Runs one user turn to its end. Throws only when the session cannot be saved. */
  async run(prompt: string, opts: RunOptions = {}): Promise<TurnResult> {
    if (this.#busy) throw new Error("Cannot run a turn: current value is a turn in progress");
    this.#busy = true;
    try {
      return await this.#turn(prompt, opts.signal);
    } finally {
      this.#busy = false;
    }
  }

  async #turn(prompt: string, signal: AbortSignal | undefined): Promise<TurnResult> {
    const o = this.#o;
    const session = o.session;
    const turn = session.beginTurn(prompt);
    const first = o.promptProvenance ?? { trust: "trusted" as const };
    session.push({
      message: { role: "user", content: [{ type: "text", text: prompt }] },
      trust: first.trust,
      ...(first.source ? { source: first.source } : {}),
      turn: turn.n,
    });
    // The turn's start rides with the first reservation; `announce` waits until it is on disk.
    let pending: SessionSave | null = await session.prepareSave();
    const start = { save: pending, saved: false };
    const hooks = o.hooks;
    const started = Date.now();
    const hookCtx = { sessionId: session.id, agentId: "astrid", workspaceDir: hooks?.workspaceDir };
    let announced = false;
    const announce = async (): Promise<void> => {
      if (announced) return;
      announced = true;
      if (!start.save.done && !start.saved) await session.save();
      o.onEvent?.({ type: "turn_start", sessionId: session.id, turn: turn.n });
      if (hooks?.has("message_received")) {
        await hooks.notify("message_received", {
          event: { from: "user", content: prompt, timestamp: started },
          ctx: { channelId: "astrid", sessionKey: session.id },
        });
      }
    };
    // With a message_sending handler the reply is held back until it has had its say.
    const buffer = hooks?.has("message_sending") === true;

    const maxRounds = o.maxRounds ?? 25;
    const deferred: string[] = [];
    let cost = 0;
    let text = "";
    let rounds = 0;
    /** A call's charge held for the next commit (see the module doc), or null. */
    let owed: ((rider?: Rider) => Promise<void>) | null = null;
    /** Ends the turn; `settle` (the last call's charge, or the held one) carries the final save. */
    const end = async (
      status: TurnStatus,
      code: string | null = null,
      error: string | null = null,
      settle?: (rider: Rider) => Promise<void>,
    ): Promise<TurnResult> => {
      await announce();
      session.updateTurn({ status, error, costUsd: cost, endedAt: Date.now() });
      if (o.cwd) session.setCwd(o.cwd());
      settle ??= owed ?? undefined;
      owed = null;
      if (settle) {
        const save = await session.prepareSave();
        await settle(save);
        if (!save.done) await session.save();
      } else {
        await session.save();
      }
      const result: TurnResult = { status, text, error, code, costUsd: cost, rounds, deferred };
      if (hooks?.has("agent_end")) {
        await hooks.notify("agent_end", {
          event: {
            messages: [],
            success: status === "completed",
            ...(error === null ? {} : { error }),
            durationMs: Date.now() - started,
          },
          ctx: hookCtx,
        });
      }
      o.onEvent?.({ type: "turn_end", result });
      return result;
    };

    while (rounds < maxRounds) {
      if (signal?.aborted) return end("cancelled", "CANCELLED", "the turn was cancelled");
      const provenance = provenanceAfter(session.messages);
      const req: LlmRequest = {
        messages: toLlmMessages(session.messages),
        tools: o.tools.definitions(),
        system: o.system,
        ...(o.maxTokens !== undefined ? { maxTokens: o.maxTokens } : {}),
        ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
        ...(signal ? { signal } : {}),
      };
      let reservation: Reservation;
      let estimate: number;
      // The unsaved round (or the turn's start) rides with the reservation; on failure `end`
      // saves it.
      const save = pending;
      pending = null;
      // The held charge of the last call is queued in the same tick as the reservation, so the
      // budget writes both (and the save) in one commit. `charged` never rejects: it holds the
      // error, thrown once the reservation is decided.
      let charged: Promise<unknown> = Promise.resolve(null);
      try {
        estimate = o.costs.estimate(req);
        if (owed) charged = owed().then(() => null, (err: unknown) => err ?? new Error("failed"));
        owed = null;
        reservation = await o.budget.reserve(estimate, save ?? undefined, MODEL_CALL);
      } catch (err) {
        const failed = await charged;
        if (failed) throw failed;
        const code = (err as { code?: unknown }).code === "BUDGET_EXCEEDED"
          ? "BUDGET_EXCEEDED"
          : "COST_UNKNOWN";
        return end(
          code === "BUDGET_EXCEEDED" ? "budget_exceeded" : "failed",
          code,
          `Cannot call the model: ${(err as Error).message}`,
        );
      }
      const failed = await charged;
      if (failed) {
        await reservation.refund().catch(() => {});
        throw failed;
      }
      if (save && !save.done) await session.save(); // a budget that carries no writes
      start.saved = true;
      await announce();
      rounds++;
      const got = await this.#stream(req, buffer);
      const spent = got.usage ? o.costs.actual(got.usage) : got.error ? 0 : estimate;
      const held = reservation;
      const settle = (rider?: Rider): Promise<void> =>
        spent > 0 ? held.commit(spent, rider) : held.refund(rider);
      cost += spent;

      if (got.error) {
        // Nothing of the failed call enters the transcript: no partial text, no half tool call.
        const cancelled = got.error.code === "CANCELLED" || signal?.aborted === true;
        return end(cancelled ? "cancelled" : "failed", got.error.code, got.error.message, settle);
      }
      text = got.text;
      if (got.calls.length === 0) {
        if (buffer && hooks && got.text) {
          // Capsule code runs next: the charge is durable before it.
          await settle();
          session.updateTurn({ costUsd: cost });
          const sending = await hooks.messageSending(got.text, session.id);
          if (sending.kind === "cancel") {
            // Suppressed: the user sees one line saying who withheld it; nothing is stored.
            text = `[reply withheld by capsule ${sending.capsule}: ${sending.reason}]`;
            o.onEvent?.({ type: "text", text });
            return end("completed");
          }
          text = sending.content;
          o.onEvent?.({ type: "text", text });
        }
        if (text) {
          session.push({
            message: { role: "assistant", content: [{ type: "text", text }] },
            trust: provenance.trust,
            ...(provenance.source ? { source: provenance.source } : {}),
            turn: turn.n,
          });
        }
        return end("completed", null, null, buffer && hooks && got.text ? undefined : settle);
      }

      // Tools run next: the charge waits for the next commit only when a crash before it would
      // charge the reservation instead (module doc); otherwise it is durable before them.
      if (held.chargedIfAbandoned === true && toMicros(spent) <= toMicros(held.amountUsd)) {
        owed = settle;
      } else {
        await settle();
      }
      session.updateTurn({ costUsd: cost });
      if (buffer && got.text) o.onEvent?.({ type: "text", text: got.text });
      const results: LlmContent[] = [];
      const proofs: string[] = [];
      const sources: string[] = [];
      for (const call of got.calls) {
        if (signal?.aborted) {
          results.push(toolResult(call.id, "Not run: the turn was cancelled.", true));
          continue;
        }
        o.onEvent?.({ type: "tool_start", ...call, provenance });
        let outcome: InvokeOutcome;
        const callStarted = Date.now();
        try {
          outcome = await o.tools.call(call.name, call.args, { provenance, signal });
        } catch (err) {
          // A registry that throws still leaves a consistent transcript.
          outcome = { status: "error", code: "EXECUTOR_FAILED", message: (err as Error).message };
        }
        const rendered = renderOutcome(call.name, call.args, outcome);
        if (hooks?.has("after_tool_call")) {
          await hooks.notify("after_tool_call", {
            event: {
              toolName: call.name,
              params: call.args,
              toolCallId: call.id,
              ...(outcome.status === "ok"
                ? { result: outcome.result.output }
                : { error: rendered.detail }),
              durationMs: Date.now() - callStarted,
            },
            ctx: { ...hookCtx, toolName: call.name, toolCallId: call.id },
          });
        }
        if (outcome.status === "ok") {
          proofs.push(...outcome.proofs);
          sources.push(sourceOf(call.name, call.args));
        } else if (outcome.status === "deferred") {
          deferred.push(outcome.id);
        }
        results.push(toolResult(call.id, rendered.content, rendered.isError));
        o.onEvent?.({
          type: "tool_end",
          id: call.id,
          name: call.name,
          status: outcome.status,
          detail: rendered.detail,
        });
      }
      const content: LlmContent[] = got.text ? [{ type: "text", text: got.text }] : [];
      for (const c of got.calls) content.push({ type: "tool_use", ...c });
      const aTrust = assistantTrust(provenance, proofs);
      session.push({
        message: { role: "assistant", content },
        trust: aTrust,
        ...(aTrust === "untrusted" && provenance.source ? { source: provenance.source } : {}),
        turn: turn.n,
      });
      session.push({
        message: { role: "user", content: results },
        trust: sources.length > 0 ? "untrusted" : "trusted",
        ...(sources.length > 0 ? { source: sources.join("; ") } : {}),
        turn: turn.n,
      });
      if (o.cwd) session.setCwd(o.cwd());
      // Saved with the next reservation, or by `end` (cancelled, over budget, max_turns).
      pending = await session.prepareSave();
    }
    return end(
      "max_turns",
      "MAX_TURNS",
      `Cannot continue the turn: it reached the limit of ${maxRounds} model calls`,
    );
  }

  async #stream(req: LlmRequest, buffer: boolean): Promise<Streamed> {
    const got: Streamed = { text: "", calls: [], usage: null, stop: null, error: null };
    try {
      for await (const ev of this.#o.provider.stream(req)) {
        switch (ev.type) {
          case "text_delta":
            got.text += ev.text;
            if (!buffer) this.#o.onEvent?.({ type: "text", text: ev.text });
            break;
          case "tool_call_end":
            got.calls.push({ id: ev.id, name: ev.name, args: ev.args });
            break;
          case "usage": {
            const { type: _t, ...usage } = ev;
            got.usage = usage;
            break;
          }
          case "done":
            got.stop = ev.stopReason;
            break;
          case "error":
            got.error = errorOf(ev.error);
            break;
        }
        if (got.error) break;
      }
    } catch (err) {
      got.error = errorOf(err);
    }
    if (!got.error && got.stop === null) {
      got.error = {
        code: "MALFORMED",
        message: "Cannot use the model's reply: the stream ended early",
      };
    }
    return got;
  }
}

/** USD as whole micro-dollars, the budget's unit. */
const toMicros = (usd: number): number => Math.round(usd * 1e6);

function errorOf(err: unknown): { code: string; message: string } {
  const e = err as Partial<LlmError> | null;
  return {
    code: typeof e?.code === "string" ? e.code : "NETWORK",
    message: typeof e?.message === "string" ? e.message : String(err),
  };
}

function toolResult(toolUseId: string, content: string, isError: boolean): LlmContent {
  return { type: "tool_result", toolUseId, content, isError };
}

/** The tool result the model sees for an outcome, and a one-line detail for the user. */
function renderOutcome(
  name: string,
  args: unknown,
  outcome: InvokeOutcome,
): { content: string; isError: boolean; detail: string } {
  switch (outcome.status) {
    case "ok":
      return {
        content: wrapUntrusted(sourceOf(name, args), outcome.result.output),
        isError: outcome.result.isError,
        detail: outcome.result.isError ? "finished with an error" : "ok",
      };
    case "denied":
      return {
        content:
          `Astrid denied this action (${outcome.code}): ${outcome.summary}: ${outcome.reason}. ` +
          "Do not retry it; choose another approach or tell the user.",
        isError: true,
        detail: `denied (${outcome.code}): ${outcome.reason}`,
      };
    case "deferred":
      return {
        content: `Astrid queued this action for human approval (id ${outcome.id}): ` +
          `${outcome.summary}: ${outcome.reason}. It has not run. Continue without it or stop.`,
        isError: true,
        detail: `deferred as ${outcome.id}`,
      };
    case "error":
      return {
        content: `The tool failed (${outcome.code}): ${outcome.message}`,
        isError: true,
        detail: `error (${outcome.code}): ${outcome.message}`,
      };
  }
}
