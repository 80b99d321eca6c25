/**
 * The CLI's error hygiene and small things (issue 13, items 10-20): one-line errors, exit codes,
 * short ids, approvals show, `chat -p --json` errors and tool output, doctor, completions,
 * large and odd files, `servers tools` with nothing configured. Every command runs as a
 * subprocess through the launcher, as a user runs it.
 *
 * @module
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDirs } from "./cli.ts";
import { startFakeAnthropic } from "../runtime/llm/replay_anthropic.ts";
import { matchId } from "../runtime/cli/commands/sessions.ts";

const LAUNCH = new URL("../runtime/cli/launch.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const STACK = /^\s+at /m;

async function workspace(): Promise<{ home: string; ws: string }> {
  const d = await tempDirs();
  const init = await runCli(["init", d.ws], { home: d.home, cwd: d.ws });
  equal(init.code, 0, init.stderr);
  return d;
}

async function cleanup(d: { home: string; ws: string }): Promise<void> {
  await Deno.remove(d.home, { recursive: true });
  await Deno.remove(d.ws, { recursive: true });
}

Deno.test("matchId() picks an exact id, a unique prefix, and refuses an ambiguous one", () => {
  const ids = ["abc123", "abd456", "ffff00"];
  equal(matchId("abc123", ids, "session"), "abc123");
  equal(matchId("abc", ids, "session"), "abc123");
  equal(matchId("f", ids, "session"), "ffff00");
  equal(matchId("zz", ids, "session"), null);
  equal(matchId("", ids, "session"), null);
  try {
    matchId("ab", ids, "session");
    ok(false, "an ambiguous prefix must throw");
  } catch (err) {
    equal((err as { exitCode?: number }).exitCode, 2);
    match((err as Error).message, /abc123/);
    match((err as Error).message, /abd456/);
  }
});

Deno.test("expected errors are one line without a stack trace; --debug and ASTRID_DEBUG=1 show it", async () => {
  const d = await workspace();
  try {
    const missing = join(d.ws, "no-such-capsule");
    const plain = await runCli(["capsule", "compile", missing], { home: d.home, cwd: d.ws });
    equal(plain.code, 1);
    ok(!STACK.test(plain.stderr), plain.stderr);
    match(plain.stderr, /^error: .*no-such-capsule/);
    const debug = await runCli(["--debug", "capsule", "compile", missing], {
      home: d.home,
      cwd: d.ws,
    });
    equal(debug.code, 1);
    match(debug.stderr, STACK);
    const env = await runCli(["capsule", "compile", missing], {
      home: d.home,
      cwd: d.ws,
      env: { ASTRID_DEBUG: "1" },
    });
    match(env.stderr, STACK);
  } finally {
    await cleanup(d);
  }
});

Deno.test("a closed stdout ends the command quietly (exit 0, nothing on stderr)", async () => {
  const d = await tempDirs();
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", "--config", CONFIG, LAUNCH, "completions", "bash"],
      cwd: d.home,
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: d.home,
        ASTRID_HOME: d.home,
        ASTRID_SYSTEM_CONFIG: `${d.home}/none.toml`,
      },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    await child.stdout.cancel(); // the reader goes away before anything is written
    const stderr = new TextDecoder().decode((await child.output()).stderr);
    const status = await child.status;
    equal(stderr, "");
    equal(status.code, 0);
  } finally {
    await cleanup(d);
  }
});

Deno.test("an unknown id is 'not found' (exit 1) for every noun", async () => {
  const d = await workspace();
  try {
    const cases = [
      ["approvals", "show", "nope"],
      ["approvals", "approve", "nope"],
      ["approvals", "deny", "nope"],
      ["audit", "show", "999999"],
      ["sessions", "show", "nope"],
      ["sessions", "delete", "nope"],
    ];
    for (const args of cases) {
      const r = await runCli(args, { home: d.home, cwd: d.ws });
      equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      ok(!STACK.test(r.stderr), r.stderr);
    }
    const s = await runCli(["sessions", "show", "nope"], { home: d.home, cwd: d.ws });
    match(s.stderr, /no such session — see `astrid sessions list`/);
  } finally {
    await cleanup(d);
  }
});

Deno.test("tools call: bad or missing arguments are usage errors (2), no --args means {}, a failed call leaves no session", async () => {
  const d = await workspace();
  try {
    const opts = { home: d.home, cwd: d.ws };
    const unknown = await runCli(
      ["tools", "call", "read_file", "--args", '{"path":5}', "--approve", "once"],
      opts,
    );
    equal(unknown.code, 2, unknown.stderr);
    match(unknown.stderr, /unknown field "path"/);
    const missing = await runCli(["tools", "call", "read_file", "--approve", "once"], opts);
    equal(missing.code, 2, missing.stderr);
    match(missing.stderr, /file_path/);
    ok(!/^session /m.test(missing.stderr), missing.stderr);
    const badJson = await runCli(["tools", "call", "read_file", "--args", "{"], opts);
    equal(badJson.code, 2, badJson.stderr);
    // No --args: {} (list_directory's path is optional).
    await Deno.writeTextFile(join(d.ws, "here.txt"), "x\n");
    const listed = await runCli(["tools", "call", "list_directory", "--approve", "once"], opts);
    equal(listed.code, 0, listed.stderr);
    match(listed.stdout, /here\.txt/);
  } finally {
    await cleanup(d);
  }
});

Deno.test("approvals show ID exists, approve takes a prefix and prints the action's result", async () => {
  const d = await workspace();
  try {
    const opts = { home: d.home, cwd: d.ws };
    await Deno.writeTextFile(join(d.ws, "a.txt"), "the deferred content\n");
    const queued = await runCli(
      ["tools", "call", "read_file", "--args", '{"file_path":"a.txt"}'],
      opts,
    );
    equal(queued.code, 4, queued.stderr);
    const id = queued.stdout.trim();
    ok(id.length > 8, queued.stdout);
    const shown = await runCli(["approvals", "show", id], opts);
    equal(shown.code, 0, shown.stderr);
    match(shown.stdout, /status\s+pending/);
    match(shown.stdout, /a\.txt/);
    const json = await runCli(["approvals", "show", id, "--json"], opts);
    equal(JSON.parse(json.stdout).id, id);
    const approved = await runCli(["approvals", "approve", id.slice(0, 8)], opts);
    equal(approved.code, 0, approved.stderr);
    match(approved.stdout, /approved and executed/);
    match(approved.stdout, /the deferred content/);
    const after = await runCli(["approvals", "show", id.slice(0, 8)], opts);
    match(after.stdout, /status\s+executed/);
    match(after.stdout, /result:\n.*the deferred content/);
  } finally {
    await cleanup(d);
  }
});

Deno.test("chat: -s takes a unique prefix, an unknown one is one line, and -p --json prints errors and tool output as JSON", async () => {
  const d = await workspace();
  await Deno.writeTextFile(join(d.ws, "notes.txt"), "remember the milk\n");
  const fake = startFakeAnthropic([
    { toolCalls: [{ id: "t1", name: "read_file", args: { file_path: "notes.txt" } }] },
    { text: "It says milk." },
    { text: "Again." },
  ]);
  try {
    const env = { ANTHROPIC_API_KEY: "test", ANTHROPIC_BASE_URL: fake.url };
    const opts = { home: d.home, cwd: d.ws, env };
    const first = await runCli(["chat", "-p", "read it", "--approve", "once", "--json"], opts);
    equal(first.code, 0, first.stderr);
    const events = first.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const end = events.find((e) => e.type === "tool_end");
    ok(end, first.stdout);
    match(end.output, /remember the milk/);
    const id = first.stderr.match(/session ([0-9a-f-]{36})/)?.[1];
    ok(id, first.stderr);

    const again = await runCli(["chat", "-s", id.slice(0, 6), "-p", "again"], opts);
    equal(again.code, 0, again.stderr);
    match(again.stderr, new RegExp(`session ${id}`));
    const shown = await runCli(["sessions", "show", id.slice(0, 6)], opts);
    equal(shown.code, 0, shown.stderr);
    match(shown.stdout, new RegExp(`session\\s+${id}`));

    const nope = await runCli(["chat", "-s", "nope", "-p", "hi"], opts);
    equal(nope.code, 1);
    equal(nope.stderr, "error: nope: no such session — see `astrid sessions list`\n");
    const nopeJson = await runCli(["chat", "-s", "nope", "-p", "hi", "--json"], opts);
    equal(nopeJson.code, 1);
    const error = JSON.parse(nopeJson.stdout.trim().split("\n").at(-1)!);
    equal(error.type, "error");
    equal(error.exitCode, 1);
    match(error.message, /no such session/);

    const deleted = await runCli(["sessions", "delete", id.slice(0, 6)], opts);
    equal(deleted.code, 0, deleted.stderr);
    equal(deleted.stdout, `deleted ${id}\n`);
  } finally {
    await fake.close();
    await cleanup(d);
  }
});

Deno.test("doctor --json reports every check; a loose key mode and a broken config fail with a fix", async () => {
  const d = await workspace();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("ok"),
  );
  try {
    const env = { ANTHROPIC_BASE_URL: `http://127.0.0.1:${server.addr.port}` };
    const opts = { home: d.home, cwd: d.ws, env };
    const fresh = await runCli(["doctor", "--json"], opts);
    const keys = (JSON.parse(fresh.stdout) as { name: string; status: string }[])
      .find((c) => c.name === "keys");
    equal(keys?.status, "warn"); // no key yet: a warning that says how, not a failure
    equal((await runCli(["keys", "generate"], opts)).code, 0);
    const good = await runCli(["doctor", "--json"], opts);
    const checks = JSON.parse(good.stdout) as { name: string; status: string; fix?: string }[];
    deepEqual(
      checks.map((c) => c.name),
      ["deno", "sandbox", "engine", "bundle", "keys", "config", "provider", "kv", "audit"],
    );
    const by = (name: string) => checks.find((c) => c.name === name)!;
    equal(by("deno").status, "ok");
    equal(by("keys").status, "ok");
    equal(by("config").status, "ok");
    equal(by("provider").status, "ok");
    equal(by("kv").status, "ok");
    equal(by("audit").status, "ok");
    equal(good.code, checks.some((c) => c.status === "fail") ? 1 : 0);

    await Deno.chmod(join(d.home, "keys", "runtime.key"), 0o644);
    const loose = await runCli(["doctor"], opts);
    equal(loose.code, 1);
    match(loose.stdout, /fail\s+keys/);
    match(loose.stdout, /fix: chmod 600 .*runtime\.key/);
    await Deno.chmod(join(d.home, "keys", "runtime.key"), 0o600);

    await Deno.writeTextFile(join(d.home, "config.toml"), "[model]\nnot_a_key = 1\n");
    const broken = await runCli(["doctor", "--json"], opts);
    equal(broken.code, 1);
    const config = (JSON.parse(broken.stdout) as { name: string; status: string; fix?: string }[])
      .find((c) => c.name === "config")!;
    equal(config.status, "fail");
    ok(config.fix);
  } finally {
    await server.shutdown();
    await cleanup(d);
  }
});

Deno.test("completions: bash completes commands, subcommands and options from the tree; zsh and fish are generated", async () => {
  const d = await tempDirs();
  try {
    const bash = await runCli(["completions", "bash"], { home: d.home });
    equal(bash.code, 0, bash.stderr);
    const script = join(d.home, "astrid.bash");
    await Deno.writeTextFile(script, bash.stdout);
    const complete = async (words: string[]) => {
      const line = words.map((w) => `'${w}'`).join(" ");
      const out = await new Deno.Command("bash", {
        args: [
          "-c",
          `source '${script}'; COMP_WORDS=(${line}); COMP_CWORD=${
            words.length - 1
          }; _astrid; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      equal(out.code, 0, new TextDecoder().decode(out.stderr));
      return new TextDecoder().decode(out.stdout).trim().split("\n");
    };
    ok((await complete(["astrid", "app"])).includes("approvals"));
    const approvals = await complete(["astrid", "approvals", ""]);
    for (const sub of ["list", "show", "approve", "deny"]) ok(approvals.includes(sub), sub);
    ok((await complete(["astrid", "--json", "audit", "verify", "--wi"])).includes("--witness"));
    for (const shell of ["zsh", "fish"]) {
      const r = await runCli(["completions", shell], { home: d.home });
      equal(r.code, 0, r.stderr);
      match(r.stdout, /approvals/);
      match(r.stdout, /doctor/);
    }
    const bad = await runCli(["completions", "tcsh"], { home: d.home });
    equal(bad.code, 2);
  } finally {
    await cleanup(d);
  }
});

Deno.test("read_file reads the end of a file over 10 MB, decodes Latin-1 with a notice; grep names what it skipped for size", async () => {
  const d = await workspace();
  try {
    const opts = { home: d.home, cwd: d.ws };
    const line = "x".repeat(99) + "\n";
    const big = join(d.ws, "big.log");
    const lines = 110_000; // 11 MB
    await Deno.writeTextFile(big, line.repeat(lines - 1) + "the last line\n");
    const tail = await runCli(
      [
        "tools",
        "call",
        "read_file",
        "--args",
        '{"file_path":"big.log","tail":2}',
        "--approve",
        "once",
      ],
      opts,
    );
    equal(tail.code, 0, tail.stderr);
    match(tail.stdout, new RegExp(`${lines}\\tthe last line`));
    match(tail.stdout, new RegExp(`lines ${lines - 1}-${lines} of ${lines}`));
    const offset = await runCli(
      [
        "tools",
        "call",
        "read_file",
        "--args",
        `{"file_path":"big.log","offset":${lines},"limit":5}`,
        "--approve",
        "once",
      ],
      opts,
    );
    equal(offset.code, 0, offset.stderr);
    match(offset.stdout, /the last line/);
    const both = await runCli(
      [
        "tools",
        "call",
        "read_file",
        "--args",
        '{"file_path":"big.log","offset":1,"tail":1}',
        "--approve",
        "once",
      ],
      opts,
    );
    equal(both.code, 2, both.stderr);

    // "café" in Latin-1: 0xE9 is not valid UTF-8.
    await Deno.writeFile(join(d.ws, "latin1.txt"), new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    const latin = await runCli(
      ["tools", "call", "read_file", "--args", '{"file_path":"latin1.txt"}', "--approve", "once"],
      opts,
    );
    equal(latin.code, 0, latin.stderr);
    match(latin.stdout, /café/);
    match(latin.stdout, /not valid UTF-8; decoded as Latin-1/);

    await Deno.writeTextFile(join(d.ws, "small.txt"), "needle here\n");
    const grep = await runCli(
      ["tools", "call", "grep", "--args", '{"pattern":"needle|last line"}', "--approve", "once"],
      opts,
    );
    equal(grep.code, 0, grep.stderr);
    match(grep.stdout, /small\.txt:1:needle here/);
    match(grep.stdout, /skipped 1 file\(s\) over the 5 MiB grep limit: .*big\.log/);
  } finally {
    await cleanup(d);
  }
});

Deno.test("servers tools with nothing configured says so; tools --help describes MCP and capsule tools", async () => {
  const d = await workspace();
  try {
    const none = await runCli(["servers", "tools"], { home: d.home, cwd: d.ws });
    equal(none.code, 0, none.stderr);
    match(none.stdout, /no MCP servers configured/);
    const help = await runCli(["tools", "--help"], { home: d.home, cwd: d.ws });
    equal(help.code, 0);
    match(help.stdout, /mcp__<server>__<tool>/);
    match(help.stdout, /<capsule>__<tool>/);
  } finally {
    await cleanup(d);
  }
});

Deno.test("first run without a terminal: one line saying which variable to export; no file is written", async () => {
  const d = await workspace();
  try {
    const r = await runCli(["chat", "-p", "hi"], { home: d.home, cwd: d.ws });
    equal(r.code, 1);
    equal(r.stderr.split("\n").filter((l) => l !== "").length, 1, r.stderr);
    match(r.stderr, /export ANTHROPIC_API_KEY=<your key>/);
    ok(r.stderr.includes(join(d.home, "config.toml")));
    equal(await Deno.stat(join(d.home, "config.toml")).then(() => true, () => false), false);
  } finally {
    await cleanup(d);
  }
});
