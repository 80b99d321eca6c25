/**
 * Compiles a capsule project (TypeScript) to `capsule.wasm` plus its `Capsule.toml`:
 *
 * 1. read `Capsule.toml` (or derive `[package]` from package.json); an OpenClaw plugin
 *    (toolchain/openclaw/detect.ts) gets its manifest generated from its metadata, and its entry
 *    is wrapped by the adapter (toolchain/openclaw/adapter.js);
 * 2. type-check the entry with `deno check` against ES2022 and the sandbox's globals
 *    (toolchain/sdk/globals.d.ts), in a subprocess alongside the next steps (skip with
 *    `typeCheck: false` or `--no-check`), and transpile each TypeScript module with oxc-transform;
 * 3. bundle the project and its npm dependencies with rolldown at es2022 (one IIFE);
 * 4. prepend the shim (toolchain/shim/prelude.js);
 * 5. embed it in the engine and run Wizer (`@bytecodealliance/wizer@10.0.0`), then join the
 *    snapshot's data segments across small zero gaps (engine/pack_data.ts: fewer segments to
 *    compile and instantiate, for the same memory);
 * 6. write `capsule.wasm`;
 * 7. run the capsule's `describe` with no host (an entry without a usable default export fails
 *    here; an OpenClaw plugin's `register(api)` runs and yields its tools, hooks and commands);
 * 8. write `Capsule.toml` with `[component] entrypoint` and `hash = "blake3:<hex>"` (and, for
 *    an OpenClaw plugin, `[[tool]]`, `[[interceptor]]` and `[[command]]`).
 *
 * Two compiles of the same input are byte-identical. Run it as
 * `deno run -A toolchain/compile.ts DIR [-o OUT] [--no-check]`.
 *
 * @module
 */
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import { blake3Hex, loadFastBlake3 } from "../runtime/crypto/blake3.ts";
import { ALL_HOST_FUNCTION_NAMES } from "./engine/abi.ts";
import { buildEngine, enginePath } from "./engine/build.ts";
import { embedSource } from "./engine/embed.ts";
import { wizen, WizerError } from "./engine/wizer.ts";
import { packDataSegments } from "./engine/pack_data.ts";
import {
  detectOpenClaw,
  OpenClawDetectError,
  type OpenClawPlugin,
  pluginManifest,
} from "./openclaw/detect.ts";
import { classifyImport, importSite } from "./openclaw/resolve.ts";
import { describeWasm, type Description } from "./openclaw/describe.ts";
import { registeredSections } from "./openclaw/registered.ts";

/** The import specifier capsules use for the SDK. */
export const SDK_SPECIFIER = "@astrid/sdk";
const SDK_PATH = decodeURIComponent(new URL("./sdk/mod.ts", import.meta.url).pathname);
const PRELUDE_URL = new URL("./shim/prelude.js", import.meta.url);
const ADAPTER_PATH = decodeURIComponent(
  new URL("./openclaw/adapter.js", import.meta.url).pathname,
);
/** The bundler's id of the generated entry that wraps an OpenClaw plugin. */
const OPENCLAW_ENTRY = "\0astrid:openclaw-entry";

/** One type error, at the author's file and line. */
export interface TypeErrorSite {
  /** The file, relative to the project (absolute when outside it); "" when unknown. */
  readonly file: string;
  /** 1-based line; 0 when unknown. */
  readonly line: number;
  /** The message, e.g. `TS2322: Type 'string' is not assignable to type 'number'.` */
  readonly message: string;
}

/**
 * Raised when a capsule cannot be compiled. `file` and `line` point at the author's source
 * when known; a `TYPE` error lists every type error in `errors` (the first is `file`/`line`).
 *
 * @example Match on the code
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { CompileError } from "./compile.ts";
 * equal(new CompileError("BUNDLE", "Cannot bundle").code, "BUNDLE");
 * ```
 */
