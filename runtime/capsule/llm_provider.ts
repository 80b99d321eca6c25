/**
 * An installed capsule as the session's model (`[model] provider = "capsule:<name>"`): the
 * capsule layer's half of runtime/llm/capsule_provider.ts. {@link resolveCapsuleModel} picks the
 * capsule (it must be installed, with a verified record) and its `[[llm_provider]]` entry at
 * start-up, refusing anything else with a `ConfigError` (the CLI's config exit code).
 * {@link capsuleModelCall} runs each model call on a fresh instance: `on_hook` with hook
 * `llm_provider:<id>`, whose `llm-emit` chunks stream to the agent loop as they come.
 *
 * Each call is also a `capsule_tool_call` action (`capsule://<name>/llm_provider:<id>`) through
 * the session's interceptor, answered up front ("configured as [model] provider": the human
 * chose this provider in their own config) unless a rule or policy decides first; it is audited
 * with its outcome (stop reason and usage). The agent loop reserves and charges the budget for
 * it as for any model (runtime/agent/loop.ts), so the action itself reserves nothing. The
 * capsule's own host calls are gated as in a tool call; `llm-complete` is not offered inside a
 * provider call (`NO_PROVIDER`), so a provider cannot call itself.
 *
 * @module
 */
import { ConfigError } from "../config/errors.ts";
import type { SecurityInterceptor } from "../security/interceptor.ts";
import { CapsuleProvider } from "../llm/capsule_provider.ts";
import type { CapsuleModelCall } from "../llm/capsule_provider.ts";
import { CapsuleInstance } from "./engines/wasm.ts";
import type { InstalledCapsule } from "./install.ts";
import { type CapsuleHost, hostEnv } from "./registry.ts";

/** The capsule, `[[llm_provider]]` entry and model a `capsule:<name>` provider resolves to. */
export interface ResolvedCapsuleModel {
  readonly installed: InstalledCapsule;
  /** The `[[llm_provider]]` id (hook `llm_provider:<id>`). */
  readonly id: string;
  /** The model id sent in requests and priced by the agent loop. */
  readonly model: string;
}

/** The `[model]` settings a capsule provider reads. */
export interface CapsuleModelSettings {
  readonly provider: string;
  readonly model: string;
  readonly max_tokens: number;
  readonly temperature: number;
}

function configError(message: string): ConfigError {
  return new ConfigError(message, {
    file: null,
    key: "model.provider",
    expected: 'an installed capsule with [[llm_provider]] ("capsule:<name>")',
  });
}

/**
 * Picks the capsule and `[[llm_provider]]` entry of `provider` (`capsule:<name>`) among the
 * installed (verified) capsules: the entry whose `models` lists `model`, else the entry whose id
 * is `model` (with its first model, or its id), else the first entry with its first model.
 *
 * @example An unknown capsule is a config error
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { resolveCapsuleModel } from "./llm_provider.ts";
 * throws(() => resolveCapsuleModel([], "capsule:ghost", "m"), /not installed/);
 * ```
 */
export function resolveCapsuleModel(
  capsules: readonly InstalledCapsule[],
  provider: string,
  model: string,
): ResolvedCapsuleModel {
  if (!provider.startsWith("capsule:")) {
    throw configError(`Cannot use model.provider: current value ${provider} is not capsule:<name>`);
  }
  const name = provider.slice("capsule:".length);
  const installed = capsules.find((c) => c.record.name === name);
  if (!installed) {
    throw configError(
      `Cannot use model.provider = "${provider}": capsule ${name} is not installed ` +
        "(or failed its integrity checks); install it with astrid capsule install",
    );
  }
  const entries = installed.loaded.manifest.llm_provider;
  const first = entries[0];
  if (!first) {
    throw configError(
      `Cannot use model.provider = "${provider}": capsule ${name} has no [[llm_provider]]`,
    );
  }
  const listed = entries.find((e) => e.models.includes(model));
  if (listed) return { installed, id: listed.id, model };
  const byId = entries.find((e) => e.id === model);
  if (byId) return { installed, id: byId.id, model: byId.models[0] ?? byId.id };
  return { installed, id: first.id, model: first.models[0] ?? first.id };
}

