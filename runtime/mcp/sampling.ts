/**
 * A server's `sampling/createMessage` asks us to spend model tokens on its behalf, so it is an
 * action like any other: `mcp://<server>/sampling/createMessage` (permission `invoke`) through
 * the interceptor, marked as coming from untrusted content, audited with its outcome. Only
 * an allowed request reaches the injected sampler (the agent runtime's model provider).
 *
 * @module
 */
import type { SecurityInterceptor } from "../security/interceptor.ts";
import type { ApprovalAnswer } from "../security/approval.ts";
import { ErrorCode, SdkMcpError } from "./_sdk.ts";
import type { CreateMessageRequestParams, Sampler } from "./connection.ts";

/** The pseudo-tool name sampling requests are gated under (`mcp://server/sampling/createMessage`). */
export const SAMPLING_TOOL = "sampling/createMessage";

const PREVIEW_CHARS = 2000;

function preview(params: CreateMessageRequestParams): Record<string, unknown> {
  let left = PREVIEW_CHARS;
  const messages = params.messages.map((m) => {
    const blocks = Array.isArray(m.content) ? m.content : [m.content];
    const text = blocks.map((b) => (b.type === "text" ? b.text : `[${b.type}]`)).join(" ");
    const cut = text.slice(0, Math.max(0, left));
    left -= cut.length;
    return { role: m.role, text: cut };
  });
  return {
    messages,
    maxTokens: params.maxTokens,
    ...(params.systemPrompt !== undefined
      ? { systemPrompt: params.systemPrompt.slice(0, 500) }
      : {}),
  };
}

/** Options of {@link gatedSampler}. */
export interface GatedSamplerOptions {
  /** An answer given up front (tests, `--approve`); otherwise the frontend is asked. */
  readonly answer?: ApprovalAnswer | undefined;
}

/**
 * Wraps `sampler` so every request passes the interceptor first; a denied or deferred request
 * is answered to the server with a JSON-RPC error and never reaches the model.
 *
 * @example Denied by a rule: the sampler is never called
 * ```ts
 * import { equal, rejects } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
 * import { AuditLog } from "../audit/mod.ts";
 * import { DEFAULT_CONFIG } from "../config/mod.ts";
 * import { openGate } from "../security/gate.ts";
 * import { gatedSampler } from "./sampling.ts";
 * using store = await openStore(":memory:");
 * const signer = signerFromSeed(generateSeed());
 * const audit = await AuditLog.open(store, signer);
 * const config = structuredClone(DEFAULT_CONFIG);
 * config.permissions.deny = ["mcp://*\/sampling/**"];
 * const { interceptor } = await openGate({
 *   store, signer, audit, config, workspaceRoot: await Deno.makeTempDir(),
 *   workspaceId: "ws", sessionId: "s", frontend: null,
 * });
 * let calls = 0;
 * const sample = gatedSampler(interceptor, () => { calls++; return Promise.reject(new Error("unused")); });
 * await rejects(sample("srv", { messages: [], maxTokens: 10 }, new AbortController().signal), /denied/);
 * equal(calls, 0);
 * await audit.close();
 * ```
 */
export function gatedSampler(
  interceptor: SecurityInterceptor,
  sampler: Sampler,
  opts: GatedSamplerOptions = {},
): Sampler {
  return async function sampleThroughInterceptor(server, params, signal) {
    const args = preview(params);
    const decision = await interceptor.intercept(
      { kind: "mcp_tool_call", server, tool: SAMPLING_TOOL, args },
      {
        tool: `mcp__${server}__sampling`,
        provenance: { trust: "untrusted", source: `sampling request from MCP server ${server}` },
        argumentBytes: new TextEncoder().encode(JSON.stringify(params)).length,
        answer: opts.answer,
        signal,
      },
    );
    if (decision.outcome !== "allowed") {
      throw new SdkMcpError(
        ErrorCode.InvalidRequest,
        `Sampling request ${decision.outcome}: ${decision.reason}`,
      );
    }
    try {
      const result = await sampler(server, params, signal);
      await decision.complete({ ok: true, detail: { model: result.model } });
      return result;
    } catch (err) {
      await decision.complete({ ok: false, detail: { message: (err as Error).message } });
      throw err;
    }
  };
}
