/**
 * Capsule lifecycle hooks: the `[[interceptor]] event` entries of installed capsules (their
 * manifests are pinned by the install record) run the capsule's `hooks[event]` handler on a
 * fresh instance, with payload `{ event, ctx }` (OpenClaw's shapes).
 *
 * - `before_tool_call` is the interceptor's {@link ToolCallHooks}: the reply `null` passes,
 *   `{ block, blockReason }` blocks, `{ params }` rewrites, `{ requireApproval: { title,
 *   description } }` asks the human. A handler that throws, traps, exceeds its CPU budget
 *   (`hookTimeoutMs`, default 5 s, never above the capsule limit) or replies anything else fails
 *   closed: the call is denied naming the capsule.
 * - The others are best effort ({@link CapsuleHooks.notify}): an error is logged in one line
 *   naming the capsule and never breaks the turn. `message_sending` may rewrite or cancel the
 *   reply ({@link CapsuleHooks.messageSending}).
 *
 * Order: higher `priority` first, then capsule name ascending; a capsule with several entries
 * for one event runs once, at its highest priority (the capsule orders its own handlers).
 * A hook's host calls are gated as that capsule's actions; they never trigger hooks.
 *
 * The daemon's services are the exception to "a fresh instance": {@link ServiceInstance} is one
 * capsule's long-lived instance, whose timers stay armed between its calls.
 *
 * @module
 */
import type { AuditBatch } from "../security/audit_batch.ts";
import type {
  HookRun,
  HookVerdict,
  SecurityInterceptor,
  ToolCallEvent,
  ToolCallHooks,
} from "../security/interceptor.ts";
import { CapsuleInstance } from "./engines/wasm.ts";
import type { InstalledCapsule } from "./install.ts";
import { type CapsuleHost, hostEnv } from "./registry.ts";

/** The agent id every hook context carries. */
export const AGENT_ID = "astrid";
/** Default CPU budget of one hook call, in ms. */
export const DEFAULT_HOOK_TIMEOUT_MS = 5_000;

/**
 * `BeforeToolCall` → `before_tool_call` (snake_case passes unchanged).
 *
 * @example Normalise a PascalCase event
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { hookName } from "./hooks.ts";
 * equal(hookName("BeforeToolCall"), "before_tool_call");
 * equal(hookName("llm_input"), "llm_input");
 * ```
 */