/**
 * The {@link CapsuleModelCall} of one resolved provider. `interceptor` is read at each call: the
 * session's gate exists only once the agent is opened, after the provider is built; a call
 * before then fails.
 *
 * @example Before the session's gate exists a call fails
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { capsuleModelCall } from "./llm_provider.ts";
 * import type { ResolvedCapsuleModel } from "./llm_provider.ts";
 * import type { CapsuleHost } from "./registry.ts";
 * const call = capsuleModelCall({} as CapsuleHost, {} as ResolvedCapsuleModel, () => null);
 * await rejects(call({ model: "m", system: "", messages: [], tools: [], max_tokens: 1 }, () => {}), /gate/);
 * ```
 */
export function capsuleModelCall(
  host: CapsuleHost,
  resolved: ResolvedCapsuleModel,
  interceptor: () => SecurityInterceptor | null,
): CapsuleModelCall {
  return async function callCapsuleModel(req, onChunk, signal) {
    const gate = interceptor();
    if (!gate) throw new Error("Cannot call the capsule model: the session's gate is not open yet");
    const { installed, id } = resolved;
    const capsule = installed.record.name;
    const tool = `llm_provider:${id}`;
    const decision = await gate.intercept(
      { kind: "capsule_tool_call", capsule, tool, args: { model: req.model } },
      {
        capsule,
        tool: `${capsule}__${tool}`,
        answer: { choice: "once", reason: `configured as [model] provider = "capsule:${capsule}"` },
        signal,
      },
    );
    if (decision.outcome !== "allowed") {
      throw new Error(`Cannot call the capsule model: ${decision.reason}`);
    }
    let instance: CapsuleInstance | undefined;
    let emitting = true;
    const batch = gate.openBatch();
    try {
      instance = await CapsuleInstance.create(
        installed.loaded,
        {
          ...hostEnv(host, installed, gate, batch),
          llm: undefined, // a provider does not call the session's model (itself)
          emit: (chunk) => {
            if (emitting) onChunk(chunk);
          },
        },
        host.limits,
      );
      const value = await instance.onHook(`llm_provider:${id}`, req);
      // The reads behind this answer go on the record before it leaves.
      await batch.flush();
      const v = (value ?? {}) as { stop_reason?: unknown; usage?: unknown };
      await decision.complete({
        ok: true,
        detail: { model: req.model, stopReason: v.stop_reason ?? null, usage: v.usage ?? null },
      });
      return value;
    } catch (e) {
      await batch.flush().catch(() => {});
      await decision.complete({ ok: false, detail: { message: (e as Error).message } });
      throw e;
    } finally {
      emitting = false;
      await instance?.close();
    }
  };
}

/**
 * The session's model over capsule `settings.provider`: resolved now (a `ConfigError` when it
 * cannot be), calling through the interceptor `bind` sets once the session's gate is open.
 *
 * @example An installed capsule without `[[llm_provider]]` is a config error
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { openCapsuleProvider } from "./llm_provider.ts";
 * import type { CapsuleHost } from "./registry.ts";
 * const host = { capsules: [] } as unknown as CapsuleHost;
 * const settings = { provider: "capsule:x", model: "m", max_tokens: 1, temperature: 1 };
 * throws(() => openCapsuleProvider(host, settings), /not installed/);
 * ```
 */
export function openCapsuleProvider(
  host: CapsuleHost,
  settings: CapsuleModelSettings,
): { readonly provider: CapsuleProvider; bind(interceptor: SecurityInterceptor): void } {
  const resolved = resolveCapsuleModel(host.capsules, settings.provider, settings.model);
  let bound: SecurityInterceptor | null = null;
  const provider = new CapsuleProvider({
    capsule: resolved.installed.record.name,
    model: resolved.model,
    maxTokens: settings.max_tokens,
    temperature: settings.temperature,
    call: capsuleModelCall(host, resolved, () => bound),
  });
  return {
    provider,
    bind(interceptor) {
      bound = interceptor;
    },
  };
}
