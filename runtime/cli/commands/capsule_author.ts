/**
 * The capsule author's loop: `astrid capsule new NAME [DIR]` scaffolds a project,
 * `astrid capsule call DIR TOOL --args JSON` runs a tool of a compiled, uninstalled capsule
 * through the interceptor, and `astrid capsule compile DIR --watch` ({@link watchCompile})
 * recompiles on every change.
 *
 * `new` writes `Capsule.toml`, `src/mod.ts` (one tool, `defineCapsule` from `@astrid/sdk`),
 * `src/mod_test.ts` (a Deno test that calls the tool directly), `deno.json` (maps
 * `@astrid/sdk` to this Astrid's SDK by absolute file URL, and types the folder as the sandbox
 * is: `lib: ["es2022"]` plus toolchain/sdk/globals.d.ts), `.vscode/settings.json` (Deno LSP on),
 * `.gitignore` and a README. DIR (default `./NAME`) must be missing or empty; files are created
 * with `createNew`, so nothing planted in between is followed or overwritten.
 *
 * `call` uses the folder's `Capsule.toml` + `capsule.wasm` (or, for a project, its `dist/`),
 * checks the wasm against the manifest's hash, and calls it as `tools call` calls an installed
 * capsule tool (`callCapsuleTool`: schema check, hooks, policy, approval, audit) from a
 * temporary entry that is never written as an install record. Its `[env]` values come from
 * `--env KEY=VALUE` only and are never printed.
 *
 * @module
 */
import type { Command } from "commander";
import { Option } from "commander";
import type { InstalledCapsule, InstallRecord, LoadedCapsule } from "../../capsule/mod.ts";
import type { InvokeOutcome } from "../../tools/invoke.ts";
import type { ApprovalChoice } from "../../security/approval.ts";
import {
  type CliIo,
  printJson,
  requireWorkspace,
  type Runtime,
  wantsJson,
  withRuntime,
} from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";

const lib = () =>
  import(new URL("../../capsule/mod.ts", import.meta.url).href) as Promise<
    typeof import("../../capsule/mod.ts")
  >;

/** The SDK the scaffold maps `@astrid/sdk` to: this Astrid's own, by absolute file URL. */
const SDK_URL = new URL("../../../toolchain/sdk/mod.ts", import.meta.url).href;
/** The sandbox's globals, for the scaffold's `compilerOptions.types`. */
const GLOBALS_URL = new URL("../../../toolchain/sdk/globals.d.ts", import.meta.url).href;
const NAME = /^[a-z][a-z0-9_-]{0,63}$/;
/** Quiet time after the last change before `--watch` recompiles. */
const DEBOUNCE_MS = 200;

function resolve(cwd: string, path: string): string {
  return path.startsWith("/") ? path : `${cwd.replace(/\/+$/, "")}/${path}`;
}

/**
 * The files of a new capsule project, by path relative to its folder.
 *
 * @param name the capsule's name (`[package] name`)
 * @returns file contents by relative path
 *
 * @example The scaffold maps the SDK by absolute file URL
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { scaffoldFiles } from "./capsule_author.ts";
 * const files = scaffoldFiles("notes");
 * ok(files["Capsule.toml"]?.includes('name = "notes"'));
 * ok(JSON.parse(files["deno.json"]!).imports["@astrid/sdk"].startsWith("file:///"));
 * ```
 */