export class CompileError extends Error {
  /** The failed stage. */
  readonly code:
    | "MANIFEST"
    | "ENTRY"
    | "TYPE"
    | "TRANSPILE"
    | "BUNDLE"
    | "UNSUPPORTED_IMPORT"
    | "INIT";
  /** The author's file, relative to the project, when known. */
  readonly file: string | undefined;
  /** 1-based line in `file`, when known. */
  readonly line: number | undefined;
  /** Every type error `deno check` reported (empty for the other stages). */
  readonly errors: readonly TypeErrorSite[];
  /**
   * @param code the failed stage
   * @param message a "Cannot X: current value is Y" message
   * @param where the author's file and line, when known, and every type error
   */
  constructor(
    code: CompileError["code"],
    message: string,
    where: { file?: string; line?: number; errors?: readonly TypeErrorSite[] } = {},
  ) {
    super(message);
    this.name = "CompileError";
    this.code = code;
    this.file = where.file;
    this.line = where.line;
    this.errors = where.errors ?? [];
  }
}

/** Options for `compileCapsule`. */
export interface CompileOptions {
  /** Output directory (default `<dir>/dist`). */
  out?: string;
  /** Engine bytes (default: `.build/engine/engine.wasm`, built when missing). */
  engine?: Uint8Array;
  /** Receives one progress line per stage. */
  log?: (line: string) => void;
  /** Type-check with `deno check`, alongside the build (default true). */
  typeCheck?: boolean;
  /**
   * Pack the Wizer snapshot's data segments (engine/pack_data.ts; default true). False keeps
   * Wizer's own segments: only to measure what packing saves (bench/capsule_bench.ts).
   */
  packData?: boolean;
}

/** What `compileCapsule` wrote. */
export interface CompileResult {
  /** Path of `capsule.wasm`. */
  wasmPath: string;
  /** Path of the written `Capsule.toml`. */
  manifestPath: string;
  /** `blake3:<hex>` of `capsule.wasm`. */
  hash: string;
  /**
   * Path of `capsule.wasm.map`: the bundle's source map (debug info for stack traces only; not
   * covered by the hash, never trusted).
   */
  sourceMapPath: string;
  /** Size of `capsule.wasm` in bytes. */
  bytes: number;
  /** Milliseconds per stage. */
  stages: { name: string; ms: number }[];
  /** What the compile noticed (refused registrations, skipped tools, null factories). */
  notes: readonly string[];
  /** The OpenClaw plugin id, when the folder was an OpenClaw plugin. */
  openclaw?: string;
}

type Manifest = Record<string, unknown> & { package: Record<string, unknown> };

