import { deepEqual, equal, match, ok } from "node:assert/strict";
import { Help } from "commander";
import { buildProgram, commandHelpLines } from "./main.ts";
import type { CliIo } from "./context.ts";
import { runCli, tempDirs } from "../../tests/cli.ts";

/** An io that prints nothing (building the tree prints nothing). */
function quietIo(): CliIo {
  return { env: {}, cwd: "/", isTty: false, stdout: () => {}, stderr: () => {} };
}

Deno.test("commandHelpLines() matches the terms and descriptions the command modules build", async () => {
  // buildProgram(io, []) loads every command module, as `astrid completions` does.
  const program = await buildProgram(quietIo(), []);
  const help = new Help();
  const real = program.commands.map((c) => [
    c.name(),
    help.subcommandTerm(c),
    help.subcommandDescription(c),
  ]);
  deepEqual(commandHelpLines(), real);
});

Deno.test("`astrid --help` lists every command with its description, loading no command module", async () => {
  const { home, ws } = await tempDirs();
  try {
    const run = await runCli(["--help"], { home, env: { ASTRID_PROFILE: "1" } });
    equal(run.code, 0, run.stderr);
    const flat = run.stdout.replace(/\s+/g, " ");
    for (const [name, term, description] of commandHelpLines()) {
      ok(flat.includes(` ${term} `), `${name} missing from the help`);
      ok(flat.includes(description.replace(/\s+/g, " ")), `${name}'s description missing`);
    }
    match(run.stderr, /profile: cli start [\d.]+ ms, load modules 0\.0 ms, run [\d.]+ ms/);
    equal(run.stderr.includes("slowest loads"), false);
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(ws, { recursive: true });
  }
});

Deno.test("`astrid help tools` shows the tools command's own help", async () => {
  const { home, ws } = await tempDirs();
  try {
    const run = await runCli(["help", "tools"], { home });
    equal(run.code, 0, run.stderr);
    match(run.stdout, /Usage: astrid tools \[options\] \[command\]/);
    match(run.stdout, /call \[options\] <name>/);
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(ws, { recursive: true });
  }
});

Deno.test("an unknown command is a usage error that suggests the near one", async () => {
  const { home, ws } = await tempDirs();
  try {
    const run = await runCli(["tols"], { home });
    equal(run.code, 2);
    match(run.stderr, /unknown command 'tols'/);
    match(run.stderr, /Did you mean tools\?/);
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(ws, { recursive: true });
  }
});

Deno.test("ASTRID_PROFILE=1 reports the launcher's and the CLI's phases on stderr", async () => {
  const { home, ws } = await tempDirs();
  try {
    equal((await runCli(["init", ws], { home })).code, 0);
    const run = await runCli(["config", "paths"], {
      home,
      cwd: ws,
      env: { ASTRID_PROFILE: "1" },
    });
    equal(run.code, 0, run.stderr);
    match(run.stderr, /profile: cli start [\d.]+ ms, load modules [\d.]+ ms, run [\d.]+ ms/);
    match(run.stderr, /profile: slowest loads: config\.ts [\d.]+ ms/);
    match(
      run.stderr,
      /profile: launcher start [\d.]+ ms, permissions [\d.]+ ms( \([\w ]+\))?, child [\d.]+ ms, total/,
    );
    equal(run.stdout.includes("profile:"), false);
    // A command that opens the runtime also reports its phases.
    const audit = await runCli(["audit", "list"], { home, cwd: ws, env: { ASTRID_PROFILE: "1" } });
    equal(audit.code, 0, audit.stderr);
    // Phases are listed as they end; the walls are worked out while the rest opens.
    const phases = audit.stderr.match(/profile: phases: (.*)/)?.[1] ?? "";
    match(phases, /^config \((snapshot|loaded|uncached)\) [\d.]+ ms, /);
    for (
      const name of ["load runtime modules", "open store", "runtime key", "walls", "open audit"]
    ) {
      match(phases, new RegExp(`${name} [\\d.]+ ms`));
    }
    match(phases, /close audit [\d.]+ ms$/);
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(ws, { recursive: true });
  }
});

