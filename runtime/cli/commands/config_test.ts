import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { Command } from "commander";
import { join } from "node:path";
import type { CliIo } from "../context.ts";
import { CliError } from "../errors.ts";
import { configCommand } from "./config.ts";
import { initCommand } from "./init.ts";

interface Captured extends CliIo {
  out: string;
  err: string;
}

function captureIo(env: Record<string, string>, cwd: string): Captured {
  const io: Captured = {
    env,
    cwd,
    isTty: false,
    out: "",
    err: "",
    stdout: (t) => {
      io.out += t;
    },
    stderr: (t) => {
      io.err += t;
    },
  };
  return io;
}

/** A root program shaped like the lead's (global --workspace/--json), exit overridden everywhere. */
async function run(io: Captured, args: string[]): Promise<void> {
  const program = new Command("astrid")
    .option("-w, --workspace <dir>")
    .option("--json")
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  program.addCommand(configCommand(io));
  program.addCommand(initCommand(io));
  const override = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  io.out = "";
  io.err = "";
  await program.parseAsync(args, { from: "user" });
}

async function withDirs(
  fn: (home: string, ws: string, io: Captured) => Promise<void>,
): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    const home = join(dir, "home");
    const ws = join(dir, "ws");
    await Deno.mkdir(home);
    await Deno.mkdir(ws);
    const io = captureIo(
      { HOME: home, ASTRID_HOME: home, ASTRID_SYSTEM_CONFIG: join(dir, "system.toml") },
      ws,
    );
    await fn(home, ws, io);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("config paths prints every path, as text and as JSON", async () => {
  await withDirs(async (home, ws, io) => {
    await run(io, ["init"]);
    await run(io, ["config", "paths", "--json"]);
    const paths = JSON.parse(io.out);
    equal(paths.home, home);
    equal(paths.workspaceRoot, ws);
    equal(paths.workspaceConfig, join(ws, ".astrid", "config.toml"));
    equal(paths.stateKv, join(home, "state.kv"));
    await run(io, ["--json", "config", "paths"]);
    equal(JSON.parse(io.out).keysDir, join(home, "keys"));
    await run(io, ["config", "paths"]);
    ok(io.out.includes(`home             ${home}\n`), io.out);
  });
});

Deno.test("config show redacts API keys and lists layers and warnings", async () => {
  await withDirs(async (home, ws, io) => {
    await Deno.writeTextFile(join(home, "config.toml"), '[model]\napi_key = "sk-very-secret"\n');
    await Deno.mkdir(join(ws, ".astrid"));
    await Deno.writeTextFile(
      join(ws, ".astrid", "config.toml"),
      '[workspace]\nmode = "autonomous"\n',
    );
    await run(io, ["config", "show", "--json"]);
    ok(!io.out.includes("sk-very-secret"));
    const shown = JSON.parse(io.out);
    equal(shown.config.model.api_key, "***");
    equal(shown.config.workspace.mode, "safe");
    equal(shown.warnings.length, 1);
    deepEqual(
      shown.layers.map((l: { name: string; present: boolean }) => [l.name, l.present]),
      [["defaults", true], ["system", false], ["user", true], ["env", false], ["workspace", true]],
    );
    await run(io, ["config", "show"]);
    ok(!io.out.includes("sk-very-secret"));
    ok(io.out.includes('api_key = "***"'), io.out);
    ok(io.out.includes("# warning: "), io.out);
    ok(io.out.includes(`# layer: user ${join(home, "config.toml")} (loaded)`), io.out);
  });
});

Deno.test("config show honours --workspace and env overrides", async () => {
  await withDirs(async (_home, ws, io) => {
    const other = join(ws, "..", "other");
    await Deno.mkdir(join(other, ".astrid"), { recursive: true });
    await Deno.writeTextFile(join(other, ".astrid", "config.toml"), "[budget]\nsession_usd = 1\n");
    io.env.ASTRID_BUDGET_PER_ACTION_USD = "0.1";
    await run(io, ["--workspace", other, "config", "show", "--json"]);
    const shown = JSON.parse(io.out);
    equal(shown.config.budget.session_usd, 1);
    equal(shown.config.budget.per_action_usd, 0.1);
  });
});

Deno.test("config validate prints ok for valid layers and fails with the ConfigError", async () => {
  await withDirs(async (home, _ws, io) => {
    await run(io, ["init"]);
    await run(io, ["config", "validate"]);
    ok(io.out.startsWith("ok\n"), io.out);
    await Deno.writeTextFile(join(home, "config.toml"), "[budget]\nsession_usd = 'x'\n");
    await rejects(run(io, ["config", "validate"]), (err: unknown) => {
      ok(err instanceof CliError);
      equal(err.exitCode, 1);
      ok(
        err.message.includes(`Cannot load ${join(home, "config.toml")}: key "budget.session_usd"`),
        err.message,
      );
      return true;
    });
    io.env.ASTRID_BUDGET_SESSION_USD = "abc";
    await Deno.writeTextFile(join(home, "config.toml"), "");
    await rejects(run(io, ["config", "validate"]), /ASTRID_BUDGET_SESSION_USD/);
  });
});

Deno.test("config validate FILE checks a workspace file strictly and a user file as user", async () => {
  await withDirs(async (home, ws, io) => {
    await Deno.writeTextFile(join(ws, "candidate.toml"), '[permissions]\nallow = ["**"]\n');
    await rejects(
      run(io, ["config", "validate", "candidate.toml"]),
      /may not be set by a workspace/,
    );
    await run(io, ["config", "validate", "candidate.toml", "--layer", "user"]);
    ok(io.out.startsWith(`ok ${join(ws, "candidate.toml")} (as user config)`), io.out);
    await Deno.writeTextFile(join(home, "config.toml"), '[permissions]\nallow = ["**"]\n');
    await run(io, ["config", "validate", join(home, "config.toml"), "--json"]);
    deepEqual(JSON.parse(io.out), {
      ok: true,
      file: join(home, "config.toml"),
      layer: "user",
      warnings: [],
    });
    await Deno.writeTextFile(join(ws, "loose.toml"), "[tools]\nsandbox = 'off'\n");
    await run(io, ["config", "validate", "loose.toml"]);
    ok(io.out.includes("warning: "), io.out);
    await Deno.writeTextFile(join(ws, "broken.toml"), "[tools\n");
    await rejects(
      run(io, ["config", "validate", "broken.toml"]),
      /broken\.toml: invalid TOML at line 1/,
    );
    await rejects(run(io, ["config", "validate", "missing.toml"]), /does not exist/);
    await rejects(run(io, ["config", "validate", "loose.toml", "--layer", "root"]), /choices/);
    ok(io.err.includes("Allowed choices are system, user, workspace"), io.err);
  });
});