async function readText(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

async function readManifest(dir: string): Promise<Manifest> {
  const toml = await readText(`${dir}/Capsule.toml`);
  let data: Record<string, unknown>;
  if (toml !== null) {
    try {
      data = parseToml(toml) as Record<string, unknown>;
    } catch (e) {
      throw new CompileError("MANIFEST", `Cannot parse Capsule.toml: ${(e as Error).message}`, {
        file: "Capsule.toml",
      });
    }
  } else {
    const pkg = await readText(`${dir}/package.json`);
    if (pkg === null) {
      throw new CompileError(
        "MANIFEST",
        `Cannot find Capsule.toml or package.json: current value is ${dir}`,
      );
    }
    const json = JSON.parse(pkg) as { name?: unknown; version?: unknown; description?: unknown };
    const name = String(json.name ?? "").replace(/^@[^/]+\//, "");
    data = {
      package: {
        name,
        version: String(json.version ?? "0.1.0"),
        ...(typeof json.description === "string" ? { description: json.description } : {}),
      },
    };
  }
  const pkg = data.package;
  if (!pkg || typeof pkg !== "object" || Array.isArray(pkg)) {
    throw new CompileError("MANIFEST", "Cannot read [package]: current value is missing", {
      file: "Capsule.toml",
    });
  }
  const name = (pkg as Record<string, unknown>).name;
  if (typeof name !== "string" || !/^[a-z][a-z0-9_-]{0,63}$/.test(name)) {
    throw new CompileError(
      "MANIFEST",
      `Cannot use the capsule name: current value is ${JSON.stringify(name)}`,
      {
        file: "Capsule.toml",
      },
    );
  }
  return data as Manifest;
}

async function findEntry(dir: string): Promise<string> {
  const pkg = await readText(`${dir}/package.json`);
  const declared = pkg ? (JSON.parse(pkg) as { module?: unknown; main?: unknown }) : {};
  const candidates = [
    declared.module,
    declared.main,
    "src/mod.ts",
    "mod.ts",
    "src/index.ts",
    "index.ts",
  ]
    .filter((c): c is string => typeof c === "string");
  for (const c of candidates) {
    if ((await readText(`${dir}/${c}`)) !== null) return `${dir}/${c}`;
  }
  throw new CompileError(
    "ENTRY",
    `Cannot find the entry module: current value is none of ${candidates.join(", ")}`,
  );
}

function relative(dir: string, path: string): string {
  return path.startsWith(`${dir}/`) ? path.slice(dir.length + 1) : path;
}

function lineOf(code: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < code.length; i++) if (code.charCodeAt(i) === 10) line++;
  return line;
}

interface OxcResult {
  code: string;
  map?: unknown;
  errors: { message: string; labels?: { start: number }[] }[];
}

/**
 * For an OpenClaw plugin, the generated entry: the plugin's module wrapped by the adapter
 * (toolchain/openclaw/adapter.js), which turns its `register(api)` into a capsule definition.
 */
function openClawEntry(plugin: OpenClawPlugin): string {
  const meta = {
    id: plugin.id,
    name: plugin.name,
    description: plugin.description,
    version: plugin.version,
    configSchema: plugin.configSchema,
    uiHints: plugin.uiHints,
    configKeys: plugin.configKeys,
  };
  return `import * as plugin from ${JSON.stringify(plugin.entry)};\n` +
    `import { toCapsule } from ${JSON.stringify(ADAPTER_PATH)};\n` +
    `export default toCapsule(plugin, ${JSON.stringify(meta)});\n`;
}

/** A bundle and its source map (version 3, sources relative to the project). */
interface Bundled {
  readonly code: string;
  readonly map: SourceMapV3 | null;
}

interface SourceMapV3 {
  version: number;
  file?: string;
  sources: string[];
  names: string[];
  mappings: string;
  sourcesContent?: unknown;
}

async function bundle(dir: string, entry: string, plugin?: OpenClawPlugin): Promise<Bundled> {
  const { rolldown } = await import("rolldown") as {
    rolldown: (opts: unknown) => Promise<{
      generate(opts: unknown): Promise<{
        output: { type: string; code?: string; map?: SourceMapV3 | null }[];
      }>;
      close(): Promise<void>;
    }>;
  };
  const { transform } = await import("oxc-transform") as {
    transform: (file: string, code: string, opts: unknown) => OxcResult | Promise<OxcResult>;
  };
  // Rolldown decorates errors thrown by plugins (it rewrites `code`), so the plugin keeps its
  // CompileError here and throws a stand-in.
  let failure: CompileError | undefined;
  const fail = (e: CompileError): never => {
    failure ??= e;
    throw new Error(e.message);
  };
  const refuse = (message: string, importer: string | undefined, source: string): never => {
    const site = importSite(dir, importer, source);
    const where = site ? `${site.file}:${site.line}: ` : "";
    return fail(new CompileError("UNSUPPORTED_IMPORT", `${where}${message}`, site ?? {}));
  };
  const astrid = {
    name: "astrid-capsule",
    resolveId(source: string, importer: string | undefined) {
      if (source === SDK_SPECIFIER) return SDK_PATH;
      if (source === OPENCLAW_ENTRY) return OPENCLAW_ENTRY;
      const special = classifyImport(source);
      if (special.kind === "file") return special.path;
      if (special.kind === "refuse") return refuse(special.message, importer, source);
      return null;
    },
    load(id: string) {
      if (id === OPENCLAW_ENTRY && plugin) return openClawEntry(plugin);
      if (/\.node$/.test(id)) {
        return refuse(
          `Cannot bundle "${relative(dir, id)}": it is a native addon, and a capsule runs only ` +
            `JavaScript inside its wasm sandbox`,
          undefined,
          id,
        );
      }
      return null;
    },
    async transform(code: string, id: string) {
      if (!/\.(m?ts|tsx|cts)$/.test(id)) return null;
      const out = await transform(id, code, { target: "es2022", sourcemap: true });
      const first = out.errors[0];
      if (first) {
        const file = relative(dir, id);
        const line = lineOf(code, first.labels?.[0]?.start ?? 0);
        return fail(
          new CompileError("TRANSPILE", `${file}:${line}: ${first.message}`, { file, line }),
        );
      }
      return { code: out.code, map: out.map ?? null, moduleType: "js" };
    },
  };
  const rethrow = (e: unknown): never => {
    if (failure) throw failure;
    const text = e instanceof Error ? e.message : String(e);
    const esc = dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const loc = new RegExp(`(?:${esc}/)?([\\w./-]+\\.[mc]?[jt]sx?):(\\d+)`).exec(text);
    throw new CompileError("BUNDLE", `Cannot bundle the capsule: ${text}`, {
      ...(loc ? { file: loc[1]!, line: Number(loc[2]) } : {}),
    });
  };
  let build;
  try {
    build = await rolldown({
      input: plugin ? OPENCLAW_ENTRY : entry,
      cwd: dir,
      // Node's resolution for ESM written for Node: `./foo.js` may name `./foo.ts`, extensionless
      // and folder imports, `exports` maps with the browser condition (no Node built-ins), and
      // `main`/`module` for packages without `exports`.
      platform: "browser",
      resolve: {
        extensionAlias: {
          ".js": [".ts", ".tsx", ".js"],
          ".mjs": [".mts", ".mjs"],
          ".cjs": [".cts", ".cjs"],
        },
        extensions: [".ts", ".tsx", ".mts", ".js", ".mjs", ".cjs", ".json"],
      },
      plugins: [astrid],
      transform: {
        target: "es2022",
        define: { "process.env.NODE_ENV": JSON.stringify("production") },
      },
      logLevel: "warn",
      onLog(_level: string, log: { code?: string; message: string; exporter?: string }) {
        // An import that does not resolve would become a global reference that fails at run time.
        if (log.code === "UNRESOLVED_IMPORT" && !failure) {
          const what = log.exporter ? `"${log.exporter}"` : "a module";
          failure = new CompileError(
            "BUNDLE",
            `Cannot bundle the capsule: ${what} is not installed (add it to package.json and run ` +
              `npm install in ${dir}): ${log.message.split("\n")[0]}`,
          );
        }
      },
    });
  } catch (e) {
    return rethrow(e);
  }
  try {
    const { output } = await build.generate({
      format: "iife",
      name: "__astrid_capsule",
      exports: "named",
      codeSplitting: false,
      sourcemap: true,
      // Absolute paths here; projectMap() makes them relative to the project.
      sourcemapPathTransform: (source: string, mapPath: string) =>
        decodeURIComponent(new URL(source, `file://${mapPath}`).pathname),
    });
    if (failure) throw failure;
    const chunk = output.find((o) => o.type === "chunk");
    if (!chunk?.code) {
      throw new CompileError("BUNDLE", "Cannot bundle the capsule: current value is no output");
    }
    return { code: chunk.code, map: chunk.map ? projectMap(dir, chunk.map) : null };
  } catch (e) {
    if (e instanceof CompileError && !failure) throw e;
    return rethrow(e);
  } finally {
    await build.close();
  }
}

/** What replaces Deno's "change your target library" advice: the sandbox has no such library. */
function sandboxHint(code: string, message: string): string {
  const name = /^Cannot find name '([^']+)'/.exec(message)?.[1];
  const base = message
    .replace(/\s*Do you need to (change your target library|install type definitions)\b.*$/, "")
    .replace(/\.$/, "");
  if (name === "Deno") {
    return `${code}: ${base}: Deno APIs are not available inside the capsule sandbox ` +
      "(use the host API from @astrid/sdk: fs, http, kv, config, log, llm)";
  }
  if (base !== message.replace(/\.$/, "") && name) {
    return `${code}: ${base}: it is not available inside the capsule sandbox (its globals are ` +
      "ES2022 plus toolchain/sdk/globals.d.ts; the host API is in @astrid/sdk)";
  }
  return `${code}: ${message}`;
}

