/**
 * The bubblewrap command line of the wall every process the runtime starts runs in: bash, the
 * `[[mcp_server]]`s of capsules and the user's `[servers]`. Pure: paths arrive canonical and
 * already checked (hide.ts, probe.ts).
 *
 * What the wall is, in the order bwrap applies it:
 * 1. the whole filesystem read-only, a minimal `/dev`, a fresh `/proc` of a new PID namespace
 *    (the parent's `/proc/<pid>/environ` is unreachable), a private `/tmp`;
 * 2. the workspace and the declared writable paths read-write, and the workspace's `.astrid/`
 *    read-only again (an empty read-only folder when it does not exist, so it cannot be made);
 * 3. the hidden paths: folders replaced by an empty read-only tmpfs, files by an empty file
 *    (a hidden folder that holds the workspace is applied before the binds, so only the
 *    workspace shows through it), then the paths shown read-only on purpose (a capsule's own
 *    folder);
 * 4. a new user namespace mapping the caller to uid/gid 65534 where the kernel allows (no
 *    nested user namespaces), every capability dropped, `no_new_privs` (bwrap sets it, so a
 *    setuid `su`/`sudo` gains nothing), new IPC, UTS and cgroup namespaces, no network unless
 *    allowed, a new session (no terminal injection), and death with the parent.
 *
 * @module
 */

/** One walled process. */
export interface WallSpec {
  /** The workspace, bound read-write (its `.astrid/` read-only); null binds none. */
  readonly workspace: string | null;
  /** Whether `<workspace>/.astrid` exists as a real folder (else an empty read-only one is mounted). */
  readonly configDirExists: boolean;
  /** Paths hidden (canonical, existing). Folders become empty; files become empty. */
  readonly hide: readonly { readonly path: string; readonly isDir: boolean }[];
  /** Extra paths bound read-write (canonical, existing). */
  readonly writable: readonly string[];
  /** Paths bound read-only after the hides (canonical, existing, holding no hidden path). */
  readonly readOnly?: readonly string[];
  /** Share the host's network (default: a new, empty network namespace). */
  readonly network: boolean;
  /** Map to an unprivileged uid in a new user namespace (see probe.ts). */
  readonly userns: boolean;
  /** The working directory inside the wall (absolute). */
  readonly cwd: string;
}

/** The uid and gid the sandboxed process runs as when a user namespace is available. */
export const SANDBOX_ID = 65534;

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root === "/" ? "/" : `${root}/`);
}

/**
 * The bwrap arguments (without the bwrap path, the `--` and the command).
 *
 * @example No network and no capabilities by default
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { wallArgs } from "./wall.ts";
 * const args = wallArgs({
 *   workspace: "/ws", configDirExists: true, hide: [], writable: [], network: false,
 *   userns: true, cwd: "/ws",
 * });
 * ok(args.includes("--unshare-net") && args.includes("--cap-drop") && args.includes("--unshare-user"));
 * ```
 */
export function wallArgs(spec: WallSpec): string[] {
  const args = [
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    "--tmpfs",
    "/tmp",
  ]; // deno-fmt-ignore
  const hideOne = (h: { path: string; isDir: boolean }) => {
    if (h.isDir) args.push("--tmpfs", h.path, "--remount-ro", h.path);
    else args.push("--ro-bind", "/dev/null", h.path);
  };
  const ws = spec.workspace;
  const bound = ws === null ? [...spec.writable] : [ws, ...spec.writable];
  // A hidden folder that holds a bound path goes first, so the bind shows that path again;
  // every other hidden path goes after the binds, so no bind can show it again.
  const holdsBound = (h: { path: string }) => bound.some((b) => b !== h.path && inside(b, h.path));
  for (const h of spec.hide) if (holdsBound(h)) hideOne(h);
  for (const path of bound) args.push("--bind", path, path);
  if (ws !== null) {
    const config = `${ws === "/" ? "" : ws}/.astrid`;
    if (spec.configDirExists) args.push("--ro-bind", config, config);
    else args.push("--tmpfs", config, "--remount-ro", config);
  }
  for (const h of spec.hide) if (!holdsBound(h)) hideOne(h);
  for (const path of spec.readOnly ?? []) args.push("--ro-bind", path, path);
  if (spec.userns) {
    args.push(
      "--unshare-user",
      "--disable-userns",
      "--uid",
      String(SANDBOX_ID),
      "--gid",
      String(SANDBOX_ID),
    ); // deno-fmt-ignore
  }
  args.push(
    "--cap-drop",
    "ALL",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
  ); // deno-fmt-ignore
  if (!spec.network) args.push("--unshare-net");
  args.push("--new-session", "--die-with-parent", "--chdir", spec.cwd);
  return args;
}
