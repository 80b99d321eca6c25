/**
 * What every host function shares: the capsule's identity and manifest, the workspace, the
 * interceptor, and one call's state (time spent waiting, a deferral). {@link gate} is the second
 * check of a gated host call: the capsule action goes to the SecurityInterceptor, and a human's
 * wait is recorded as paused time so it does not count against the CPU deadline.
 *
 * @module
 */
import type { Action } from "../../security/action.ts";
import type { Allowed, SecurityInterceptor } from "../../security/interceptor.ts";
import type { AuditBatch } from "../../security/audit_batch.ts";
import type { Store } from "../../storage/mod.ts";
import type { CapsuleManifest } from "../manifest.ts";
import type { FileBases } from "./confine.ts";
import type { FileCreator } from "../../security/walls.ts";

/** A log line from a capsule (secrets already redacted). */
export interface CapsuleLogLine {
  readonly capsule: string;
  readonly level: "debug" | "info" | "warn" | "error";
  readonly message: string;
}

/** Everything the host functions of one capsule instance may use. */
export interface HostEnv {
  readonly capsule: string;
  readonly manifest: CapsuleManifest;
  /** Canonical workspace root: every file a capsule touches resolves inside it. */
  readonly workspaceRoot: string;
  readonly interceptor: SecurityInterceptor;
  /** Holds the capsule's KV (prefix `["capsule_kv", <capsule>]`). */
  readonly store: Store;
  /**
   * This capsule's config and `[env]` values (get-config sees nothing else). An approved
   * `set-config` updates it in place, so later host calls of the instance see the new value.
   */
  readonly config: Record<string, string>;
  /**
   * The capsule's env file (runtime/capsule/env_store.ts), which `set-config` rewrites. Absent
   * (a capsule that is not installed): `set-config` is refused with `UNAVAILABLE`.
   */
  readonly envPath?: string | undefined;
  /**
   * Told after an approved `set-config` stored `value`, so that later calls of a long-lived
   * session (the REPL, the daemon) see it too (registry.ts: the installed capsule's values).
   */
  readonly configWritten?: ((key: string, value: string) => void) | undefined;
  /** Names of `config` keys that are secrets: never logged, redacted from capsule logs. */
  readonly secretKeys: ReadonlySet<string>;
  /** Receives capsule log lines (default: dropped). */
  readonly log?: ((line: CapsuleLogLine) => void) | undefined;
  /** The fetch used by http-request (a test seam; default: global fetch). */
  readonly fetch?: typeof fetch | undefined;
  /** Per-request network timeout in ms (default 30 000). */
  readonly httpTimeoutMs?: number | undefined;
  /**
   * The tool call's audit batch: host calls queue their entries here. Workspace writes are
   * written ahead to the audit journal (or, without one, flush the batch and are audited durably
   * first); anything that leaves the machine flushes it first. Absent: every host call is audited
   * durably at once.
   */
  readonly auditBatch?: AuditBatch | undefined;
  /** The manifest's file folders, canonicalised once (`hostFunctions` fills it in). */
  readonly fileBases?: FileBases | undefined;
  /**
   * Creates new files and folders from inside the wall (runtime/sandbox `WalledCreator`), so a
   * folder swapped for a symlink mid-call cannot make one appear outside the workspace. Absent
   * (no bubblewrap): they are created in-process under a parent checked before and after.
   */
  readonly creator?: FileCreator | undefined;
  /**
   * The runtime's model, for `llm-complete` (runtime/llm `providerCompleter`). Absent: the call
   * is refused with `NO_PROVIDER`.
   */
  readonly llm?: CapsuleLlm | undefined;
  /**
   * Receives the chunks `llm-emit` streams while this instance answers an `[[llm_provider]]`
   * call (runtime/capsule/llm_provider.ts). Absent: `llm-emit` fails with `NOT_STREAMING`.
   */
  readonly emit?: ((chunk: CapsuleLlmChunk) => void) | undefined;
}

/** A model call a capsule may make, validated and capped by `llm-complete`. */
export interface CapsuleLlmRequest {
  readonly system: string;
  readonly messages: readonly { readonly role: "user" | "assistant"; readonly content: string }[];
  readonly maxTokens: number;
  readonly temperature?: number | undefined;
}

/** What one capsule model call produced and cost (USD, charged to the session budget). */
export interface CapsuleLlmResult {
  readonly text: string;
  readonly model: string;
  readonly provider: string;
  readonly stopReason: string;
  readonly usage: { readonly inputTokens: number; readonly outputTokens: number };
  readonly costUsd: number;
}

