/**
 * The Deno permission flags the `astrid` process runs under, computed from the configuration
 * and the command line (pure: runtime/cli/launch.ts gathers the inputs). These flags are the
 * wall below the SecurityInterceptor: a bug in a capsule host function, the MCP layer or the
 * interceptor itself still cannot write, run or connect outside them (Deno throws `NotCapable`).
 *
 * Two sets:
 * - {@link runtimePermissions}: every command except the toolchain. Writes only `$ASTRID_HOME`,
 *   the workspace, the temp folder (and the audit witness's or a local KV store's folder when
 *   configured elsewhere, and a path the command line names for writing); runs only bwrap, Deno
 *   and the commands of `sandbox = "off"` servers; connects only to the model provider, a
 *   remote KV store, http MCP servers, the hosts installed capsules declare, `[runtime]
 *   allow_net` and loopback.
 *   It reads everywhere, because what the interceptor and the sandbox must resolve cannot be
 *   listed ahead (see `RUNTIME_READ`, measured by running the suite under an allowlist).
 * - `toolchainPermissions` (toolchain_flags.ts): `capsule compile` / `capsule new`. Writes only the project,
 *   the output folder, the repo's `.build/` cache and the temp folder; runs only Wizer and Deno
 *   (`deno check`); no network. It is the only set with ffi: rolldown and oxc-transform are
 *   native napi addons, which Deno loads through its ffi permission, scoped to `node_modules/`.
 *
 * Neither set has `--allow-all`. Every path entry carries why it is there ({@link PathGrant}).
 *
 * @module
 */
import type { AstridConfig } from "../config/mod.ts";

/** One path in `--allow-read` or `--allow-write`, and why it is granted. */
export interface PathGrant {
  readonly path: string;
  readonly why: string;
}

/** The permissions of one `astrid` process, before they become flags. */
export interface PermissionSet {
  /** `true`: everywhere (the runtime's set); else these paths. */
  readonly read: true | readonly PathGrant[];
  readonly write: readonly PathGrant[];
  /** Executables (absolute paths, or a bare name Deno resolves on PATH at start-up). */
  readonly run: readonly string[];
  /** `host`, `host:port`, `*.domain`, `[v6]`. */
  readonly net: readonly string[];
  /** `true`: every variable (`Deno.env.toObject()` needs all); else these names. */
  readonly env: true | readonly string[];
  /** `Deno.*` system-information calls allowed by name (`osRelease`, …). */
  readonly sys: readonly string[];
  /** Paths napi addons may be loaded from (toolchain only; empty: no ffi). */
  readonly ffi: readonly string[];
}

/** The configuration keys the runtime's flags depend on. */
export type LaunchConfig = Pick<
  AstridConfig,
  "model" | "servers" | "runtime" | "tools" | "audit" | "storage"
>;

/** Everything {@link runtimePermissions} needs, gathered by the launcher. */
export interface RuntimeInputs {
  /** `Deno.execPath()`. */
  readonly deno: string;
  /** The temp folder (`TMPDIR`, else `/tmp`), plus its real path when that differs. */
  readonly tempDirs: readonly string[];
  /** `$ASTRID_HOME`, plus its real path when that differs. */
  readonly homes: readonly string[];
  /** The workspace root (canonical), or null. */
  readonly workspace: string | null;
  /** The audit witness file (resolved), plus its real path when that differs. */
  readonly witnesses: readonly string[];
  /** The merged configuration. */
  readonly config: LaunchConfig;
  /** Hosts installed capsules declare in `[capabilities] net`. */
  readonly capsuleHosts: readonly string[];
  /** `sandbox = "off"` server commands, resolved to absolute paths. */
  readonly offServerCommands: readonly string[];
  /** Programs the command itself starts, resolved (the demo's loopback `docker-registry`). */
  readonly commandRuns?: readonly string[];
  /** `setsid` resolved on PATH (used only when `[tools] sandbox = "off"`), or null. */
  readonly setsid: string | null;
  /**
   * `kill` resolved on PATH, or null: Deno refuses `/proc` and `Deno.kill` to a narrowed process,
   * so `kill -0` tells whether a session's process still runs, and `kill` ends an unwalled
   * bash call's process group.
   */
  readonly kill?: string | null;
  /** The bubblewrap binary. */
  readonly bwrap: string;
  /** Paths the command line names for writing (`init DIR`, `audit export -o F`, …), absolute. */
  readonly argWrites: readonly string[];
}

