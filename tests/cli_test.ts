import { equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDirs } from "./cli.ts";

Deno.test("astrid --help lists the command tree and exits 0", async () => {
  const { home } = await tempDirs();
  const r = await runCli(["--help"], { home });
  equal(r.code, 0);
  for (const c of ["init", "keys", "config", "audit", "approvals", "tools", "demo"]) {
    match(r.stdout, new RegExp(`\\b${c}\\b`));
  }
});

Deno.test("astrid exits 2 on an unknown command or a missing argument", async () => {
  const { home } = await tempDirs();
  equal((await runCli(["frobnicate"], { home })).code, 2);
  equal((await runCli(["approvals", "approve"], { home })).code, 2);
});

Deno.test("astrid keys generate/show manage a 0600 key and refuse to overwrite without --force", async () => {
  const { home } = await tempDirs();
  const gen = await runCli(["keys", "generate"], { home });
  equal(gen.code, 0, gen.stderr);
  const show = await runCli(["keys", "show", "--json"], { home });
  const key = JSON.parse(show.stdout);
  equal(key.algorithm, "ed25519");
  match(key.publicKey, /^[0-9a-f]{64}$/);
  equal((await Deno.stat(join(home, "keys", "runtime.key"))).mode! & 0o777, 0o600);
  const again = await runCli(["keys", "generate"], { home });
  equal(again.code, 1);
  match(again.stderr, /already exists/);
  equal((await runCli(["keys", "generate", "--force"], { home })).code, 0);
});

Deno.test("tools call without a TTY defers (exit 4); approvals approve executes it once", async () => {
  const { home, ws } = await tempDirs();
  equal((await runCli(["init", ws], { home })).code, 0);
  const call = await runCli([
    "tools",
    "call",
    "write_file",
    "--args",
    JSON.stringify({ file_path: "out/hello.txt", content: "hi\n" }),
  ], { home, cwd: ws });
  equal(call.code, 4, call.stderr);
  const id = call.stdout.trim();
  match(call.stderr, /waiting for approval/);
  const list = JSON.parse(
    (await runCli(["approvals", "list", "--json"], { home, cwd: ws })).stdout,
  );
  equal(list.length, 1);
  equal(list[0].id, id);
  const approve = await runCli(["approvals", "approve", id], { home, cwd: ws });
  equal(approve.code, 0, approve.stderr);
  equal(await Deno.readTextFile(join(ws, "out", "hello.txt")), "hi\n");
  const twice = await runCli(["approvals", "approve", id], { home, cwd: ws });
  equal(twice.code, 1);
  match(twice.stderr, /already executed/);
  const audit = JSON.parse((await runCli(["audit", "list", "--json"], { home, cwd: ws })).stdout);
  const decisions = audit.map((e: { decision: string }) => e.decision);
  ok(
    decisions.includes("deferred") && decisions.includes("allowed") &&
      decisions.includes("outcome"),
  );
});

Deno.test("approvals deny records the refusal and nothing runs", async () => {
  const { home, ws } = await tempDirs();
  await runCli(["init", ws], { home });
  const call = await runCli([
    "tools",
    "call",
    "write_file",
    "--args",
    JSON.stringify({ file_path: "x.txt", content: "x" }),
  ], { home, cwd: ws });
  const id = call.stdout.trim();
  const deny = await runCli(["approvals", "deny", id, "--reason", "not today"], { home, cwd: ws });
  equal(deny.code, 0, deny.stderr);
  ok(!(await Deno.stat(join(ws, "x.txt")).catch(() => null)));
  const audit = JSON.parse((await runCli(["audit", "list", "--json"], { home, cwd: ws })).stdout);
  ok(audit.some((e: { proof: string }) => e.proof === `human:deferred:${id}`));
});

Deno.test("tools call with --approve deny exits 3 and the denial is audited", async () => {
  const { home, ws } = await tempDirs();
  await runCli(["init", ws], { home });
  const r = await runCli([
    "tools",
    "call",
    "read_file",
    "--args",
    JSON.stringify({ file_path: "missing.txt" }),
    "--approve",
    "deny",
  ], { home, cwd: ws });
  equal(r.code, 3);
  match(r.stderr, /HUMAN_DENIED/);
});

Deno.test("tools list --json shows the 8 built-in tools", async () => {
  const { home } = await tempDirs();
  const r = await runCli(["tools", "list", "--json"], { home });
  equal(r.code, 0, r.stderr);
  const names = JSON.parse(r.stdout).map((d: { name: string }) => d.name).sort();
  equal(
    names.join(),
    "bash,edit_file,glob,grep,list_directory,read_file,task,write_file",
  );
});

Deno.test("tools call outside a workspace says how to make one (exit 2)", async () => {
  const { home, ws } = await tempDirs();
  const r = await runCli(["tools", "call", "list_directory", "--args", "{}"], { home, cwd: ws });
  equal(r.code, 2);
  match(r.stderr, /astrid init/);
});

Deno.test("audit verify passes on a fresh log and the demo runs end to end", async () => {
  const { home } = await tempDirs();
  const keep = join(home, "demo-home");
  const demo = await runCli(["demo", "--keep", keep], { home });
  equal(demo.code, 0, demo.stdout + demo.stderr);
  match(demo.stdout, /Admin policy/);
  match(demo.stdout, /exit 5/);
  const verify = await runCli(["audit", "verify"], { home: keep });
  equal(verify.code, 0, verify.stderr);
});

Deno.test("an audit journal left by a killed process is appended by the next command, with a warning", async () => {
  const { home } = await tempDirs();
  const dir = join(home, "state.kv-audit-journal");
  await Deno.mkdir(dir, { recursive: true });
  const record = {
    sessionId: "s-killed",
    action: { kind: "capsule_file_access", resource: "capsule://n/write_file", summary: "w a.txt" },
    decision: "allowed",
    proof: "rule:capsule://n/*",
    ts: 1_700_000_000_000,
  };
  await Deno.writeTextFile(
    join(dir, "0-1-killed.jsonl"),
    [
      { "astrid-audit-journal": 1, pid: 0, start: "1", baseSeq: 0 },
      { r: 1, i: record },
      { o: 1, v: { ok: true, detail: null } },
    ].map((l) => JSON.stringify(l)).join("\n") + "\n",
  );
  const list = await runCli(["audit", "list", "--json"], { home });
  equal(list.code, 0, list.stderr);
  match(list.stderr, /warning: recovered 1 audit entries that process 0 wrote ahead/);
  const entries = JSON.parse(list.stdout) as { action: { kind: string }; outcome: unknown }[];
  ok(entries.some((e) => e.action.kind === "capsule_file_access"));
  ok(entries.some((e) => e.action.kind === "audit_journal_recovered"));
  const again = await runCli(["audit", "verify"], { home });
  equal(again.code, 0, again.stderr);
  ok(!again.stderr.includes("recovered"), "recovered once");
  equal([...Deno.readDirSync(dir)].length, 0);
});
