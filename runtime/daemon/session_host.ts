/**
 * Agent sessions that run inside the daemon (service name `sessions`). Each live session is
 * an agent opened with the same wiring as `astrid chat` (runtime/cli/chat_wiring.ts) over the
 * config of ITS workspace; its events go to the daemon's event bus, and its approval prompts go
 * to the {@link ApprovalHub}: offered to every attached frontend, the first answer wins, and
 * with nobody attached the broker defers exactly as the CLI does without a terminal.
 *
 * Sessions are persisted by the agent's {@link SessionStore}; a turn the daemon was running
 * when it died is marked `interrupted` by {@link SessionHost.recover} when the next daemon
 * starts, and the session can be resumed.
 *
 * @module
 */
import { type ElicitationBroker, ELICITATIONS_SERVICE } from "./elicitations.ts";
import { join } from "node:path";
import type { AgentEvent, OpenedAgent, TurnResult } from "../agent/mod.ts";
import { type SessionHeader, SessionStore } from "../agent/session.ts";
import { loadConfig, resolvePaths } from "../config/mod.ts";
import type { LlmProvider, ModelConfig } from "../llm/mod.ts";
// Only the pricing table here: the provider SDKs load when a session opens.
import { type ModelPrice, priceOf, type PricingTable } from "../llm/pricing.ts";
import type { Frontend } from "../security/approval.ts";
import { type Runtime, runtimeWalls, workspaceId } from "../cli/context.ts";
import type { ChatWiring } from "../cli/chat_wiring.ts";
import type { SessionModel } from "../cli/_session_model.ts";
// The agent, the LLM SDKs, the capsule engine and the chat wiring are loaded when a session
// opens (literal `import()`s below), so an idle daemon does not hold them in memory.
import { type DaemonContext, type DaemonEvent, RpcError, RpcErrorCode } from "./types.ts";

/** The name the host is registered under in {@link DaemonContext.services}. */
export const SESSIONS_SERVICE = "sessions";

/** The share of a session's budget past which `budget.warning` is published (once). */
export const BUDGET_WARNING_SHARE = 0.8;

/** A session's status as frontends see it. */
export type HostedStatus = "idle" | "running" | "ended" | "interrupted";

/** One row of `sessions.list`. */
export interface SessionSummary {
  readonly id: string;
  readonly title: string;
  readonly workspace: string;
  readonly status: HostedStatus;
  /** Open in this daemon right now. */
  readonly live: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly turnCount: number;
  /** What the session's model calls cost so far (live sessions only). */
  readonly costUsd?: number;
}

/** A session's model as `sessions.model` answers. */
export interface SessionModelState {
  readonly provider: string;
  /** The model in use. */
  readonly model: string;
  /** The workspace config's `[model] model`. */
  readonly configured: string;
  /** False for a `capsule:<name>` model. */
  readonly switchable: boolean;
  /** Model calls allowed per turn in this session. */
  readonly maxTurns: number;
  /** What the model in use costs, USD per million tokens; null when it is not priced. */
  readonly price: { readonly inputPerMtok: number; readonly outputPerMtok: number } | null;
  /** The models the pricing table names, USD per million tokens. */
  readonly priced: readonly {
    readonly model: string;
    readonly inputPerMtok: number;
    readonly outputPerMtok: number;
    readonly current: boolean;
  }[];
}

/** The switchable provider chat_wiring.ts gives a built-in model (`SessionModel`). */
type Switchable = Pick<SessionModel, "switchTo" | "priced" | "configured">;

/** Test seams. */
export interface SessionHostOptions {
  /** Builds the built-in provider from a workspace's `[model]` (default `createProvider`). */
  readonly makeProvider?: (cfg: ModelConfig) => LlmProvider;
}

interface Live {
  readonly id: string;
  readonly workspace: string;
  readonly opened: OpenedAgent;
  readonly wiring: ChatWiring;
  /** Model calls allowed per turn (`maxTurns`, else the workspace's `[agent] max_rounds`). */
  readonly maxRounds: number;
  turn:
    | { readonly n: number; readonly controller: AbortController; done: Promise<TurnResult> }
    | null;
  budgetWarned: boolean;
}

