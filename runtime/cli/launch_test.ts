import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDirs } from "../../tests/cli.ts";
import { startFakeAnthropic } from "../llm/replay_anthropic.ts";
import { launchPermissions, REPO } from "./_launch_inputs.ts";
import { denoFlags } from "./launch_flags.ts";

const CONFIG = join(REPO, "deno.json");
const LAUNCH = join(REPO, "runtime/cli/launch.ts");
const HARNESS = join(REPO, "tests/fixtures/launch_boundary.ts");
const PATH = Deno.env.get("PATH") ?? "/usr/bin:/bin";

/** A home, a workspace (with `.astrid/`), a private temp folder and a folder outside all three. */
async function layout() {
  const { home, ws } = await tempDirs();
  await Deno.mkdir(join(ws, ".astrid"));
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-tmp-" }));
  const outside = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-outside-" }));
  const env = {
    PATH,
    HOME: home,
    ASTRID_HOME: home,
    ASTRID_SYSTEM_CONFIG: `${home}/no-system-config.toml`,
    // A private temp folder, so that `outside` (in the real one) is not granted as "temp".
    TMPDIR: tmp,
    NO_COLOR: "1",
  };
  return { home, ws, tmp, outside, env };
}

Deno.test("under the launcher's flags a write outside the allowed paths is NotCapable, even with every check above broken", async () => {
  const { ws, outside, env } = await layout();
  const flags = denoFlags(await launchPermissions(["tools", "list"], env, ws));
  const marker = crypto.randomUUID();
  const targets = [
    join(ws, "inside"),
    join(outside, "escape"),
    `/etc/astrid-launch-${marker}`,
    join(REPO, `.astrid-launch-${marker}`), // readable (the repo), never writable
  ];
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--config", CONFIG, ...flags, HARNESS, ws, ...targets],
    cwd: ws,
    env: {
      ...env,
      DENO_DIR: Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME")!, ".cache/deno"),
    },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  equal(out.code, 0, stderr);
  const report = JSON.parse(new TextDecoder().decode(out.stdout));
  const [inside, ...outsides] = targets;
  deepEqual(report[inside!], {
    direct: { ok: true },
    capsule: { ok: true },
    fileTool: { ok: true },
  });
  for (const target of outsides) {
    for (const [how, outcome] of Object.entries(report[target]) as [string, Outcome][]) {
      ok(!outcome.ok, `${how} wrote ${target}`);
      // Deno's write flag refused the write, or (the file tool) a Worker wider than its parent.
      match(outcome.error, /Requires write access|escalate parent thread permissions/, how);
    }
  }
  deepEqual([...Deno.readDirSync(outside)], []);
  for (const target of outsides) {
    for (const suffix of [".direct", ".capsule", ".tool"]) {
      ok(!(await exists(target + suffix)), target + suffix);
    }
  }
});

type Outcome = { ok: true } | { ok: false; error: string };

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test("an approved write outside the workspace is done by a subprocess granted exactly that file", async () => {
  const { home, ws, outside, env } = await layout();
  equal((await runCli(["init", ws], { home, env })).code, 0);
  await Deno.writeTextFile(join(outside, "approved.txt"), "old");
  const args = [
    "tools",
    "call",
    "write_file",
    "--args",
    JSON.stringify({ file_path: join(outside, "approved.txt"), content: "y" }),
    "--approve",
    "once",
  ];
  const r = await runCli(args, { home, cwd: ws, env: { ...env, ASTRID_DEBUG: "1" } });
  equal(r.code, 0, r.stderr);
  // The runtime itself could not have written there: its flags do not name that folder.
  const write = r.stderr.match(/--allow-write=(\S+)/)?.[1]?.split(",") ?? [];
  ok(write.includes(ws) && write.includes(home), r.stderr);
  ok(!write.some((p) => outside === p || outside.startsWith(`${p}/`)), write.join());
  equal(await Deno.readTextFile(join(outside, "approved.txt")), "y");
  deepEqual([...Deno.readDirSync(outside)].map((e) => e.name), ["approved.txt"]);
});

