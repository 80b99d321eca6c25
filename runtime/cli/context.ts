/**
 * What every CLI command shares: the process's IO, global options, and an opened runtime
 * (config, KV store, runtime key, audit log) that is closed when the command ends.
 *
 * @module
 */
import type { AstridConfig, AstridPaths } from "../config/mod.ts";
import type { Store } from "../storage/mod.ts";
import type { RuntimeKey } from "../crypto/mod.ts";
import type { AuditLog } from "../audit/mod.ts";
import type { Walls } from "../security/walls.ts";
import { CliError, ExitCode } from "./errors.ts";
// Path resolution and the config snapshot are small and import no npm package: in the start-up
// graph they cost less than a module graph Deno builds for a dynamic import when a command opens
// the runtime.
import { expandHome, resolvePaths, resolveWitnessPath } from "../config/paths.ts";
import { loadConfigCached } from "../config/snapshot.ts";

// The rest of the runtime loads when a command first opens it, by computed specifiers that keep
// it out of the start-up module graph, so commands that need none of it (`capsule compile`)
// start faster.
const runtimeModule = <T>(path: string): Promise<T> => import(new URL(path, import.meta.url).href);
const configLib = () => runtimeModule<typeof import("../config/mod.ts")>("../config/mod.ts");

/** The modules every {@link withRuntime} opens: the store, the crypto and the audit log. */
const runtimeLibs = () =>
  Promise.all([
    runtimeModule<typeof import("../storage/mod.ts")>("../storage/mod.ts"),
    runtimeModule<typeof import("../crypto/mod.ts")>("../crypto/mod.ts"),
    runtimeModule<typeof import("../audit/mod.ts")>("../audit/mod.ts"),
  ]);

/**
 * Starts loading the modules {@link withRuntime} opens, for a caller that knows the command will
 * open the runtime (main.ts, once it has recognised the command line): their files are read, one
 * wave of imports with the command's own module, instead of a second wave once the command runs.
 * A failure is reported by `withRuntime` itself.
 */
export function prefetchRuntime(): void {
  runtimeLibs().catch(() => {});
}

/** The `performance` mark main.ts sets while `ASTRID_PROFILE=1` runs a command. */
export const PROFILE_MARK = "astrid:profile";

/**
 * Records the phase `name` of this command, from `start` (a `performance.now()`) to now, as a
 * `performance` measure named `astrid:<name>` that `ASTRID_PROFILE=1` reports (main.ts). Nothing
 * is recorded unless a profile is being taken ({@link PROFILE_MARK} is set).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { phase, PROFILE_MARK } from "./context.ts";
 * phase("example", performance.now());
 * equal(performance.getEntriesByName("astrid:example").length, 0);
 * performance.mark(PROFILE_MARK);
 * phase("example", performance.now());
 * equal(performance.getEntriesByName("astrid:example").length, 1);
 * performance.clearMarks(PROFILE_MARK);
 * ```
 */
export function phase(name: string, start: number): void {
  if (performance.getEntriesByName(PROFILE_MARK, "mark").length === 0) return;
  performance.measure(`astrid:${name}`, { start, end: performance.now() });
}

/** The process as commands see it; tests pass a captured one. */
export interface CliIo {
  readonly env: Record<string, string | undefined>;
  /** The user's directory: `INIT_CWD` under `deno task`, else the process cwd. */
  readonly cwd: string;
  readonly isTty: boolean;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Reads one line from the terminal (interactive prompts); null at end of input. */
  readLine?(prompt: string): Promise<string | null>;
}

/**
 * Where a command reads its options: commander's `Command`, or the few read-only commands
 * main.ts parses without commander (its `QUICK` table).
 */
export interface OptionSource {
  /** The options of the command merged with its ancestors'. */
  optsWithGlobals(): Record<string, unknown>;
}

/** Options every command accepts. */
export interface GlobalOptions {
  /** `--workspace DIR`: that folder's workspace. */
  readonly workspace?: string;
  /** `--workspace` was given, with or without a folder (`capsule install … --workspace`). */
  readonly workspaceFlag: boolean;
  readonly json?: boolean;
}

/** An opened runtime for one command. */
export interface Runtime {
  readonly paths: AstridPaths;
  readonly config: AstridConfig;
  readonly warnings: readonly string[];
  readonly store: Store;
  readonly key: RuntimeKey;
  readonly audit: AuditLog;
  readonly io: CliIo;
  /** What no agent-side action may touch, and what the sandbox hides besides. */
  readonly walls: Walls;
}

