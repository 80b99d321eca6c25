/**
 * Gathers what the launcher's flags are computed from (launch_flags.ts is the pure part): the
 * configuration through the runtime's own loader (`resolvePaths` + `loadConfig`), the installed
 * capsules' hosts, and executables resolved on PATH. Runs in the launcher, before the runtime
 * starts, with the launcher's own (wide) permissions.
 *
 * @module
 */
import { isAbsolute, join, resolve } from "node:path";
import type { AstridConfig } from "../config/mod.ts";
import { scanArgs, type ScannedArgs } from "./_launch_args.ts";
import { type PermissionSet, type RuntimeInputs, runtimePermissions } from "./launch_flags.ts";
import { toolchainPermissions } from "./toolchain_flags.ts";

/** The repository this file belongs to (deno.json, node_modules/, .build/). */
export const REPO = decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(
  /\/$/,
  "",
);

/** The bubblewrap binary the sandbox uses. */
const BWRAP = "/usr/bin/bwrap";

type Env = Readonly<Record<string, string | undefined>>;

function realOr(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return path;
  }
}

/** The path and, when a symlink leads elsewhere, its real path (Deno checks paths as written). */
function bothForms(path: string): string[] {
  const real = realOr(path);
  return real === path ? [path] : [path, real];
}