/**
 * The daemon's live sessions.
 *
 * @example Registered once per daemon
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { SESSIONS_SERVICE } from "./session_host.ts";
 * equal(SESSIONS_SERVICE, "sessions");
 * ```
 */
export class SessionHost {
  #ctx: DaemonContext;
  #makeProvider: ((cfg: ModelConfig) => LlmProvider) | null;
  /** `processAlive` (cli/commands/sessions.ts), loaded when a `running` header is seen. */
  #alive: ((pid: number) => boolean) | null = null;
  #live = new Map<string, Live>();
  /** Sessions being opened, so two clients resuming one session share one agent. */
  #opening = new Map<string, Promise<Live>>();
  #closed = false;

  /** The daemon's host, registered under {@link SESSIONS_SERVICE} at its first use. */
  static of(ctx: DaemonContext): SessionHost {
    let host = ctx.services.get<SessionHost>(SESSIONS_SERVICE);
    if (!host) {
      host = new SessionHost(ctx);
      ctx.services.set(SESSIONS_SERVICE, host);
    }
    return host;
  }

  /** A host over the daemon's runtime; nothing opens until a session is created or resumed. */
  constructor(ctx: DaemonContext, opts: SessionHostOptions = {}) {
    this.#ctx = ctx;
    this.#makeProvider = opts.makeProvider ?? null;
  }

  /** How many sessions are live in the daemon (the `sessions` count of `status`). */
  count(): number {
    return this.#live.size;
  }

  get #sessions(): SessionStore {
    return new SessionStore(this.#ctx.rt.store);
  }