/** The runtime's model as capsules reach it (structurally runtime/llm's `Completer`). */
export interface CapsuleLlm {
  readonly provider: string;
  readonly model: string;
  /** The most `req` may cost, in USD (reserved before the call); throws when unpriced. */
  estimate(req: CapsuleLlmRequest): number;
  /** Runs `req`. */
  complete(req: CapsuleLlmRequest): Promise<CapsuleLlmResult>;
}

/** One chunk of an `[[llm_provider]]` answer, streamed with `llm-emit`. */
export type CapsuleLlmChunk =
  | { readonly type: "text"; readonly text: string }
  | {
    readonly type: "tool_call";
    readonly id: string;
    readonly name: string;
    readonly args: unknown;
  };

/**
 * The most read entries a tool call's audit batch holds before the next read flushes it (one
 * AuditLog group commit holds up to 500 entries).
 *
 * @example A bounded window
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { MAX_QUEUED_AUDIT } from "./context.ts";
 * equal(MAX_QUEUED_AUDIT, 500);
 * ```
 */
export const MAX_QUEUED_AUDIT = 500;

/** One call's mutable state, reset by the engine before each entry call. */
export interface CallState {
  /** performance.now() when the call started. */
  started: number;
  /** Milliseconds spent awaiting the interceptor (human approval, audit writes). */
  paused: number;
  /** The first deferral of this call: the whole call then fails with `DEFERRED`. */
  deferred: { id: string; reason: string } | null;
  /** Tool name for audit context (`<capsule>__<tool>`), when a tool is running. */
  tool: string | undefined;
}

/**
 * A refusal or failure reported back to the capsule as `{"error": {code, message}}`.
 *
 * @example Codes are stable strings
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { HostError } from "./context.ts";
 * equal(new HostError("DENIED", "Cannot read x: not in fs_read").code, "DENIED");
 * ```
 */
export class HostError extends Error {
  /**
   * `DENIED`, `DEFERRED`, `CAPABILITY`, `CONFINED`, `BAD_ARGS`, `NOT_FOUND`, `TOO_LARGE`, `IO`,
   * `AUDIT_FAILED`, `BUDGET_EXCEEDED`, `NO_PROVIDER`, `COST_UNKNOWN`, `LLM_FAILED`,
   * `NOT_STREAMING`, `UNAVAILABLE`.
   */
  readonly code: string;
  /** Creates the error. */
  constructor(code: string, message: string) {
    super(message);
    this.name = "HostError";
    this.code = code;
  }
}

/**
 * Creates a fresh call state.
 *
 * @example A fresh state has paused nothing
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { newCallState } from "./context.ts";
 * equal(newCallState().paused, 0);
 * ```
 */
export function newCallState(tool?: string): CallState {
  return { started: performance.now(), paused: 0, deferred: null, tool };
}

/**
 * The second check: passes `action` to the interceptor. Time spent there is paused time.
 * Returns the allowance (call `complete` after the operation) or throws a {@link HostError}.
 *
 * @example Nobody to ask: the action is deferred and the call remembers it
 * ```ts
 * import { equal, rejects } from "node:assert/strict";
 * import { gate, type HostEnv, newCallState } from "./context.ts";
 * import { parseManifest } from "../manifest.ts";
 * import { testGate } from "../_testing.ts";
 * await using g = await testGate({ frontend: null });
 * const env: HostEnv = {
 *   capsule: "n", manifest: parseManifest('[package]\nname = "n"\nversion = "1"\n').manifest,
 *   workspaceRoot: g.root, interceptor: g.interceptor, store: g.store, config: {},
 *   secretKeys: new Set(),
 * };
 * const state = newCallState();
 * await rejects(gate(env, state, { kind: "capsule_http_request", capsule: "n", url: "https://a.example/" }));
 * equal(typeof state.deferred?.id, "string");
 * ```
 */
export async function gate(
  env: HostEnv,
  state: CallState,
  action: Action,
  opts: {
    readonly batched?: boolean;
    readonly writeAhead?: boolean;
    /** The estimated cost to reserve from the session budget (a model call). */
    readonly costUsd?: number;
  } = {},
): Promise<Allowed> {
  if (opts.batched && (env.auditBatch?.pending ?? 0) >= MAX_QUEUED_AUDIT) {
    // Bound what waits unwritten (and the memory it holds): flush, as before an effect.
    await flushAudit(env, state, action.kind);
  }
  const started = performance.now();
  try {
    const decision = await env.interceptor.intercept(action, {
      capsule: env.capsule,
      tool: state.tool,
      auditBatch: opts.batched ? env.auditBatch : undefined,
      writeAhead: opts.writeAhead,
      costUsd: opts.costUsd,
    });
    if (decision.outcome === "allowed") return decision;
    if (decision.outcome === "deferred") {
      state.deferred ??= { id: decision.id, reason: decision.reason };
      throw new HostError("DEFERRED", `Cannot wait for approval: ${decision.reason}`);
    }
    // An exhausted budget keeps its own code, so a capsule can tell it from a refusal.
    const code = decision.code === "BUDGET_EXCEEDED" ? "BUDGET_EXCEEDED" : "DENIED";
    throw new HostError(code, `Cannot proceed: ${decision.reason} (${decision.code})`);
  } finally {
    state.paused += performance.now() - started;
  }
}