function isExecutable(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/**
 * Resolves `command` as a shell would (a path when it holds `/`, else PATH), to its real path.
 *
 * @example Find `sh`
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { resolveOnPath } from "./_launch_inputs.ts";
 * ok(resolveOnPath("sh", ["/usr/bin", "/bin"], "/")?.startsWith("/"));
 * ```
 */
export function resolveOnPath(
  command: string,
  pathDirs: readonly string[],
  cwd: string,
): string | null {
  const candidates = command.includes("/")
    ? [isAbsolute(command) ? command : resolve(cwd, command)]
    : pathDirs.map((d) => join(d, command));
  const found = candidates.find(isExecutable);
  return found === undefined ? null : realOr(found);
}

/**
 * Deno's cache folder, as Deno finds it (`DENO_DIR`, else the platform's cache folder).
 *
 * @example `DENO_DIR` wins
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { denoDirOf } from "./_launch_inputs.ts";
 * equal(denoDirOf({ DENO_DIR: "/cache/deno", HOME: "/h" }), "/cache/deno");
 * ```
 */
export function denoDirOf(env: Env): string {
  if (env.DENO_DIR) return resolve(env.DENO_DIR);
  const home = env.HOME ?? "/";
  if (Deno.build.os === "darwin") return join(home, "Library", "Caches", "deno");
  if (Deno.build.os === "windows") return join(env.LOCALAPPDATA ?? home, "deno");
  return join(env.XDG_CACHE_HOME || join(home, ".cache"), "deno");
}

/**
 * The hosts installed capsules may reach: the `[capabilities] net` their install records approve,
 * for the capsule folders under `$ASTRID_HOME/capsules/` and `<workspace>/.astrid/capsules/` (the
 * layout of runtime/capsule `capsuleDirs`). The records are read from the KV store at
 * `kvLocation` without verifying their signatures, and without loading zod or a TOML parser
 * (runtime/capsule/recorded_hosts.ts says why that is sound: the store is under `$ASTRID_HOME`,
 * which no agent-side action can write, and the runtime verifies every record before it uses a
 * capsule). When the store cannot be read here (a remote `kv_url`, an error), each folder's
 * manifest is parsed instead, as before; a manifest that does not parse adds nothing.
 *
 * @example No capsules, no hosts
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { capsuleNetHosts } from "./_launch_inputs.ts";
 * deepEqual(await capsuleNetHosts(await Deno.makeTempDir(), null), []);
 * ```
 */
export async function capsuleNetHosts(
  home: string,
  workspace: string | null,
  kvLocation = `${home}/state.kv`,
): Promise<string[]> {
  const folderNames = (root: string): Set<string> => {
    const names = new Set<string>();
    try {
      for (const e of Deno.readDirSync(root)) {
        if (e.isDirectory && !e.name.startsWith(".")) names.add(e.name);
      }
    } catch {
      // no capsules here
    }
    return names;
  };
  const user = folderNames(`${home}/capsules`);
  const ws = workspace === null ? null : folderNames(`${workspace}/.astrid/capsules`);
  if (user.size === 0 && !ws?.size) return [];
  // A remote store (`kv_url`) is not opened from here; nor is an in-memory one (it holds nothing).
  if (!/^https?:\/\//.test(kvLocation) && kvLocation !== ":memory:") {
    const { recordedNetHosts } = await import("../capsule/recorded_hosts.ts");
    const recorded = await recordedNetHosts(kvLocation, {
      user,
      workspace: ws === null || workspace === null ? null : { root: workspace, names: ws },
    });
    if (recorded !== null) return recorded;
  }
  const dirs = [
    ...[...user].map((n) => `${home}/capsules/${n}`),
    ...[...ws ?? []].map((n) => `${workspace}/.astrid/capsules/${n}`),
  ];
  const { readManifest } = await import("../capsule/manifest.ts");
  const hosts = await Promise.all(
    dirs.map((d) => readManifest(d).then((m) => m.manifest.capabilities.net, () => [])),
  );
  return [...new Set(hosts.flat())];
}

/**
 * The `net` hosts of the capsule `capsule call DIR` runs uninstalled (DIR, or its `dist/`): the
 * human named it on the command line, and its host calls still pass the interceptor.
 */
async function folderNetHosts(dir: string): Promise<string[]> {
  const { readManifest } = await import("../capsule/manifest.ts");
  for (const d of [dir, `${dir}/dist`]) {
    try {
      return [...(await readManifest(d)).manifest.capabilities.net];
    } catch {
      // not a capsule folder: try the next
    }
  }
  return [];
}

/** The witness file's forms; none when it cannot be resolved (the runtime then reports why). */
function witnessPaths(resolveIt: () => string): string[] {
  try {
    return bothForms(resolveIt());
  } catch {
    return [];
  }
}

interface LoadedPaths {
  home: string;
  workspace: string | null;
  config: AstridConfig;
}

/**
 * Loads paths and config the way the runtime will. When that fails (a bad `--workspace`, an
 * invalid config file), the runtime fails the same way and reports it; the launcher then grants
 * what the defaults need, no more.
 */
async function loadPaths(scan: ScannedArgs, env: Env, cwd: string): Promise<LoadedPaths> {
  const { DEFAULT_CONFIG, loadConfig, resolvePaths } = await import("../config/mod.ts");
  const systemConfig = env.ASTRID_SYSTEM_CONFIG;
  let paths;
  try {
    paths = await resolvePaths({ env, cwd, workspace: scan.workspace, systemConfig });
  } catch {
    const home = env.ASTRID_HOME ? resolve(cwd, env.ASTRID_HOME) : join(env.HOME ?? "/", ".astrid");
    return { home, workspace: null, config: DEFAULT_CONFIG };
  }
  // `init DIR` makes DIR the workspace.
  const workspace = scan.command[0] === "init" ? null : paths.workspaceRoot;
  try {
    const { config } = await loadConfig(paths, env);
    return { home: paths.home, workspace, config };
  } catch {
    return { home: paths.home, workspace, config: DEFAULT_CONFIG };
  }
}

/**
 * What `astrid daemon …` runs besides the runtime's own set: `daemon run` notifies with
 * `notify-send` (deferred actions while the user is away), `daemon open` opens the login URL
 * with `xdg-open`. (`daemon start` runs Deno, the launcher, which every set allows.)
 */
function daemonRuns(
  sub: string | undefined,
  pathDirs: readonly string[],
  cwd: string,
  notifyCommand: readonly string[] = [], // [daemon] notify_command (runtime/web/notify.ts)
): string[] {
  const names = sub === "run"
    ? ["notify-send", ...notifyCommand.slice(0, 1)]
    : sub === "open"
    ? ["xdg-open"]
    : [];
  return names.map((n) => resolveOnPath(n, pathDirs, cwd)).filter((p) => p !== null);
}

/**
 * The permissions of `astrid …args` for the user in `cwd` with environment `env`.
 *
 * @example `config paths` in a fresh home
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { launchPermissions } from "./_launch_inputs.ts";
 * const home = await Deno.makeTempDir();
 * const set = await launchPermissions(["config", "paths"], { ASTRID_HOME: home }, "/");
 * ok(set.write.some((g) => g.path === home));
 * ok(set.net.includes("api.anthropic.com:443"));
 * ```
 */
export async function launchPermissions(
  args: readonly string[],
  env: Env,
  cwd: string,
): Promise<PermissionSet> {
  const scan = scanArgs(args, cwd, (p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  const tempDirs = bothForms(resolve(env.TMPDIR || "/tmp"));
  if (scan.kind === "toolchain" && scan.toolchain) {
    const { wizerPath } = await import("../../toolchain/engine/wizer.ts");
    return toolchainPermissions({
      repo: REPO,
      deno: Deno.execPath(),
      denoDir: denoDirOf(env),
      tempDirs,
      project: scan.toolchain.project,
      out: scan.toolchain.out,
      wizer: await wizerPath(),
    });
  }
  const loaded = await loadPaths(scan, env, cwd);
  const { config } = loaded;
  const pathDirs = (env.PATH ?? "").split(":").filter((d) => d !== "" && isAbsolute(d));
  const userHome = env.HOME && isAbsolute(env.HOME) ? env.HOME : undefined;
  const { resolveWitnessPath } = await import("../config/mod.ts");
  const offServerCommands: string[] = [];
  for (const server of Object.values(config.servers)) {
    if (server.transport !== "stdio" || server.sandbox !== "off" || !server.command) continue;
    const base = resolve(loaded.workspace ?? cwd, server.cwd ?? ".");
    const found = resolveOnPath(server.command, pathDirs, base);
    if (found !== null) offServerCommands.push(found);
  }
  const inputs: RuntimeInputs = {
    deno: Deno.execPath(),
    tempDirs,
    homes: bothForms(loaded.home),
    workspace: loaded.workspace,
    witnesses: witnessPaths(() =>
      resolveWitnessPath(config.audit.witness_path, loaded.home, userHome)
    ),
    config,
    capsuleHosts: [
      ...await capsuleNetHosts(
        loaded.home,
        loaded.workspace,
        config.storage.kv_url || join(loaded.home, "state.kv"),
      ),
      ...scan.net,
      ...(scan.capsuleDir === undefined ? [] : await folderNetHosts(scan.capsuleDir)),
    ],
    offServerCommands,
    // The demo starts a loopback registry (Debian's docker-registry) to publish to.
    commandRuns: scan.command[0] === "demo"
      ? [resolveOnPath("docker-registry", pathDirs, cwd)].filter((p) => p !== null)
      : scan.command[0] === "daemon"
      ? daemonRuns(scan.command[1], pathDirs, cwd, config.daemon.notify_command)
      : [],
    setsid: config.tools.sandbox === "off" ? resolveOnPath("setsid", pathDirs, cwd) : null,
    kill: resolveOnPath("kill", pathDirs, cwd),
    bwrap: BWRAP,
    argWrites: scan.write,
  };
  return runtimePermissions(inputs);
}