/**
 * Reads every diagnostic of `deno check`'s output (`NO_COLOR`): one `{file, line, message}` per
 * `TSnnnn [ERROR]:` block, the file relative to `dir` when inside it. Deno's advice to add
 * `deno.ns` or Node types becomes a note that the API does not exist in the sandbox.
 *
 * @param text the stderr of `deno check`
 * @param dir the project folder (canonical)
 * @returns the errors, in the order reported
 *
 * @example Two errors in two files
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { parseCheckOutput } from "./compile.ts";
 * const text = "TS2322 [ERROR]: Type 'string' is not assignable to type 'number'.\n" +
 *   "const x: number = \"a\";\n      ^\n    at file:///p/src/mod.ts:3:7\n\n" +
 *   "TS2304 [ERROR]: Cannot find name 'Deno'. Do you need to change your target library?\n" +
 *   "Deno.exit();\n~~~~\n    at file:///p/src/util.ts:9:1\n\nFound 2 errors.\n";
 * const errors = parseCheckOutput(text, "/p");
 * deepEqual(errors.map((e) => `${e.file}:${e.line}`), ["src/mod.ts:3", "src/util.ts:9"]);
 * deepEqual(errors[1]?.message.includes("not available inside the capsule sandbox"), true);
 * ```
 */
