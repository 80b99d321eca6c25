/**
 * The bubblewrap command line of the wall every process the runtime starts runs in: bash, the
 * `[[mcp_server]]`s of capsules and the user's `[servers]`. Pure: paths arrive canonical and
 * already checked (hide.ts, probe.ts).
 *
 * What the wall is, in the order bwrap applies it:
 * 1. the whole filesystem read-only, a minimal `/dev`, a fresh `/proc` of a new PID namespace
 *    (the parent's `/proc/<pid>/environ` is unreachable), a private `/tmp`;
 * 2. the workspace and the declared writable paths read-write, the paths shown read-only on
 *    purpose (a capsule's own folder), shallowest first, and the workspace's `.astrid/`
 *    read-only again (an empty read-only folder when it does not exist, so it cannot be made);
 * 3. the hidden paths: folders replaced by an empty read-only tmpfs, files by an empty file
 *    (a hidden folder that holds a shown path is mounted before the binds, so only that path
 *    shows through it);
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
  const readOnly = spec.readOnly ?? [];
  const shown = [...bound, ...readOnly];
  // A hidden folder that holds a shown path is an empty tmpfs mounted before the binds (so bwrap
  // can make their mount points in it) and made read-only after them; every other hidden path
  // goes after the binds, so no bind can show it again.
  const holdsShown = (h: { path: string; isDir: boolean }) =>
    h.isDir && shown.some((b) => b !== h.path && inside(b, h.path));
  for (const h of spec.hide) if (holdsShown(h)) args.push("--tmpfs", h.path);
  // Shallowest first, so a writable folder inside a read-only one stays writable.
  const depth = (p: string) => p.split("/").length;
  const binds = [
    ...bound.map((p) => ["--bind", p] as const),
    ...readOnly.map((p) => ["--ro-bind", p] as const),
  ].sort((a, b) => depth(a[1]) - depth(b[1]));
  for (const [flag, path] of binds) args.push(flag, path, path);
  if (ws !== null) {
    const config = `${ws === "/" ? "" : ws}/.astrid`;
    if (spec.configDirExists) args.push("--ro-bind", config, config);
    else args.push("--tmpfs", config, "--remount-ro", config);
  }
  for (const h of spec.hide) if (!holdsShown(h)) hideOne(h);
  for (const h of spec.hide) if (holdsShown(h)) args.push("--remount-ro", h.path);
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
