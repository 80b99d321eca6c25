import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { Command } from "commander";
import { join } from "node:path";
import { decodeStored, encodeStored } from "../../audit/_chain.ts";
import { AuditLog } from "../../audit/mod.ts";
import { ensureRuntimeKey, generateSeed, signerFromSeed, toHex } from "../../crypto/mod.ts";
import { openStore } from "../../storage/mod.ts";
import type { CliIo } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { auditCommand } from "./audit.ts";

interface Captured extends CliIo {
  out: string;
  err: string;
}

interface Env {
  io: Captured;
  home: string;
  ws: string;
  run(args: string[]): Promise<void>;
}

/** A temp ASTRID_HOME whose state.kv holds 6 entries in two sessions (checkpoint every 4). */
async function withAudit(fn: (env: Env) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    const home = join(dir, "home");
    const ws = join(dir, "ws");
    await Deno.mkdir(ws, { recursive: true });
    await Deno.mkdir(home, { recursive: true });
    const io: Captured = {
      env: { HOME: home, ASTRID_HOME: home, ASTRID_SYSTEM_CONFIG: join(dir, "system.toml") },
      cwd: ws,
      isTty: false,
      out: "",
      err: "",
      stdout: (t) => void (io.out += t),
      stderr: (t) => void (io.err += t),
    };
    const key = await ensureRuntimeKey(join(home, "keys"));
    {
      using store = await openStore(join(home, "state.kv"));
      const log = await AuditLog.open(store, key, { checkpointEvery: 4, checkpointSeconds: 0 });
      for (let i = 1; i <= 5; i++) {
        await log.append({
          sessionId: i % 2 ? "alpha" : "beta",
          action: { kind: "execute_command", resource: `exec://echo ${i}`, summary: `echo ${i}` },
          decision: i === 3 ? "denied" : "allowed",
          proof: i === 3 ? "policy:deny" : "rule:exec://echo *",
          outcome: i === 3 ? null : { exit: 0 },
        });
      }
      await log.endSession("alpha");
      await log.close();
    }
    const run = async (args: string[]) => {
      const program = new Command("astrid").option("-w, --workspace <dir>").option("--json");
      program.addCommand(auditCommand(io));
      const override = (c: Command): void => {
        c.exitOverride();
        c.configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
        c.commands.forEach(override);
      };
      override(program);
      io.out = "";
      io.err = "";
      await program.parseAsync(args, { from: "user" });
    };
    await fn({ io, home, ws, run });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function integrity(code: string) {
  return (err: unknown) => {
    ok(err instanceof CliError, String(err));
    equal(err.exitCode, ExitCode.Integrity);
    ok(err.message.includes(code), err.message);
    return true;
  };
}

Deno.test("audit list prints a table and JSON, filtered and limited", async () => {
  await withAudit(async ({ io, run }) => {
    await run(["audit", "list"]);
    const lines = io.out.trimEnd().split("\n");
    match(lines[0]!, /^SEQ\s+TIME\s+SESSION\s+DECISION\s+SUMMARY\s+PROOF$/);
    equal(lines.length, 7);
    match(
      lines[3]!,
      /^3\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+alpha\s+denied\s+echo 3\s+policy:deny$/,
    );
    await run(["audit", "list", "--session", "beta", "--json"]);
    deepEqual(JSON.parse(io.out).map((e: { seq: number }) => e.seq), [2, 4]);
    await run(["--json", "audit", "list", "--limit", "2"]);
    deepEqual(JSON.parse(io.out).map((e: { seq: number }) => e.seq), [5, 6]);
    await rejects(run(["audit", "list", "--limit", "0"]));
  });
});

Deno.test("audit show prints one entry and refuses a missing one", async () => {
  await withAudit(async ({ io, run }) => {
    await run(["audit", "show", "3", "--json"]);
    const entry = JSON.parse(io.out);
    deepEqual([entry.seq, entry.decision, entry.proof], [3, "denied", "policy:deny"]);
    await run(["audit", "show", "6"]);
    match(io.out, /^seq\s+6$/m);
    match(io.out, /"kind": "session_end"/);
    await rejects(run(["audit", "show", "99"]), (e: unknown) => {
      return e instanceof CliError && e.exitCode === ExitCode.Error &&
        /no such entry/.test(e.message);
    });
    await rejects(run(["audit", "show", "abc"]));
  });
});

Deno.test("audit stats reports counts", async () => {
  await withAudit(async ({ io, run }) => {
    await run(["audit", "stats", "--json"]);
    const stats = JSON.parse(io.out);
    deepEqual(
      [
        stats.entries,
        stats.sessions,
        stats.byDecision,
        stats.checkpoints,
        stats.lastCheckpointSize,
      ],
      [6, 2, { allowed: 4, denied: 1, event: 1 }, 2, 6],
    );
    await run(["audit", "stats"]);
    match(io.out, /^entries\s+6$/m);
    match(io.out, /decisions\s+allowed=4 denied=1 event=1/);
  });
});

Deno.test("audit export and verify round-trip, to stdout and to a 0600 file", async () => {
  await withAudit(async ({ io, ws, run }) => {
    await run(["audit", "verify"]);
    match(io.out, /^ok: 6 entries, 2 checkpoints, head [0-9a-f]{64}\n$/);
    await run(["audit", "export"]);
    const text = io.out;
    equal(text.split("\n").length, 1 + 6 + 2 + 1);
    await run(["audit", "export", "-o", "out.jsonl"]);
    match(io.err, /exported 6 entries and 2 checkpoints/);
    equal(await Deno.readTextFile(join(ws, "out.jsonl")), text);
    equal((await Deno.stat(join(ws, "out.jsonl"))).mode! & 0o777, 0o600);
    await run(["audit", "verify", "--file", "out.jsonl", "--json"]);
    const report = JSON.parse(io.out);
    deepEqual([report.ok, report.entries, report.checkpoints], [true, 6, 2]);
  });
});

Deno.test("audit verify exits 5 naming the first bad position in the store", async () => {
  await withAudit(async ({ io, home, run }) => {
    {
      using store = await openStore(join(home, "state.kv"));
      const e2 = decodeStored((await store.get(["audit", "e", 2])).value).entry;
      await store.set(["audit", "e", 2], encodeStored({ ...e2, decision: "denied" }));
    }
    await rejects(run(["audit", "verify"]), integrity("FAILED EDITED at seq 2 (position 2)"));
    await rejects(run(["audit", "verify", "--json"]), integrity("EDITED"));
    equal(JSON.parse(io.out).firstBad.seq, 2);
    // export still works on a damaged log, so the evidence can be kept
    await run(["audit", "export", "-o", "evidence.jsonl"]);
    await rejects(
      run(["audit", "verify", "--file", "evidence.jsonl"]),
      integrity("EDITED at seq 2"),
    );
  });
});

Deno.test("audit verify --file refuses tampered, foreign-key and malformed exports", async () => {
  await withAudit(async ({ io, ws, run }) => {
    await run(["audit", "export"]);
    const lines = io.out.trimEnd().split("\n");
    const write = (name: string, l: string[]) =>
      Deno.writeTextFile(join(ws, name), l.join("\n") + "\n");
    await write("swapped.jsonl", [lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)]);
    await rejects(
      run(["audit", "verify", "--file", "swapped.jsonl"]),
      integrity("REORDERED at seq 1"),
    );
    await write("cut.jsonl", [...lines.slice(0, 5), ...lines.slice(7)]);
    await rejects(run(["audit", "verify", "--file", "cut.jsonl"]), integrity("TRUNCATED at seq 5"));
    await write("bad.jsonl", [lines[0]!, lines[1]!, "{not json"]);
    await rejects(run(["audit", "verify", "--file", "bad.jsonl"]), integrity("MALFORMED"));
    await write("good.jsonl", lines);
    const other = toHex(signerFromSeed(generateSeed()).publicKey);
    await rejects(
      run(["audit", "verify", "--file", "good.jsonl", "--key", other]),
      integrity("WRONG_KEY"),
    );
    await rejects(run(["audit", "verify", "--file", "good.jsonl", "--key", "zz"]), (e: unknown) => {
      return e instanceof CliError && e.exitCode === ExitCode.Usage;
    });
    await rejects(run(["audit", "verify", "--file", "missing.jsonl"]), /Cannot read/);
  });
});
