/**
 * Asks a freshly compiled capsule what it registers, at compile time, with no host to talk to:
 * every host function the wasm imports answers `UNAVAILABLE` (so `get-config` reads as "not
 * set" and the capsule sees its defaults), and log lines are kept. For an OpenClaw plugin this
 * runs its `register(api)`, so the compiler can write the tools, hooks and commands into
 * `Capsule.toml` and report what was refused.
 *
 * @module
 */
import createPlugin, { type CallContext } from "@extism/extism";

/** One tool, as `describe` returns it. */
export interface DescribedTool {
  readonly name: string;
  readonly description: string;
  readonly input_schema: Record<string, unknown>;
}

/** One command a capsule's wasm runs. */
export interface DescribedCommand {
  readonly name: string;
  readonly description: string;
  readonly acceptsArgs?: boolean;
}

/** What a capsule registers. */
export interface Description {
  readonly tools: readonly DescribedTool[];
  readonly hooks: readonly string[];
  readonly cron: readonly string[];
  readonly commands: readonly DescribedCommand[];
  readonly providers: readonly { id: string; models?: string[] }[];
  /** What the capsule reported while registering (refusals, skipped tools). */
  readonly notes: readonly string[];
  /**
   * The JSON Schema of an OpenClaw plugin's config when it is declared only in code (its
   * `definePluginEntry`/`defineToolPlugin` `configSchema`), with the schema's UI hints under
   * `x-uiHints`; absent otherwise.
   */
  readonly config?: Record<string, unknown>;
  /** Log lines written while describing. */
  readonly logs: readonly string[];
}

const UNAVAILABLE = JSON.stringify({
  error: { code: "UNAVAILABLE", message: "no host while compiling" },
});

/**
 * Instantiates `wasm` with a host that refuses everything and calls its `describe` export.
 *
 * @throws {Error} the capsule's own error when describing fails (e.g. its register() threw)
 */
export async function describeWasm(wasm: Uint8Array<ArrayBuffer>): Promise<Description> {
  const module = new WebAssembly.Module(wasm);
  const logs: string[] = [];
  const user: Record<string, (cp: CallContext, ...args: bigint[]) => unknown> = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module !== "extism:host/user" || imp.kind !== "function") continue;
    const name = imp.name;
    if (name === "astrid-deadline") user[name] = () => 30_000n;
    else if (name === "astrid-random-seed") user[name] = () => 7n;
    else if (name === "astrid-now") user[name] = () => BigInt(Date.now()) * 1000n;
    else if (name === "log") {
      user[name] = (cp: CallContext, off?: bigint) => {
        const arg = cp.read(off!)?.json() as { level?: string; message?: string } | undefined;
        logs.push(`${arg?.level ?? "info"}: ${arg?.message ?? ""}`);
        return cp.store(JSON.stringify({ ok: null }));
      };
    } else user[name] = (cp: CallContext) => cp.store(UNAVAILABLE);
  }
  const plugin = await createPlugin({ wasm: [{ module }] }, {
    functions: { "extism:host/user": user },
  });
  try {
    const out = await plugin.call("describe", "");
    const raw = JSON.parse(out?.text() ?? "{}") as Partial<Description>;
    return {
      tools: raw.tools ?? [],
      hooks: raw.hooks ?? [],
      cron: raw.cron ?? [],
      commands: raw.commands ?? [],
      providers: raw.providers ?? [],
      notes: raw.notes ?? [],
      ...(isObject(raw.config) ? { config: raw.config } : {}),
      logs,
    };
  } catch (e) {
    const message = (e instanceof Error ? e.message : String(e))
      .replace(/^Plugin-originated error: /, "");
    throw new Error(message);
  } finally {
    await plugin.close();
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