export function hookName(event: string): string {
  return event.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

/** One capsule's handler for one event. */
export interface HookEntry {
  readonly capsule: string;
  readonly installed: InstalledCapsule;
  readonly priority: number;
}

/**
 * The handlers of `capsules` by event, each list in run order (higher priority first, then
 * capsule name).
 *
 * @example No interceptors, no hooks
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { hookTable } from "./hooks.ts";
 * equal(hookTable([]).size, 0);
 * ```
 */
export function hookTable(capsules: readonly InstalledCapsule[]): Map<string, HookEntry[]> {
  const table = new Map<string, Map<string, HookEntry>>();
  for (const installed of capsules) {
    const capsule = installed.loaded.manifest.package.name;
    for (const i of installed.loaded.manifest.interceptor ?? []) {
      const event = hookName(i.event);
      const byCapsule = table.get(event) ?? new Map<string, HookEntry>();
      const priority = Number.isFinite(i.priority) ? i.priority : 0;
      const had = byCapsule.get(capsule);
      if (!had || had.priority < priority) byCapsule.set(capsule, { capsule, installed, priority });
      table.set(event, byCapsule);
    }
  }
  const out = new Map<string, HookEntry[]>();
  for (const [event, byCapsule] of table) {
    out.set(
      event,
      [...byCapsule.values()].sort((a, b) =>
        b.priority - a.priority || (a.capsule < b.capsule ? -1 : a.capsule > b.capsule ? 1 : 0)
      ),
    );
  }
  return out;
}

/** What {@link CapsuleHooks} needs. */
export interface CapsuleHooksOptions {
  readonly host: CapsuleHost;
  /** Gates the hooks' own host calls (as the capsule's actions). */
  readonly interceptor: SecurityInterceptor;
  /** CPU budget of one hook call (default 5 s; capped at the capsule limit). */
  readonly hookTimeoutMs?: number | undefined;
  /** Where best-effort hook errors go (one line naming the capsule). */
  readonly onError?: ((line: string) => void) | undefined;
}

/** What `message_sending` handlers made of the reply. */
export type SendingVerdict =
  | { readonly kind: "send"; readonly content: string }
  | { readonly kind: "cancel"; readonly capsule: string; readonly reason: string };

/** The installed capsules' hooks; build with {@link capsuleHooks}. */
export class CapsuleHooks implements ToolCallHooks {
  #o: CapsuleHooksOptions;
  #table: Map<string, HookEntry[]>;

  /** Wraps the handlers of `table`. */
  constructor(opts: CapsuleHooksOptions, table: Map<string, HookEntry[]>) {
    this.#o = opts;
    this.#table = table;
  }

  /** True when some capsule handles `event`. */
  has(event: string): boolean {
    return (this.#table.get(hookName(event))?.length ?? 0) > 0;
  }

  /** The workspace the hook contexts name. */
  get workspaceDir(): string {
    return this.#o.host.workspaceRoot;
  }

  /** Runs one handler on a fresh instance; throws what the capsule threw. */
  async #run(entry: HookEntry, event: string, payload: unknown): Promise<unknown> {
    const host = this.#o.host;
    const limits = {
      ...host.limits,
      timeoutMs: Math.min(host.limits.timeoutMs, this.#o.hookTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS),
    };
    const batch = this.#o.interceptor.openBatch();
    let instance: CapsuleInstance | undefined;
    try {
      instance = await CapsuleInstance.create(
        entry.installed.loaded,
        hostEnv(host, entry.installed, this.#o.interceptor, batch),
        limits,
      );
      return await instance.onHook(event, payload);
    } finally {
      await batch.flush().catch(() => {});
      await instance?.close();
    }
  }

  /** The interceptor's seam: runs every `before_tool_call` handler in order. */
  async beforeToolCall(call: ToolCallEvent, _signal?: AbortSignal): Promise<HookVerdict> {
    const runs: HookRun[] = [];
    let approval: Extract<HookVerdict, { kind: "approve" }> | null = null;
    const ctx = {
      toolName: call.toolName,
      ...(call.toolCallId ? { toolCallId: call.toolCallId } : {}),
      sessionId: call.sessionId,
      agentId: AGENT_ID,
      workspaceDir: this.workspaceDir,
    };
    const event = {
      toolName: call.toolName,
      params: call.params,
      ...(call.toolCallId ? { toolCallId: call.toolCallId } : {}),
    };
    for (const entry of this.#table.get("before_tool_call") ?? []) {
      const started = performance.now();
      let reply: unknown;
      let failure: string | null = null;
      try {
        reply = await this.#run(entry, "before_tool_call", { event, ctx });
      } catch (err) {
        failure = `its before_tool_call hook failed: ${(err as Error).message}`;
      }
      const verdict = failure === null
        ? readBeforeToolCall(entry.capsule, reply, call.params)
        : { kind: "failed" as const, capsule: entry.capsule, reason: failure };
      runs.push({
        capsule: entry.capsule,
        hook: "before_tool_call",
        decision: verdict.kind,
        ms: Math.round(performance.now() - started),
      });
      if (verdict.kind === "approve") approval ??= { ...verdict, runs: [] };
      else if (verdict.kind !== "pass") return { ...verdict, runs };
    }
    return approval ? { ...approval, runs } : { kind: "pass", runs };
  }

  /** Runs a best-effort event's handlers in order; errors are reported, never thrown. */
  async notify(event: string, payload: { event: unknown; ctx: unknown }): Promise<void> {
    const name = hookName(event);
    for (const entry of this.#table.get(name) ?? []) {
      try {
        await this.#run(entry, name, payload);
      } catch (err) {
        this.#o.onError?.(
          `capsule ${entry.capsule}: ${name} hook failed: ${(err as Error).message}`,
        );
      }
    }
  }

  /**
   * Runs the `message_sending` handlers over the reply: each may replace it (`{ content }`,
   * the next sees the new text) or cancel it (`{ cancel: true, cancelReason }`, which stops).
   * A failing handler leaves the reply as it is (best effort, reported).
   */
  async messageSending(content: string, sessionId: string): Promise<SendingVerdict> {
    let text = content;
    const ctx = { channelId: AGENT_ID, sessionKey: sessionId };
    for (const entry of this.#table.get("message_sending") ?? []) {
      let reply: unknown;
      try {
        reply = await this.#run(entry, "message_sending", {
          event: { to: "user", content: text },
          ctx,
        });
      } catch (err) {
        this.#o.onError?.(
          `capsule ${entry.capsule}: message_sending hook failed: ${(err as Error).message}`,
        );
        continue;
      }
      if (reply === null || reply === undefined) continue;
      const r = reply as { content?: unknown; cancel?: unknown; cancelReason?: unknown };
      if (typeof reply !== "object" || Array.isArray(reply)) {
        this.#o.onError?.(`capsule ${entry.capsule}: message_sending hook replied malformed`);
        continue;
      }
      if (r.cancel === true) {
        const reason = typeof r.cancelReason === "string" ? r.cancelReason : "no reason given";
        return { kind: "cancel", capsule: entry.capsule, reason };
      }
      if (typeof r.content === "string") text = r.content;
    }
    return { kind: "send", content: text };
  }
}

