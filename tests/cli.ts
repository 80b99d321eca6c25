/**
 * Runs the `astrid` CLI as a subprocess, the way a user does, for integration tests.
 *
 * @module
 */

import { CHILD_V8_FLAGS } from "../runtime/cli/launch.ts";

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

/**
 * The environment a CLI run gets in the home at `home`: a `PATH`, that home as `HOME` and
 * `ASTRID_HOME`, no system config and no colour.
 */
export function cliEnv(home: string): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    ASTRID_HOME: home,
    ASTRID_SYSTEM_CONFIG: `${home}/no-system-config.toml`,
    NO_COLOR: "1",
  };
}

/** Runs `astrid ...args` and collects its output. */
export async function runCli(args: string[], opts: CliRunOptions): Promise<CliRun> {
  const child = new Deno.Command(Deno.execPath(), {
    // The V8 flags of the CLI the launcher starts (launch.ts `CHILD_V8_FLAGS`), as the installed
    // `astrid` passes them: one code cache for both processes.
    args: ["run", "-A", "--quiet", CHILD_V8_FLAGS, "--config", CONFIG, LAUNCH, ...args],
    cwd: opts.cwd ?? opts.home,
    env: { ...networkEnv(), ...cliEnv(opts.home), ...opts.env },
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

/** A world for running the CLI as the unprivileged user `nobody` (uid/gid 65534). */
export interface NobodyWorld extends AsyncDisposable {
  /** ASTRID_HOME (owned by nobody). */
  readonly home: string;
  /** The extra folders asked for, by name (owned by nobody). */
  readonly dirs: Readonly<Record<string, string>>;
  /** Runs `astrid ...args` as nobody in `cwd` (default: the home). */
  run(args: string[], cwd?: string): Promise<CliRun>;
}

/**
 * A folder outside /root (mode 700) and /tmp that nobody can reach, holding a copy of deno, a
 * home, a fresh Deno cache and the folders named in `extra`, all owned by nobody. Root only.
 * Only the proxy and CA settings of the test runner's environment are passed on (a fresh cache
 * fetches what it needs from the npm registry).
 */
export async function nobodyWorld(prefix: string, extra: string[] = []): Promise<NobodyWorld> {
  const base = await Deno.realPath(await Deno.makeTempDir({ dir: "/var/tmp", prefix }));
  await Deno.chmod(base, 0o755);
  const deno = `${base}/deno`;
  await Deno.copyFile(Deno.execPath(), deno);
  await Deno.chmod(deno, 0o755);
  const home = `${base}/home`;
  const denoDir = `${base}/deno_dir`;
  const dirs: Record<string, string> = {};
  for (const name of extra) dirs[name] = `${base}/${name}`;
  for (const d of [home, denoDir, ...Object.values(dirs)]) {
    await Deno.mkdir(d);
    await Deno.chown(d, 65534, 65534);
  }
  const reach: Record<string, string> = {};
  for (const name of ["HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) reach[name] = value;
  }
  const ca = Deno.env.get("DENO_CERT") ?? Deno.env.get("SSL_CERT_FILE");
  if (ca !== undefined) reach.DENO_CERT = ca;
  return {
    home,
    dirs,
    async run(args, cwd = home) {
      const out = await new Deno.Command("setpriv", {
        args: [
          "--reuid=65534",
          "--regid=65534",
          "--clear-groups",
          deno,
          "run",
          "-A",
          "--quiet",
          "--config",
          CONFIG,
          LAUNCH,
          ...args,
        ],
        cwd,
        env: {
          PATH: "/usr/local/bin:/usr/bin:/bin",
          HOME: home,
          ASTRID_HOME: home,
          ASTRID_SYSTEM_CONFIG: `${home}/no-system-config.toml`,
          DENO_DIR: denoDir,
          NO_COLOR: "1",
          ...reach,
        },
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(base, { recursive: true }).catch(() => {});
    },
  };
}

/** True when something (a file, folder or symlink) is at `path`. */
export function lexists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The first JSON object a command printed in `text` (tool output may be framed by other lines). */
export function jsonIn(text: string): Record<string, unknown> {
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  if (start < 0 || end <= start) throw new Error(`no JSON object in: ${text}`);
  return JSON.parse(text.slice(start, end + 1));
}

/**
 * What `script` printed when run by `deno eval` in a fresh process (no config), for what only
 * a process's start shows (what loads first, what keeps it alive); throws when it fails.
 */
export async function evalFresh(script: string): Promise<string> {
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", "--no-config", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (run.code !== 0) {
    throw new Error(`deno eval exited ${run.code}: ${new TextDecoder().decode(run.stderr)}`);
  }
  return new TextDecoder().decode(run.stdout);
}