export function parseCheckOutput(text: string, dir: string): TypeErrorSite[] {
  const errors: TypeErrorSite[] = [];
  const blocks = text.split(/^(?=TS\d+ \[ERROR\]: )/m).filter((b) => /^TS\d+ \[ERROR\]: /.test(b));
  for (const block of blocks) {
    const head = /^(TS\d+) \[ERROR\]: ([^\n]*)/.exec(block)!;
    const at = /^\s+at (file:\/\/\S+?):(\d+):\d+\s*$/m.exec(block);
    let file = "";
    if (at) {
      try {
        file = relative(dir, decodeURIComponent(new URL(at[1]!).pathname));
      } catch {
        file = at[1]!;
      }
    }
    errors.push({ file, line: at ? Number(at[2]) : 0, message: sandboxHint(head[1]!, head[2]!) });
  }
  return errors;
}

/**
 * Formats type errors grouped by file: a `file` line, then `  line N: message` lines.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { formatTypeErrors } from "./compile.ts";
 * deepEqual(
 *   formatTypeErrors([
 *     { file: "mod.ts", line: 3, message: "TS1: a" },
 *     { file: "util.ts", line: 1, message: "TS2: b" },
 *     { file: "mod.ts", line: 9, message: "TS3: c" },
 *   ]),
 *   ["mod.ts", "  line 3: TS1: a", "  line 9: TS3: c", "util.ts", "  line 1: TS2: b"],
 * );
 * ```
 */
export function formatTypeErrors(errors: readonly TypeErrorSite[]): string[] {
  const byFile = new Map<string, TypeErrorSite[]>();
  for (const e of errors) byFile.set(e.file, [...byFile.get(e.file) ?? [], e]);
  const lines: string[] = [];
  for (const [file, list] of byFile) {
    lines.push(file || "(no file)");
    for (const e of list) lines.push(`  ${e.line ? `line ${e.line}` : "?"}: ${e.message}`);
  }
  return lines;
}

/**
 * Runs `deno check` on the entry against what the sandbox offers: ES2022 plus the globals of
 * toolchain/sdk/globals.d.ts (no `Deno`, DOM or Node types), with `@astrid/sdk` mapped to the
 * SDK, the package.json `dependencies` mapped to `npm:` specifiers and deno.json `imports` kept.
 */
async function typeCheck(dir: string, entry: string): Promise<string> {
  const config = await Deno.makeTempFile({ prefix: "astrid-capsule-check-", suffix: ".json" });
  try {
    const read = (name: string) =>
      Deno.readTextFile(`${dir}/${name}`).then((t) => JSON.parse(t), () => ({}));
    // npm dependencies as the bundler sees them (package.json), plus deno.json's own imports.
    const own: Record<string, string> = {};
    const pkg = await read("package.json");
    for (const [name, version] of Object.entries({ ...pkg?.dependencies })) {
      if (typeof version !== "string") continue;
      own[name] = `npm:${name}@${version}`;
      own[`${name}/`] = `npm:/${name}@${version}/`;
    }
    Object.assign(own, (await read("deno.json"))?.imports);
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        lock: false,
        compilerOptions: {
          strict: true,
          lib: ["es2022"],
          types: [new URL("./sdk/globals.d.ts", import.meta.url).href],
        },
        imports: { ...own, [SDK_SPECIFIER]: new URL("./sdk/mod.ts", import.meta.url).href },
      }),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", `--config=${config}`, entry],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.success) return "no type errors";
    const text = new TextDecoder().decode(out.stderr);
    const errors = parseCheckOutput(text, dir);
    const first = errors[0] ?? {
      file: "",
      line: 0,
      message: text.trim().split("\n")[0] ?? "deno check failed",
    };
    const where = first.file ? `${first.file}${first.line ? `:${first.line}` : ""}: ` : "";
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
    throw new CompileError(
      "TYPE",
      `Cannot compile: type error at ${where}${first.message}${more}`,
      {
        ...(first.file ? { file: first.file } : {}),
        ...(first.line ? { line: first.line } : {}),
        errors: errors.length ? errors : [first],
      },
    );
  } finally {
    await Deno.remove(config);
  }
}