/**
 * Records a first-check refusal (capability or confinement) in the audit log through the
 * interceptor, then returns the error to throw. The refusal never reaches a human.
 *
 * @example A refusal is a denied audit entry
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { type HostEnv, newCallState, refuse } from "./context.ts";
 * import { parseManifest } from "../manifest.ts";
 * import { testGate } from "../_testing.ts";
 * await using g = await testGate({ frontend: null });
 * const env: HostEnv = {
 *   capsule: "n", manifest: parseManifest('[package]\nname = "n"\nversion = "1"\n').manifest,
 *   workspaceRoot: g.root, interceptor: g.interceptor, store: g.store, config: {},
 *   secretKeys: new Set(),
 * };
 * const err = await refuse(env, newCallState(), "read-file", "CONFINED", "Cannot read /etc/passwd");
 * equal(err.code, "CONFINED");
 * equal((await g.audit.list())[0]?.decision, "denied");
 * ```
 */
export async function refuse(
  env: HostEnv,
  state: CallState,
  fn: string,
  code: string,
  message: string,
): Promise<HostError> {
  const started = performance.now();
  try {
    await env.interceptor.refuseCall(`capsule:${env.capsule}/${fn}`, message, {
      capsule: env.capsule,
      tool: state.tool,
      auditBatch: env.auditBatch,
    });
  } finally {
    state.paused += performance.now() - started;
  }
  return new HostError(code, message);
}

/**
 * Commits the queued entries of this tool call before host call `fn` (an http request; kv-set
 * or log when the log has no journal). Time spent is paused time. Throws an `AUDIT_FAILED`
 * {@link HostError} when the flush fails: the effect must not happen.
 *
 * @example Without a batch there is nothing to flush
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { flushAudit, type HostEnv, newCallState } from "./context.ts";
 * import { parseManifest } from "../manifest.ts";
 * import { testGate } from "../_testing.ts";
 * await using g = await testGate({ frontend: null });
 * const env: HostEnv = {
 *   capsule: "n", manifest: parseManifest('[package]\nname = "n"\nversion = "1"\n').manifest,
 *   workspaceRoot: g.root, interceptor: g.interceptor, store: g.store, config: {},
 *   secretKeys: new Set(), auditBatch: g.interceptor.openBatch(),
 * };
 * await flushAudit(env, newCallState(), "write-file");
 * equal(env.auditBatch?.pending, 0);
 * ```
 */
export async function flushAudit(env: HostEnv, state: CallState, fn: string): Promise<void> {
  if (!env.auditBatch) return;
  const started = performance.now();
  try {
    await env.auditBatch.flush();
  } catch (e) {
    throw new HostError("AUDIT_FAILED", `Cannot run ${fn}: ${(e as Error).message}`);
  } finally {
    state.paused += performance.now() - started;
  }
}

/**
 * Makes the queued entries of this tool call crash-safe before an effect on this machine that
 * the batch does not itself record (kv-set): written ahead to the audit journal when the log has
 * one, else flushed. Throws an `AUDIT_FAILED` {@link HostError} when that fails.
 *
 * @example Without a journal the batch is flushed
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { type HostEnv, newCallState, writeAheadAudit } from "./context.ts";
 * import { parseManifest } from "../manifest.ts";
 * import { testGate } from "../_testing.ts";
 * await using g = await testGate({ frontend: null, journal: false });
 * const env: HostEnv = {
 *   capsule: "n", manifest: parseManifest('[package]\nname = "n"\nversion = "1"\n').manifest,
 *   workspaceRoot: g.root, interceptor: g.interceptor, store: g.store, config: {},
 *   secretKeys: new Set(), auditBatch: g.interceptor.openBatch(),
 * };
 * await writeAheadAudit(env, newCallState(), "kv-set");
 * equal(env.auditBatch?.pending, 0);
 * ```
 */
export async function writeAheadAudit(env: HostEnv, state: CallState, fn: string): Promise<void> {
  const batch = env.auditBatch;
  if (!batch?.canWriteAhead) return await flushAudit(env, state, fn);
  try {
    batch.writeAhead();
  } catch (e) {
    throw new HostError("AUDIT_FAILED", `Cannot run ${fn}: ${(e as Error).message}`);
  }
}