Deno.test("the launcher passes the runtime's exit codes through (0, 2, 3, 4, 5)", async () => {
  const { home, ws, env } = await layout();
  const cli = (args: string[]) => runCli(args, { home, cwd: ws, env });
  equal((await cli(["init", ws])).code, 0);
  equal((await cli(["config", "paths"])).code, 0);
  equal((await cli(["no-such-command"])).code, 2);
  const read = ["tools", "call", "read_file", "--args", '{"file_path":"a.txt"}'];
  equal((await cli([...read, "--approve", "deny"])).code, 3);
  const write = ["tools", "call", "write_file", "--args", '{"file_path":"a.txt","content":"x"}'];
  equal((await cli(write)).code, 4);
  equal((await cli(["audit", "export", "-o", "log.jsonl"])).code, 0);
  const lines = (await Deno.readTextFile(join(ws, "log.jsonl"))).split("\n");
  const at = lines.findIndex((l) => l.includes('"type":"entry"'));
  lines[at] = lines[at]!.replace(/"sessionId":"[^"]*"/, '"sessionId":"forged"');
  await Deno.writeTextFile(join(ws, "log.jsonl"), lines.join("\n"));
  const verify = await cli(["audit", "verify", "--file", "log.jsonl"]);
  equal(verify.code, 5, verify.stderr);
});

Deno.test("the launcher's cached flags follow a config edit between two runs", async () => {
  const { home, ws, tmp, outside, env } = await layout();
  try {
    const debug = { ...env, ASTRID_DEBUG: "1", ASTRID_PROFILE: "1" };
    const cli = () => runCli(["config", "paths"], { home, cwd: ws, env: debug });
    const netOf = (stderr: string) => /--allow-net=(\S+)/.exec(stderr)?.[1] ?? "";
    const first = await cli();
    equal(first.code, 0, first.stderr);
    match(first.stderr, /\(computed\)/);
    const second = await cli();
    match(second.stderr, /\(cached\)/);
    equal(netOf(second.stderr), netOf(first.stderr));
    await Deno.writeTextFile(
      join(home, "config.toml"),
      '[runtime]\nallow_net = ["e2e.example.com"]\n',
    );
    const edited = await cli();
    equal(edited.code, 0, edited.stderr);
    match(edited.stderr, /\(computed\)/);
    ok(netOf(edited.stderr).split(",").includes("e2e.example.com"), edited.stderr);
    await Deno.remove(join(home, "config.toml"));
    const removed = await cli();
    ok(!netOf(removed.stderr).split(",").includes("e2e.example.com"), removed.stderr);
  } finally {
    for (const dir of [home, ws, tmp, outside]) await Deno.remove(dir, { recursive: true });
  }
});

/**
 * `astrid chat -p hi` through the launcher against `fake`, once its narrowed child has sent the
 * model request the fake server never answers.
 */
async function chatWaitingOnModel(
  ws: string,
  env: Record<string, string>,
  fake: { url: string; requests: unknown[] },
): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "--config", CONFIG, LAUNCH, "chat", "-p", "hi"],
    cwd: ws,
    env: {
      ...env,
      ANTHROPIC_API_KEY: "sk-test",
      ANTHROPIC_BASE_URL: fake.url,
      ASTRID_MODEL_MODEL: "claude-sonnet-4-6",
    },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 600 && fake.requests.length < 1; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  equal(fake.requests.length, 1);
  return child;
}

Deno.test("the launcher forwards SIGTERM and exits as its child did", async () => {
  const { ws, env } = await layout();
  const fake = startFakeAnthropic([{ text: "never", fault: { after: 1, kind: "hang" } }]);
  try {
    const child = await chatWaitingOnModel(ws, env, fake);
    child.kill("SIGTERM");
    const status = await child.status;
    equal(status.code, 128 + 15);
    equal(status.signal, null); // the launcher itself exited, reporting its child's signal
  } finally {
    await fake.close(); // returns only once the runtime's connection is gone
  }
});

