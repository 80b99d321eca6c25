/**
 * Runs the `astrid` CLI as a subprocess, the way a user does, for integration tests.
 *
 * @module
 */

// The launcher, as `deno task astrid` runs it: it re-executes the CLI under the permission flags
// computed from the configuration (runtime/cli/launch.ts).
const LAUNCH = new URL("../runtime/cli/launch.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/** What a CLI run printed and how it exited. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for {@link runCli}. */
export interface CliRunOptions {
  /** ASTRID_HOME for the run (required: tests never touch the real home). */
  home: string;
  /** The user's current directory. */
  cwd?: string;
  env?: Record<string, string>;
  stdin?: string;
}

/**
 * What a user's environment carries for reaching the npm registry (a proxy, its CA bundle) and
 * Deno's cache, so a child's `deno check` of a capsule's npm dependencies works as it would for
 * the user; nothing else of the test runner's environment is passed on.
 */
function networkEnv(): Record<string, string> {
  const names = [
    "DENO_DIR",
    "DENO_CERT",
    "DENO_TLS_CA_STORE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "no_proxy",
    "NPM_CONFIG_REGISTRY",
  ];
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = Deno.env.get(name);
    if (value !== undefined) out[name] = value;
  }
  const home = Deno.env.get("HOME");
  if (out.DENO_DIR === undefined && home) out.DENO_DIR = `${home}/.cache/deno`;
  return out;
}

/** Runs `astrid ...args` and collects its output. */
export async function runCli(args: string[], opts: CliRunOptions): Promise<CliRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "--config", CONFIG, LAUNCH, ...args],
    cwd: opts.cwd ?? opts.home,
    env: {
      ...networkEnv(),
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: opts.home,
      ASTRID_HOME: opts.home,
      ASTRID_SYSTEM_CONFIG: `${opts.home}/no-system-config.toml`,
      NO_COLOR: "1",
      ...opts.env,
    },
    clearEnv: true,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(opts.stdin));
    await writer.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A fresh temporary ASTRID_HOME and workspace (already `astrid init`-ed by the caller if needed). */
export async function tempDirs(): Promise<{ home: string; ws: string }> {
  const home = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-home-" }));
  const ws = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-ws-" }));
  return { home, ws };
}