/**
 * Compiles the capsule project in `dir`.
 *
 * @param dir the project directory (with Capsule.toml or package.json)
 * @param options output directory, engine bytes and progress sink
 * @returns the written files, their hash and per-stage timings
 *
 * @example Compile examples/hello
 * ```ts ignore
 * import { compileCapsule } from "./compile.ts";
 * const { wasmPath, hash } = await compileCapsule("examples/hello");
 * console.log(wasmPath, hash);
 * ```
 */
export async function compileCapsule(
  dir: string,
  options: CompileOptions = {},
): Promise<CompileResult> {
  const root = (await Deno.realPath(dir)).replace(/\/$/, "");
  const out = options.out ?? `${root}/dist`;
  const log = options.log ?? (() => {});
  const stages: { name: string; ms: number }[] = [];
  const stage = async <T>(
    name: string,
    fn: () => Promise<T>,
    detail: (v: T) => string,
  ): Promise<T> => {
    const started = performance.now();
    const value = await fn();
    const ms = performance.now() - started;
    stages.push({ name, ms });
    log(`compile: ${name}: ${detail(value)} (${Math.round(ms)} ms)`);
    return value;
  };
  const plugin = await stage(
    "detect",
    () => detectPlugin(root),
    (p) =>
      p
        ? `OpenClaw plugin "${p.id}" (${p.detectedBy}), entry ${p.declaredEntry}`
        : "Astrid capsule",
  );
  const manifest = await stage(
    "manifest",
    () => plugin ? pluginManifestOf(root, plugin) : readManifest(root),
    (m) => String(m.package.name) + (plugin ? " (generated from the plugin's metadata)" : ""),
  );
  const entry = plugin
    ? plugin.entry
    : await stage("entry", () => findEntry(root), (e) => relative(root, e));
  if (plugin) {
    for (const e of plugin.ignoredEntries) log(`compile: note: extension ${e} is not compiled`);
  }
  const typeChecking = (options.typeCheck ?? true) && !plugin;
  if (plugin && (options.typeCheck ?? true)) {
    log("compile: type-check: skipped (an OpenClaw plugin is typed against OpenClaw's own SDK)");
  }
  // The type-check (a subprocess) runs alongside the build; its errors are reported first.
  const started = performance.now();
  if (typeChecking) log("compile: type-check (deno check): running alongside the build");
  const checking = typeChecking
    ? typeCheck(root, entry).then(
      (value) => ({ value, ms: performance.now() - started }),
      (error: unknown) => ({ error }),
    )
    : null;
  const built = await build(root, entry, options, stage, plugin ?? undefined).then(
    (output) => ({ output }),
    (error: unknown) => ({ error }),
  );
  if (checking) {
    const checked = await checking;
    if ("error" in checked) throw checked.error;
    stages.push({ name: "type-check (deno check, alongside the build)", ms: checked.ms });
    log(
      `compile: type-check (deno check, alongside the build): ${checked.value} (${
        Math.round(checked.ms)
      } ms)`,
    );
  }
  if ("error" in built) throw built.error;
  const wasm = built.output.wasm;
  const described = await stage(
    plugin ? "register (the plugin's register(api), sandboxed)" : "describe",
    () => describeCompiled(wasm, plugin, manifest),
    (d) => d.summary,
  );
  for (const note of described.notes) log(`compile: note: ${note}`);
  await loadFastBlake3(); // large input (runtime/crypto/blake3.ts)
  const hash = `blake3:${blake3Hex(wasm)}`;
  const wasmPath = `${out}/capsule.wasm`;
  const sourceMapPath = `${wasmPath}.map`;
  await stage("write capsule.wasm", async () => {
    await Deno.mkdir(out, { recursive: true });
    await Deno.writeFile(wasmPath, wasm);
    // Debug info for stack traces only: not covered by the hash, never trusted at run time.
    if (built.output.map) await Deno.writeTextFile(sourceMapPath, built.output.map);
    else await Deno.remove(sourceMapPath).catch(() => {});
  }, () => hash);
  const manifestPath = `${out}/Capsule.toml`;
  await stage(
    "write Capsule.toml",
    async () => {
      const component = { ...(manifest.component as Record<string, unknown> ?? {}) };
      component.entrypoint = "capsule.wasm";
      component.hash = hash;
      const written = { ...manifest, ...described.sections, component };
      await Deno.writeTextFile(manifestPath, stringifyToml(written) + "\n");
    },
    () =>
      plugin
        ? [
          "[package]",
          ...("env" in manifest ? ["[env]"] : []),
          ...Object.keys(described.sections).map((k) => `[[${k}]]`),
          "[component]",
        ].join(", ")
        : "[component] entrypoint, hash",
  );
  return {
    wasmPath,
    manifestPath,
    hash,
    sourceMapPath,
    bytes: wasm.length,
    stages,
    notes: described.notes,
    ...(plugin ? { openclaw: plugin.id } : {}),
  };
}

