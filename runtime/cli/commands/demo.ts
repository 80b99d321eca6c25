/**
 * `astrid demo [--keep DIR]`: a narrated, non-interactive walkthrough of the security core in a
 * temporary ASTRID_HOME. Every step runs the real `astrid` CLI as a subprocess (the agent's tool
 * calls and the human's decisions alike), except the budget step, which uses the library.
 *
 * @module
 */
import { Command } from "commander";
import { join, resolve } from "node:path";
import { type CliIo, withRuntime } from "../context.ts";
import { openGate } from "../../security/gate.ts";
import { CliError } from "../errors.ts";
import { agentDemo } from "./_demo_agent.ts";
import { openClawDemo } from "./_demo_openclaw.ts";
import { registryDemo } from "./_demo_registry.ts";
import { daemonDemo } from "./_demo_daemon.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const CONFIG = new URL("../../../deno.json", import.meta.url).pathname;

interface Step {
  code: number;
  stdout: string;
  stderr: string;
}

/** Builds the `demo` command. */
export function demoCommand(io: CliIo): Command {
  return new Command("demo")
    .description("Narrated walkthrough: policy, deferral, Allow Always, budget, tools, audit")
    .option("--keep <dir>", "use DIR as ASTRID_HOME and keep it (inspect it with the CLI after)")
    .action(async (opts: { keep?: string }) => {
      await runDemo(io, opts.keep);
    });
}

