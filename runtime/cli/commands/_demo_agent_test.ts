import { equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempDirs } from "../../../tests/cli.ts";
import { agentDemo } from "./_demo_agent.ts";

Deno.test("agentDemo() narrates a replayed session: read, edit, bash, an outside write queued with provenance", async () => {
  const { home, ws } = await tempDirs();
  equal((await runCli(["init", ws], { home, cwd: ws })).code, 0);
  const notes: string[] = [];
  const runs: string[][] = [];
  await agentDemo({
    home,
    ws,
    note: (s) => notes.push(s),
    astrid: (args, env = {}) => {
      runs.push(args);
      return runCli(args, {
        home,
        cwd: ws,
        env: {
          ...env,
          DENO_DIR: Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME")!, ".cache", "deno"),
        },
      });
    },
  });
  const text = notes.join("\n");
  match(text, /REPLAYED MODEL, NOT A REAL ONE/);
  match(text, /→ read_file/);
  match(text, /← edit_file: ok/);
  match(text, /→ bash .*grep -c DONE/);
  match(text, /→ write_file .*leaked-plan\.md.*\(after untrusted: .*docs\/plan\.md/);
  match(text, /← write_file: deferred as/);
  match(text, /untrusted data: .*read_file docs\/plan\.md/);
  equal(
    (await Deno.readTextFile(join(ws, "docs", "plan.md"))).split("\n")[1],
    "- [x] DONE: bump the version",
  );
  await Deno.lstat(join(ws, "..", "leaked-plan.md")).then(
    () => ok(false, "the outside write ran"),
    (err) => ok(err instanceof Deno.errors.NotFound),
  );
  ok(runs.some((a) => a[0] === "sessions" && a[1] === "list"));
  // Every tool call is in the audit log.
  const audit = await runCli(["audit", "list", "--json"], { home, cwd: ws });
  const kinds = JSON.parse(audit.stdout).map((e: { action: { kind: string } }) => e.action.kind);
  for (const kind of ["file_read", "file_write", "execute_command"]) ok(kinds.includes(kind), kind);
});