Deno.test("`tools list` and `tools call` run without commander, as commander runs them", async () => {
  const { home, ws } = await tempDirs();
  try {
    equal((await runCli(["init", ws], { home })).code, 0);
    await Deno.writeTextFile(`${ws}/a.txt`, "alpha\n");
    const profiled = { home, cwd: ws, env: { ASTRID_PROFILE: "1" } };
    const read = JSON.stringify({ file_path: "a.txt" });
    const pairs: [quick: string[], commander: string[]][] = [
      [["tools", "list"], ["tools", "list", "--debug"]],
      [["--json", "tools", "list"], ["tools", "list", "--json", "--debug"]],
      [
        ["tools", "call", "read_file", "--args", read, "--approve", "once"],
        ["tools", "call", "--approve=once", "read_file", `--args=${read}`],
      ],
      [
        ["-w", ws, "tools", "call", "read_file", "--json", "--args", read, "--approve", "once"],
        ["tools", "call", "read_file", "--json", `--args=${read}`, "--approve=once", "-w", ws],
      ],
    ];
    for (const [quick, commander] of pairs) {
      const a = await runCli(quick, profiled);
      const b = await runCli(commander, profiled);
      equal(a.code, b.code, `${a.stderr} | ${b.stderr}`);
      equal(a.code, 0, a.stderr);
      // A fresh session id is printed by neither; the outcome is the same.
      equal(a.stdout, b.stdout, `${quick.join(" ")} | ${commander.join(" ")}`);
      match(a.stderr, /slowest loads: tools (list|call) \(without commander\)/);
      match(b.stderr, /slowest loads: tools\.ts /);
    }
    // A call that fails in the tool fails the same way on both paths.
    const missing = JSON.stringify({ file_path: "nope.txt" });
    const q = await runCli(["tools", "call", "read_file", "--args", missing, "--approve", "once"], {
      home,
      cwd: ws,
    });
    const c = await runCli(["tools", "call", "read_file", `--args=${missing}`, "--approve=once"], {
      home,
      cwd: ws,
    });
    equal(q.code, c.code);
    equal(q.stderr, c.stderr);
    // What the quick parse does not take exactly goes to commander, with commander's messages.
    const choice = await runCli(["tools", "call", "read_file", "--approve", "maybe"], {
      home,
      cwd: ws,
    });
    equal(choice.code, 2);
    match(choice.stderr, /argument 'maybe' is invalid\. Allowed choices are once, session/);
    const noName = await runCli(["tools", "call", "--json"], { home, cwd: ws });
    equal(noName.code, 2);
    match(noName.stderr, /missing required argument 'name'/);
    const badJson = await runCli(["tools", "call", "read_file", "--args", "{"], { home, cwd: ws });
    equal(badJson.code, 2);
    match(badJson.stderr, /Cannot parse --args/);
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(ws, { recursive: true });
  }
});

Deno.test("`audit list` and `approvals list` run without commander, as commander runs them", async () => {
  const { home, ws } = await tempDirs();
  try {
    equal((await runCli(["init", ws], { home })).code, 0);
    const profiled = { home, cwd: ws, env: { ASTRID_PROFILE: "1" } };
    // Each pair: a command line main.ts parses itself, and one only commander takes (a
    // `--opt=value` form or a global option after the command) that means the same.
    const pairs: [quick: string[], commander: string[]][] = [
      [["audit", "list", "--limit", "5", "--json"], ["audit", "list", "--limit=5", "--json"]],
      [["--json", "audit", "list", "--session", "s1"], ["audit", "list", "--session=s1", "--json"]],
      [["-w", ws, "approvals", "list", "--all"], ["approvals", "list", "--all", "-w", ws]],
      [["approvals", "list", "--json"], ["approvals", "list", "--json", "--debug"]],
    ];
    for (const [quick, commander] of pairs) {
      const a = await runCli(quick, profiled);
      const b = await runCli(commander, profiled);
      equal(a.code, 0, a.stderr);
      equal(b.code, 0, b.stderr);
      equal(a.stdout, b.stdout, `${quick.join(" ")} | ${commander.join(" ")}`);
      match(a.stderr, /slowest loads: (audit|approvals) list \(without commander\)/);
      match(b.stderr, /slowest loads: (audit|approvals)\.ts /);
    }
    // What the quick parse does not take exactly goes to commander, with commander's messages.
    const bad = await runCli(["audit", "list", "--limit", "0"], { home, cwd: ws });
    equal(bad.code, 2);
    match(bad.stderr, /argument '0' is invalid\. expected a positive integer/);
    const extra = await runCli(["approvals", "list", "extra"], { home, cwd: ws });
    equal(extra.code, 2);
    match(extra.stderr, /too many arguments/);
    const help = await runCli(["audit", "list", "--help"], { home, cwd: ws });
    equal(help.code, 0);
    match(help.stdout, /Usage: astrid audit list \[options\]/);
    const missing = await runCli(["audit", "list", "--session"], { home, cwd: ws });
    equal(missing.code, 2);
    match(missing.stderr, /option '--session <id>' argument missing/);
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(ws, { recursive: true });
  }
});
