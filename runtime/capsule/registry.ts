/**
 * Capsule tools as the agent and `astrid tools list/call` see them: `<capsule>__<tool>`.
 * The tools are those of the capsule's install record (listing starts nothing and reads no
 * wasm); a call reads, hashes and compiles only the capsule it calls. Every call is
 * a `capsule_tool_call` action through the interceptor first; only then is a fresh instance
 * started (from the hash-keyed module cache), or, for a tool the record says an
 * `[[mcp_server]]` serves, that server, so one call's state never leaks into the next. The
 * outcome has the same shape as a built-in tool's `InvokeOutcome`; calling a capsule that
 * failed its integrity checks is an `INTEGRITY` error outcome.
 *
 * @module
 */
import { type InvokeOptions, type InvokeOutcome, refusedOutcome } from "../tools/invoke.ts";
import { capOutput, DEFAULT_MAX_OUTPUT_CHARS } from "../tools/output.ts";
import type { Allowed, SecurityInterceptor } from "../security/interceptor.ts";
import type { AuditBatch } from "../security/audit_batch.ts";
import type { Store } from "../storage/mod.ts";
import { CapsuleError } from "./errors.ts";
// The wasm engine (@extism/extism) and the MCP engine (the MCP SDK) load only when a call runs:
// listing tools, or a process that never calls a capsule, does not pay for them (issue 15).
import type { CapsuleInstance, WasmLimits } from "./engines/wasm.ts";
import type { CapsuleLlm, CapsuleLogLine, HostEnv } from "./host/context.ts";
import type { InstalledCapsule } from "./install.ts";
import type { BrokenCapsule } from "./installed.ts";
import type { FileCreator, Walls } from "../security/walls.ts";
import { capsuleConfig } from "./env_store.ts";
import { checkArgs } from "./_args_check.ts";

import { callSkillTool } from "./skills.ts";
import { isSkillTool } from "./tool_list.ts";

export { type CapsuleToolInfo, listCapsuleTools } from "./tool_list.ts";

/**
 * Imports an engine (the wasm engine with Extism, the MCP engine with the MCP SDK) by a computed
 * specifier, when a call needs it: a literal `import()` makes Deno build the engine's whole graph
 * whenever this module loads (about 35 ms, measured on `tools list` with capsules installed).
 */
const engine = <T>(path: string): Promise<T> => import(new URL(path, import.meta.url).href);

/** What capsule tool calls need besides the interceptor. */
export interface CapsuleHost {
  readonly capsules: readonly InstalledCapsule[];
  /** Installed capsules that failed their checks: calling them reports why (`INTEGRITY`). */
  readonly broken?: readonly BrokenCapsule[] | undefined;
  /** Canonical workspace root. */
  readonly workspaceRoot: string;
  readonly store: Store;
  readonly limits: WasmLimits;
  readonly outputLimitChars?: number | undefined;
  readonly log?: ((line: CapsuleLogLine) => void) | undefined;
  /** Test seam for http-request. */
  readonly fetch?: typeof fetch | undefined;
  /** PATH and HOME for `[[mcp_server]]` children (nothing else is passed on). */
  readonly parentEnv?: Readonly<Record<string, string | undefined>> | undefined;
  /** What the wall around `[[mcp_server]]` children hides (`$ASTRID_HOME`, …); default none. */
  readonly walls?: Walls | undefined;
  /**
   * Creates the new files and folders of capsule host calls from inside the wall
   * (runtime/sandbox `workspaceCreator`); default: in-process, parent checked before and after.
   */
  readonly creator?: FileCreator | undefined;
  /** The session's model for `llm-complete` (runtime/llm `providerCompleter`); absent: none. */
  readonly llm?: CapsuleLlm | undefined;
}

/** The deferred-queue payload of a capsule tool call (executor `"capsule_tool"`). */
export interface CapsuleToolPayload {
  readonly tool: string;
  readonly args: unknown;
}

/**
 * Splits `<capsule>__<tool>` at the first `__` (capsule names never contain `__`).
 *
 * @example Split at the first double underscore
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { splitToolName } from "./registry.ts";
 * deepEqual(splitToolName("weather__get_forecast"), { capsule: "weather", tool: "get_forecast" });
 * equal(splitToolName("read_file"), null);
 * ```
 */
export function splitToolName(name: string): { capsule: string; tool: string } | null {
  const at = name.indexOf("__");
  if (at <= 0 || at + 2 >= name.length || name.startsWith("mcp__")) return null;
  return { capsule: name.slice(0, at), tool: name.slice(at + 2) };
}

/**
 * The host env of one capsule call (config values, secrets, audit batch): tool calls here and
 * wasm commands (commands.ts) build it the same way.
 *
 * @example
 * ```ts ignore
 * const env = hostEnv(host, installed, interceptor, interceptor.openBatch());
 * ```
 */
