/**
 * Preparing a stdio server's process: resolve the executable to one real path, check its
 * BLAKE3 against `binary_hash`, build an allowlisted environment (PATH, HOME, LANG and the
 * server's own `env`, nothing else from the parent), and put it inside the wall
 * (runtime/sandbox) unless the server is a user's that says `sandbox = "off"`. The resolved path
 * is what gets spawned, with no shell, so a later PATH change cannot swap the binary between
 * the check and the spawn.
 *
 * What this cannot guarantee: the file can still be replaced between hashing and exec by
 * someone who can write to it (a TOCTOU window); and for interpreters (`deno`, `node`) the hash
 * covers the interpreter, not the script it runs.
 *
 * @module
 */
import { isAbsolute, join, resolve } from "node:path";
import { blake3File } from "../crypto/blake3.ts";
import { McpError } from "./errors.ts";
import type { StdioServerConfig } from "./server_config.ts";
import { Sandbox } from "../sandbox/mod.ts";

/** What a child process is launched with. */
export interface LaunchSpec {
  /** Absolute, symlink-free path of the executable. */
  readonly executable: string;
  readonly args: readonly string[];
  readonly env: Record<string, string>;
  readonly cwd?: string | undefined;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/**
 * Resolves `command` the way a shell would (a path if it contains `/`, else the first match on
 * `path`), then to its real path. Throws `START_FAILED` when nothing executable is found.
 *
 * @example Find `sh`
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { resolveExecutable } from "./spawn.ts";
 * ok((await resolveExecutable("sh", "/usr/bin:/bin", "/")).startsWith("/"));
 * ```
 */
export async function resolveExecutable(
  command: string,
  path: string,
  cwd: string,
): Promise<string> {
  const candidates = command.includes("/")
    ? [isAbsolute(command) ? command : resolve(cwd, command)]
    : path.split(":").filter((d) => d !== "" && isAbsolute(d)).map((d) => join(d, command));
  for (const candidate of candidates) {
    if (await isExecutableFile(candidate)) return await Deno.realPath(candidate);
  }
  throw new McpError(
    "START_FAILED",
    `Cannot start ${JSON.stringify(command)}: no executable file found` +
      (command.includes("/") ? "" : ` on PATH (current value is ${JSON.stringify(path)})`),
  );
}

/**
 * Checks `executable` against `expected` (`blake3:<hex>`); throws `INTEGRITY` on a mismatch.
 *
 * @example A mismatch refuses
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { verifyBinaryHash } from "./spawn.ts";
 * const file = await Deno.makeTempFile();
 * await rejects(verifyBinaryHash(file, "blake3:" + "0".repeat(64)), /does not match/);
 * await Deno.remove(file);
 * ```
 */
export async function verifyBinaryHash(executable: string, expected: string): Promise<void> {
  const match = /^blake3:([0-9a-f]{64})$/.exec(expected);
  if (!match) {
    throw new McpError("BAD_CONFIG", `Cannot check ${executable}: binary_hash is ${expected}`);
  }
  const actual = await blake3File(executable);
  if (actual !== match[1]) {
    throw new McpError(
      "INTEGRITY",
      `Cannot start ${executable}: its BLAKE3 does not match binary_hash ` +
        `(expected blake3:${
          match[1]
        }, current value is blake3:${actual}); the server was not started`,
    );
  }
}

/**
 * The child's whole environment: PATH, HOME and LANG from `parentEnv` (when set), then the
 * server's `env`. Nothing else from the parent leaks in.
 *
 * @example The parent environment does not leak
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { childEnv } from "./spawn.ts";
 * deepEqual(
 *   childEnv({ PATH: "/bin", HOME: "/h", SECRET: "x" }, { TOKEN: "t" }),
 *   { PATH: "/bin", HOME: "/h", TOKEN: "t" },
 * );
 * ```
 */
export function childEnv(
  parentEnv: Readonly<Record<string, string | undefined>>,
  serverEnv: Readonly<Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ["PATH", "HOME", "LANG"]) {
    const value = parentEnv[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, ...serverEnv };
}

/** Where a walled server runs: the runtime's wall and its workspace. */
export interface ServerWallContext {
  /** The wall, or why none can be built here. */
  readonly sandbox: Sandbox | string;
  /** The workspace (canonical), or null. */
  readonly workspace: string | null;
}

/**
 * Resolves, hash-checks and describes how to launch a stdio server. A walled server (every
 * server but a user's with `sandbox = "off"`) is launched through bwrap; where no wall can be
 * built it does not start (`SANDBOX_UNAVAILABLE`).
 *
 * @example Launch spec for `sh`, unwalled
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { prepareLaunch } from "./spawn.ts";
 * const spec = await prepareLaunch(
 *   {
 *     name: "s", transport: "stdio", command: "sh", args: ["-c", "true"], env: {},
 *     autoStart: false, restartPolicy: "never", sandbox: "off",
 *   },
 *   { PATH: "/usr/bin:/bin" },
 *   "/",
 * );
 * equal(spec.args[0], "-c");
 * ```
 */
export async function prepareLaunch(
  server: StdioServerConfig,
  parentEnv: Readonly<Record<string, string | undefined>>,
  baseDir: string,
  wall?: ServerWallContext,
): Promise<LaunchSpec> {
  const env = childEnv(parentEnv, server.env);
  const cwd = server.cwd === undefined ? undefined : resolve(baseDir, server.cwd);
  const executable = await resolveExecutable(server.command, env.PATH ?? "", cwd ?? baseDir);
  if (server.binaryHash !== undefined) await verifyBinaryHash(executable, server.binaryHash);
  if (server.sandbox === "off") return { executable, args: [...server.args], env, cwd };
  const declared = server.sandbox ?? { network: false, writable: [] };
  const sandbox = wall?.sandbox ?? "no wall was configured for this server";
  if (!(sandbox instanceof Sandbox)) {
    throw new McpError(
      "SANDBOX_UNAVAILABLE",
      `Cannot start ${server.name}: the sandbox is unavailable (${sandbox}); install ` +
        `bubblewrap, or set sandbox = "off" in [servers.${server.name}] to run it unwalled`,
    );
  }
  const workspace = wall?.workspace ?? null;
  const writable = declared.writable.map((p) =>
    p === "~" || p.startsWith("~/")
      ? join(parentEnv.HOME ?? "/nonexistent", p.slice(1))
      : resolve(workspace ?? baseDir, p)
  );
  const within = (p: string, root: string) =>
    p === root || p.startsWith(root === "/" ? "/" : `${root}/`);
  // A writable folder that holds the workspace also gets the workspace's `.astrid/` read-only;
  // otherwise the workspace is shown read-only (it may sit in /tmp, which the wall replaces).
  const holdsWorkspace = workspace !== null && writable.some((w) => within(workspace, w));
  const readOnly = [...(declared.readable ?? [])];
  if (workspace !== null && !holdsWorkspace) readOnly.push(workspace);
  // The working directory must exist inside: one the wall hides is not shown for it (the
  // server starts in /), one in the wall's private /tmp or /run is shown read-only.
  let dir = cwd ?? baseDir;
  const shown = [...readOnly, ...writable, ...(holdsWorkspace ? [workspace!] : [])];
  if (!shown.some((r) => within(dir, r))) {
    if (sandbox.hidden.some((h) => within(dir, h))) dir = "/";
    else if (within(dir, "/tmp") || within(dir, "/run")) readOnly.push(dir);
  }
  // The program itself, when it lives in /tmp (which the wall replaces with an empty one): the
  // folder under /tmp holding the executable or a path argument is shown read-only, so a server
  // run from a project there finds its script and the project's config and modules.
  for (
    const word of [executable, ...server.args.flatMap((a) => [a, a.slice(a.indexOf("=") + 1)])]
  ) {
    if (!word.startsWith("/tmp/")) continue;
    const top = `/tmp/${word.slice(5).split("/")[0]}`;
    if (
      top === "/tmp/" || [...readOnly, ...shown].some((r) => within(top, r)) ||
      sandbox.hidden.some((h) => within(top, h))
    ) continue;
    if (await Deno.lstat(top).then(() => true, () => false)) readOnly.push(top);
  }
  try {
    const walled = await sandbox.command({
      workspace: holdsWorkspace ? workspace : null,
      writable: writable.filter((w) => w !== workspace),
      readOnly,
      network: declared.network,
      cwd: dir,
    }, [executable, ...server.args]);
    return { executable: walled.program, args: walled.args, env };
  } catch (err) {
    throw new McpError("START_FAILED", `Cannot start ${server.name}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