export function scaffoldFiles(name: string): Record<string, string> {
  const denoJson = {
    // Typed as the sandbox is: ES2022 plus the globals the engine and the shim provide.
    compilerOptions: { strict: true, lib: ["es2022"], types: [GLOBALS_URL] },
    // This Astrid's SDK, by absolute file URL (`astrid capsule new` writes where it lives).
    imports: { "@astrid/sdk": SDK_URL },
    lock: false,
    exclude: ["dist/"],
    tasks: {
      test: "deno test",
      compile: `astrid capsule compile .`,
    },
  };
  return {
    "Capsule.toml": `# The capsule's manifest: every section and key is described in Astrid's
# docs/capsule-toml.md. \`astrid capsule compile\` adds [component] (entrypoint, hash).
[package]
name = "${name}"
version = "0.1.0"
description = "A capsule that greets"

# What the capsule may reach (each host call also passes Astrid's security interceptor).
[capabilities]
# net = ["api.example.com"]
# fs_read = ["docs"]
# kv = true
`,
    "src/mod.ts": `/**
 * The ${name} capsule: one tool, \`greet\`. Compile it with \`astrid capsule compile .\` and
 * try it with \`astrid capsule call . greet --args '{"name":"Ada"}'\`.
 *
 * @module
 */
import { type CapsuleContext, defineCapsule } from "@astrid/sdk";

/** Arguments of the greet tool (keep in step with its \`input\` schema). */
export interface GreetArgs {
  /** Who to greet. */
  name: string;
}

export default defineCapsule({
  tools: {
    greet: {
      description: "Greets someone by name",
      input: {
        type: "object",
        properties: { name: { type: "string", description: "Who to greet" } },
        required: ["name"],
      },
      run: (args: GreetArgs, _ctx: CapsuleContext): string => \`Hello, \${args.name}!\`,
    },
  },
});
`,
    "src/mod_test.ts": `/// <reference lib="deno.ns" />
// The capsule's tools are plain functions: call them directly. Host API calls (fs, http, kv, …)
// reject with CapsuleApiError outside a capsule.
import capsule from "./mod.ts";

const ctx = { log: (_message: string) => Promise.resolve() };

Deno.test("greet() greets by name", async () => {
  const out = await capsule.tools.greet.run({ name: "Ada" }, ctx);
  if (out !== "Hello, Ada!") throw new Error(\`unexpected output: \${out}\`);
});
`,
    "deno.json": `${JSON.stringify(denoJson, null, 2)}\n`,
    ".vscode/settings.json": `${JSON.stringify({ "deno.enable": true }, null, 2)}\n`,
    ".gitignore": "dist/\n",
    "README.md": `# ${name}

An Astrid capsule.

- \`deno test\`: run the tests (the tools are called directly);
- \`deno check\`: type-check as the sandbox is typed (no \`Deno\`, DOM or Node APIs in \`src/mod.ts\`);
- \`astrid capsule compile .\`: build \`dist/capsule.wasm\` and \`dist/Capsule.toml\`
  (\`--watch\` rebuilds on change);
- \`astrid capsule call . greet --args '{"name":"Ada"}'\`: run a tool without installing;
- \`astrid capsule install dist\`: install it.

\`deno.json\` maps \`@astrid/sdk\` to the SDK of the Astrid that created this folder, by absolute
path: if that Astrid moves, update the two file URLs there.
`,
  };
}

/**
 * Writes a new capsule project into `dir`, which must be missing or an empty folder.
 *
 * @param name the capsule's name
 * @param dir the folder (absolute)
 * @returns the written paths, relative to `dir`
 */
export async function scaffoldCapsule(name: string, dir: string): Promise<string[]> {
  if (!NAME.test(name)) {
    throw new CliError(
      `Cannot create capsule ${JSON.stringify(name)}: a name is lowercase letters, digits, ` +
        "- and _, starting with a letter (at most 64)",
      ExitCode.Usage,
    );
  }
  const info = await Deno.lstat(dir).catch(() => null);
  if (info) {
    if (!info.isDirectory) {
      throw new CliError(
        `Cannot create the capsule in ${dir}: current value is not a folder` +
          (info.isSymlink ? " (a symlink)" : ""),
        ExitCode.Error,
      );
    }
    for await (const _ of Deno.readDir(dir)) {
      throw new CliError(
        `Cannot create the capsule in ${dir}: the folder is not empty`,
        ExitCode.Error,
      );
    }
  } else {
    await Deno.mkdir(dir, { recursive: true });
  }
  const files = scaffoldFiles(name);
  for (const [rel, text] of Object.entries(files)) {
    const at = rel.lastIndexOf("/");
    if (at > 0) await Deno.mkdir(`${dir}/${rel.slice(0, at)}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/${rel}`, text, { createNew: true });
  }
  return Object.keys(files);
}

interface CallOpts {
  readonly args: string;
  readonly approve?: ApprovalChoice;
  readonly env?: string[];
}

/**
 * Registers `new` and `call` on the `capsule` command.
 *
 * @example The commands
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { Command } from "commander";
 * import { registerAuthorCommands } from "./capsule_author.ts";
 * const io = { env: {}, cwd: "/", isTty: false, stdout: () => {}, stderr: () => {} };
 * const capsule = new Command("capsule");
 * registerAuthorCommands(capsule, io);
 * ok(["new", "call"].every((n) => capsule.commands.some((c) => c.name() === n)));
 * ```
 */
