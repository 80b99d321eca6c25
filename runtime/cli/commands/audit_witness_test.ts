/**
 * The audit witness through the real CLI (a subprocess, as a user runs it): truncation,
 * rollback, a tampered or deleted witness, and offline verification with `--witness`.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { appendEntries, copyKv, cut, entryAt } from "../../audit/_witness_testing.ts";
import { ensureRuntimeKey, type RuntimeKey } from "../../crypto/mod.ts";
import { openStore } from "../../storage/mod.ts";
import { runCli, tempDirs } from "../../../tests/cli.ts";

interface Home extends AsyncDisposable {
  home: string;
  kv: string;
  witness: string;
  key: RuntimeKey;
}

/** A temp ASTRID_HOME whose store holds `n` entries, witnessed at the default path. */
async function home(n = 25): Promise<Home> {
  const { home, ws } = await tempDirs();
  await Deno.remove(ws);
  const key = await ensureRuntimeKey(join(home, "keys"));
  const kv = join(home, "state.kv");
  const witness = join(home, "audit-witness.jsonl");
  using store = await openStore(kv);
  await appendEntries(store, key, n, witness, "s", kv); // checkpoints (witnessed) 10, 20, n
  const dispose = () => Deno.remove(home, { recursive: true });
  return { home, kv, witness, key, [Symbol.asyncDispose]: dispose };
}

Deno.test("astrid audit verify reports the witness; a truncated store is exit 5 TRUNCATED and every command refuses it", async () => {
  await using h = await home();
  const fine = await runCli(["audit", "verify"], { home: h.home });
  equal(fine.code, 0, fine.stderr);
  match(fine.stdout, /^ok: 25 entries, 3 checkpoints, head [0-9a-f]{64}\n$/);
  match(fine.stderr, /newest checkpoint of this log at size 25 \(line 3\)/);
  {
    using store = await openStore(h.kv);
    const e20 = await entryAt(store, 20);
    await cut(store, 21, 25, [25]);
    await store.set(["audit", "head"], { seq: 20, hash: e20.hash });
  }
  const verify = await runCli(["audit", "verify"], { home: h.home });
  equal(verify.code, 5, verify.stderr);
  match(verify.stderr, /FAILED TRUNCATED at seq 21/);
  match(verify.stderr, /checkpoint at size 25 \(witness line 3\); the store ends at seq 20/);
  const json = await runCli(["audit", "verify", "--json"], { home: h.home });
  equal(json.code, 5);
  const report = JSON.parse(json.stdout);
  deepEqual([report.firstBad.code, report.firstBad.witnessLine, report.witness.size], [
    "TRUNCATED",
    3,
    25,
  ]);
  for (const args of [["audit", "list"], ["audit", "stats"]]) {
    const run = await runCli(args, { home: h.home });
    equal(run.code, 5, `${args.join(" ")}: ${run.stderr}`);
    match(run.stderr, /TRUNCATED.*witness line 3.*astrid audit verify/);
    ok(!run.stderr.includes("    at "), "one line, no stack trace");
  }
});

Deno.test("astrid audit verify says ROLLED BACK when an older state.kv is copied back", async () => {
  await using h = await home(15);
  const backup = join(h.home, "backup");
  await Deno.mkdir(backup);
  await copyKv(h.kv, join(backup, "state.kv"));
  {
    using store = await openStore(h.kv);
    await appendEntries(store, h.key, 10, h.witness, "s", h.kv); // witnessed 20, 25
  }
  await copyKv(join(backup, "state.kv"), h.kv);
  const verify = await runCli(["audit", "verify"], { home: h.home });
  equal(verify.code, 5, verify.stderr);
  match(verify.stderr, /FAILED ROLLED BACK at seq 16/);
  match(verify.stderr, /size 25 \(witness line 4\); the store ends at seq 15/);
  const list = await runCli(["audit", "list"], { home: h.home });
  equal(list.code, 5);
  match(list.stderr, /ROLLED BACK/);
});

Deno.test("a tampered witness line is exit 5 with its line number", async () => {
  await using h = await home();
  const lines = (await Deno.readTextFile(h.witness)).trimEnd().split("\n");
  lines[1] = lines[1]!.replace(/"size":20/, '"size":21');
  await Deno.writeTextFile(h.witness, lines.join("\n") + "\n");
  const verify = await runCli(["audit", "verify"], { home: h.home });
  equal(verify.code, 5, verify.stderr);
  match(verify.stderr, /FAILED BAD_CHECKPOINT .*witness line 2: /);
});