async function runDemo(io: CliIo, keep: string | undefined): Promise<void> {
  // The workspace sits beside ASTRID_HOME, never inside it: the agent may not touch the home.
  const base = keep ? null : await Deno.makeTempDir({ prefix: "astrid-demo-" });
  const home = base === null ? resolve(io.cwd, keep!) : join(base, "home");
  await Deno.mkdir(home, { recursive: true });
  const ws = base === null ? `${home}-project` : join(base, "project");
  await Deno.mkdir(join(ws, "src"), { recursive: true });
  await Deno.writeTextFile(join(ws, "src", "greet.ts"), 'export const greeting = "hello";\n');
  await Deno.writeTextFile(join(ws, "README.md"), "# demo project\nTODO: say hello to the world\n");

  const out = (s = "") => io.stdout(`${s}\n`);
  const title = (s: string) => out(`\n━━ ${s} ━━`);
  const note = (s: string) => out(`   ${s}`);
  const astrid = async (
    args: string[],
    show = args,
    env: Record<string, string> = {},
  ): Promise<Step> => {
    out(`$ astrid ${show.map(quote).join(" ")}`);
    const child = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", "--config", CONFIG, MAIN, ...args],
      cwd: ws,
      env: { ASTRID_HOME: home, INIT_CWD: ws, NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    const step = {
      code: child.code,
      stdout: dec.decode(child.stdout),
      stderr: dec.decode(child.stderr),
    };
    for (const line of step.stdout.trimEnd().split("\n").filter(Boolean).slice(0, 12)) note(line);
    for (const line of step.stderr.trimEnd().split("\n").filter(Boolean)) note(line);
    note(`(exit ${step.code})`);
    return step;
  };
  const expect = (step: Step, code: number, what: string) => {
    if (step.code !== code) {
      throw new CliError(`demo step "${what}" exited ${step.code}, expected ${code}`);
    }
  };

  const tool = (name: string, args: unknown, ...extra: string[]) =>
    astrid(["tools", "call", name, "--args", JSON.stringify(args), ...extra]);

  out("Astrid demo: the agent proposes, the human approves, the runtime enforces.");
  out(`ASTRID_HOME=${home}${keep ? " (kept)" : " (temporary; --keep DIR keeps it)"}`);
  out("Nobody is at a terminal here, so anything that needs a human is deferred, never skipped.");

  title("0. A workspace");
  expect(await astrid(["init", ws]), 0, "init");

  title("1. Admin policy: a hard wall that no approval can open");
  note("The agent tries to hide `sudo` behind an innocent first command:");
  const blocked = await tool(
    "bash",
    { command: "echo cleaning up && sudo rm -rf /" },
    "--approve",
    "always",
  );
  expect(blocked, 3, "policy block");
  note("Even with the human's --approve always, the policy denied it (exit 3).");

  title("2. Nobody there: the action is deferred to a persistent queue");
  const deferred = await tool("write_file", {
    file_path: "PLAN.md",
    content: "1. greet the world\n",
  });
  expect(deferred, 4, "deferral");
  const id = deferred.stdout.trim().split("\n").pop()!;
  expect(await astrid(["approvals", "list"]), 0, "approvals list");
  note(
    "Later, in another process, the human approves it; it is carried out, through the gate again:",
  );
  expect(await astrid(["approvals", "approve", id]), 0, "approve");
  note(`PLAN.md now holds: ${JSON.stringify(await Deno.readTextFile(join(ws, "PLAN.md")))}`);

  title("3. Allow Always mints a signed token that covers the next identical action");
  const ls = { command: "ls src" };
  const always = await tool("bash", ls, "--approve", "always", "--json");
  expect(always, 0, "allow always");
  note(`proof: ${(JSON.parse(always.stdout) as { proofs: string[] }).proofs[0]}`);
  note("The same command again, with no --approve and no terminal:");
  const covered = await tool("bash", ls, "--json");
  expect(covered, 0, "token-covered call");
  note(
    `proof: ${
      (JSON.parse(covered.stdout) as { proofs: string[] }).proofs[0]
    } (no prompt, no deferral)`,
  );
  note("A different command is not covered: the token names `exec://ls src`, nothing wider.");
  expect(
    await tool("bash", { command: "ls -a src" }),
    4,
    "uncovered",
  );

  title("4. Budget: an atomic reservation, refused before anything runs");
  await budgetStep(home, ws, note);

  title("5. The tools at work, and stopped at the boundary");
  await Deno.writeTextFile(
    join(home, "config.toml"),
    '[workspace]\nmode = "autonomous"   # reads, writes and commands inside the workspace are automatic\n',
  );
  note("The user opts into autonomous mode in $ASTRID_HOME/config.toml: work inside is automatic.");
  note("(A workspace's own .astrid/config.toml could only make the mode stricter, never looser.)");
  expect(
    await tool("edit_file", {
      file_path: "src/greet.ts",
      old_string: '"hello"',
      new_string: '"hello, world"',
    }),
    0,
    "edit_file",
  );
  expect(
    await tool("grep", { pattern: "hello", path: "." }),
    0,
    "grep",
  );
  expect(
    await tool("read_file", { file_path: "src/greet.ts" }),
    0,
    "read_file",
  );
  note("Leaving the workspace still asks (and nobody is there), even in autonomous mode:");
  expect(
    await tool("read_file", { file_path: "../../../../../../../../../../etc/passwd" }),
    3,
    "traversal",
  );
  // The scene is set by hand, in a separate process: the demo runs under the launcher's
  // narrowed flags, and Deno creates symlinks only with unscoped read and write.
  const link = `Deno.symlinkSync("/etc", ${JSON.stringify(join(ws, "etc-link"))})`;
  await new Deno.Command(Deno.execPath(), { args: ["eval", link], stdin: "null" }).output();
  expect(
    await tool("read_file", { file_path: "etc-link/hostname" }),
    3,
    "symlink escape",
  );
  note("bash runs under bubblewrap: the rest of the filesystem is read-only, with no network:");
  expect(
    await tool("bash", { command: "echo ok > made-by-bash.txt && cat made-by-bash.txt" }),
    0,
    "bash inside",
  );
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("secret-from-the-host\n"),
  );
  const port = server.addr.port;
  try {
    note(`A server on 127.0.0.1:${port} answers the host. A perl one-liner is not recognised as`);
    note("networking, so autonomous mode lets it run; the sandbox has no network, so it fails:");
    const leak = await tool("bash", {
      command:
        `perl -MIO::Socket::INET -e 'IO::Socket::INET->new("127.0.0.1:${port}") or die "no network: $!\\n"; print "LEAKED\\n"'`,
    });
    if (leak.code === 0 || leak.stdout.includes("LEAKED")) {
      throw new CliError("demo: bash reached the network without approval");
    }
  } finally {
    await server.shutdown();
  }

  title("6. An agent at work (a replayed model, not a real one)");
  await agentDemo({ home, ws, note, astrid: (args, env) => astrid(args, args, env) });

  title("7. An OpenClaw plugin, compiled unchanged into a sandboxed capsule");
  await openClawDemo({ home, ws, note, astrid: (args, env) => astrid(args, args, env) }, expect);

  title("8. Capsules travel: signed publishing to an OCI registry");
  await registryDemo({ home, ws, note, astrid: (args, env) => astrid(args, args, env) }, expect);

  title("9. The daemon: approvals from anywhere (a script, the web inbox, a phone)");
  await daemonDemo({ home, ws, note, astrid: (args, env) => astrid(args, args, env) }, expect);

  title("10. The audit log: every decision, hash-chained and signed");
  expect(await astrid(["audit", "stats"]), 0, "audit stats");
  expect(await astrid(["audit", "verify"]), 0, "audit verify");
  const exported = join(home, "audit.jsonl");
  expect(await astrid(["audit", "export", "-o", exported]), 0, "audit export");
  const lines = (await Deno.readTextFile(exported)).trimEnd().split("\n");
  const victim = lines.findIndex((l) => l.includes('"decision":"denied"'));
  const edited = JSON.parse(lines[victim]!);
  note(`Someone edits entry ${edited.seq} of the export, turning "denied" into "allowed"...`);
  edited.decision = "allowed";
  lines[victim] = JSON.stringify(edited);
  const tampered = join(home, "audit-tampered.jsonl");
  await Deno.writeTextFile(tampered, lines.join("\n") + "\n");
  expect(await astrid(["audit", "verify", "--file", tampered]), 5, "tampered verify");
  note("...and verification names the first bad position (exit 5).");

  out(
    `\nDone. ${
      keep
        ? `Inspect it: ASTRID_HOME=${home} deno task astrid audit list`
        : "The temporary home is removed."
    }`,
  );
  if (base !== null) await Deno.remove(base, { recursive: true });
}

