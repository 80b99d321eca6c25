import { deepEqual, equal, match, ok } from "node:assert/strict";
import { Command, CommanderError } from "commander";
import type { CliIo } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { probeCopy } from "../../capsule/_testing.ts";
import { capsuleCommand } from "./capsule.ts";

interface TestIo extends CliIo {
  out: string;
  err: string;
}

function testIo(home: string, cwd: string, answers: string[] = [], tty = false): TestIo {
  const io: TestIo = {
    env: { ASTRID_HOME: home, HOME: home, ASTRID_SYSTEM_CONFIG: `${home}/none.toml` },
    cwd,
    isTty: tty,
    out: "",
    err: "",
    stdout: (t) => void (io.out += t),
    stderr: (t) => void (io.err += t),
    readLine: (prompt) => {
      io.err += prompt;
      return Promise.resolve(answers.shift() ?? null);
    },
  };
  return io;
}

/** Runs `astrid capsule ...args` in-process with the same error mapping as main.ts. */
async function run(io: TestIo, args: string[], secrets: string[] = []): Promise<number> {
  const program = new Command("astrid").option("--json").option("-w, --workspace <dir>");
  program.addCommand(capsuleCommand(io, (prompt) => {
    io.err += prompt; // the fake terminal shows the prompt, never the answer
    return Promise.resolve(secrets.shift() ?? null);
  }));
  const all = (c: Command): void => {
    c.exitOverride();
    c.configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
    c.commands.forEach(all);
  };
  all(program);
  io.out = "";
  io.err = "";
  try {
    await program.parseAsync(["capsule", ...args], { from: "user" });
    return ExitCode.Ok;
  } catch (e) {
    if (e instanceof CommanderError) return ExitCode.Usage;
    if (e instanceof CliError) {
      io.stderr(`error: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}

async function dirs(): Promise<{ home: string; ws: string }> {
  const home = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-home-" }));
  const ws = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-ws-" }));
  await Deno.mkdir(`${ws}/.astrid`);
  return { home, ws };
}

Deno.test("capsule install --yes, list --json, info --json, remove", async () => {
  const { home, ws } = await dirs();
  const io = testIo(home, ws);
  const src = await probeCopy();
  equal(await run(io, ["install", src, "--yes", "--env", "TOKEN=t0k3n-value"]), 0, io.err);
  match(io.err, /network: 127\.0\.0\.1/);
  match(io.err, /read files under: \./);
  ok(!io.err.includes("t0k3n-value") && !io.out.includes("t0k3n-value"));
  const envFile = `${home}/capsule_env/user/probe.json`;
  equal((await Deno.stat(envFile)).mode! & 0o777, 0o600);

  equal(await run(io, ["list", "--json"]), 0, io.err);
  deepEqual(JSON.parse(io.out).capsules.map((c: { name: string }) => c.name), ["probe"]);

  equal(await run(io, ["info", "probe", "--json"]), 0, io.err);
  const info = JSON.parse(io.out);
  equal(info.wasm.path, `${home}/capsules/probe/capsule.wasm`);
  match(info.wasm.hash, /^blake3:[0-9a-f]{64}$/);
  ok(info.wasm.size > 100_000);
  ok(info.tools.some((t: { name: string }) => t.name === "probe__echo"));
  deepEqual(info.env.TOKEN, { type: "secret", set: true });
  ok(!JSON.stringify(info).includes("t0k3n-value"));

  equal(await run(io, ["remove", "probe"]), 0, io.err);
  equal(await run(io, ["info", "probe"]), 1);
  match(io.err, /not installed/);
});

Deno.test("capsule info and list exit 5 when capsule.wasm was swapped after install", async () => {
  const { home, ws } = await dirs();
  const io = testIo(home, ws);
  equal(await run(io, ["install", await probeCopy(), "--yes"]), 0, io.err);
  const wasm = `${home}/capsules/probe/capsule.wasm`;
  const bytes = await Deno.readFile(wasm);
  bytes[bytes.length - 10]! ^= 0x55;
  await Deno.writeFile(wasm, bytes);
  equal(await run(io, ["info", "probe"]), ExitCode.Integrity);
  match(io.err, /hash/);
  equal(await run(io, ["list"]), ExitCode.Integrity);
});

Deno.test("capsule install asks first: no terminal without --yes is a usage error", async () => {
  const { home, ws } = await dirs();
  const io = testIo(home, ws);
  equal(await run(io, ["install", await probeCopy()]), ExitCode.Usage);
  match(io.err, /--yes/);
  equal(await run(io, ["list", "--json"]), 0);
  deepEqual(JSON.parse(io.out).capsules, []);
});

Deno.test("capsule install on a terminal: confirm, then [env] values with the secret hidden", async () => {
  const { home, ws } = await dirs();
  const declined = testIo(home, ws, ["n"], true);
  equal(await run(declined, ["install", await probeCopy()]), ExitCode.Denied);
  const io = testIo(home, ws, ["y", ""], true);
  equal(
    await run(io, ["install", await probeCopy(), "--scope", "workspace"], ["s3cret-xyz"]),
    0,
    io.err,
  );
  ok(!io.err.includes("s3cret-xyz") && !io.out.includes("s3cret-xyz"));
  match(io.err, /API token/);
  const ws_hash = (await Array.fromAsync(Deno.readDir(`${home}/capsule_env`)))[0]!.name;
  const stored = JSON.parse(await Deno.readTextFile(`${home}/capsule_env/${ws_hash}/probe.json`));
  deepEqual(stored, { TOKEN: "s3cret-xyz", UNITS: "metric" });
  ok((await Deno.lstat(`${ws}/.astrid/capsules/probe/capsule.wasm`)).isFile);
});

Deno.test("capsule install refuses a symlinked source and a tampered one (exit 5)", async () => {
  const { home, ws } = await dirs();
  const io = testIo(home, ws);
  const src = await probeCopy();
  await Deno.symlink(src, `${ws}/link`);
  equal(await run(io, ["install", "link", "--yes"]), ExitCode.Error);
  match(io.err, /symlink/);
  const bytes = await Deno.readFile(`${src}/capsule.wasm`);
  bytes[500]! ^= 1;
  await Deno.writeFile(`${src}/capsule.wasm`, bytes);
  equal(await run(io, ["install", src, "--yes"]), ExitCode.Integrity);
});

Deno.test("capsule install over an install shows the changes, asks, and keeps stored [env] values", async () => {
  const { home, ws } = await dirs();
  const io = testIo(home, ws);
  equal(await run(io, ["install", await probeCopy(), "--yes", "--env", "TOKEN=t0k3n"]), 0, io.err);
  const wider = await probeCopy(
    "probe",
    (t) => t.replace(/net = \[[^\]]*\]/, 'net = ["127.0.0.1", "api.example.com"]'),
  );
  const declined = testIo(home, ws, ["n"], true);
  equal(await run(declined, ["install", wider]), ExitCode.Denied);
  match(declined.err, /Changes since it was installed/);
  match(declined.err, /\+ network: api\.example\.com/);
  match(declined.err, /Replace the install of probe \(user\)\?/);
  equal(await run(io, ["info", "probe", "--json"]), 0, io.err);
  deepEqual(JSON.parse(io.out).record.capabilities.net, ["127.0.0.1"], "nothing changed");
  const accepted = testIo(home, ws, ["y"], true);
  equal(await run(accepted, ["install", wider]), 0, accepted.err);
  match(accepted.out, /reinstalled probe/);
  ok(!accepted.err.includes("API token"), "a stored value is not asked again");
  equal(await run(io, ["info", "probe", "--json"]), 0, io.err);
  const info = JSON.parse(io.out);
  deepEqual(info.record.capabilities.net, ["127.0.0.1", "api.example.com"]);
  equal(info.record.manifestHash, info.manifestHash);
  deepEqual(info.env.TOKEN, { type: "secret", set: true });
  const stored = JSON.parse(await Deno.readTextFile(`${home}/capsule_env/user/probe.json`));
  equal(stored.TOKEN, "t0k3n");
});

Deno.test("capsule list and info report a folder nobody installed, and remove clears it", async () => {
  const { home, ws } = await dirs();
  const io = testIo(home, ws);
  const planted = `${ws}/.astrid/capsules/probe`;
  await Deno.mkdir(planted, { recursive: true });
  const src = await probeCopy();
  for (const f of ["Capsule.toml", "capsule.wasm"]) {
    await Deno.copyFile(`${src}/${f}`, `${planted}/${f}`);
  }
  equal(await run(io, ["list", "--json"]), 0, io.err);
  deepEqual(JSON.parse(io.out).capsules, []);
  equal(JSON.parse(io.out).ignored[0].dir, planted);
  match(io.err, /ignoring capsule folder .*: it was not installed with `astrid capsule install`/);
  equal(await run(io, ["info", "probe"]), ExitCode.Error);
  match(io.err, /was not installed with/);
  equal(await run(io, ["remove", "probe"]), 0, io.err);
  equal(await Deno.lstat(planted).catch(() => null), null);
});