  /**
   * Marks the turns a dead daemon (or CLI) left `running` as `interrupted` and publishes
   * `session.status interrupted` for each. Returns their ids.
   */
  async recover(alive?: (pid: number) => boolean): Promise<string[]> {
    const out: string[] = [];
    for (const header of await this.#sessions.list()) {
      if (header.status !== "running" || this.#live.has(header.id)) continue;
      if (header.ownerPid !== null && (alive ?? await this.#processAlive())(header.ownerPid)) {
        continue;
      }
      const session = await this.#sessions.load(header.id);
      if (!session.recoverInterrupted()) continue;
      await session.save();
      out.push(header.id);
      this.#publish({ type: "session.status", sessionId: header.id, status: "interrupted" });
    }
    return out;
  }

  /**
   * Starts a session in `workspace` (an initialised workspace folder: it has `.astrid/`);
   * `maxTurns` caps each turn's model calls (default: the workspace's `[agent] max_rounds`).
   */
  async create(
    workspace: string,
    title?: string,
    maxTurns?: number,
  ): Promise<{ sessionId: string }> {
    const root = await initialisedWorkspace(workspace);
    const id = crypto.randomUUID();
    const live = this.#open(id, async () => {
      const { rt, ws } = await this.#workspaceRuntime(root);
      const wiring = await this.#wire(rt, ws, id, maxTurns);
      try {
        const session = this.#sessions.create({
          id,
          provider: wiring.provider.name,
          model: wiring.provider.model,
          workspaceRoot: ws.root,
          workspaceId: ws.id,
        });
        await session.save();
        // The header's title is otherwise the first prompt; a given one is kept (key layout
        // documented in runtime/agent/session.ts).
        const clean = title?.replace(/\s+/g, " ").trim().slice(0, 60);
        if (clean) await rt.store.set(["agent_sessions", id], { ...session.header, title: clean });
        return await this.#start(id, ws.root, wiring, maxTurns ?? rt.config.agent.max_rounds);
      } catch (err) {
        await wiring[Symbol.asyncDispose]();
        throw err;
      }
    });
    await live;
    return { sessionId: id };
  }

  /**
   * Makes a persisted session live (a no-op when it is); says whether a turn was recovered.
   * With `maxTurns`, its turns are capped at that many model calls: a live session with another
   * cap is reopened with it (a conflict while a turn runs).
   */
  async resume(
    sessionId: string,
    maxTurns?: number,
  ): Promise<{ sessionId: string; recovered: boolean }> {
    const existing = this.#live.get(sessionId) ?? await this.#opening.get(sessionId);
    if (existing && (maxTurns === undefined || existing.maxRounds === maxTurns)) {
      return { sessionId, recovered: false };
    }
    if (existing) {
      if (existing.turn) {
        throw new RpcError(
          RpcErrorCode.Conflict,
          `Cannot change the turn limit of session ${sessionId}: turn ${existing.turn.n} is ` +
            "still running",
        );
      }
      await this.unload(sessionId);
    }
    const header = await this.#header(sessionId);
    if (header.status === "ended") {
      throw new RpcError(RpcErrorCode.Conflict, `Cannot resume session ${sessionId}: it ended`);
    }
    const live = await this.#open(sessionId, async () => {
      const root = await initialisedWorkspace(header.workspaceRoot);
      const { rt, ws } = await this.#workspaceRuntime(root);
      const wiring = await this.#wire(rt, ws, sessionId, maxTurns);
      try {
        return await this.#start(
          sessionId,
          ws.root,
          wiring,
          maxTurns ?? rt.config.agent.max_rounds,
        );
      } catch (err) {
        await wiring[Symbol.asyncDispose]();
        throw err;
      }
    });
    return { sessionId, recovered: live.opened.recovered };
  }

  /**
   * Starts a turn (resuming the session first if it is not live). `done` settles with the
   * turn's result; a turn already running is a conflict.
   */
  async send(
    sessionId: string,
    text: string,
  ): Promise<{ turn: number; done: Promise<TurnResult> }> {
    if (!this.#live.has(sessionId)) await this.resume(sessionId);
    const live = this.#live.get(sessionId);
    if (!live) throw notFound(sessionId);
    if (live.turn) {
      throw new RpcError(
        RpcErrorCode.Conflict,
        `Cannot send to session ${sessionId}: turn ${live.turn.n} is still running`,
      );
    }
    const controller = new AbortController();
    this.#publish({ type: "session.status", sessionId, status: "running" });
    const done = live.opened.agent.run(text, { signal: controller.signal });
    // The agent records the new turn before its first await.
    const n = live.opened.session.turns.at(-1)?.n ?? 0;
    const turn = { n, controller, done };
    live.turn = turn;
    done.then(
      () => this.#checkBudget(live),
      (err: unknown) => {
        this.#publish({
          type: "turn.end",
          sessionId,
          status: "failed",
          text: "",
          error: (err as Error).message ?? String(err),
          costUsd: 0,
          deferred: [],
        });
      },
    ).finally(() => {
      if (live.turn === turn) live.turn = null;
      if (this.#live.get(sessionId) === live) {
        this.#publish({ type: "session.status", sessionId, status: "idle" });
      }
    });
    return { turn: n, done };
  }

  /** Cancels the running turn; false when none runs. */
  cancel(sessionId: string): boolean {
    const live = this.#live.get(sessionId);
    if (!live?.turn) return false;
    live.turn.controller.abort();
    return true;
  }

  /** Ends a session: its running turn is cancelled, it is closed and marked ended. */
  async end(sessionId: string): Promise<void> {
    const live = this.#live.get(sessionId) ?? await this.#opening.get(sessionId)?.catch(() => null);
    if (live) {
      this.#live.delete(sessionId);
      await this.#shut(live);
      live.opened.session.end();
      await live.opened.session.save();
    } else {
      await this.#header(sessionId);
      const session = await this.#sessions.load(sessionId);
      session.recoverInterrupted();
      session.end();
      await session.save();
    }
    this.#publish({ type: "session.status", sessionId, status: "ended" });
  }

  /**
   * Unloads a live session without ending it: it stays resumable (`chat -p` does this when
   * its turn is done). A running turn is cancelled first. False when it was not live.
   */
  async unload(sessionId: string): Promise<boolean> {
    const live = this.#live.get(sessionId) ?? await this.#opening.get(sessionId)?.catch(() => null);
    if (!live) {
      await this.#header(sessionId);
      return false;
    }
    this.#live.delete(sessionId);
    await this.#shut(live);
    this.#publish({ type: "session.status", sessionId, status: "idle" });
    return true;
  }

  /** Persisted sessions, newest first, with which are live here. */
  async list(filter: { workspace?: string; all?: boolean } = {}): Promise<SessionSummary[]> {
    const root = filter.workspace ? await Deno.realPath(filter.workspace).catch(() => null) : null;
    if (filter.workspace && root === null) return [];
    const out: SessionSummary[] = [];
    for (const h of await this.#sessions.list()) {
      if (!filter.all && h.depth > 0) continue;
      if (root !== null && h.workspaceRoot !== root) continue;
      out.push(await this.#summary(h));
    }
    return out;
  }

  /** A session's header, turns and messages, for a frontend to render its history. */
  async show(sessionId: string) {
    const live = this.#live.get(sessionId);
    const session = live?.opened.session ?? await this.#load(sessionId);
    return {
      session: await this.#summary(session.header),
      turns: session.turns.map((t) => ({ ...t })),
      messages: session.messages.map((m) => ({
        role: m.message.role,
        trust: m.trust,
        ...(m.source ? { source: m.source } : {}),
        turn: m.turn,
        content: m.message.content,
      })),
    };
  }

  /**
   * The model of a session (resumed first if it is not live) and the priced ones; with `name`,
   * switches the session to it first, priced and audited as the local REPL's `/model NAME`
   * (cli/_session_model.ts: an unpriced or malformed name is refused, the switch is an audited
   * `model_switch` event, no audit no switch). A `capsule:<name>` model cannot be switched.
   */
  async model(sessionId: string, name?: string): Promise<SessionModelState> {
    if (!this.#live.has(sessionId)) await this.resume(sessionId);
    const live = this.#live.get(sessionId);
    if (!live) throw notFound(sessionId);
    const provider = live.wiring.provider;
    // chat_wiring.ts makes a built-in model switchable (cli/_session_model.ts `SessionModel`).
    const m = typeof (provider as Partial<Switchable>).switchTo === "function"
      ? provider as LlmProvider & Switchable
      : null;
    let price: ModelPrice | null = null;
    if (name !== undefined) {
      if (m === null) {
        throw new RpcError(
          RpcErrorCode.Conflict,
          `Cannot switch the model of session ${sessionId}: its model (${provider.model}) is a ` +
            "capsule's; set [model] in config",
        );
      }
      try {
        price = await m.switchTo(name, { audit: this.#ctx.rt.audit, sessionId });
      } catch (err) {
        if (err instanceof RangeError) throw new RpcError(RpcErrorCode.InvalidParams, err.message);
        throw err;
      }
    }
    return {
      provider: provider.name,
      model: provider.model,
      configured: m?.configured ?? provider.model,
      switchable: m !== null,
      maxTurns: live.maxRounds,
      price: priceRow(price ?? priceOrNull(provider.model, live.wiring.pricing)),
      priced: (m?.priced() ?? []).map((p) => ({
        model: p.model,
        inputPerMtok: p.price.input_per_mtok,
        outputPerMtok: p.price.output_per_mtok,
        current: p.current,
      })),
    };
  }

  /**
   * What a session's capsule commands run with (it is resumed first if it is not live): the
   * capsule host it was opened with and its interceptor (runtime/daemon/methods/commands.ts).
   */
  async commandScope(sessionId: string): Promise<{
    readonly host: ChatWiring["host"];
    readonly interceptor: OpenedAgent["gate"]["interceptor"];
  }> {
    if (!this.#live.has(sessionId)) await this.resume(sessionId);
    const live = this.#live.get(sessionId);
    if (!live) throw notFound(sessionId);
    return { host: live.wiring.host, interceptor: live.opened.gate.interceptor };
  }

  /** Ids of the sessions open here. */
  liveIds(): string[] {
    return [...this.#live.keys()];
  }

  /** Cancels running turns and closes every live session (daemon shutdown). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#opening.values()]);
    const all = [...this.#live.values()];
    this.#live.clear();
    await Promise.allSettled(all.map((l) => this.#shut(l)));
  }

  // --- internals ---

  async #summary(h: SessionHeader): Promise<SessionSummary> {
    const live = this.#live.get(h.id);
    const header = live?.opened.session.header ?? h;
    let status: HostedStatus = header.status;
    if (live) status = live.turn ? "running" : header.status === "ended" ? "ended" : "idle";
    else if (
      status === "running" &&
      (h.ownerPid === null || !(await this.#processAlive())(h.ownerPid))
    ) {
      status = "interrupted";
    }
    return {
      id: h.id,
      title: header.title,
      workspace: header.workspaceRoot,
      status,
      live: live !== undefined,
      createdAt: header.createdAt,
      updatedAt: header.updatedAt,
      turnCount: header.turnCount,
      ...(live
        ? { costUsd: live.opened.session.turns.reduce((sum, t) => sum + t.costUsd, 0) }
        : {}),
    };
  }

  /** Whether a process runs (cli/commands/sessions.ts `processAlive`), loaded on first use. */
  async #processAlive(): Promise<(pid: number) => boolean> {
    this.#alive ??= (await import("../cli/commands/sessions.ts")).processAlive;
    return this.#alive;
  }

  async #header(sessionId: string): Promise<SessionHeader> {
    const header = await this.#sessions.header(sessionId).catch(() => null);
    if (!header) throw notFound(sessionId);
    return header;
  }

  async #load(sessionId: string) {
    await this.#header(sessionId);
    return await this.#sessions.load(sessionId);
  }

  #open(id: string, make: () => Promise<Live>): Promise<Live> {
    if (this.#closed) {
      return Promise.reject(
        new RpcError(RpcErrorCode.Conflict, "Cannot open a session: the daemon is stopping"),
      );
    }
    const pending = make().then((live) => {
      this.#live.set(id, live);
      return live;
    }).finally(() => this.#opening.delete(id));
    this.#opening.set(id, pending);
    return pending;
  }

  /** The daemon's runtime with the config (and walls) of the workspace at `root`. */
  async #workspaceRuntime(
    root: string,
  ): Promise<{ rt: Runtime; ws: { root: string; id: string } }> {
    const base = this.#ctx.rt;
    const env = base.io.env;
    const paths = await resolvePaths({
      env,
      cwd: root,
      workspace: root,
      systemConfig: env.ASTRID_SYSTEM_CONFIG,
    });
    const { config, warnings } = await loadConfig(paths, env);
    const { missingKeyHelp } = await import("../cli/commands/chat.ts");
    const help = missingKeyHelp(config.model, paths.userConfig);
    if (help) throw new RpcError(RpcErrorCode.Denied, help.split("\n")[0]!, { help });
    const walls = await runtimeWalls(paths, config, env);
    const io = { ...base.io, cwd: root };
    const rt: Runtime = { ...base, paths, config, warnings, walls, io };
    return { rt, ws: { root, id: await workspaceId(root) } };
  }

  async #wire(
    rt: Runtime,
    ws: { root: string; id: string },
    resume: string,
    maxTurns: number | undefined,
  ): Promise<ChatWiring> {
    const human: { frontend: Frontend | null } = { frontend: null };
    const { chatAgentOptions, isCapsuleModel } = await import("../cli/chat_wiring.ts");
    const { createProvider } = await import("../llm/mod.ts");
    const makeProvider = this.#makeProvider ?? ((cfg: ModelConfig) => createProvider(cfg));
    const wiring = await chatAgentOptions(rt, ws, {
      builtIn: isCapsuleModel(rt.config.model) ? null : makeProvider(rt.config.model),
      makeProvider,
      resume,
      maxRounds: maxTurns ?? rt.config.agent.max_rounds,
      human,
      onWarning: (m) => rt.io.stderr(`warning: session ${resume}: ${m}\n`),
    });
    human.frontend = this.#frontend(resume);
    return wiring;
  }

  /**
   * The security frontend of daemon session `sessionId`: approvals go to the hub, MCP
   * elicitations to the elicitation broker; both reach every attached frontend.
   */
  #frontend(sessionId: string): Frontend {
    const hub = this.#ctx.approvals;
    const broker = () => this.#ctx.services.get<ElicitationBroker>(ELICITATIONS_SERVICE);
    return {
      canAsk: () => hub.canAsk(),
      ask: (request, signal) => hub.ask(request, signal),
      elicit: (request, signal) =>
        broker()?.ask(sessionId, request, signal) ?? Promise.resolve({ action: "cancel" }),
    };
  }

  async #start(
    id: string,
    workspace: string,
    wiring: ChatWiring,
    maxRounds: number,
  ): Promise<Live> {
    const holder: { live: Live | null } = { live: null };
    const { openAgent } = await import("../agent/mod.ts");
    const opened = await openAgent({
      ...wiring.base,
      servicesHosted: true, // the gateway runs the services (gateway.ts), not each session
      frontend: this.#frontend(id),
      onEvent: (e) => this.#onAgentEvent(id, e, holder.live),
    });
    const live: Live = {
      id,
      workspace,
      opened,
      wiring,
      maxRounds,
      turn: null,
      budgetWarned: false,
    };
    holder.live = live;
    this.#publish({ type: "session.started", sessionId: id, workspace });
    if (opened.recovered) {
      this.#publish({ type: "session.status", sessionId: id, status: "interrupted" });
    }
    this.#publish({ type: "session.status", sessionId: id, status: "idle" });
    return live;
  }

  async #shut(live: Live): Promise<void> {
    live.turn?.controller.abort();
    await live.turn?.done.catch(() => {});
    await live.opened.close();
    await live.wiring[Symbol.asyncDispose]();
  }

  #onAgentEvent(sessionId: string, e: AgentEvent, live: Live | null): void {
    const event = toDaemonEvent(sessionId, e);
    if (event) this.#publish(event);
    if (live && (e.type === "tool_end" || e.type === "turn_end")) this.#checkBudget(live);
  }

  #checkBudget(live: Live): void {
    if (live.budgetWarned) return;
    const b = live.opened.gate.budget.state();
    if (b.limitUsd <= 0 || b.spentUsd < BUDGET_WARNING_SHARE * b.limitUsd) return;
    live.budgetWarned = true;
    this.#publish({
      type: "budget.warning",
      sessionId: live.id,
      spentUsd: b.spentUsd,
      limitUsd: b.limitUsd,
    });
  }

  #publish(event: DaemonEvent): void {
    this.#ctx.events.publish(event);
  }
}

