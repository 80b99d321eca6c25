import { equal, match, notEqual, ok, rejects } from "node:assert/strict";
import { Command } from "commander";
import { join } from "node:path";
import { parse } from "smol-toml";
import { workspaceConfigTemplate } from "../../config/mod.ts";
import type { CliIo } from "../context.ts";
import { CliError } from "../errors.ts";
import { initCommand } from "./init.ts";

function captureIo(env: Record<string, string>, cwd: string): CliIo & { out: string } {
  const io = {
    env,
    cwd,
    isTty: false,
    out: "",
    stdout: (t: string) => {
      io.out += t;
    },
    stderr: (_t: string) => {},
  };
  return io;
}

async function init(io: CliIo & { out: string }, args: string[]): Promise<void> {
  const program = new Command("astrid").option("--json").option("-w, --workspace <dir>");
  program.addCommand(initCommand(io));
  program.exitOverride();
  program.commands.forEach((c) => c.exitOverride());
  io.out = "";
  await program.parseAsync(["init", ...args], { from: "user" });
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("init creates .astrid/ with workspace.json and the config template", async () => {
  await withDir(async (dir) => {
    const io = captureIo({ ASTRID_HOME: join(dir, "home") }, dir);
    await init(io, []);
    const meta = JSON.parse(await Deno.readTextFile(join(dir, ".astrid", "workspace.json")));
    match(meta.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    ok(!Number.isNaN(Date.parse(meta.createdAt)));
    equal(await Deno.readTextFile(join(dir, ".astrid", "config.toml")), workspaceConfigTemplate());
    parse(await Deno.readTextFile(join(dir, ".astrid", "config.toml")));
    ok(io.out.includes(`created ${join(dir, ".astrid", "workspace.json")}`), io.out);
    ok(io.out.includes(`created ${join(dir, ".astrid", "config.toml")}`), io.out);
  });
});

Deno.test("init is idempotent: keeps the id and never overwrites config.toml", async () => {
  await withDir(async (dir) => {
    const io = captureIo({ ASTRID_HOME: join(dir, "home") }, dir);
    await init(io, ["proj", "--json"]);
    const first = JSON.parse(io.out);
    equal(first.root, join(dir, "proj"));
    equal(first.created.length, 3);
    const configPath = join(dir, "proj", ".astrid", "config.toml");
    await Deno.writeTextFile(configPath, "[budget]\nsession_usd = 1\n");
    await init(io, ["proj", "--json"]);
    const second = JSON.parse(io.out);
    equal(second.id, first.id);
    equal(second.created.length, 0);
    equal(second.kept.length, 3);
    equal(await Deno.readTextFile(configPath), "[budget]\nsession_usd = 1\n");
  });
});

Deno.test("init refuses a corrupt workspace.json instead of replacing the id", async () => {
  await withDir(async (dir) => {
    const io = captureIo({ ASTRID_HOME: join(dir, "home") }, dir);
    await Deno.mkdir(join(dir, ".astrid"));
    await Deno.writeTextFile(join(dir, ".astrid", "workspace.json"), "{not json");
    await rejects(
      init(io, []),
      (err: unknown) => err instanceof CliError && /workspace\.json/.test(err.message),
    );
    await Deno.writeTextFile(join(dir, ".astrid", "workspace.json"), '{"id": 5}');
    await rejects(init(io, []), /no string "id"/);
    equal(await Deno.readTextFile(join(dir, ".astrid", "workspace.json")), '{"id": 5}');
  });
});

Deno.test("init refuses a symlinked or non-directory .astrid", async () => {
  await withDir(async (dir) => {
    const io = captureIo({ ASTRID_HOME: join(dir, "home") }, dir);
    const elsewhere = join(dir, "elsewhere");
    await Deno.mkdir(elsewhere);
    await Deno.mkdir(join(dir, "a"));
    await Deno.symlink(elsewhere, join(dir, "a", ".astrid"));
    await rejects(init(io, ["a"]), /not a plain directory \(current value is a symlink\)/);
    equal([...Deno.readDirSync(elsewhere)].length, 0);
    await Deno.mkdir(join(dir, "b"));
    await Deno.writeTextFile(join(dir, "b", ".astrid"), "");
    await rejects(init(io, ["b"]), /current value is a file/);
  });
});

Deno.test("init refuses to turn ASTRID_HOME into a workspace", async () => {
  await withDir(async (dir) => {
    const io = captureIo({ HOME: dir }, dir);
    await Deno.mkdir(join(dir, ".astrid"));
    await rejects(init(io, []), (err: unknown) => err instanceof CliError && err.exitCode === 2);
    const other = captureIo({ HOME: dir }, join(dir));
    await init(other, ["sub"]);
    notEqual(other.out, "");
  });
});