/**
 * Why the runtime reads everywhere (`--allow-read` without a list), measured by running the
 * suite under an allowlist:
 * - the interceptor canonicalises every path an agent names before it decides or asks
 *   (security/_paths.ts resolves each ancestor with `realPath`), so an unreadable ancestor
 *   (`/var` of a workspace in `/var/tmp`, `/etc` of a read escape the human would approve) made
 *   the call fail instead of reaching the human;
 * - the sandbox resolves what it hides from walled processes (passwd, every home, the user's
 *   credential folders, `[sandbox] hide`): a path it cannot read is a path it cannot hide;
 * - Deno has no metadata-only permission, and narrowing read to `/home`, `/tmp`, the repo and
 *   PATH folders would still have granted the user's own secrets (they live in the home).
 *
 * Deno reads `/proc`, `/dev` and `/sys` only under `--allow-all` whatever `--allow-read` says
 * (deno_permissions `check_special_file`), so pid checks there see no procfs in the runtime.
 */
const RUNTIME_READ = true;

/** Loopback: local fake servers, `mcp serve --transport http`, loopback registries. */
const LOOPBACK_HOSTS: readonly string[] = Object.freeze(["127.0.0.1", "localhost", "[::1]"]);

/** `sys` names the runtime queries (the LLM SDKs, node:os; the sandbox reads the uid). */
const RUNTIME_SYS: readonly string[] = Object.freeze(["osRelease", "uid", "gid"]);

const PROVIDER_HOSTS = {
  anthropic: "api.anthropic.com:443",
  openai: "api.openai.com:443",
} as const;

// A host, `*.domain`, an IPv4 address or a bracketed IPv6 address, each with an optional port.
const NET_ENTRY = /^(?:\*\.)?(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/**
 * Raised when the configuration names something that cannot become a flag.
 *
 * @example Match on the code
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { LaunchError } from "./launch_flags.ts";
 * equal(new LaunchError("Cannot allow x").code, "CONFIG");
 * ```
 */
export class LaunchError extends Error {
  /** Always `CONFIG`: the CLI reports it as a configuration error (exit 1). */
  readonly code = "CONFIG";
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "LaunchError";
  }
}

/**
 * `host:port` of an http(s) URL (the default port of its scheme when none is written).
 *
 * @example Default and explicit ports
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { urlHost } from "./launch_flags.ts";
 * equal(urlHost("https://mcp.example.com/mcp"), "mcp.example.com:443");
 * equal(urlHost("http://[::1]:8080/v1"), "[::1]:8080");
 * ```
 */