/** The options of `cmd` merged with its ancestors' (`--workspace`, `--json`). */
export function globalOptions(cmd: OptionSource): GlobalOptions {
  const { workspace, json } = cmd.optsWithGlobals() as {
    workspace?: string | true;
    json?: boolean;
  };
  return {
    ...(typeof workspace === "string" ? { workspace } : {}),
    workspaceFlag: workspace !== undefined,
    ...(json === undefined ? {} : { json }),
  };
}

/** True when `--json` was given anywhere on the command line. */
export function wantsJson(cmd: OptionSource, _io: CliIo): boolean {
  return globalOptions(cmd).json === true;
}

/** Prints a value as pretty JSON followed by a newline. */
export function printJson(io: CliIo, value: unknown): void {
  io.stdout(JSON.stringify(value, null, 2) + "\n");
}

/** Resolves paths and loads the layered config, without opening any state. */
export async function loadCliConfig(
  cmd: OptionSource,
  io: CliIo,
): Promise<{ paths: AstridPaths; config: AstridConfig; warnings: string[] }> {
  const start = performance.now();
  const paths = await resolvePaths({
    env: io.env,
    cwd: io.cwd,
    workspace: globalOptions(cmd).workspace,
    systemConfig: io.env.ASTRID_SYSTEM_CONFIG,
  });
  // The loader (zod, TOML) loads only when the snapshot of the last load does not hold.
  const { loaded, source } = await loadConfigCached(
    paths,
    io.env,
    async (p, env) => (await configLib()).loadConfig(p, env),
  );
  phase(`config (${source})`, start);
  return { paths, config: loaded.config, warnings: loaded.warnings };
}

/** What {@link withRuntime} knows once the config has loaded, before anything else opens. */
export interface RuntimeAhead {
  readonly paths: AstridPaths;
  readonly config: AstridConfig;
  /** The runtime's walls, being worked out (rejects as `withRuntime` itself then does). */
  readonly walls: Promise<Walls>;
}

/**
 * Opens config, the KV store, the runtime key and the audit log, runs `fn`, and closes them
 * (writing the audit log's final checkpoint) even when `fn` throws. `ahead` is called once the
 * config has loaded, before the rest opens: to start what `fn` will need (a tool call's file
 * executor) while the store and the audit log open. It must not throw.
 */
export async function withRuntime<T>(
  cmd: OptionSource,
  io: CliIo,
  fn: (rt: Runtime) => Promise<T>,
  ahead?: (opened: RuntimeAhead) => void,
): Promise<T> {
  // The runtime's modules load while the config does (their files are read off the thread).
  const libs = runtimeLibs();
  libs.catch(() => {}); // awaited below, after the config's own failure
  const { paths, config, warnings } = await loadCliConfig(cmd, io);
  for (const w of warnings) io.stderr(`warning: ${w}\n`);
  const timed = async <R>(name: string, work: () => Promise<R>): Promise<R> => {
    const start = performance.now();
    const result = await work();
    phase(name, start);
    return result;
  };
  // The walls are worked out while the rest opens (they only read the file system).
  const walls = timed("walls", () => runtimeWalls(paths, config, io.env));
  walls.catch(() => {}); // awaited below; the store's and the audit log's failures come first
  ahead?.({ paths, config, walls });
  const location = config.storage.kv_url || paths.stateKv;
  let start = performance.now();
  const [storeLib, cryptoLib, auditLib] = await libs;
  phase("load runtime modules", start); // what is left to wait for once the config has loaded
  // The store opens while the runtime key is read; a missing key is generated only once the store
  // has opened, and the store's failure is reported first, as when they ran one after the other.
  const [opened, loaded] = await Promise.allSettled([
    timed("open store", () => storeLib.openStore(location)),
    timed("runtime key", () => cryptoLib.loadRuntimeKey(paths.keysDir)),
  ]);
  if (opened.status === "rejected") throw opened.reason;
  const store = opened.value;
  try {
    if (loaded.status === "rejected") throw loaded.reason;
    const key = loaded.value ??
      await timed("runtime key", () => cryptoLib.ensureRuntimeKey(paths.keysDir));
    start = performance.now();
    const audit = await auditLib.AuditLog.open(store, key, {
      checkpointEvery: config.audit.checkpoint_every,
      checkpointSeconds: config.audit.checkpoint_seconds,
      ...(storeLib.isLocalFile(location) ? { journalDir: `${location}-audit-journal` } : {}),
      // Every checkpoint is also appended to the witness outside state.kv (audit/witness.ts).
      ...(location === ":memory:" ? {} : {
        witnessPath: resolveWitnessPath(
          config.audit.witness_path,
          paths.home,
          io.env.HOME?.startsWith("/") ? io.env.HOME : undefined,
        ),
        storeLocation: location,
      }),
    });
    for (const r of audit.recovered.filter((r) => r.recovered > 0 || r.unreadable > 0)) {
      io.stderr(
        `warning: recovered ${r.recovered} audit entries that process ${r.pid ?? "?"} wrote ahead` +
          ` before it ended${r.unreadable ? ` (${r.unreadable} unreadable lines kept)` : ""}\n`,
      );
    }
    phase("open audit", start);
    try {
      return await fn({ paths, config, warnings, store, key, audit, io, walls: await walls });
    } finally {
      start = performance.now();
      await audit.close();
      phase("close audit", start);
    }
  } finally {
    store.close();
  }
}

