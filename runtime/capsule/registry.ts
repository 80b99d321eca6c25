/**
 * Capsule tools as the agent and `astrid tools list/call` see them: `<capsule>__<tool>`.
 * Every call is a `capsule_tool_call` action through the interceptor first; only then is a
 * fresh instance started (from the hash-keyed module cache), so one call's state never leaks
 * into the next. The outcome has the same shape as a built-in tool's `InvokeOutcome`.
 *
 * @module
 */
import { type InvokeOptions, type InvokeOutcome, refusedOutcome } from "../tools/invoke.ts";
import { capOutput, DEFAULT_MAX_OUTPUT_CHARS } from "../tools/output.ts";
import type { Allowed, SecurityInterceptor } from "../security/interceptor.ts";
import type { AuditBatch } from "../security/audit_batch.ts";
import type { Store } from "../storage/mod.ts";
import { CapsuleError } from "./errors.ts";
import { CapsuleInstance, type WasmLimits } from "./engines/wasm.ts";
import type { CapsuleLogLine, HostEnv } from "./host/context.ts";
import type { InstalledCapsule } from "./install.ts";
import { capsuleConfig } from "./env_store.ts";
import { callCapsuleMcpTool, listCapsuleMcpTools, withCapsuleMcp } from "./engines/mcp.ts";

/** One capsule tool, as listed to the model. */
export interface CapsuleToolInfo {
  /** `<capsule>__<tool>`. */
  readonly name: string;
  readonly capsule: string;
  readonly tool: string;
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
}

/** What capsule tool calls need besides the interceptor. */
export interface CapsuleHost {
  readonly capsules: readonly InstalledCapsule[];
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
 * Lists the tools of `capsules`: the manifest's `[[tool]]` entries when it declares any,
 * otherwise what the wasm describes (an instance whose host calls are all refused).
 *
 * @example Declared tools need no wasm
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { capsuleDirs, installCapsule, listInstalled } from "./install.ts";
 * import { listCapsuleTools } from "./registry.ts";
 * const src = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${src}/Capsule.toml`,
 *   '[package]\nname = "docs"\nversion = "1"\n[[tool]]\nname = "search"\ndescription = "Search"\n');
 * const dirs = capsuleDirs(await Deno.makeTempDir(), null);
 * await installCapsule(dirs, src, { scope: "user", requireHash: true });
 * const { capsules } = await listInstalled(dirs, { requireHash: true });
 * const tools = await listCapsuleTools(capsules, { timeoutMs: 30_000, memoryMb: 64 });
 * equal(tools[0]?.name, "docs__search");
 * ```
 */
export async function listCapsuleTools(
  capsules: readonly InstalledCapsule[],
  limits: WasmLimits,
  mcp?: { parentEnv: Readonly<Record<string, string | undefined>>; workspaceRoot: string },
): Promise<CapsuleToolInfo[]> {
  const out: CapsuleToolInfo[] = [];
  for (const installed of capsules) {
    const { loaded } = installed;
    if (mcp && loaded.manifest.mcp_server.length > 0) {
      const name = loaded.manifest.package.name;
      const served = await withCapsuleMcp(
        installed,
        mcp.parentEnv,
        mcp.workspaceRoot,
        listCapsuleMcpTools,
      );
      for (const t of served) {
        out.push({ name: `${name}__${t.tool}`, capsule: name, ...t });
      }
    }
    const capsule = loaded.manifest.package.name;
    let tools: {
      name: string;
      description: string;
      input_schema?: Record<string, unknown> | undefined;
    }[] = loaded.manifest.tool;
    if (tools.length === 0 && loaded.wasm) {
      const instance = await CapsuleInstance.create(loaded, null, limits);
      try {
        tools = [...(await instance.describe()).tools];
      } finally {
        await instance.close();
      }
    }
    for (const t of tools) {
      out.push({
        name: `${capsule}__${t.name}`,
        capsule,
        tool: t.name,
        description: t.description,
        inputSchema: t.input_schema ?? { type: "object" },
      });
    }
  }
  return out;
}

function hostEnv(
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
    secretKeys,
    log: host.log,
    fetch: host.fetch,
    httpTimeoutMs: host.limits.timeoutMs,
    auditBatch,
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
  const installed = split &&
    host.capsules.find((c) => c.loaded.manifest.package.name === split.capsule);
  if (!split || !installed) {
    return {
      status: "error",
      code: "UNKNOWN_TOOL",
      message: `Cannot call ${name}: no such capsule tool`,
    };
  }
  const declared = installed.loaded.manifest.tool;
  // A tool the wasm component does not declare goes to the capsule's MCP servers, if any.
  const viaMcp = installed.loaded.manifest.mcp_server.length > 0 &&
    (!installed.loaded.wasm ||
      (declared.length > 0 && !declared.some((t) => t.name === split.tool)));
  if (!viaMcp && declared.length > 0 && !declared.some((t) => t.name === split.tool)) {
    return {
      status: "error",
      code: "UNKNOWN_TOOL",
      message: `Cannot call ${name}: capsule ${split.capsule} declares no tool ${split.tool}`,
    };
  }
  const action = {
    kind: "capsule_tool_call",
    capsule: split.capsule,
    tool: split.tool,
    args,
  } as const;
  const summary = `Call tool ${split.tool} of capsule ${split.capsule}`;
  const payload: CapsuleToolPayload = { tool: name, args };
  const decision = await interceptor.intercept(action, {
    tool: name,
    capsule: split.capsule,
    provenance: opts.provenance,
    argumentBytes: new TextEncoder().encode(JSON.stringify(args) ?? "").length,
    execution: { executor: "capsule_tool", payload },
    answer: opts.answer,
    signal: opts.signal,
  });
  if (decision.outcome !== "allowed") return refusedOutcome(decision, summary);
  if (viaMcp) return await runViaMcp(host, installed, split.tool, args, decision, summary);
  let instance: CapsuleInstance | undefined;
  const batch = interceptor.openBatch();
  try {
    instance = await CapsuleInstance.create(
      installed.loaded,
      hostEnv(host, installed, interceptor, batch),
      host.limits,
    );
    const value = await instance.callTool(split.tool, args);
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
  tool: string,
  args: unknown,
  decision: Allowed,
  summary: string,
): Promise<InvokeOutcome> {
  try {
    const result = await withCapsuleMcp(
      installed,
      host.parentEnv ?? {},
      host.workspaceRoot,
      (manager) =>
        callCapsuleMcpTool(manager, tool, args, host.outputLimitChars ?? DEFAULT_MAX_OUTPUT_CHARS),
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
