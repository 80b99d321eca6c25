import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { Command } from "commander";
import { join } from "node:path";
import type { CliIo } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { serversCommand, type ServersHost } from "./servers.ts";
import { blake3File } from "../../crypto/blake3.ts";
import { McpServerManager } from "../../mcp/mod.ts";

const FIXTURE = new URL("../../../tests/fixtures/mcp_basic_server.ts", import.meta.url).pathname;

interface Captured extends CliIo {
  out: string;
  err: string;
}

async function run(io: Captured, args: string[], host?: ServersHost): Promise<void> {
  const program = new Command("astrid").option("-w, --workspace <dir>").option("--json");
  program.addCommand(serversCommand(io, host));
  const override = (c: Command): void => {
    c.exitOverride();
    c.configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
    c.commands.forEach(override);
  };
  override(program);
  io.out = "";
  io.err = "";
  await program.parseAsync(args, { from: "user" });
}

function toml(servers: Record<string, string>): string {
  return Object.entries(servers).map(([name, body]) => `[servers.${name}]\n${body}\n`).join("\n");
}

async function withHome(
  userToml: string,
  fn: (io: Captured, dir: string) => Promise<void>,
  workspaceToml?: string,
): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    const home = join(dir, "home");
    const ws = join(dir, "ws");
    await Deno.mkdir(home);
    await Deno.mkdir(join(ws, ".astrid"), { recursive: true });
    await Deno.writeTextFile(join(home, "config.toml"), userToml);
    if (workspaceToml) await Deno.writeTextFile(join(ws, ".astrid", "config.toml"), workspaceToml);
    const io: Captured = {
      env: {
        HOME: home,
        ASTRID_HOME: home,
        ASTRID_SYSTEM_CONFIG: join(dir, "system.toml"),
        PATH: Deno.env.get("PATH"),
      },
      cwd: ws,
      isTty: false,
      out: "",
      err: "",
      stdout: (t) => void (io.out += t),
      stderr: (t) => void (io.err += t),
    };
    await fn(io, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const basic = (extra = "") =>
  `transport = "stdio"\ncommand = ${JSON.stringify(Deno.execPath())}\n` +
  `args = ["run", "--allow-env", "--allow-read", ${JSON.stringify(FIXTURE)}]\n` +
  `env = { TOKEN = "secret-value" }\n${extra}`;

Deno.test("servers list --json shows configured servers without env values", async () => {
  await withHome(toml({ basic: basic() }), async (io) => {
    await run(io, ["servers", "list", "--json"]);
    const rows = JSON.parse(io.out);
    equal(rows.length, 1);
    equal(rows[0].name, "basic");
    deepEqual(rows[0].env, ["TOKEN"]);
    ok(!io.out.includes("secret-value"));
  });
});

Deno.test("servers tools NAME --json connects, lists mcp__ names, and disconnects", async () => {
  await withHome(toml({ basic: basic() }), async (io) => {
    await run(io, ["servers", "tools", "basic", "--json"]);
    const listing = JSON.parse(io.out);
    ok(listing.tools.some((t: { name: string }) => t.name === "mcp__basic__echo"));
    deepEqual(listing.errors, []);
  });
});

Deno.test("servers start with a wrong binary_hash exits with the integrity code", async () => {
  await withHome(toml({ bad: basic(`binary_hash = "blake3:${"0".repeat(64)}"`) }), async (io) => {
    const err = await run(io, ["servers", "start", "bad"]).then(() => null, (e) => e);
    ok(err instanceof CliError);
    equal(err.exitCode, ExitCode.Integrity);
    match(err.message, /INTEGRITY/);
  });
});

Deno.test("servers start with the right binary_hash reports the handshake", async () => {
  const hash = await blake3File(await Deno.realPath(Deno.execPath()));
  await withHome(toml({ good: basic(`binary_hash = "blake3:${hash}"`) }), async (io) => {
    await run(io, ["servers", "start", "good"]);
    match(io.out, /good: started \(astrid-test-basic 1\.0\.0, \d+ tools\); it stops/);
  });
});

Deno.test("a workspace config may not add a server", async () => {
  await withHome("", async (io) => {
    await rejects(run(io, ["servers", "list"]), /servers\.evil" may not be set by a workspace/);
  }, toml({ evil: `command = "sh"` }));
});

Deno.test("servers running/stop without a host say nothing runs here; with a host they act", async () => {
  await withHome(toml({ basic: basic() }), async (io) => {
    await run(io, ["servers", "running"]);
    match(io.out, /No servers run in this process/);
    await run(io, ["servers", "stop", "basic"]);
    match(io.out, /not running in this process/);
    await rejects(run(io, ["servers", "stop", "ghost"]), /not configured/);

    await using manager = new McpServerManager({
      servers: [{
        name: "basic",
        transport: "stdio",
        command: Deno.execPath(),
        args: ["run", "--allow-env", "--allow-read", FIXTURE],
        env: {},
        autoStart: false,
        restartPolicy: "never",
        sandbox: { network: false, writable: [] },
      }],
      parentEnv: io.env,
      baseDir: io.cwd,
    });
    await run(io, ["servers", "start", "basic"], { manager });
    await run(io, ["servers", "running", "--json"], { manager });
    equal(JSON.parse(io.out)[0].state, "running");
    await run(io, ["servers", "stop", "basic"], { manager });
    await run(io, ["servers", "running"], { manager });
    match(io.out, /No servers are running/);
  });
});