/** What `astrid:timers` replies (toolchain/shim/prelude.js). */
export interface ServiceTimers {
  /** Ms until the earliest armed timer; null when none is armed. */
  readonly next: number | null;
  /** What the timer callbacks threw since the last reply. */
  readonly errors: readonly string[];
}

/**
 * One capsule's long-lived hook instance: the daemon's services (../daemon/gateway.ts) run
 * `gateway_start`, their timers and `gateway_stop` in it, so closure and `this` state survives
 * between them. Its calls must not overlap (the gateway serialises them); each is a call like any
 * other: the capsule's CPU
 * deadline and memory limit (`[capsules]`, not the shorter hook budget), its host calls gated
 * by `interceptor` as the capsule's actions, audited through one batch per call, flushed when
 * the call ends. After its first {@link ServiceInstance.timers} call the instance keeps its
 * timers armed between calls.
 */
export class ServiceInstance {
  #instance: CapsuleInstance;
  #batch: { current: AuditBatch };
  #interceptor: SecurityInterceptor;

  private constructor(
    instance: CapsuleInstance,
    batch: { current: AuditBatch },
    interceptor: SecurityInterceptor,
  ) {
    this.#instance = instance;
    this.#batch = batch;
    this.#interceptor = interceptor;
  }

  /** Instantiates `installed` (one of `host`'s capsules). */
  static async open(
    host: CapsuleHost,
    installed: InstalledCapsule,
    interceptor: SecurityInterceptor,
  ): Promise<ServiceInstance> {
    const batch = { current: interceptor.openBatch() };
    // The instance keeps one env; its audit batch is the current call's.
    const env = Object.defineProperty(
      { ...hostEnv(host, installed, interceptor, batch.current) },
      "auditBatch",
      { get: () => batch.current, enumerable: true },
    );
    const instance = await CapsuleInstance.create(installed.loaded, env, host.limits);
    return new ServiceInstance(instance, batch, interceptor);
  }

  /** Runs the capsule's `hooks[event]` handler; throws what the capsule threw. Not re-entrant. */
  hook(event: string, payload: unknown): Promise<unknown> {
    return this.#call(() => this.#instance.onHook(event, payload));
  }

