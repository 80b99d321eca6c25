/**
 * The daemon's files under `$ASTRID_HOME/daemon/` (mode 0700):
 * - `lock`: created with O_EXCL, holding the owner's pid: one daemon per home. A lock whose pid
 *   is dead is stale and taken over.
 * - `token`: the bearer token (32 random bytes, base64url), mode 0600, kept across restarts. A
 *   token file readable by group or world, or owned by someone else, is replaced (a warning
 *   says so): the token may have leaked.
 * - `daemon.json`: `{pid, port, url, startedAt}`, written atomically once the daemon listens and
 *   removed on a clean stop.
 *
 * @module
 */
import { join } from "node:path";

/** What `daemon.json` holds. */
export interface DaemonInfo {
  readonly pid: number;
  readonly port: number;
  /** `http://127.0.0.1:PORT` (or the `--listen` origin). */
  readonly url: string;
  /** Milliseconds since the epoch. */
  readonly startedAt: number;
}

/** Raised when another live daemon holds the home's lock. */
export class DaemonRunningError extends Error {
  /** Always `DAEMON_RUNNING`. */
  readonly code = "DAEMON_RUNNING";
  /** The pid that holds the lock. */
  readonly pid: number;
  /** Its URL, when its `daemon.json` says. */
  readonly url: string | null;
  /** Creates the error. */
  constructor(home: string, pid: number, url: string | null) {
    super(`a daemon is already running for ${home}: pid ${pid} at ${url ?? "(starting)"}`);
    this.name = "DaemonRunningError";
    this.pid = pid;
    this.url = url;
  }
}

const TOKEN_BYTES = 32;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/**
 * `$ASTRID_HOME/daemon`.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { daemonDir } from "./state.ts";
 * equal(daemonDir("/h"), "/h/daemon");
 * ```
 */
export function daemonDir(home: string): string {
  return join(home, "daemon");
}

/** Creates the daemon folder (0700), tightening an existing one. */
export async function ensureDaemonDir(home: string): Promise<string> {
  const dir = daemonDir(home);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await Deno.lstat(dir);
  if (!info.isDirectory) throw new Error(`Cannot use ${dir}: it is not a folder`);
  if (((info.mode ?? 0) & 0o077) !== 0) await Deno.chmod(dir, 0o700);
  return dir;
}

/**
 * True when process `pid` runs on this machine: `/proc` where this process may read it, else
 * `kill -0` (a narrowed runtime may run `kill`, not read `/proc`). A zombie counts as dead.
 *
 * @example This process is alive
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { pidAlive } from "./state.ts";
 * ok(pidAlive(Deno.pid));
 * ok(!pidAlive(2 ** 30));
 * ```
 */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (Deno.build.os === "linux") {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      return !/^\d+ \(.*\) Z /s.test(stat);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotCapable)) return false;
    }
  }
  try {
    const out = new Deno.Command("kill", { args: ["-0", String(pid)], stderr: "piped" })
      .outputSync();
    // EPERM: it runs, as another user.
    return out.success || /not permitted/i.test(new TextDecoder().decode(out.stderr));
  } catch {
    return true; // cannot tell: assume it runs (never take over a live daemon's lock)
  }
}

/** Writes `text` to `path` atomically (a temp file beside it, then rename) with `mode`. */
async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(tmp, text, { mode, createNew: true });
    await Deno.chmod(tmp, mode);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/** Reads `daemon.json`, or null when it is missing or unreadable. */
export async function readDaemonInfo(home: string): Promise<DaemonInfo | null> {
  try {
    const v = JSON.parse(await Deno.readTextFile(join(daemonDir(home), "daemon.json")));
    if (
      Number.isInteger(v?.pid) && Number.isInteger(v?.port) && typeof v?.url === "string" &&
      typeof v?.startedAt === "number"
    ) return { pid: v.pid, port: v.port, url: v.url, startedAt: v.startedAt };
  } catch {
    // missing or torn: no daemon described
  }
  return null;
}

/** Writes `daemon.json` atomically (mode 0600). */
export async function writeDaemonInfo(home: string, info: DaemonInfo): Promise<void> {
  await writeAtomic(join(daemonDir(home), "daemon.json"), JSON.stringify(info) + "\n", 0o600);
}

/** Removes `daemon.json` when it still describes `pid`. */
export async function removeDaemonInfo(home: string, pid: number): Promise<void> {
  const info = await readDaemonInfo(home);
  if (info === null || info.pid === pid) {
    await Deno.remove(join(daemonDir(home), "daemon.json")).catch(() => {});
  }
}