/**
 * The daemon event of an agent event, or null when it has none.
 *
 * @example Model text
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { toDaemonEvent } from "./session_host.ts";
 * deepEqual(toDaemonEvent("s1", { type: "text", text: "hi" }), {
 *   type: "text", sessionId: "s1", text: "hi",
 * });
 * ```
 */
export function toDaemonEvent(sessionId: string, e: AgentEvent): DaemonEvent | null {
  switch (e.type) {
    case "turn_start":
      return { type: "turn.start", sessionId, turn: e.turn };
    case "text":
      return { type: "text", sessionId, text: e.text };
    case "tool_start":
      return {
        type: "tool.start",
        sessionId,
        id: e.id,
        name: e.name,
        args: e.args,
        provenance: e.provenance,
      };
    case "tool_end":
      return {
        type: "tool.end",
        sessionId,
        id: e.id,
        name: e.name,
        status: e.status,
        detail: e.detail,
      };
    case "turn_end":
      return {
        type: "turn.end",
        sessionId,
        status: e.result.status,
        text: e.result.text,
        error: e.result.error,
        costUsd: e.result.costUsd,
        deferred: e.result.deferred,
      };
    default:
      return null;
  }
}

function priceOrNull(model: string, table: Readonly<PricingTable>): ModelPrice | null {
  try {
    return priceOf(model, table);
  } catch {
    return null;
  }
}

function priceRow(p: ModelPrice | null) {
  return p === null ? null : { inputPerMtok: p.input_per_mtok, outputPerMtok: p.output_per_mtok };
}

function notFound(sessionId: string): RpcError {
  return new RpcError(RpcErrorCode.NotFound, `Cannot find session ${sessionId}: no such session`);
}

/** The real path of `dir` when it is an initialised workspace (has `.astrid/`), else an error. */
async function initialisedWorkspace(dir: string): Promise<string> {
  const fail = () =>
    new RpcError(
      RpcErrorCode.InvalidParams,
      `Cannot use workspace ${dir}: it is not an initialised workspace (no .astrid/; run astrid init)`,
    );
  if (!dir.startsWith("/")) throw fail();
  const root = await Deno.realPath(dir).catch(() => null);
  if (root === null) throw fail();
  const info = await Deno.stat(join(root, ".astrid")).catch(() => null);
  if (!info?.isDirectory) throw fail();
  return root;
}