  /**
   * Moves the instance's clock to `now` (real ms since it was opened) and, when `fire`, runs its
   * timers due by then (their promise jobs included); replies what is armed next.
   */
  async timers(now: number, fire: boolean): Promise<ServiceTimers> {
    const out = await this.#call(() =>
      this.#instance.onHook("astrid:timers", { now: Math.max(0, Math.floor(now)), fire })
    ) as Partial<ServiceTimers> | null;
    const next = typeof out?.next === "number" && Number.isFinite(out.next) ? out.next : null;
    const errors = Array.isArray(out?.errors) ? out.errors.map(String) : [];
    return { next, errors };
  }

  async #call(run: () => Promise<unknown>): Promise<unknown> {
    this.#batch.current = this.#interceptor.openBatch();
    try {
      return await run();
    } finally {
      await this.#batch.current.flush().catch(() => {});
    }
  }

  /** Releases the instance (its timers go with it). */
  async close(): Promise<void> {
    await this.#instance.close();
  }
}

type Single = Exclude<HookVerdict, { kind: "pass" }> extends infer V
  ? V extends HookVerdict ? Omit<V, "runs"> : never
  : never;

function readBeforeToolCall(
  capsule: string,
  reply: unknown,
  params: unknown,
): Single | { kind: "pass" } {
  if (reply === null || reply === undefined) return { kind: "pass" };
  const malformed = (why: string) => ({
    kind: "failed" as const,
    capsule,
    reason: `its before_tool_call hook replied malformed: ${why}`,
  });
  if (typeof reply !== "object" || Array.isArray(reply)) {
    return malformed(
      `expected null or an object, got ${Array.isArray(reply) ? "array" : typeof reply}`,
    );
  }
  const r = reply as Record<string, unknown>;
  if (r.block !== undefined && typeof r.block !== "boolean") {
    return malformed("block is not a boolean");
  }
  if (r.blockReason !== undefined && typeof r.blockReason !== "string") {
    return malformed("blockReason is not a string");
  }
  if (r.block === true) {
    return {
      kind: "block",
      capsule,
      reason: (r.blockReason as string | undefined) || "no reason given",
    };
  }
  if (r.params !== undefined) {
    if (typeof r.params !== "object" || r.params === null || Array.isArray(r.params)) {
      return malformed("params is not an object");
    }
    if (JSON.stringify(r.params) !== JSON.stringify(params)) {
      return { kind: "rewrite", capsule, params: r.params as Record<string, unknown> };
    }
  }
  if (r.requireApproval !== undefined) {
    const a = r.requireApproval as { title?: unknown; description?: unknown } | null;
    if (
      typeof a !== "object" || a === null || typeof a.title !== "string" ||
      typeof a.description !== "string"
    ) {
      return malformed("requireApproval needs a title and a description");
    }
    return { kind: "approve", capsule, title: a.title, description: a.description };
  }
  return { kind: "pass" };
}

/**
 * The hooks of `host`'s capsules, or null when none registers an `[[interceptor]]`.
 *
 * @example No capsules, no hooks
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { capsuleHooks } from "./hooks.ts";
 * const host = { capsules: [], workspaceRoot: "/", store: {} as never, limits: { timeoutMs: 1, memoryMb: 64 } };
 * equal(capsuleHooks({ host, interceptor: {} as never }), null);
 * ```
 */
export function capsuleHooks(opts: CapsuleHooksOptions): CapsuleHooks | null {
  const table = hookTable(opts.host.capsules);
  return table.size === 0 ? null : new CapsuleHooks(opts, table);
}

/**
 * Registers the hooks of `opts.host`'s capsules with `opts.interceptor` (its tool calls pass
 * `before_tool_call`), and returns them for the agent loop's events; null when there are none.
 */
export function attachCapsuleHooks(opts: CapsuleHooksOptions): CapsuleHooks | null {
  const hooks = capsuleHooks(opts);
  if (hooks) opts.interceptor.useHooks(hooks);
  return hooks;
}
