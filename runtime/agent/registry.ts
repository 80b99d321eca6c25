/**
 * The tool registry seam the agent loop calls: the definitions the model sees, and one call
 * through the interceptor. Built-in tools plug in now; MCP and capsule tools implement the same
 * interface later, and {@link CompositeToolRegistry} puts them side by side.
 *
 * @module
 */
import type { LlmToolSpec } from "../llm/mod.ts";
import type { ApprovalAnswer, Provenance } from "../security/approval.ts";
import type { SecurityInterceptor } from "../security/interceptor.ts";
import { BUILTIN_TOOLS } from "../tools/registry.ts";
import { type InvokeOutcome, invokeTool, type ToolSession } from "../tools/invoke.ts";

/** Per-call options the loop passes. */
export interface ToolCallOptions {
  /** Where the call's arguments came from (input classification). */
  readonly provenance?: Provenance | undefined;
  /** Aborted when the turn is cancelled. */
  readonly signal?: AbortSignal | undefined;
}

/** What the agent loop needs from a set of tools. */
export interface ToolRegistry {
  /** The tools the model may call. */
  definitions(): LlmToolSpec[];
  /** Runs one call through the interceptor; never throws for a refused or failed call. */
  call(name: string, args: unknown, opts: ToolCallOptions): Promise<InvokeOutcome>;
}

/**
 * The context of the call in progress, shared with nested runners (the `task` tool's
 * sub-agent reads the provenance and signal of the call that spawned it).
 */
export interface CallScope {
  provenance: Provenance | undefined;
  signal: AbortSignal | undefined;
}

/** Options for {@link BuiltinToolRegistry}. */
export interface BuiltinRegistryOptions {
  /** An answer given up front to every approval (`--approve`, or deny for sub-agents). */
  readonly answer?: ApprovalAnswer | undefined;
  /** Tool names to hide from the model and refuse (e.g. `task` at the maximum depth). */
  readonly exclude?: readonly string[];
  /** Updated before each call. */
  readonly scope?: CallScope;
}

/**
 * The eight built-in tools, each call through {@link invokeTool}.
 *
 * @example The definitions the model sees
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { BuiltinToolRegistry } from "./registry.ts";
 * import type { SecurityInterceptor } from "../security/interceptor.ts";
 * import type { ToolSession } from "../tools/invoke.ts";
 * const reg = new BuiltinToolRegistry(
 *   null as unknown as SecurityInterceptor, null as unknown as ToolSession, { exclude: ["task"] },
 * );
 * const names = reg.definitions().map((d) => d.name);
 * ok(names.includes("read_file") && !names.includes("task"));
 * ```
 */
export class BuiltinToolRegistry implements ToolRegistry {
  #interceptor: SecurityInterceptor;
  #session: ToolSession;
  #opts: BuiltinRegistryOptions;

  /** Wraps one session's interceptor and executors. */
  constructor(
    interceptor: SecurityInterceptor,
    session: ToolSession,
    opts: BuiltinRegistryOptions = {},
  ) {
    this.#interceptor = interceptor;
    this.#session = session;
    this.#opts = opts;
  }

  /** The built-in tools minus the excluded ones. */
  definitions(): LlmToolSpec[] {
    const exclude = this.#opts.exclude ?? [];
    return BUILTIN_TOOLS.filter((t) => !exclude.includes(t.definition.name)).map((t) => ({
      name: t.definition.name,
      description: t.definition.description,
      inputSchema: t.definition.inputSchema,
    }));
  }

  /** Runs a call; an excluded or unknown tool is an `error` outcome. */
  call(name: string, args: unknown, opts: ToolCallOptions): Promise<InvokeOutcome> {
    if ((this.#opts.exclude ?? []).includes(name)) {
      return Promise.resolve({
        status: "error",
        code: "UNKNOWN_TOOL",
        message: `Cannot call ${name}: it is not available here`,
      });
    }
    if (this.#opts.scope) {
      this.#opts.scope.provenance = opts.provenance;
      this.#opts.scope.signal = opts.signal;
    }
    return invokeTool(this.#interceptor, this.#session, name, args, {
      answer: this.#opts.answer,
      provenance: opts.provenance,
      signal: opts.signal,
    });
  }
}

/**
 * Several registries as one; the first that defines a name handles it.
 *
 * @example Two registries side by side
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { CompositeToolRegistry, type ToolRegistry } from "./registry.ts";
 * const one = (name: string): ToolRegistry => ({
 *   definitions: () => [{ name, description: name, inputSchema: { type: "object" } }],
 *   call: () => Promise.resolve({ status: "error", code: "X", message: name }),
 * });
 * const all = new CompositeToolRegistry([one("a"), one("b")]);
 * deepEqual(all.definitions().map((d) => d.name), ["a", "b"]);
 * deepEqual(await all.call("b", {}, {}), { status: "error", code: "X", message: "b" });
 * ```
 */
export class CompositeToolRegistry implements ToolRegistry {
  #parts: readonly ToolRegistry[];
  /** Combines `parts`, earlier ones first. */
  constructor(parts: readonly ToolRegistry[]) {
    this.#parts = parts;
  }
  /** Every part's definitions, without duplicate names. */
  definitions(): LlmToolSpec[] {
    const seen = new Set<string>();
    return this.#parts.flatMap((p) => p.definitions()).filter((d) => {
      if (seen.has(d.name)) return false;
      seen.add(d.name);
      return true;
    });
  }
  /** Routes to the first part that defines `name`. */
  call(name: string, args: unknown, opts: ToolCallOptions): Promise<InvokeOutcome> {
    const part = this.#parts.find((p) => p.definitions().some((d) => d.name === name));
    if (!part) {
      return Promise.resolve({
        status: "error",
        code: "UNKNOWN_TOOL",
        message: `Cannot call ${name}: no such tool`,
      });
    }
    return part.call(name, args, opts);
  }
}
