/**
 * Where Astrid keeps its files: ASTRID_HOME, the three config files, the state store and keys.
 *
 * @module
 */
import { dirname, isAbsolute, join, resolve } from "./path.ts";
import { ConfigError } from "./errors.ts";

/** The system-wide config file. */
export const SYSTEM_CONFIG_PATH = "/etc/astrid/config.toml";

/** Every path the runtime derives from the environment and the current directory. */
export interface AstridPaths {
  /** `$ASTRID_HOME`, or `~/.astrid` (HOME taken from the env record). */
  home: string;
  /** `/etc/astrid/config.toml` unless overridden (tests). */
  systemConfig: string;
  /** `<home>/config.toml`. */
  userConfig: string;
  /** The nearest ancestor of cwd (inclusive) holding a `.astrid/` folder, or `--workspace`; realpath. */
  workspaceRoot: string | null;
  /** `<workspaceRoot>/.astrid/config.toml` when that file exists, else null. */
  workspaceConfig: string | null;
  /** `<home>/state.kv`. */
  stateKv: string;
  /** `<home>/keys`. */
  keysDir: string;
}

/** Inputs to {@link resolvePaths}. */
export interface ResolvePathsOptions {
  /** The environment record (never read from Deno.env here). */
  env: Record<string, string | undefined>;
  /** The user's current directory. */
  cwd: string;
  /** An explicit workspace folder (`--workspace DIR`), relative to cwd. */
  workspace?: string | undefined;
  /** Overrides {@link SYSTEM_CONFIG_PATH} (tests). */
  systemConfig?: string | undefined;
}

async function realOrSelf(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch {
    return path;
  }
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * Resolves {@link AstridPaths}.
 *
 * Workspace discovery walks up from `cwd` (after resolving symlinks) and stops at the first folder
 * that holds a `.astrid/` directory, skipping a `.astrid/` that is ASTRID_HOME itself (so
 * `~/.astrid` never turns the whole home folder into a workspace). An explicit `workspace` must
 * be an existing directory; it is used even when it has no `.astrid/` yet, and then
 * `workspaceConfig` is null.
 *
 * @example Resolve paths from an env record
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { resolvePaths } from "./paths.ts";
 * const paths = await resolvePaths({ env: { ASTRID_HOME: "/tmp/astrid-doc-home" }, cwd: "/" });
 * equal(paths.userConfig, "/tmp/astrid-doc-home/config.toml");
 * equal(paths.stateKv, "/tmp/astrid-doc-home/state.kv");
 * ```
 */
export async function resolvePaths(opts: ResolvePathsOptions): Promise<AstridPaths> {
  const { env } = opts;
  const cwd = resolve(opts.cwd);
  let home: string;
  if (env.ASTRID_HOME) {
    home = resolve(cwd, env.ASTRID_HOME);
  } else {
    const userHome = env.HOME ?? env.USERPROFILE;
    if (!userHome || !isAbsolute(userHome)) {
      throw new ConfigError(
        `Cannot find ASTRID_HOME: current value is unset and HOME is ${
          JSON.stringify(userHome ?? null)
        }`,
        { file: null, key: "ASTRID_HOME", expected: "an absolute path" },
      );
    }
    home = join(userHome, ".astrid");
  }
  const realHome = await realOrSelf(home);

  let workspaceRoot: string | null = null;
  if (opts.workspace !== undefined) {
    const dir = resolve(cwd, opts.workspace);
    if (!(await isDir(dir))) {
      throw new ConfigError(`Cannot use workspace ${dir}: it is not an existing directory`, {
        file: null,
        key: "workspace",
        expected: "an existing directory",
      });
    }
    workspaceRoot = await Deno.realPath(dir);
  } else {
    let dir = await realOrSelf(cwd);
    for (;;) {
      const marker = join(dir, ".astrid");
      if (await isDir(marker) && (await realOrSelf(marker)) !== realHome) {
        workspaceRoot = dir;
        break;
      }
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }

  const userConfig = join(home, "config.toml");
  let workspaceConfig: string | null = null;
  if (workspaceRoot !== null) {
    const candidate = join(workspaceRoot, ".astrid", "config.toml");
    const sameAsUser = (await realOrSelf(candidate)) === (await realOrSelf(userConfig));
    if (!sameAsUser && await isFile(candidate)) workspaceConfig = candidate;
  }
  return {
    home,
    systemConfig: opts.systemConfig ?? SYSTEM_CONFIG_PATH,
    userConfig,
    workspaceRoot,
    workspaceConfig,
    stateKv: join(home, "state.kv"),
    keysDir: join(home, "keys"),
  };
}

/**
 * The audit witness file: `[audit] witness_path` when set (`~/` is the user's home, a relative
 * path is relative to ASTRID_HOME), else `<home>/audit-witness.jsonl`.
 *
 * @example The default sits next to the state store
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { resolveWitnessPath } from "./paths.ts";
 * equal(resolveWitnessPath("", "/h/.astrid", "/h"), "/h/.astrid/audit-witness.jsonl");
 * equal(resolveWitnessPath("~/w.jsonl", "/h/.astrid", "/h"), "/h/w.jsonl");
 * equal(resolveWitnessPath("/mnt/log/w.jsonl", "/h/.astrid", "/h"), "/mnt/log/w.jsonl");
 * ```
 */
export function resolveWitnessPath(
  configured: string,
  home: string,
  userHome: string | undefined,
): string {
  if (configured === "") return join(home, "audit-witness.jsonl");
  return expandHome(configured, home, userHome);
}

/**
 * Expands a configured path: `~` or `~/…` is the user's home, an absolute path stays, and a
 * relative one is relative to `base`.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { expandHome } from "./paths.ts";
 * equal(expandHome("~/.kube", "/base", "/home/u"), "/home/u/.kube");
 * equal(expandHome("x", "/base", "/home/u"), "/base/x");
 * ```
 */
export function expandHome(path: string, base: string, userHome: string | undefined): string {
  if (path === "~" || path.startsWith("~/")) {
    if (!userHome) {
      throw new ConfigError(`Cannot expand ${path}: HOME is not set`, {
        file: null,
        key: "HOME",
        expected: "an absolute path",
      });
    }
    return join(userHome, path.slice(1));
  }
  return resolve(base, path);
}