async function detectPlugin(root: string): Promise<OpenClawPlugin | null> {
  try {
    return await detectOpenClaw(root);
  } catch (e) {
    if (e instanceof OpenClawDetectError) {
      throw new CompileError("MANIFEST", e.message, { file: e.file });
    }
    throw e;
  }
}

async function pluginManifestOf(root: string, plugin: OpenClawPlugin): Promise<Manifest> {
  try {
    return await pluginManifest(root, plugin);
  } catch (e) {
    if (e instanceof OpenClawDetectError) {
      throw new CompileError("MANIFEST", e.message, { file: e.file });
    }
    throw e;
  }
}

/**
 * Runs the compiled capsule's `describe` with no host: a capsule whose entry has no usable
 * default export fails here, at compile time, instead of at its first call. For an OpenClaw
 * plugin this runs `register(api)` and yields the manifest sections it implies.
 */
async function describeCompiled(
  wasm: Uint8Array<ArrayBuffer>,
  plugin: OpenClawPlugin | null,
  manifest: Manifest,
): Promise<{ sections: Record<string, unknown>; notes: readonly string[]; summary: string }> {
  let d: Description;
  try {
    d = await describeWasm(wasm);
  } catch (e) {
    const why = (e as Error).message;
    if (plugin) {
      throw new CompileError("INIT", `Cannot register the OpenClaw plugin "${plugin.id}": ${why}`);
    }
    const hint = /no default export/.test(why)
      ? " (an OpenClaw plugin needs openclaw.plugin.json or package.json#openclaw.extensions " +
        "to be recognised; an Astrid capsule exports defineCapsule({...}) as its default)"
      : "";
    throw new CompileError("ENTRY", `Cannot compile the capsule: ${why}${hint}`);
  }
  if (!plugin) {
    if (
      d.tools.length + d.hooks.length + d.cron.length + d.commands.length + d.providers.length ===
        0
    ) {
      throw new CompileError(
        "ENTRY",
        "Cannot compile the capsule: its default export defines no tools, hooks, cron jobs, " +
          "commands or providers (an OpenClaw plugin's register(api) needs openclaw.plugin.json " +
          "or package.json#openclaw.extensions to be recognised; an Astrid capsule exports " +
          "defineCapsule({...}) as its default)",
      );
    }
    const n = d.tools.length;
    return { sections: {}, notes: [], summary: `${n} tool${n === 1 ? "" : "s"}` };
  }
  return registeredSections(d, manifest);
}

type Stage = <T>(name: string, fn: () => Promise<T>, detail: (v: T) => string) => Promise<T>;

/**
 * The engine built by the setup (`.build/engine/engine.wasm`), or a fresh build when there is
 * none or it is older than this checkout's engine.c: one that lacks a host function the runtime
 * offers (a checkout updated since the setup ran) would compile capsules without it.
 */
