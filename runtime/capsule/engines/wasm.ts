/**
 * The WASM engine: one capsule instance under `@extism/extism@2.0.0-rc13`'s foreground plugin,
 * on this thread (no Worker: a busy Worker cannot be terminated in Deno). The CPU deadline is
 * enforced inside the engine, which asks `astrid-deadline`; time spent awaiting the interceptor
 * (a human's approval) is excluded. A call whose host call was deferred fails with `DEFERRED`
 * even if the capsule caught the error. A trapped instance is replaced on the next call.
 *
 * @module
 */
// deno-lint-ignore no-import-prefix -- pinned inline until deno.json maps @extism/extism
import createPlugin, { type Plugin } from "npm:@extism/extism@2.0.0-rc13";
import { CapsuleError } from "../errors.ts";
import type { LoadedCapsule } from "../loader.ts";
import { type CallState, type HostEnv, newCallState } from "../host/context.ts";
import { hostFunctions } from "../host/functions.ts";
import { mapCapsuleStack } from "../_stack_map.ts";

/** The largest output a capsule call may return, in bytes. */
export const MAX_OUTPUT_BYTES = 4 << 20;

/** Engine limits, from `[capsules]`. */
export interface WasmLimits {
  /** CPU budget per call, in ms (`timeout_seconds`; the engine's default is 30 s). */
  readonly timeoutMs: number;
  /** JS heap limit in MiB (`memory_mb`; the engine never goes above 64). */
  readonly memoryMb: number;
}

/** One tool as the capsule describes it. */
export interface DescribedTool {
  readonly name: string;
  readonly description: string;
  readonly input_schema: Record<string, unknown>;
}

/** What `describe` returns. */
export interface CapsuleDescription {
  readonly tools: readonly DescribedTool[];
  readonly hooks: readonly string[];
  readonly cron: readonly string[];
}

const PLUGIN_ERROR = "Plugin-originated error: ";

/**
 * A running capsule. Calls are serialised: QuickJS is not re-entrant.
 *
 * @example Describe and call a compiled capsule (host calls refused: no env)
 * ```ts
 * import { deepEqual, ok } from "node:assert/strict";
 * import { CapsuleInstance } from "./wasm.ts";
 * import { loadCapsule } from "../loader.ts";
 * import { probeCopy } from "../_testing.ts";
 * const loaded = await loadCapsule(await probeCopy(), { requireHash: true });
 * const instance = await CapsuleInstance.create(loaded, null, { timeoutMs: 30_000, memoryMb: 64 });
 * ok((await instance.describe()).tools.some((t) => t.name === "echo"));
 * deepEqual(await instance.callTool("echo", { name: "Ada" }), { name: "Ada" });
 * await instance.close();
 * ```
 */
export class CapsuleInstance {
  #loaded: LoadedCapsule;
  #env: HostEnv | null;
  #limits: WasmLimits;
  #plugin: Plugin | null = null;
  #state: CallState = newCallState();
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(loaded: LoadedCapsule, env: HostEnv | null, limits: WasmLimits) {
    this.#loaded = loaded;
    this.#env = env;
    this.#limits = limits;
  }

  /**
   * Instantiates `loaded` (which must have wasm). `env` null gives an instance that can only
   * describe itself: every host call is refused.
   */
  static async create(
    loaded: LoadedCapsule,
    env: HostEnv | null,
    limits: WasmLimits,
  ): Promise<CapsuleInstance> {
    if (!loaded.wasm) {
      throw new CapsuleError(
        "NOT_FOUND",
        `Cannot start capsule ${loaded.manifest.package.name}: it has no [component] wasm`,
      );
    }
    const instance = new CapsuleInstance(loaded, env, limits);
    await instance.#instantiate();
    return instance;
  }

  async #instantiate(): Promise<Plugin> {
    const module = await this.#loaded.wasm!.module();
    const memory = Math.max(1, Math.min(64, Math.floor(this.#limits.memoryMb))) << 20;
    this.#plugin = await createPlugin({ wasm: [{ module }] }, {
      useWasi: false,
      functions: {
        "extism:host/user": hostFunctions({
          env: this.#env,
          state: () => this.#state,
          budgetMs: this.#limits.timeoutMs,
        }),
      },
      config: { "astrid.memory_limit": String(memory) },
    });
    return this.#plugin;
  }