Deno.test("a deleted witness does not block: verify warns, the next command witnesses the store again", async () => {
  await using h = await home();
  await Deno.remove(h.witness);
  const verify = await runCli(["audit", "verify"], { home: h.home });
  equal(verify.code, 0, verify.stderr);
  match(verify.stderr, /witness: .* does not exist/);
  match(verify.stderr, /note: .*cannot be detected/);
  const list = await runCli(["audit", "list"], { home: h.home });
  equal(list.code, 0, list.stderr);
  equal((await Deno.readTextFile(h.witness)).trimEnd().split("\n").length, 1);
  const again = await runCli(["audit", "verify"], { home: h.home });
  equal(again.code, 0, again.stderr);
  match(again.stderr, /at size 25 \(line 1\)/);
  ok(!again.stderr.includes("note:"), again.stderr);
});

Deno.test("[audit] witness_path moves the witness; it is created 0600 in a 0700 folder", async () => {
  await using h = await home();
  const elsewhere = join(h.home, "elsewhere", "deep", "w.jsonl");
  await Deno.writeTextFile(
    join(h.home, "config.toml"),
    `[audit]\nwitness_path = "${join(h.home, "elsewhere", "deep", "w.jsonl")}"\n`,
  );
  const list = await runCli(["audit", "list"], { home: h.home });
  equal(list.code, 0, list.stderr);
  equal((await Deno.stat(elsewhere)).mode! & 0o777, 0o600);
  equal((await Deno.stat(join(h.home, "elsewhere", "deep"))).mode! & 0o777, 0o700);
  const verify = await runCli(["audit", "verify", "--json"], { home: h.home });
  equal(verify.code, 0, verify.stderr);
  deepEqual([JSON.parse(verify.stdout).witness.path, JSON.parse(verify.stdout).witness.size], [
    elsewhere,
    25,
  ]);
});

Deno.test("astrid audit verify --file EXPORT --witness FILE checks an export against the witness", async () => {
  await using h = await home();
  const out = join(h.home, "export.jsonl");
  equal((await runCli(["audit", "export", "-o", out], { home: h.home })).code, 0);
  const ok1 = await runCli(["audit", "verify", "--file", out, "--witness", h.witness], {
    home: h.home,
  });
  equal(ok1.code, 0, ok1.stderr);
  match(ok1.stderr, /at size 25 \(line 3\)/);
  const lines = (await Deno.readTextFile(out)).trimEnd().split("\n");
  const cutExport = join(h.home, "cut.jsonl");
  const kept = lines.filter((l) => {
    const v = JSON.parse(l) as { type: string; seq?: number; size?: number };
    return (v.type === "entry" ? v.seq! : v.type === "checkpoint" ? v.size! : 0) <= 20;
  });
  await Deno.writeTextFile(cutExport, kept.join("\n") + "\n");
  const alone = await runCli(["audit", "verify", "--file", cutExport], { home: h.home });
  equal(alone.code, 0, "alone, a cut export looks fine");
  const cut = await runCli(["audit", "verify", "--file", cutExport, "--witness", h.witness], {
    home: h.home,
  });
  equal(cut.code, 5, cut.stderr);
  match(cut.stderr, /FAILED TRUNCATED at seq 21 .*witness line 3/);
  const missing = await runCli(["audit", "verify", "--file", out, "--witness", "nope.jsonl"], {
    home: h.home,
  });
  equal(missing.code, 1);
  match(missing.stderr, /Cannot read/);
});

Deno.test("rm state.kv is exit 5 (the witness saw a log there); moving the witness aside starts over", async () => {
  await using h = await home(12);
  for await (const e of Deno.readDir(h.home)) {
    if (e.isFile && e.name.startsWith("state.kv")) await Deno.remove(join(h.home, e.name));
  }
  const verify = await runCli(["audit", "verify"], { home: h.home });
  equal(verify.code, 5, verify.stderr);
  match(verify.stderr, /FAILED TRUNCATED at seq 1 .*the store is empty, but the witness last saw/);
  const list = await runCli(["audit", "list"], { home: h.home });
  equal(list.code, 5, list.stderr);
  match(list.stderr, /move the witness .* aside/);
  await Deno.rename(h.witness, `${h.witness}.evidence`);
  const fresh = await runCli(["audit", "list"], { home: h.home });
  equal(fresh.code, 0, fresh.stderr);
});