async function builtEngine(log: (line: string) => void): Promise<Uint8Array<ArrayBuffer>> {
  const current = await Deno.readFile(enginePath()).catch(() => null);
  if (current) {
    const imported = new Set(
      WebAssembly.Module.imports(new WebAssembly.Module(current)).map((i) => i.name),
    );
    const missing = ALL_HOST_FUNCTION_NAMES.filter((n) => !imported.has(n));
    if (missing.length === 0) return current;
    log(`engine: the built engine lacks ${missing.join(", ")}: rebuilding it`);
  }
  return await Deno.readFile((await buildEngine({ log })).path);
}

/** Bundles the entry, prepends the shim and runs Wizer: the capsule's wasm bytes. */
async function build(
  root: string,
  entry: string,
  options: CompileOptions,
  stage: Stage,
  plugin?: OpenClawPlugin,
): Promise<{ wasm: Uint8Array<ArrayBuffer>; map: string | null }> {
  const log = options.log ?? (() => {});
  const bundled = await stage(
    "transpile + bundle (oxc, rolldown es2022)",
    () => bundle(root, entry, plugin),
    (b) => `${b.code.length} bytes`,
  );
  const prelude = await Deno.readTextFile(PRELUDE_URL);
  const source = await stage(
    "shim",
    () => Promise.resolve(`${prelude}\n${bundled.code}`),
    (s) => `${s.length} bytes`,
  );
  const engine = options.engine ?? await builtEngine(log);
  const wasm = await stage("wizer", async () => {
    try {
      const wizened = await wizen(embedSource(engine, source));
      return options.packData === false ? wizened : packDataSegments(wizened);
    } catch (e) {
      if (e instanceof WizerError && e.code === "INIT") throw new CompileError("INIT", e.message);
      throw e;
    }
  }, (w) => `${w.length} bytes`);
  return { wasm, map: bundled.map ? shiftedMap(bundled.map, prelude) : null };
}

/**
 * The map with its sources relative to the project (absolute outside it) and without their
 * text: the author has the files, and the map stays small.
 */
function projectMap(dir: string, map: SourceMapV3): SourceMapV3 {
  const sources = map.sources.map((s) => {
    const abs = s.startsWith("/") ? s : decodeURIComponent(new URL(s, `file://${dir}/`).pathname);
    return relative(dir, abs);
  });
  return { version: 3, sources, names: map.names, mappings: map.mappings };
}

/**
 * The bundle's map, for the engine's script `capsule.js`: the shim is prepended (prelude, a
 * newline, then the bundle), so every bundle line moves down by the prelude's line count; an
 * empty mapping line (`;`) per prelude line keeps the map in step.
 */
function shiftedMap(map: SourceMapV3, prelude: string): string {
  const lines = prelude.split("\n").length;
  return JSON.stringify({ ...map, file: "capsule.js", mappings: ";".repeat(lines) + map.mappings });
}

if (import.meta.main) {
  const args = [...Deno.args];
  const noCheck = args.indexOf("--no-check");
  if (noCheck >= 0) args.splice(noCheck, 1);
  const o = args.indexOf("-o");
  const outArg = o >= 0 ? args.splice(o, 2)[1] : undefined;
  const dir = args[0];
  if (!dir || (o >= 0 && !outArg)) {
    console.error("usage: deno run -A toolchain/compile.ts DIR [-o OUT] [--no-check]");
    Deno.exit(2);
  }
  try {
    const res = await compileCapsule(dir, {
      ...(outArg ? { out: outArg } : {}),
      typeCheck: noCheck < 0,
      log: (line) => console.error(line),
    });
    console.log(`${res.wasmPath} ${res.hash} ${res.bytes} bytes`);
  } catch (e) {
    const loc = e instanceof CompileError && e.file ? `${e.file}${e.line ? `:${e.line}` : ""}` : "";
    const where = loc && !String(e).includes(loc) ? ` (${loc})` : "";
    console.error(`compile: ${e instanceof Error ? e.message : e}${where}`);
    if (e instanceof CompileError) { for (const l of formatTypeErrors(e.errors)) console.error(l); }
    Deno.exit(1);
  }
}