Deno.test("a runtime whose launcher is killed with SIGKILL exits on its own", async () => {
  const { ws, env } = await layout();
  const fake = startFakeAnthropic([{ text: "never", fault: { after: 1, kind: "hang" } }]);
  try {
    const launcher = await chatWaitingOnModel(ws, env, fake);
    launcher.kill("SIGKILL");
    await launcher.status;
    // The child sees it was re-parented and exits: its connection to the model closes. (A
    // liveness bound, not a timing target: the child checks every 200 ms.)
    const gone = await Promise.race([
      fake.close().then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 20_000)),
    ]);
    if (!gone) {
      // Do not leave it running (nor hang on the fake server): it is the process in `ws`.
      await new Deno.Command("pkill", { args: ["-9", "-f", "--", "cli/main.ts chat -p hi"] })
        .output();
    }
    ok(gone, "the runtime outlived its killed launcher");
  } finally {
    await fake.close();
  }
});

Deno.test("a process that is already narrowed runs the CLI in place; a wide one re-executes", async () => {
  const { home, ws, env } = await layout();
  const run = async (permissions: string[], args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--config", CONFIG, ...permissions, LAUNCH, ...args],
      cwd: ws,
      env: { ...env, ASTRID_DEBUG: "1" },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };
  const narrow = ["--no-prompt", "--allow-read", `--allow-write=${home}`, "--allow-env"];
  const inPlace = await run(narrow, ["config", "paths"]);
  equal(inPlace.code, 0, inPlace.stderr);
  ok(!inPlace.stderr.includes("launch:"), inPlace.stderr);
  match(inPlace.stdout, new RegExp(`workspace\\s+${ws}`));
  const wide = await run(["-A"], ["config", "paths"]);
  equal(wide.code, 0, wide.stderr);
  match(wide.stderr, /^launch: deno run .*--no-prompt --allow-read --allow-write=/m);
  ok(!/--allow-all|(^| )-A( |$)|--allow-ffi/.test(wide.stderr.split("\n")[0]!));
  // --version alone needs no permissions: it prints without the re-execution.
  const version = await run(["-A"], ["--version"]);
  equal(version.stdout.trim(), "0.1.0");
  ok(!version.stderr.includes("launch:"));
});

Deno.test("under the launcher's flags a bash call past its timeout is still killed", async () => {
  const { home, ws, env } = await layout();
  equal((await runCli(["init", ws], { home, env })).code, 0);
  const started = Date.now();
  const r = await runCli([
    "tools",
    "call",
    "bash",
    "--args",
    JSON.stringify({ command: "sleep 300; echo finished", timeout: 1_000 }),
    "--approve",
    "once",
  ], { home, cwd: ws, env });
  if (r.stderr.includes("SANDBOX_UNAVAILABLE")) return; // no bubblewrap here: nothing to kill
  match(r.stdout + r.stderr, /killed: the command ran past its 1000 ms timeout/);
  ok(!r.stdout.includes("finished"));
  // A liveness bound, not a speed measure: without the kill this call lasts 300 s.
  ok(Date.now() - started < 120_000);
});

Deno.test("`deno task astrid` starts the launcher under the V8 flags of the CLI it starts", async () => {
  const { CHILD_V8_FLAGS } = await import("./launch.ts");
  const config = JSON.parse(await Deno.readTextFile(join(REPO, "deno.json")));
  // One code cache for both processes: V8 refuses a cache made under other flags.
  ok(config.tasks.astrid.command.includes(` ${CHILD_V8_FLAGS} `), config.tasks.astrid.command);
});

Deno.test("a launcher started without V8's --no-lazy starts its child without it; with it, with it", async () => {
  const { CHILD_V8_FLAGS, LAZY_CHILD_V8_FLAGS } = await import("./launch.ts");
  const { cliEnv } = await import("../../tests/cli.ts");
  const { home, ws } = await tempDirs();
  const childFlags = async (v8: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", ...v8, "--config", CONFIG, LAUNCH, "paths"],
      cwd: ws,
      env: { ...cliEnv(home), ASTRID_DEBUG: "1" },
      clearEnv: true,
      stdout: "null",
      stderr: "piped",
    }).output();
    const line = new TextDecoder().decode(out.stderr).split("\n").find((l) =>
      l.startsWith("launch:")
    );
    ok(line, "the launcher printed its child's command line");
    return line!.split(" ").filter((a) => a.startsWith("--v8-flags="));
  };
  deepEqual(await childFlags([]), [LAZY_CHILD_V8_FLAGS]);
  deepEqual(await childFlags([CHILD_V8_FLAGS]), [CHILD_V8_FLAGS]);
});