async function budgetStep(home: string, ws: string, note: (s: string) => void): Promise<void> {
  const io: CliIo = {
    env: { ASTRID_HOME: home, ASTRID_BUDGET_SESSION_USD: "5", ASTRID_BUDGET_PER_ACTION_USD: "10" },
    cwd: ws,
    isTty: false,
    stdout: () => {},
    stderr: () => {},
  };
  const cmd = new Command().option("--workspace <dir>").option("--json");
  cmd.parse(["--workspace", ws], { from: "user" });
  await withRuntime(cmd, io, async (rt) => {
    const gate = await openGate({
      store: rt.store,
      signer: rt.key,
      audit: rt.audit,
      config: rt.config,
      workspaceRoot: ws,
      workspaceId: "demo",
      sessionId: "demo-budget",
      frontend: null,
      walls: rt.walls,
    });
    note("Session budget $5.00. The agent proposes paying $7.50 for an API plan:");
    const d = await gate.interceptor.intercept(
      { kind: "financial_transaction", payee: "api.example.com", amountUsd: 7.5 },
      { costUsd: 7.5 },
    );
    note(`→ ${d.outcome}${"code" in d ? ` (${d.code})` : ""}: ${"reason" in d ? d.reason : ""}`);
    if (d.outcome !== "denied") throw new CliError("demo: the budget did not refuse");
    const s = gate.budget.state();
    note(`spent $${s.spentUsd.toFixed(2)}, reserved $${s.reservedUsd.toFixed(2)}: nothing leaked.`);
  });
}

function quote(arg: string): string {
  return /^[\w./:=@-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}