  /** The capsule's tools, hooks and cron handlers. */
  async describe(): Promise<CapsuleDescription> {
    const out = await this.#call("describe", undefined, undefined) as Partial<CapsuleDescription>;
    if (!out || !Array.isArray(out.tools)) {
      throw new CapsuleError("ENGINE", `Cannot describe capsule ${this.#name}: malformed reply`);
    }
    return { tools: out.tools, hooks: out.hooks ?? [], cron: out.cron ?? [] };
  }

  /** Runs one tool and returns its JSON result. */
  callTool(tool: string, args: unknown): Promise<unknown> {
    return this.#call("call_tool", JSON.stringify({ name: tool, args: args ?? {} }), tool);
  }

  /** Runs the capsule's `hooks[hook]` handler with `payload` and returns its JSON result. */
  onHook(hook: string, payload: unknown): Promise<unknown> {
    return this.#call("on_hook", JSON.stringify({ hook, payload: payload ?? null }), undefined);
  }

  get #name(): string {
    return this.#loaded.manifest.package.name;
  }

  #call(entry: string, input: string | undefined, tool: string | undefined): Promise<unknown> {
    const run = this.#queue.then(() => this.#callNow(entry, input, tool));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #callNow(entry: string, input: string | undefined, tool: string | undefined) {
    const plugin = this.#plugin ?? await this.#instantiate();
    this.#state = newCallState(tool === undefined ? undefined : `${this.#name}__${tool}`);
    let text: string;
    try {
      const out = await plugin.call(entry, input);
      const size = out ? (out as unknown as DataView).byteLength : 0;
      if (size > MAX_OUTPUT_BYTES) {
        throw new CapsuleError(
          "ENGINE",
          `Cannot accept the output of ${this.#name}: current size is ${size} bytes ` +
            `(max ${MAX_OUTPUT_BYTES})`,
          { engineCode: "OUTPUT_TOO_LARGE" },
        );
      }
      text = out ? out.text() : "null";
    } catch (e) {
      if (e instanceof CapsuleError) throw e;
      throw await this.#engineError(e);
    } finally {
      const deferred = this.#state.deferred;
      if (deferred) {
        // deno-lint-ignore no-unsafe-finally -- a deferral overrides whatever the capsule did
        throw new CapsuleError(
          "DEFERRED",
          `Cannot finish ${entry} of capsule ${this.#name}: ${deferred.reason}`,
          { deferredId: deferred.id },
        );
      }
    }
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  async #engineError(e: unknown): Promise<CapsuleError> {
    const message = e instanceof Error ? e.message : String(e);
    if (message.startsWith(PLUGIN_ERROR)) {
      let report: { code?: string; message?: string; stack?: unknown } = {};
      try {
        report = JSON.parse(message.slice(PLUGIN_ERROR.length));
      } catch { /* not JSON: keep the raw text */ }
      const code = report.code ?? "ENGINE";
      if (code === "TRAPPED") this.#plugin = null;
      // Frames in the author's files, from capsule.wasm.map (read only now; debug info only).
      const frames = typeof report.stack === "string" && this.#loaded.wasm
        ? await mapCapsuleStack(this.#loaded.wasm.path, report.stack)
        : [];
      const trace = frames.length ? `\n${frames.join("\n")}` : "";
      return new CapsuleError(
        "ENGINE",
        `Cannot finish the call to capsule ${this.#name}: ${code}: ${
          report.message ?? message
        }${trace}`,
        { engineCode: code },
      );
    }
    // A trap (e.g. V8's stack overflow inside wasm): the instance state is unknown; drop it.
    this.#plugin = null;
    return new CapsuleError(
      "ENGINE",
      `Cannot finish the call to capsule ${this.#name}: TRAPPED: ${message}`,
      { engineCode: "TRAPPED" },
    );
  }

  /** Releases the instance. */
  async close(): Promise<void> {
    const plugin = this.#plugin;
    this.#plugin = null;
    await plugin?.close();
  }
}