async function realOrSelf(path: string): Promise<string> {
  return await Deno.realPath(path).catch(() => path);
}

/**
 * The walls of this runtime: `$ASTRID_HOME`, the audit witness and a local state store kept
 * elsewhere are hidden from the agent; `[sandbox] hide` adds to what the sandbox hides.
 */
export async function runtimeWalls(
  paths: AstridPaths,
  config: AstridConfig,
  env: Record<string, string | undefined>,
): Promise<Walls> {
  const userHome = env.HOME && env.HOME.startsWith("/") ? env.HOME : undefined;
  const hidden = new Set([await realOrSelf(paths.home)]);
  hidden.add(await realOrSelf(resolveWitnessPath(config.audit.witness_path, paths.home, userHome)));
  const kv = config.storage.kv_url;
  if (kv !== "" && kv !== ":memory:" && !/^https?:\/\//.test(kv)) {
    // The store and what lives beside it: SQLite's journal files, the audit journal and the
    // install records' listing mirror (which the launcher trusts: storage/listing_mirror.ts).
    const store = await realOrSelf(kv);
    for (const p of ["", "-wal", "-shm", "-audit-journal", "-listings"]) hidden.add(store + p);
  }
  const sandboxHide = await Promise.all(
    config.sandbox.hide.map((p) => realOrSelf(expandHome(p, paths.home, userHome))),
  );
  return {
    hidden: [...hidden],
    userHome: userHome ? await realOrSelf(userHome) : null,
    sandboxHide,
  };
}

/** The workspace of this command, or a usage error telling the user to run `astrid init`. */
export async function requireWorkspace(
  paths: AstridPaths,
): Promise<{ root: string; id: string }> {
  if (!paths.workspaceRoot) {
    throw new CliError(
      "Cannot find a workspace: no .astrid/ folder here or above (run `astrid init` or pass --workspace DIR)",
      ExitCode.Usage,
    );
  }
  return { root: paths.workspaceRoot, id: await workspaceId(paths.workspaceRoot) };
}

/** `<root>/.astrid/workspace.json` (without `node:path`, whose load costs a few ms). */
function workspaceFile(root: string): string {
  return `${root.endsWith("/") ? root : `${root}/`}.astrid/workspace.json`;
}

/** Reads the id from `<root>/.astrid/workspace.json`; a folder without one gets a path-derived id. */
export async function workspaceId(root: string): Promise<string> {
  try {
    const parsed = JSON.parse(await Deno.readTextFile(workspaceFile(root)));
    if (typeof parsed?.id === "string" && parsed.id) return parsed.id;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      throw new CliError(`Cannot read ${root}/.astrid/workspace.json: ${(err as Error).message}`);
    }
  }
  return `path:${root}`;
}

/** The real process IO. */
export function processIo(): CliIo {
  const encoder = new TextEncoder();
  const writeAll = (file: { writeSync(p: Uint8Array): number }, text: string) => {
    let bytes = encoder.encode(text);
    while (bytes.length > 0) bytes = bytes.subarray(file.writeSync(bytes));
  };
  return {
    env: Deno.env.toObject(),
    cwd: Deno.env.get("INIT_CWD") || Deno.cwd(),
    isTty: Deno.stdin.isTerminal(),
    stdout: (text) => writeAll(Deno.stdout, text),
    stderr: (text) => writeAll(Deno.stderr, text),
    readLine: (prompt) => Promise.resolve(globalThis.prompt(prompt)),
  };
}