export function registerAuthorCommands(capsule: Command, io: CliIo): void {
  capsule.command("new")
    .description("Scaffold a capsule project: a tool, its test, Capsule.toml and editor config")
    .argument("<name>", "the capsule's name")
    .argument("[dir]", "the folder to create (default: ./NAME); it must be missing or empty")
    .option("--json", "print the result as JSON")
    .action(async (name: string, dir: string | undefined, _opts: unknown, cmd: Command) => {
      const target = resolve(io.cwd, dir ?? name);
      const files = await scaffoldCapsule(name, target);
      if (wantsJson(cmd, io)) return printJson(io, { name, dir: target, files });
      io.stdout(`created capsule ${name} in ${target}\n`);
      for (const f of files) io.stdout(`  ${f}\n`);
      io.stdout(
        `next: cd ${target} && deno test && astrid capsule compile . && ` +
          `astrid capsule call . greet --args '{"name":"Ada"}'\n`,
      );
    });

  capsule.command("call")
    .description("Run a tool of a compiled, uninstalled capsule through the interceptor")
    .argument("<dir>", "the compiled folder (Capsule.toml + capsule.wasm), or a project with dist/")
    .argument("<tool>", "the tool's name (without the capsule prefix)")
    .requiredOption("--args <json>", "the tool's arguments as a JSON object")
    .addOption(
      new Option("--approve <answer>", "the human's answer given up front")
        .choices(["once", "session", "always", "deny"]),
    )
    .option("--env <KEY=VALUE...>", "an [env] value for this call (never stored or printed)")
    .option("--json", "print the outcome as JSON")
    .action(async (dir: string, tool: string, opts: CallOpts, cmd: Command) => {
      let args: unknown;
      try {
        args = JSON.parse(opts.args);
      } catch (err) {
        throw new CliError(`Cannot parse --args: ${(err as Error).message}`, ExitCode.Usage);
      }
      await withRuntime(cmd, io, async (rt) => {
        const outcome = await callUninstalled(rt, resolve(io.cwd, dir), tool, args, opts);
        const { reportOutcome } = await import("./_tools_run.ts");
        reportOutcome(io, outcome, wantsJson(cmd, io));
      });
    });
}

/** The compiled capsule in `dir`: the folder itself, or a project's `dist/`. */
async function loadCompiled(dir: string): Promise<LoadedCapsule> {
  const L = await lib();
  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof L.CapsuleError)) throw e;
      throw new CliError(e.message, e.code === "INTEGRITY" ? ExitCode.Integrity : ExitCode.Error);
    }
  };
  // The hash in Capsule.toml is required and checked against capsule.wasm.
  const load = (d: string) =>
    guard(async () => L.loadCapsule(await L.sourceDir(d), { requireHash: true }));
  let loaded = await load(dir);
  if (!loaded.wasm && (await Deno.lstat(`${loaded.dir}/dist/Capsule.toml`).catch(() => null))) {
    loaded = await load(`${loaded.dir}/dist`);
  }
  if (!loaded.wasm) {
    throw new CliError(
      `Cannot call a tool of ${dir}: it has no compiled capsule.wasm (run \`astrid capsule ` +
        `compile ${dir}\` first)`,
      ExitCode.Error,
    );
  }
  return loaded;
}

function parseEnv(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf("=");
    if (eq <= 0) {
      throw new CliError(`Cannot parse --env: current value is not KEY=VALUE`, ExitCode.Usage);
    }
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/**
 * `capsule call`: a temporary entry for the folder (nothing is written as installed), then the
 * same path as `tools call NAME__TOOL`.
 */
async function callUninstalled(
  rt: Runtime,
  dir: string,
  tool: string,
  args: unknown,
  opts: CallOpts,
): Promise<InvokeOutcome> {
  const L = await lib();
  const ws = await requireWorkspace(rt.paths);
  const loaded = await loadCompiled(dir);
  const m = loaded.manifest;
  const name = m.package.name;
  const given = parseEnv(opts.env ?? []);
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(m.env, key)) {
      throw new CliError(`Cannot use --env ${key}: capsule ${name} declares no such [env] key`, 2);
    }
  }
  for (const [key, spec] of Object.entries(m.env)) {
    if (spec.required && spec.default === undefined && !Object.hasOwn(given, key)) {
      throw new CliError(
        `Cannot call capsule ${name}: [env] ${key} is required (pass --env ${key}=VALUE)`,
        ExitCode.Usage,
      );
    }
  }
  const limits = {
    timeoutMs: rt.config.capsules.timeout_seconds * 1000,
    memoryMb: rt.config.capsules.memory_mb,
  };
  const found = await L.discoverTools({ loaded, env: given }, limits, {
    parentEnv: rt.io.env,
    workspaceRoot: ws.root,
    walls: rt.walls,
  }).catch((e: Error) => {
    throw new CliError(e.message, ExitCode.Error);
  });
  if (!found.tools.some((t) => t.name === tool)) {
    const known = found.tools.map((t) => t.name).join(", ") || "none";
    throw new CliError(
      `Cannot call ${name}__${tool}: capsule ${name} has no such tool (it has: ${known})`,
      ExitCode.Usage,
    );
  }
  const spec = L.pinnedSpec(m, loaded.wasm!.hash);
  const record: InstallRecord = {
    v: 1,
    name,
    version: m.package.version,
    scope: "workspace",
    workspace: { root: ws.root, id: ws.id },
    dir: loaded.dir,
    wasmHash: loaded.wasm!.hash,
    manifestHash: L.manifestHash(m),
    capabilities: spec.capabilities,
    env: spec.env,
    mcpServers: spec.mcpServers,
    tools: found.tools,
    installedAt: new Date().toISOString(),
    publisher: null,
  };
  const entry: InstalledCapsule = {
    scope: "workspace",
    loaded,
    record,
    env: given,
    envPath: "(not installed: --env values are used for this call only)",
  };
  const [{ capsuleHost, commandGate }, hooks] = await Promise.all([
    import("./_tools_run.ts"),
    import("../../capsule/hooks.ts"),
  ]);
  const gate = await commandGate(rt, ws, opts.approve);
  const installed = await capsuleHost(rt, ws.root, { warnBroken: false });
  // The installed capsules' before_tool_call hooks screen this call too, as in `tools call`.
  hooks.attachCapsuleHooks({ host: installed, interceptor: gate.interceptor });
  const host = { ...installed, capsules: [entry], broken: [] };
  return await L.callCapsuleTool(gate.interceptor, host, `${name}__${tool}`, args);
}

