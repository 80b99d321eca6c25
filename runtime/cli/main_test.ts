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
      /profile: launcher start [\d.]+ ms, permissions [\d.]+ ms, child [\d.]+ ms, total/,
    );
    equal(run.stdout.includes("profile:"), false);
    // A command that opens the runtime also reports its phases.
    const audit = await runCli(["audit", "list"], { home, cwd: ws, env: { ASTRID_PROFILE: "1" } });
    equal(audit.code, 0, audit.stderr);
    match(audit.stderr, /profile: phases: config [\d.]+ ms, load runtime modules [\d.]+ ms, /);
    match(audit.stderr, /open audit [\d.]+ ms, walls [\d.]+ ms, close audit [\d.]+ ms\n/);
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(ws, { recursive: true });
  }
});