export function hostEnv(
  host: CapsuleHost,
  installed: InstalledCapsule,
  interceptor: SecurityInterceptor,
  auditBatch: AuditBatch,
): HostEnv {
  const { values, secretKeys } = capsuleConfig(installed.loaded.manifest, installed.env);
  return {
    capsule: installed.loaded.manifest.package.name,
    manifest: installed.loaded.manifest,
    workspaceRoot: host.workspaceRoot,
    interceptor,
    store: host.store,
    config: values,
    // `capsule author`'s one-off runs name no real file: set-config is then unavailable.
    envPath: installed.envPath.startsWith("/") ? installed.envPath : undefined,
    // An approved set-config also reaches the session's later calls of this capsule.
    configWritten: (key, value) => {
      (installed.env as Record<string, string>)[key] = value;
    },
    secretKeys,
    log: host.log,
    fetch: host.fetch,
    httpTimeoutMs: host.limits.timeoutMs,
    auditBatch,
    creator: host.creator,
    llm: host.llm,
  };
}

/**
 * Runs one capsule tool call: interceptor first (`capsule_tool_call`), then a fresh instance.
 * The call's host calls share one audit batch (workspace writes first write their entries ahead
 * to the audit journal), flushed before an http request and before the result is returned: if
 * that last flush fails, the result is withheld.
 *
 * @example Unknown tools are an error outcome, not an exception
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { callCapsuleTool } from "./registry.ts";
 * import { testGate } from "./_testing.ts";
 * await using gate = await testGate({ frontend: null });
 * const host = {
 *   capsules: [], workspaceRoot: gate.root, store: gate.store,
 *   limits: { timeoutMs: 30_000, memoryMb: 64 },
 * };
 * const outcome = await callCapsuleTool(gate.interceptor, host, "hello__greet", { name: "Ada" });
 * equal(outcome.status, "error");
 * ```
 */
export async function callCapsuleTool(
  interceptor: SecurityInterceptor,
  host: CapsuleHost,
  name: string,
  args: unknown,
  opts: InvokeOptions = {},
): Promise<InvokeOutcome> {
  const split = splitToolName(name);
  const installed = split && host.capsules.find((c) => c.record.name === split.capsule);
  if (!split || !installed) {
    const broken = split && host.broken?.find((b) => b.name === split.capsule);
    if (broken) {
      const code = broken.error instanceof CapsuleError ? broken.error.code : "CAPSULE_FAILED";
      return { status: "error", code, message: broken.error.message };
    }
    return {
      status: "error",
      code: "UNKNOWN_TOOL",
      message: `Cannot call ${name}: no such capsule tool`,
    };
  }
  // skills.ts: a `[[skill]]` is served from its file, not from the wasm.
  if (isSkillTool(installed, split.tool)) {
    return callSkillTool(interceptor, installed, split.tool, args, {
      ...opts,
      outputLimitChars: host.outputLimitChars,
    });
  }
  const recorded = installed.record.tools.find((t) => t.name === split.tool);
  if (!recorded) {
    return {
      status: "error",
      code: "UNKNOWN_TOOL",
      message: `Cannot call ${name}: capsule ${split.capsule} has no tool ${split.tool}`,
    };
  }
  // The record says which [[mcp_server]] serves a tool; the others run in the wasm.
  const viaMcp = recorded.server;
  const summary = `Call tool ${split.tool} of capsule ${split.capsule}`;
  if (viaMcp === undefined && installed.loaded.wasm) {
    // Only the capsule called is read, hashed and compiled; a changed file is refused before
    // the interceptor asks anyone anything (`INTEGRITY`, as a broken capsule is).
    try {
      await installed.loaded.wasm.module();
    } catch (e) {
      const code = e instanceof CapsuleError ? e.code : "CAPSULE_FAILED";
      return { status: "error", code, message: (e as Error).message };
    }
  }
  // The recorded input schema is checked before a hook, a human or the capsule sees the call.
  const warn = (message: string) => host.log?.({ capsule: split.capsule, level: "warn", message });
  const invalid = await checkArgs(recorded.inputSchema, args, warn);
  if (invalid !== null) {
    return { status: "error", code: "INVALID_ARGS", message: `Cannot call ${name}: ${invalid}` };
  }
  const ctx = {
    tool: name,
    capsule: split.capsule,
    provenance: opts.provenance,
    argumentBytes: new TextEncoder().encode(JSON.stringify(args) ?? "").length,
    answer: opts.answer,
    signal: opts.signal,
  };
  // Policy, then the before_tool_call hooks (a rewrite is checked again, schema included).
  const screened = await interceptor.screenCall({
    tool: name,
    args,
    toolCallId: opts.toolCallId,
    build: async (a) => {
      const bad = a === args ? null : await checkArgs(recorded.inputSchema, a, warn);
      if (bad !== null) throw new TypeError(`Cannot call ${name}: ${bad}`);
      return [{ kind: "capsule_tool_call", capsule: split.capsule, tool: split.tool, args: a }];
    },
  }, ctx);
  if (screened.outcome === "denied") return refusedOutcome(screened, summary);
  args = screened.args;
  const payload: CapsuleToolPayload = { tool: name, args };
  const decision = await interceptor.intercept(screened.actions[0]!, {
    ...ctx,
    argumentBytes: new TextEncoder().encode(JSON.stringify(args) ?? "").length,
    execution: { executor: "capsule_tool", payload },
    screened: screened.screen,
  });
  if (decision.outcome !== "allowed") return refusedOutcome(decision, summary);
  if (viaMcp !== undefined) {
    return await runViaMcp(host, installed, viaMcp, split.tool, args, decision, summary);
  }
  return await runInInstance(
    interceptor,
    host,
    installed,
    decision,
    summary,
    (instance) => instance.callTool(split.tool, args),
  );
}

