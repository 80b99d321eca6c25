/**
 * Helpers the daemon tests share: whether a daemon process still runs, one JSON-RPC call to the
 * daemon of a home, and polling until the daemon's background work shows.
 *
 * @module
 */
import { connectDaemon, type DaemonClient } from "../runtime/daemon/client.ts";

/** True while `pid` runs (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /s.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}

/** One call of `method` to the daemon of `home`, on a connection opened and closed for it. */
export async function daemonCall<T>(
  home: string,
  method: string,
  params: unknown = {},
): Promise<T> {
  const client = await connectDaemon(home, "test");
  if (!client) throw new Error("no daemon");
  try {
    return await client.call<T>(method, params);
  } finally {
    client.close();
  }
}

/**
 * Polls `read` until `done` holds (the daemon works in the background) and returns the last value;
 * throws naming `what` after `ms` (a deadline for a hung test, not a timing assertion).
 */
export async function until<T>(
  what: string,
  read: () => Promise<T>,
  done: (v: T) => boolean,
  ms = 60_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const LAUNCH = new URL("../runtime/cli/launch.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/**
 * `astrid daemon run` (in the foreground, output discarded) for `home`, started in `cwd` with a
 * clean environment: the test home, no system config, and `env` on top.
 */
export function spawnDaemonRun(
  home: string,
  cwd: string,
  env: Readonly<Record<string, string>> = {},
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "--config", CONFIG, LAUNCH, "daemon", "run"],
    cwd,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME") ?? "/root"}/.cache/deno`,
      HOME: home,
      ASTRID_HOME: home,
      ASTRID_SYSTEM_CONFIG: `${home}/no-system-config.toml`,
      NO_COLOR: "1",
      ...env,
    },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

/** A client of the daemon of `home` once it answers (polls for up to 30 s, then throws). */
export async function connectWhenUp(home: string, name = "test"): Promise<DaemonClient> {
  for (let i = 0; i < 600; i++) {
    const c = await connectDaemon(home, name).catch(() => null);
    if (c) return c;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the daemon did not start");
}

/** The environment that points the runtime's model at a fake Anthropic server at `url`. */
export function fakeModelEnv(url: string): Record<string, string> {
  return {
    ANTHROPIC_API_KEY: "sk-test",
    ANTHROPIC_BASE_URL: url,
    ASTRID_MODEL_MODEL: "claude-sonnet-4-6",
    ASTRID_MODEL_MAX_TOKENS: "1024",
  };
}
