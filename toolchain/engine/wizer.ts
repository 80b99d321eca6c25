/**
 * Runs Wizer (`npm:@bytecodealliance/wizer@10.0.0`, which ships its native binary inside the
 * npm package; nothing is downloaded at run time) over an engine module that already carries its
 * source (see embed.ts), producing the pre-initialised capsule module.
 *
 * @module
 */

/**
 * Raised when initialisation fails. `code` is `INIT` when the capsule's own code failed (the
 * message then carries the capsule's error and stack) and `WIZER` when Wizer itself failed.
 *
 * @example Recognise an init failure
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { WizerError } from "./wizer.ts";
 * equal(new WizerError("INIT", "Cannot evaluate the capsule: boom").code, "INIT");
 * ```
 */
export class WizerError extends Error {
  /** `INIT` (the capsule failed) or `WIZER` (the tool failed). */
  readonly code: "INIT" | "WIZER";
  /**
   * @param code the failure class
   * @param message a "Cannot X: current value is Y" message
   */
  constructor(code: "INIT" | "WIZER", message: string) {
    super(message);
    this.name = "WizerError";
    this.code = code;
  }
}

/**
 * Resolves the path of the Wizer binary from the pinned npm package (deno.json maps
 * `@bytecodealliance/wizer` to 10.0.0); its default export is the platform binary's path.
 *
 * @returns an absolute path to an executable
 *
 * @example Find Wizer
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { wizerPath } from "./wizer.ts";
 * ok((await wizerPath()).endsWith("wizer"));
 * ```
 */
export async function wizerPath(): Promise<string> {
  const mod: { default?: unknown } = await import("@bytecodealliance/wizer");
  if (typeof mod.default !== "string") {
    throw new WizerError(
      "WIZER",
      `Cannot locate the wizer binary: current value is ${String(mod.default)}`,
    );
  }
  return mod.default;
}

/**
 * Pre-initialises `module` with Wizer (init function `wizer.initialize`, no WASI) and returns the
 * snapshot. The output is byte-identical for identical input.
 *
 * @param module an engine module prepared by `embedSource`
 * @returns the wizened module bytes
 *
 * @example Wizen a module whose initialiser stores a value
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { wizen } from "./wizer.ts";
 * // (module (memory (export "memory") 1)
 * //   (func (export "wizer.initialize") i32.const 0 i32.const 7 i32.store))
 * const module = new Uint8Array([
 *   0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 3, 1, 0, 1, 7, 29, 2, 6, 109,
 *   101, 109, 111, 114, 121, 2, 0, 16, 119, 105, 122, 101, 114, 46, 105, 110, 105, 116, 105, 97,
 *   108, 105, 122, 101, 0, 0, 10, 11, 1, 9, 0, 65, 0, 65, 7, 54, 2, 0, 11,
 * ]);
 * ok(WebAssembly.validate(await wizen(module)));
 * ```
 */
export async function wizen(module: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const dir = await Deno.makeTempDir({ prefix: "astrid-wizer-" });
  try {
    const input = `${dir}/in.wasm`;
    const output = `${dir}/out.wasm`;
    await Deno.writeFile(input, module);
    const out = await new Deno.Command(await wizerPath(), {
      args: ["--allow-wasi=false", "--inherit-stdio=false", "-o", output, input],
      // No inherited environment; HOME points into the scratch folder so wasmtime's cache
      // never falls back to the account's home (`/nonexistent` for nobody).
      clearEnv: true,
      env: { HOME: dir, XDG_CACHE_HOME: `${dir}/cache` },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      const reason = initError(module);
      if (reason) throw new WizerError("INIT", reason);
      const text = new TextDecoder().decode(out.stderr).trim();
      throw new WizerError("WIZER", `Cannot pre-initialise the capsule: current value is ${text}`);
    }
    return await Deno.readFile(output);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Replays `wizer.initialize` in V8 with inert imports and returns the engine's own explanation
 * (`astrid_init_error`) when it traps, or "" when it succeeds or the module has no explanation.
 *
 * @param module an engine module prepared by `embedSource`
 * @returns the reason initialisation failed, or ""
 *
 * @example A module without the engine's exports explains nothing
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { initError } from "./wizer.ts";
 * equal(initError(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])), "");
 * ```
 */
export function initError(module: Uint8Array): string {
  const compiled = new WebAssembly.Module(module as Uint8Array<ArrayBuffer>);
  const imports: Record<string, Record<string, () => never>> = {};
  for (const { module: ns, name } of WebAssembly.Module.imports(compiled)) {
    (imports[ns] ??= {})[name] = () => {
      throw new Error(`import ${ns}.${name} called during initialisation`);
    };
  }
  const instance = new WebAssembly.Instance(compiled, imports);
  const { memory, astrid_init_error: reason } = instance.exports;
  const init = instance.exports["wizer.initialize"];
  if (
    !(memory instanceof WebAssembly.Memory) || typeof reason !== "function" ||
    typeof init !== "function"
  ) return "";
  try {
    init();
    return "";
  } catch (e) {
    const at = Number(reason());
    const bytes = new Uint8Array(memory.buffer);
    const end = bytes.indexOf(0, at);
    const text = new TextDecoder().decode(bytes.subarray(at, end < 0 ? at : end));
    return text || `Cannot initialise the capsule: current value is ${String(e)}`;
  }
}