/**
 * Runs one allowed call in a fresh instance of `installed`: its host calls queue their audit
 * entries in one batch, flushed before the result leaves (a failed flush withholds it), then the
 * decision is completed with the outcome. A host call deferred for a human makes the call
 * `deferred`. `run` returns the capsule's value; a string is the output, anything else is JSON.
 */
export async function runInInstance(
  interceptor: SecurityInterceptor,
  host: CapsuleHost,
  installed: InstalledCapsule,
  decision: Allowed,
  summary: string,
  run: (instance: CapsuleInstance) => Promise<unknown>,
): Promise<InvokeOutcome> {
  let instance: CapsuleInstance | undefined;
  const batch = interceptor.openBatch();
  try {
    const { CapsuleInstance } = await engine<typeof import("./engines/wasm.ts")>(
      "./engines/wasm.ts",
    );
    instance = await CapsuleInstance.create(
      installed.loaded,
      hostEnv(host, installed, interceptor, batch),
      host.limits,
    );
    const value = await run(instance);
    const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
    const capped = capOutput(text, host.outputLimitChars ?? DEFAULT_MAX_OUTPUT_CHARS);
    try {
      // The reads behind this result go on the record before the result leaves.
      await batch.flush();
    } catch (e) {
      const message = `Cannot return the result of ${summary}: ${(e as Error).message}`;
      await decision.complete({ ok: false, detail: { message } });
      return { status: "error", code: "AUDIT_FAILED", message };
    }
    await decision.complete({ ok: true, detail: { truncatedChars: capped.cut } });
    return {
      status: "ok",
      result: { output: capped.text, isError: false, truncatedChars: capped.cut },
      proofs: [decision.proof],
      trust: "untrusted",
    };
  } catch (e) {
    const err = e as Error;
    const flushed = await batch.flush().then(() => true, () => false);
    await decision.complete({ ok: false, detail: { message: err.message } });
    if (!flushed) {
      return {
        status: "error",
        code: "AUDIT_FAILED",
        message: `Cannot finish ${summary}: ${err.message}; the audit log also failed`,
      };
    }
    if (e instanceof CapsuleError && e.code === "DEFERRED") {
      return { status: "deferred", id: e.deferredId ?? "", reason: err.message, summary };
    }
    const code = e instanceof CapsuleError ? (e.engineCode ?? e.code) : "CAPSULE_FAILED";
    return { status: "error", code, message: err.message };
  } finally {
    await instance?.close();
  }
}

async function runViaMcp(
  host: CapsuleHost,
  installed: InstalledCapsule,
  server: string,
  tool: string,
  args: unknown,
  decision: Allowed,
  summary: string,
): Promise<InvokeOutcome> {
  try {
    const { callCapsuleMcpTool, withCapsuleMcp } = await engine<
      typeof import("./engines/mcp.ts")
    >("./engines/mcp.ts");
    const result = await withCapsuleMcp(
      installed,
      { parentEnv: host.parentEnv ?? {}, workspaceRoot: host.workspaceRoot, walls: host.walls },
      (manager) =>
        callCapsuleMcpTool(
          manager,
          server,
          tool,
          args,
          host.outputLimitChars ?? DEFAULT_MAX_OUTPUT_CHARS,
        ),
    );
    if (!result) {
      await decision.complete({ ok: false, detail: { message: "no such tool" } });
      return {
        status: "error",
        code: "UNKNOWN_TOOL",
        message: `Cannot call ${summary}: no server offers it`,
      };
    }
    await decision.complete({
      ok: !result.isError,
      detail: { truncatedChars: result.truncatedChars ?? 0 },
    });
    return { status: "ok", result, proofs: [decision.proof], trust: "untrusted" };
  } catch (e) {
    const err = e as Error & { code?: string };
    await decision.complete({ ok: false, detail: { message: err.message } });
    return { status: "error", code: err.code ?? "CAPSULE_FAILED", message: err.message };
  }
}