export function urlHost(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LaunchError(`Cannot allow ${JSON.stringify(raw)}: it is not an absolute URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new LaunchError(`Cannot allow ${JSON.stringify(raw)}: only http and https are reachable`);
  }
  return `${url.hostname}:${url.port || (url.protocol === "https:" ? "443" : "80")}`;
}

/**
 * The host the model provider is reached at: `[model] api_url` when set, else the provider's
 * public API.
 *
 * @example The provider's API, or the configured URL
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { providerHost } from "./launch_flags.ts";
 * equal(providerHost({ provider: "anthropic", api_url: "" }), "api.anthropic.com:443");
 * equal(providerHost({ provider: "openai", api_url: "http://127.0.0.1:9000/v1" }), "127.0.0.1:9000");
 * ```
 */
export function providerHost(
  model: Pick<AstridConfig["model"], "provider" | "api_url">,
): string | null {
  const provider = model.provider;
  // A `capsule:<name>` provider is reached in-process; its own `net` hosts are the capsules'.
  if (provider !== "anthropic" && provider !== "openai") return null;
  return model.api_url === "" ? PROVIDER_HOSTS[provider] : urlHost(model.api_url);
}

/**
 * Configured registries. None are configured yet: the host of an `oci://` reference on the
 * command line (`capsule publish/install/search/info/upgrade`) is granted by the launcher from
 * the arguments (runtime/cli/_launch_args.ts), and loopback registries are reachable through the
 * loopback hosts every set allows; when `[registries]` lands, its hosts go here.
 *
 * @example None yet
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { DEFAULT_CONFIG } from "../config/mod.ts";
 * import { registryHosts } from "./launch_flags.ts";
 * deepEqual(registryHosts(DEFAULT_CONFIG), []);
 * ```
 */
export function registryHosts(_config: LaunchConfig): string[] {
  return [];
}

function within(path: string, root: string): boolean {
  return root === "/" || path === root || path.startsWith(`${root}/`);
}

function dirOf(path: string): string {
  const cut = path.lastIndexOf("/");
  return cut <= 0 ? "/" : path.slice(0, cut);
}

/**
 * The permissions of the runtime process (every command but the toolchain's).
 *
 * @example Write only the home, the workspace and temp; no ffi
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { DEFAULT_CONFIG } from "../config/mod.ts";
 * import { runtimePermissions } from "./launch_flags.ts";
 * const set = runtimePermissions({
 *   deno: "/usr/bin/deno", tempDirs: ["/tmp"], homes: ["/h/.astrid"], workspace: "/h/proj",
 *   witnesses: ["/h/.astrid/audit-witness.jsonl"], config: DEFAULT_CONFIG, capsuleHosts: [],
 *   offServerCommands: [], setsid: null, bwrap: "/usr/bin/bwrap", argWrites: [],
 * });
 * deepEqual(set.write.map((g) => g.path), ["/h/.astrid", "/h/proj", "/tmp"]);
 * deepEqual(set.run, ["/usr/bin/bwrap", "/usr/bin/deno"]);
 * equal(set.ffi.length, 0);
 * ```
 */
export function runtimePermissions(inputs: RuntimeInputs): PermissionSet {
  const { config } = inputs;
  const write: PathGrant[] = [];
  const grant = (path: string, why: string) => write.push({ path, why });
  for (const home of inputs.homes) grant(home, "$ASTRID_HOME: config, keys, the state store");
  if (inputs.workspace !== null) grant(inputs.workspace, "the workspace");
  for (const tmp of inputs.tempDirs) grant(tmp, "the temp folder (Deno.makeTempDir)");
  const outsideHome = (p: string) => !inputs.homes.some((h) => within(p, h));
  for (const witness of inputs.witnesses) {
    if (outsideHome(witness)) grant(dirOf(witness), "[audit] witness_path's folder (appended)");
  }
  const kv = config.storage.kv_url;
  if (kv !== "" && kv !== ":memory:" && !/^https?:\/\//.test(kv) && outsideHome(kv)) {
    grant(dirOf(kv), "[storage] kv_url's folder (the store, its journal and SQLite side files)");
  }
  for (const p of inputs.argWrites) grant(p, "named on the command line for writing");
  // Not Deno's cache: a runtime that could write there could plant code the next run executes.

  const run = [inputs.bwrap, inputs.deno];
  if (config.tools.sandbox === "off" && inputs.setsid !== null) run.push(inputs.setsid);
  if (inputs.kill) run.push(inputs.kill);
  run.push(...inputs.offServerCommands, ...inputs.commandRuns ?? []);

  const model = providerHost(config.model);
  const net = model === null ? [] : [model];
  if (/^https?:\/\//.test(kv)) net.push(urlHost(kv)); // a remote KV store (KV Connect)
  for (const s of Object.values(config.servers)) {
    if (s.transport === "http" && s.url) net.push(urlHost(s.url));
  }
  net.push(...inputs.capsuleHosts, ...config.runtime.allow_net, ...registryHosts(config));
  net.push(...LOOPBACK_HOSTS);
  for (const host of net) {
    if (!NET_ENTRY.test(host)) {
      throw new LaunchError(
        `Cannot allow network access to ${JSON.stringify(host)}: expected host[:port]`,
      );
    }
  }
  return {
    read: RUNTIME_READ,
    write: dedupe(write),
    run: [...new Set(run)],
    net: [...new Set(net.map((h) => h.toLowerCase()))],
    env: true,
    sys: RUNTIME_SYS,
    ffi: [],
  };
}

/**
 * `grants` without repeated paths (the first reason is kept).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { dedupe } from "./launch_flags.ts";
 * equal(dedupe([{ path: "/a", why: "x" }, { path: "/a", why: "y" }]).length, 1);
 * ```
 */
export function dedupe(grants: readonly PathGrant[]): PathGrant[] {
  const seen = new Set<string>();
  return grants.filter((g) => !seen.has(g.path) && seen.add(g.path));
}

/**
 * The `deno run` flags of a {@link PermissionSet}. `--no-prompt` makes a missing permission an
 * error instead of a question. A path holding a comma cannot be written in a flag list, so it
 * is refused (fail closed) rather than split.
 *
 * @example A small set as flags
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { denoFlags } from "./launch_flags.ts";
 * deepEqual(
 *   denoFlags({
 *     read: [{ path: "/ws", why: "" }], write: [{ path: "/ws", why: "" }], run: ["/usr/bin/bwrap"],
 *     net: ["127.0.0.1"], env: true, sys: ["osRelease"], ffi: [],
 *   }),
 *   [
 *     "--no-prompt", "--allow-read=/ws", "--allow-write=/ws", "--allow-run=/usr/bin/bwrap",
 *     "--allow-net=127.0.0.1", "--allow-env", "--allow-sys=osRelease",
 *   ],
 * );
 * ```
 */
export function denoFlags(set: PermissionSet): string[] {
  const list = (kind: string, items: readonly string[]) => {
    for (const item of items) {
      if (item === "" || item.includes(",") || item.includes("\0")) {
        throw new LaunchError(
          `Cannot grant ${kind} ${JSON.stringify(item)}: a permission entry cannot be empty ` +
            "or hold a comma",
        );
      }
    }
    return items.length === 0 ? [] : [`--allow-${kind}=${items.join(",")}`];
  };
  return [
    "--no-prompt",
    ...(set.read === true ? ["--allow-read"] : list("read", set.read.map((g) => g.path))),
    ...list("write", set.write.map((g) => g.path)),
    ...list("run", set.run),
    ...list("net", set.net),
    ...(set.env === true ? ["--allow-env"] : list("env", set.env)),
    ...list("sys", set.sys),
    ...list("ffi", set.ffi),
  ];
}
