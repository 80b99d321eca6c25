/**
 * The installed `astrid` script (scripts/install.ts) and its direct start (runtime/cli/_launch_direct.ts):
 * its shell logic alone with a fake `deno` that only reports what it was started with, then a few
 * end-to-end runs with the real Deno.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { installShim, shimScript } from "../scripts/install.ts";
import { currentBuild } from "../runtime/cli/_bundle.ts";
import { CHILD_V8_FLAGS } from "../runtime/cli/launch.ts";
import { lexists, runCli, tempDirs } from "./cli.ts";

const REPO = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const CONFIG = `${REPO}/deno.json`;
const LAUNCH = `${REPO}/runtime/cli/launch.ts`;
const MAIN = `${REPO}/runtime/cli/main.ts`;
const IS_ROOT = Deno.uid() === 0;
const NOBODY = 65534;
const MAGIC = "astrid-direct 1";

/** A `deno` that prints `ASTRID_DIRECT_FLAGS` (or that it is unset) and each argument, NUL-ended. */
const FAKE_DENO = `#!/bin/sh
if [ "\${ASTRID_DIRECT_FLAGS+set}" = set ]; then
  printf 'env:%s\\0' "$ASTRID_DIRECT_FLAGS"
else
  printf 'unset\\0'
fi
for a in "$@"; do printf '%s\\0' "$a"; done
`;

/** What the fake `deno` was started with. */
interface Seen {
  /** `ASTRID_DIRECT_FLAGS`, or null when unset. */
  env: string | null;
  args: string[];
}

/**
 * The module the script starts: the current CLI bundle's entry (installShim builds it), else the
 * launcher or main.ts.
 */
function started(source: string): string {
  const build = currentBuild();
  return build === null ? source : `${build.dir}${build.manifest.entry}`;
}

/** The launcher's start for `astrid …args`. */
function launcher(args: readonly string[]): Seen {
  return {
    env: null,
    args: ["run", "-A", "--quiet", CHILD_V8_FLAGS, "--config", CONFIG, started(LAUNCH), ...args],
  };
}

/** The direct start of the CLI under `flags` for `astrid …args`. */
function direct(flags: readonly string[], args: readonly string[]): Seen {
  return {
    env: flags.join("\n"),
    args: ["run", "--quiet", CHILD_V8_FLAGS, "--config", CONFIG, ...flags, started(MAIN), ...args],
  };
}

/** The text of a direct file holding `blocks` (folder, flag lines) after the magic line. */
function directText(blocks: [string, readonly string[]][]): string {
  const body = blocks.map(([dir, flags]) => [`dir ${dir}`, ...flags, "end"].join("\n"));
  return [MAGIC, ...body].join("\n") + "\n";
}

const FLAGS = [
  "--no-prompt",
  "--allow-read",
  "--allow-env",
  "--allow-write=/h,/w",
  "--allow-run=/usr/bin/bwrap,/deno",
  "--allow-net=127.0.0.1,api.anthropic.com:443",
  "--allow-sys=osRelease,uid,gid",
];

/** A fake world: the script installed for a fake `deno`, a home and a workspace folder. */
interface FakeWorld extends AsyncDisposable {
  readonly base: string;
  readonly script: string;
  readonly home: string;
  readonly ws: string;
  /** Writes `$home/cache/launch-direct` (mode 0600, folder 0700). */
  writeDirect(text: string): Promise<string>;
  /** Runs the script in `cwd` (default the workspace) with `env` over HOME, ASTRID_HOME, PATH. */
  run(args: string[], opts?: { cwd?: string; env?: Record<string, string> }): Promise<Seen>;
}