/** A held lock; `release()` removes it (only while it still names this process). */
export interface DaemonLock {
  readonly path: string;
  release(): Promise<void>;
}

async function lockHolder(path: string): Promise<number | null> {
  try {
    const pid = Number((await Deno.readTextFile(path)).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/**
 * Takes the home's daemon lock for `pid` (default this process): creates `lock` with O_EXCL.
 * A lock held by another live pid throws {@link DaemonRunningError}; a stale one (dead pid,
 * unreadable content, or this very pid: a container restarted with the same pid) is taken over.
 *
 * @example One holder at a time
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { acquireLock } from "./state.ts";
 * const home = await Deno.makeTempDir();
 * const held = await acquireLock(home, 1); // as if init (always alive) held it
 * await rejects(acquireLock(home), /already running for .*: pid 1/);
 * await held.release();
 * await (await acquireLock(home)).release();
 * ```
 */
export async function acquireLock(home: string, pid: number = Deno.pid): Promise<DaemonLock> {
  const dir = await ensureDaemonDir(home);
  const path = join(dir, "lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await Deno.writeTextFile(path, `${pid}\n`, { createNew: true, mode: 0o600 });
      return {
        path,
        release: async () => {
          if ((await lockHolder(path).catch(() => null)) === pid) {
            await Deno.remove(path).catch(() => {});
          }
        },
      };
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
    const holder = await lockHolder(path);
    if (holder !== null && holder !== pid && pidAlive(holder)) {
      const info = await readDaemonInfo(home);
      throw new DaemonRunningError(home, holder, info?.pid === holder ? info.url : null);
    }
    // Stale: its owner died without cleaning up (kill -9, a crash).
    await Deno.remove(path).catch(() => {});
  }
  const holder = await lockHolder(path);
  throw new DaemonRunningError(home, holder ?? 0, null);
}

function makeToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(TOKEN_BYTES));
  const text = btoa(String.fromCharCode(...bytes));
  bytes.fill(0);
  return text.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * The home's bearer token, created (0600) when absent. A token file that is readable by group
 * or world, not a regular file, not owned by this user, or malformed is replaced, and `warning`
 * says why.
 *
 * @example Kept across calls
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { ensureToken } from "./state.ts";
 * const home = await Deno.makeTempDir();
 * const first = await ensureToken(home);
 * equal((await ensureToken(home)).token, first.token);
 * equal(first.token.length, 43);
 * ```
 */
export async function ensureToken(
  home: string,
): Promise<{ readonly token: string; readonly warning: string | null }> {
  const dir = await ensureDaemonDir(home);
  const path = join(dir, "token");
  let problem: string | null = null;
  try {
    const info = await Deno.lstat(path);
    const uid = Deno.uid();
    if (!info.isFile) problem = "it is not a regular file";
    else if (uid !== null && info.uid !== uid) problem = `it is owned by uid ${info.uid}`;
    else if (((info.mode ?? 0) & 0o077) !== 0) {
      problem = `its mode is ${((info.mode ?? 0) & 0o777).toString(8)} (readable by others)`;
    } else {
      const token = (await Deno.readTextFile(path)).trim();
      if (TOKEN_SHAPE.test(token)) return { token, warning: null };
      problem = "it is malformed";
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  if (problem !== null) await Deno.remove(path, { recursive: false }).catch(() => {});
  const token = makeToken();
  await writeAtomic(path, token + "\n", 0o600);
  return {
    token,
    warning: problem === null ? null : `replaced the daemon token ${path}: ${problem}`,
  };
}

/** Reads the token, or null when it is missing or malformed. */
export async function readToken(home: string): Promise<string | null> {
  try {
    const token = (await Deno.readTextFile(join(daemonDir(home), "token"))).trim();
    return TOKEN_SHAPE.test(token) ? token : null;
  } catch {
    return null;
  }
}

/**
 * The running daemon of `home`: its `daemon.json` and token when the pid it names is alive,
 * else null (stale files are ignored).
 *
 * @example No daemon in a fresh home
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { findDaemon } from "./state.ts";
 * equal(await findDaemon(await Deno.makeTempDir()), null);
 * ```
 */
export async function findDaemon(
  home: string,
): Promise<{ readonly info: DaemonInfo; readonly token: string } | null> {
  const info = await readDaemonInfo(home);
  if (info === null || !pidAlive(info.pid)) return null;
  const token = await readToken(home);
  return token === null ? null : { info, token };
}