/** Options of {@link watchCompile}. */
export interface WatchOptions {
  /** Output folder (absolute; default `<dir>/dist`). */
  readonly out?: string | undefined;
  /** Type-check (default true). */
  readonly check?: boolean | undefined;
  /** Stops the watch (default: SIGINT or SIGTERM). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * `capsule compile DIR --watch`: compiles, then recompiles after every change in the project
 * (debounced; the output folder, `node_modules/` and dot-folders are ignored) until Ctrl-C.
 * Each build prints one line: `compiled <hash> <bytes> bytes (<ms> ms)` on stdout, or
 * `failed: <message>` on stderr followed by every type error grouped by file.
 *
 * @param io the CLI's streams
 * @param dir the project folder (absolute)
 * @param opts output folder, type-check, stop signal
 */
export async function watchCompile(io: CliIo, dir: string, opts: WatchOptions = {}): Promise<void> {
  const { compileCapsule, CompileError, formatTypeErrors } = await import(
    "../../../toolchain/compile.ts"
  );
  const root = (await Deno.realPath(dir)).replace(/\/+$/, "");
  const out = (opts.out ?? `${root}/dist`).replace(/\/+$/, "");
  const once = async () => {
    const started = performance.now();
    try {
      const res = await compileCapsule(root, {
        out,
        ...(opts.check === false ? { typeCheck: false } : {}),
      });
      const ms = Math.round(performance.now() - started);
      io.stdout(`compiled ${res.hash} ${res.bytes} bytes (${ms} ms)\n`);
    } catch (e) {
      if (!(e instanceof CompileError)) {
        io.stderr(`failed: ${e instanceof Error ? e.message : String(e)}\n`);
        return;
      }
      io.stderr(`failed: ${e.message}\n`);
      for (const line of formatTypeErrors(e.errors)) io.stderr(`  ${line}\n`);
    }
  };
  const ignored = (path: string) =>
    path === out || path.startsWith(`${out}/`) ||
    /\/(node_modules|\.[^/]+)(\/|$)/.test(path.slice(root.length));
  const watcher = Deno.watchFs(root, { recursive: true });
  const stop = () => {
    try {
      watcher.close();
    } catch { /* already closed */ }
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  if (opts.signal) opts.signal.addEventListener("abort", stop, { once: true });
  else for (const s of signals) Deno.addSignalListener(s, stop);
  io.stderr(`watching ${root} (Ctrl-C to stop)\n`);
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Builds run one after another: a change during a build schedules the next one.
  let running: Promise<void> = once();
  const rebuild = () => {
    timer = undefined;
    running = running.then(once);
  };
  try {
    for await (const event of watcher) {
      if (event.kind === "access" || event.paths.every(ignored)) continue;
      clearTimeout(timer);
      timer = setTimeout(rebuild, DEBOUNCE_MS);
    }
  } finally {
    clearTimeout(timer);
    if (!opts.signal) { for (const s of signals) Deno.removeSignalListener(s, stop); }
    await running;
  }
}