async function fakeWorld(dir?: string): Promise<FakeWorld> {
  const base = await Deno.realPath(
    await Deno.makeTempDir(
      dir === undefined ? { prefix: "astrid-shim-" } : { prefix: "astrid-shim-", dir },
    ),
  );
  await Deno.chmod(base, 0o755);
  // The script quotes the paths it runs: a space and a quote in the fake deno's path.
  const denoDir = `${base}/it's a deno`;
  await Deno.mkdir(denoDir);
  const deno = `${denoDir}/deno`;
  await Deno.writeTextFile(deno, FAKE_DENO, { mode: 0o755 });
  await Deno.chmod(deno, 0o755);
  const script = await installShim(`${base}/root`, deno);
  const home = `${base}/home`;
  const ws = `${base}/ws`;
  await Deno.mkdir(home);
  await Deno.mkdir(ws);
  return {
    base,
    script,
    home,
    ws,
    async writeDirect(text) {
      await Deno.mkdir(`${home}/cache`, { recursive: true, mode: 0o700 });
      const file = `${home}/cache/launch-direct`;
      await Deno.writeTextFile(file, text, { mode: 0o600 });
      return file;
    },
    async run(args, opts = {}) {
      const out = await new Deno.Command(script, {
        args,
        cwd: opts.cwd ?? ws,
        env: { HOME: home, ASTRID_HOME: home, PATH: "/usr/bin:/bin", ...opts.env },
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      equal(out.code, 0, stderr);
      return parseSeen(out.stdout);
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(base, { recursive: true });
    },
  };
}

function parseSeen(stdout: Uint8Array): Seen {
  const fields = new TextDecoder().decode(stdout).split("\0");
  equal(fields.pop(), "", "every field ends with NUL");
  const [first = "", ...args] = fields;
  if (first === "unset") return { env: null, args };
  ok(first.startsWith("env:"), `unexpected output ${JSON.stringify(first)}`);
  return { env: first.slice(4), args };
}

/** Arguments a shell would mangle if the script let it. */
const HOSTILE_ARGS = [
  "audit",
  "list",
  "a b",
  "  spaced  ",
  "it's",
  '"double"',
  "*",
  "$(touch pwned)",
  "`touch pwned2`",
  "$HOME",
  "",
  "line\nbreak",
  "--allow-all",
  "-A",
];

// --- the shell logic, with a fake deno -----------------------------------------------------------

Deno.test("installed astrid: it runs the checkout's current CLI bundle, else the sources", async () => {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-shim-repo-" }));
  try {
    const deno = `${base}/deno`;
    await Deno.writeTextFile(deno, FAKE_DENO, { mode: 0o755 });
    const repo = `${base}/repo`;
    const bundle = `${repo}/.build/cli`;
    await Deno.mkdir(bundle, { recursive: true });
    const script = `${base}/astrid`;
    await Deno.writeTextFile(script, shimScript(deno, repo), { mode: 0o755 });
    const run = async () => {
      const out = await new Deno.Command(script, {
        args: ["x"],
        cwd: base,
        env: { HOME: base, ASTRID_HOME: base, PATH: "/usr/bin:/bin" },
        clearEnv: true,
        stdout: "piped",
      }).output();
      return parseSeen(out.stdout).args.at(-2);
    };
    const sources = `${repo}/runtime/cli/launch.ts`;
    equal(await run(), sources, "no bundle");
    const id = "00112233aabbccdd";
    await Deno.mkdir(`${bundle}/${id}`);
    await Deno.writeTextFile(`${bundle}/${id}/entry.js`, "");
    await Deno.writeTextFile(`${bundle}/current`, `${id}\n`);
    equal(await run(), `${bundle}/${id}/entry.js`, "the current build");
    await Deno.writeTextFile(`${bundle}/current`, "../../../tmp\n");
    equal(await run(), sources, "an id that is not hex");
    await Deno.writeTextFile(`${bundle}/current`, "ffffffffffffffff\n");
    equal(await run(), sources, "a build that is not there");
    await Deno.remove(`${bundle}/current`);
    await Deno.writeTextFile(`${base}/elsewhere`, `${id}\n`);
    await Deno.symlink(`${base}/elsewhere`, `${bundle}/current`);
    equal(await run(), sources, "current through a symlink");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("installed astrid: no direct file starts the launcher with the arguments unchanged", async () => {
  await using w = await fakeWorld();
  deepEqual(await w.run(HOSTILE_ARGS), launcher(HOSTILE_ARGS));
  deepEqual(await w.run([]), launcher([]));
  ok(!lexists(`${w.ws}/pwned`) && !lexists(`${w.ws}/pwned2`));
});

Deno.test("installed astrid: a block for this folder starts main.ts under exactly its flags", async () => {
  await using w = await fakeWorld();
  await w.writeDirect(directText([["/elsewhere", ["--allow-read=/x"]], [w.ws, FLAGS]]));
  deepEqual(await w.run(HOSTILE_ARGS), direct(FLAGS, HOSTILE_ARGS));
  deepEqual(await w.run([]), direct(FLAGS, []));
  ok(!lexists(`${w.ws}/pwned`) && !lexists(`${w.ws}/pwned2`));
  // A caller's own ASTRID_DIRECT_FLAGS is replaced on the direct path…
  const forged = { ASTRID_DIRECT_FLAGS: "--allow-all" };
  deepEqual(await w.run(["x"], { env: forged }), direct(FLAGS, ["x"]));
});

Deno.test("installed astrid: the default home ($HOME/.astrid) is read when ASTRID_HOME is unset", async () => {
  await using w = await fakeWorld();
  await Deno.mkdir(`${w.home}/.astrid/cache`, { recursive: true, mode: 0o700 });
  const file = `${w.home}/.astrid/cache/launch-direct`;
  await Deno.writeTextFile(file, directText([[w.ws, FLAGS]]), { mode: 0o600 });
  const out = await new Deno.Command(w.script, {
    args: ["x"],
    cwd: w.ws,
    env: { HOME: w.home, PATH: "/usr/bin:/bin" },
    clearEnv: true,
    stdout: "piped",
  }).output();
  deepEqual(parseSeen(out.stdout), direct(FLAGS, ["x"]));
});

Deno.test("installed astrid: a block only for another folder starts the launcher", async () => {
  await using w = await fakeWorld();
  await w.writeDirect(directText([[`${w.ws}/sub`, FLAGS], [`${w.base}`, FLAGS], ["/", FLAGS]]));
  deepEqual(await w.run(["audit", "list"]), launcher(["audit", "list"]));
  // A subfolder of a remembered folder is another folder too.
  await Deno.mkdir(`${w.ws}/deeper`);
  await w.writeDirect(directText([[w.ws, FLAGS]]));
  deepEqual(await w.run(["x"], { cwd: `${w.ws}/deeper` }), launcher(["x"]));
});

Deno.test("installed astrid: a block without --allow-env starts the launcher", async () => {
  await using w = await fakeWorld();
  // The CLI could not read ASTRID_DIRECT_FLAGS without it, so could not check the flags.
  const withoutEnv = FLAGS.filter((f) => f !== "--allow-env");
  await w.writeDirect(directText([[w.ws, withoutEnv]]));
  deepEqual(await w.run(["audit", "list"]), launcher(["audit", "list"]));
  await w.writeDirect(directText([[w.ws, [...withoutEnv, "--allow-env"]]]));
  deepEqual(
    await w.run(["audit", "list"]),
    direct([...withoutEnv, "--allow-env"], ["audit", "list"]),
  );
});

Deno.test("installed astrid: each flag line it does not accept starts the launcher", async () => {
  await using w = await fakeWorld();
  const forbidden = [
    "--allow-all",
    "--allow-all=/",
    "-A",
    "--allow-write",
    "--allow-run",
    "--allow-net",
    "--allow-sys",
    "--allow-ffi",
    "--allow-ffi=/lib",
    "--allow-env=HOME",
    "--allow-import",
    "--allow-import=evil.example",
    "--allow-hrtime",
    "--deny-env=ASTRID_DIRECT_FLAGS",
    "--deny-read=/x",
    "--config=/tmp/evil.json",
    "--config",
    "--import-map=/tmp/map.json",
    "--v8-flags=--allow-natives-syntax",
    "--unstable-ffi",
    "--inspect=127.0.0.1:9229",
    "--allow-read=",
    "--allow-write=",
    "--allow-read ",
    " --allow-read",
    "--ALLOW-READ",
    "dir /x",
    "",
  ];
  for (const line of forbidden) {
    await w.writeDirect(directText([[w.ws, ["--no-prompt", line, "--allow-read"]]]));
    deepEqual(await w.run(["x"]), launcher(["x"]), `accepted ${JSON.stringify(line)}`);
    // Alone in the block, too.
    await w.writeDirect(directText([[w.ws, [line]]]));
    deepEqual(await w.run(["x"]), launcher(["x"]), `accepted ${JSON.stringify(line)} alone`);
  }
});

Deno.test("installed astrid: a forbidden line in another folder's block does not matter", async () => {
  await using w = await fakeWorld();
  await w.writeDirect(directText([["/other", ["--allow-all", "-A"]], [w.ws, FLAGS]]));
  deepEqual(await w.run(["x"]), direct(FLAGS, ["x"]));
});

Deno.test("installed astrid: a missing end, a wrong magic line or an empty block starts the launcher", async () => {
  await using w = await fakeWorld();
  const bad = [
    `${MAGIC}\ndir ${w.ws}\n--allow-read\n`,
    `${MAGIC}\ndir ${w.ws}\n--allow-read\ndir /other\n--allow-read\nend\n`,
    `astrid-direct 2\ndir ${w.ws}\n--allow-read\nend\n`,
    `${MAGIC} \ndir ${w.ws}\n--allow-read\nend\n`,
    `ASTRID-DIRECT 1\ndir ${w.ws}\n--allow-read\nend\n`,
    `dir ${w.ws}\n--allow-read\nend\n`,
    `\n${MAGIC}\ndir ${w.ws}\n--allow-read\nend\n`,
    `${MAGIC}\ndir ${w.ws}\nend\n`,
    `${MAGIC}\ndir ${w.ws}/\n--allow-read\nend\n`,
    `${MAGIC}\ndir  ${w.ws}\n--allow-read\nend\n`,
    `${MAGIC}\n`,
    "",
  ];
  for (const text of bad) {
    await w.writeDirect(text);
    deepEqual(await w.run(["x"]), launcher(["x"]), JSON.stringify(text));
  }
});

Deno.test("installed astrid: a direct file that is a symlink, folder or FIFO starts the launcher", async () => {
  await using w = await fakeWorld();
  const file = await w.writeDirect(directText([[w.ws, FLAGS]]));
  deepEqual(await w.run(["x"]), direct(FLAGS, ["x"]), "the file itself is taken");
  const target = `${w.home}/cache/real`;
  await Deno.rename(file, target);
  await Deno.symlink(target, file);
  deepEqual(await w.run(["x"]), launcher(["x"]), "through a symlink");
  await Deno.remove(file);
  await Deno.mkdir(file);
  deepEqual(await w.run(["x"]), launcher(["x"]), "a folder");
  await Deno.remove(file);
  const fifo = await new Deno.Command("mkfifo", { args: [file] }).output();
  equal(fifo.code, 0);
  // Never opened: a FIFO would block the read.
  deepEqual(await w.run(["x"]), launcher(["x"]), "a FIFO");
});

Deno.test({
  name: "installed astrid: a direct file owned by another user starts the launcher",
  ignore: !IS_ROOT,
  async fn() {
    await using w = await fakeWorld();
    const file = await w.writeDirect(directText([[w.ws, FLAGS]]));
    await Deno.chown(file, NOBODY, NOBODY);
    deepEqual(await w.run(["x"]), launcher(["x"]));
    await Deno.chown(file, 0, NOBODY); // ours again, another group: taken
    deepEqual(await w.run(["x"]), direct(FLAGS, ["x"]));
  },
});

Deno.test("installed astrid: a relative ASTRID_HOME or HOME starts the launcher", async () => {
  await using w = await fakeWorld();
  await w.writeDirect(directText([[w.base, FLAGS]]));
  deepEqual(await w.run(["x"], { cwd: w.base }), direct(FLAGS, ["x"]), "the absolute home");
  deepEqual(await w.run(["x"], { cwd: w.base, env: { ASTRID_HOME: "home" } }), launcher(["x"]));
  deepEqual(await w.run(["x"], { cwd: w.base, env: { ASTRID_HOME: "./home" } }), launcher(["x"]));
  // No ASTRID_HOME and a relative HOME: `home/.astrid`.
  await Deno.mkdir(`${w.home}/.astrid/cache`, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(
    `${w.home}/.astrid/cache/launch-direct`,
    directText([[w.base, FLAGS]]),
    { mode: 0o600 },
  );
  const out = await new Deno.Command(w.script, {
    args: ["x"],
    cwd: w.base,
    env: { HOME: "home", PATH: "/usr/bin:/bin" },
    clearEnv: true,
    stdout: "piped",
  }).output();
  deepEqual(parseSeen(out.stdout), launcher(["x"]));
});

Deno.test("installed astrid: INIT_CWD set starts the launcher", async () => {
  await using w = await fakeWorld();
  await w.writeDirect(directText([[w.ws, FLAGS]]));
  deepEqual(await w.run(["x"], { env: { INIT_CWD: w.ws } }), launcher(["x"]));
  deepEqual(await w.run(["x"], { env: { INIT_CWD: "/elsewhere" } }), launcher(["x"]));
});

Deno.test("installed astrid: a folder reached through a symlink is keyed by its real path", async () => {
  await using w = await fakeWorld();
  const link = `${w.base}/link`;
  await Deno.symlink(w.ws, link);
  // A shell in the link keeps PWD as the link.
  await w.writeDirect(directText([[w.ws, FLAGS]]));
  deepEqual(await w.run(["x"], { cwd: link, env: { PWD: link } }), direct(FLAGS, ["x"]));
  deepEqual(await w.run(["x"], { cwd: link }), direct(FLAGS, ["x"]));
  // A block for the link's own path is never the one taken.
  await w.writeDirect(directText([[link, FLAGS]]));
  deepEqual(await w.run(["x"], { cwd: link, env: { PWD: link } }), launcher(["x"]));
});

Deno.test("installed astrid: a flag whose path holds spaces, *, quotes or $(…) stays one exact argument", async () => {
  await using w = await fakeWorld();
  await Deno.writeTextFile(`${w.ws}/match-me`, "");
  const flags = [
    "--no-prompt",
    "--allow-read=/a b/*,/c  d",
    "--allow-write=*",
    '--allow-write=/it\'s/"q"/$(touch pwned)/`touch pwned2`/$HOME',
    "--allow-run=/x y/deno",
    "--allow-env",
  ];
  await w.writeDirect(directText([[w.ws, flags]]));
  deepEqual(await w.run(["a b", "*"]), direct(flags, ["a b", "*"]));
  ok(!lexists(`${w.ws}/pwned`) && !lexists(`${w.ws}/pwned2`));
});

Deno.test({
  name: "installed astrid: run as nobody, its own direct file is taken and root's is not",
  ignore: !IS_ROOT,
  async fn() {
    // Under /var/tmp (not /tmp's private copies, not /root): folders nobody can reach.
    await using w = await fakeWorld("/var/tmp");
    for (const dir of [w.home, w.ws]) await Deno.chown(dir, NOBODY, NOBODY);
    const file = await w.writeDirect(directText([[w.ws, FLAGS]]));
    await Deno.chown(`${w.home}/cache`, NOBODY, NOBODY);
    await Deno.chown(file, NOBODY, NOBODY);
    const asNobody = async () => {
      const out = await new Deno.Command("setpriv", {
        args: [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", w.script, "x"],
        cwd: w.ws,
        env: { HOME: w.home, ASTRID_HOME: w.home, PATH: "/usr/bin:/bin" },
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      equal(out.code, 0, new TextDecoder().decode(out.stderr));
      return parseSeen(out.stdout);
    };
    deepEqual(await asNobody(), direct(FLAGS, ["x"]));
    await Deno.chown(file, 0, 0);
    await Deno.chmod(file, 0o644); // readable, yet not nobody's
    deepEqual(await asNobody(), launcher(["x"]));
  },
});

// --- end to end, with the real Deno --------------------------------------------------------------

/** What the test runner's environment carries for Deno's cache and the npm registry. */
function passedEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (
    const name of [
      "DENO_DIR",
      "DENO_CERT",
      "SSL_CERT_FILE",
      "HTTPS_PROXY",
      "HTTP_PROXY",
      "NO_PROXY",
      "https_proxy",
      "http_proxy",
      "no_proxy",
    ]
  ) {
    const value = Deno.env.get(name);
    if (value !== undefined) out[name] = value;
  }
  const home = Deno.env.get("HOME");
  if (out.DENO_DIR === undefined && home) out.DENO_DIR = `${home}/.cache/deno`;
  return out;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const HELD = /profile: direct start: the flags held/;
const RELAUNCHED = /profile: direct start: the flags did not hold \(relaunched\)/;

/** The value of `--NAME=…` in the `ASTRID_DEBUG` relaunch line of `stderr`. */
function flagOf(stderr: string, name: string): string | undefined {
  return new RegExp(`^launch: deno .* --${name}=(\\S+)`, "m").exec(stderr)?.[1];
}

/** The real script installed in a temp root, a temp home and workspace (`init` not yet run). */
interface RealWorld extends AsyncDisposable {
  readonly home: string;
  readonly ws: string;
  /** `$home/cache/launch-direct`. */
  readonly file: string;
  /** Runs the installed `astrid …args` in the workspace. */
  astrid(args: string[], extra?: Record<string, string>): Promise<Run>;
  /** The same with `ASTRID_PROFILE=1` and `ASTRID_DEBUG=1`. */
  profiled(args: string[]): Promise<Run>;
}

async function realWorld(): Promise<RealWorld> {
  const { home, ws } = await tempDirs();
  const root = await Deno.makeTempDir({ prefix: "astrid-root-" });
  const script = await installShim(root);
  const env = {
    ...passedEnv(),
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    ASTRID_HOME: home,
    ASTRID_SYSTEM_CONFIG: `${home}/no-system-config.toml`,
    NO_COLOR: "1",
  };
  const astrid = async (args: string[], extra: Record<string, string> = {}): Promise<Run> => {
    const out = await new Deno.Command(script, {
      args,
      cwd: ws,
      env: { ...env, ...extra },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };
  return {
    home,
    ws,
    file: `${home}/cache/launch-direct`,
    astrid,
    profiled: (args) => astrid(args, { ASTRID_PROFILE: "1", ASTRID_DEBUG: "1" }),
    async [Symbol.asyncDispose]() {
      for (const dir of [home, ws, root]) await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Rewrites the direct file's lines with `edit` (kept 0600, this user's). */
async function forge(file: string, edit: (line: string) => string | null): Promise<void> {
  const text = await Deno.readTextFile(file);
  const lines = text.split("\n").map(edit).filter((l) => l !== null);
  await Deno.writeTextFile(file, lines.join("\n"), { mode: 0o600 });
  await Deno.chmod(file, 0o600);
}

Deno.test("installed astrid: end to end, the direct start holds, is rechecked and relaunches when stale", async () => {
  await using w = await realWorld();
  const { home, ws, file, astrid, profiled } = w;
  const init = await astrid(["init"]);
  equal(init.code, 0, init.stderr);
  ok(lexists(`${ws}/.astrid`), "init ran in the folder");
  ok(lexists(file), "the launcher remembered the folder's flags");
  equal(Deno.lstatSync(file).mode! & 0o777, 0o600);

  // The first `audit list` may find flags of `init` (another command line); the second holds.
  const first = await profiled(["audit", "list"]);
  equal(first.code, 0, first.stderr);
  const held = await profiled(["audit", "list"]);
  equal(held.code, 0, held.stderr);
  match(held.stderr, HELD);
  ok(!/^launch: deno /m.test(held.stderr), "a held direct start relaunched");
  equal(held.stdout, first.stdout);

  // A forged wider write list: rechecked, relaunched under the launcher's own narrow list.
  const text = await Deno.readTextFile(file);
  const writeLine = text.split("\n").find((l) => l.startsWith("--allow-write="));
  ok(writeLine !== undefined, text);
  const narrow = writeLine.slice("--allow-write=".length);
  await forge(file, (l) => l === writeLine ? "--allow-write=/" : l);
  const forged = await profiled(["audit", "list"]);
  equal(forged.code, 0, forged.stderr);
  match(forged.stderr, RELAUNCHED);
  equal(flagOf(forged.stderr, "allow-write"), narrow);
  ok(!narrow.split(",").includes("/"), narrow);
  equal(forged.stdout, first.stdout);
  // The file holds the launcher's flags again, and they hold.
  ok((await Deno.readTextFile(file)).includes(writeLine), "the forged line was kept");
  match((await profiled(["audit", "list"])).stderr, HELD);

  // A config edit that widens net (the user's file: a workspace may not set runtime.allow_net).
  await Deno.writeTextFile(`${home}/config.toml`, '[runtime]\nallow_net = ["example.org"]\n');
  const edited = await profiled(["audit", "list"]);
  equal(edited.code, 0, edited.stderr);
  match(edited.stderr, RELAUNCHED);
  ok(flagOf(edited.stderr, "allow-net")?.split(",").includes("example.org"), edited.stderr);
  const again = await profiled(["audit", "list"]);
  equal(again.code, 0, again.stderr);
  match(again.stderr, HELD);
  ok((await Deno.readTextFile(file)).includes("example.org"));

  // Runs `args` until the direct start holds (a command line's first runs may change what the
  // launcher recorded, e.g. the first tool call creates the runtime's key): at most three runs.
  const untilHeld = async (args: string[]): Promise<Run[]> => {
    const runs: Run[] = [];
    while (runs.length < 3 && !HELD.test(runs.at(-1)?.stderr ?? "")) {
      runs.push(await profiled(args));
    }
    match(runs.at(-1)!.stderr, HELD);
    return runs;
  };

  // A tool call through the direct path prints the file as the relaunched runs did.
  await Deno.writeTextFile(`${ws}/a b.txt`, "content of a spaced file\n");
  const call = ["tools", "call", "read_file", "--approve", "once", "--args"];
  for (const read of await untilHeld([...call, JSON.stringify({ file_path: "a b.txt" })])) {
    equal(read.code, 0, read.stderr);
    match(read.stdout, /content of a spaced file/);
  }

  // Failing commands exit as they do through the launcher (tests/cli.ts).
  for (const args of [["audit", "show", "999999"], ["tools", "call", "no_such_tool"]]) {
    const viaLauncher = await runCli(args, { home, cwd: ws });
    ok(viaLauncher.code !== 0, `${args.join(" ")}: ${viaLauncher.stderr}`);
    for (const viaDirect of await untilHeld(args)) {
      equal(viaDirect.code, viaLauncher.code, `${args.join(" ")}: ${viaDirect.stderr}`);
    }
  }
});

Deno.test({
  name:
    "installed astrid: a direct block without --allow-env goes to the launcher (the CLI could " +
    "not read ASTRID_DIRECT_FLAGS to check it), which runs the command under the narrow flags",
  async fn() {
    await using w = await realWorld();
    equal((await w.astrid(["init"])).code, 0);
    const first = await w.profiled(["audit", "list"]);
    equal(first.code, 0, first.stderr);
    match((await w.profiled(["audit", "list"])).stderr, HELD);
    let narrow = "";
    await forge(w.file, (l) => {
      if (l === "--allow-env") return null; // the script must refuse a block without it
      if (!l.startsWith("--allow-write=")) return l;
      narrow = l.slice("--allow-write=".length);
      return "--allow-write=/";
    });
    const forged = await w.profiled(["audit", "list"]);
    equal(forged.code, 0, forged.stderr);
    ok(!/profile: direct start/.test(forged.stderr), "the script took the direct path");
    match(forged.stderr, /profile: launcher start/);
    equal(flagOf(forged.stderr, "allow-write"), narrow);
    equal(forged.stdout, first.stdout);
  },
});
