/**
 * Tool executor overheads (targets from issue 3):
 * - `read_file` of a small file through the FileExecutor Worker vs a direct `Deno.readTextFile`
 *   (target: ≤ 2 ms median overhead);
 * - `true` under bwrap vs a plain spawn (target: ≤ 30 ms median overhead).
 *
 * Run: deno bench -A --unstable-worker-options bench/tools_bench.ts
 */
import { BashExecutor, FileExecutor } from "../runtime/tools/mod.ts";
import { Sandbox } from "../runtime/sandbox/mod.ts";
import { NO_WALLS } from "../runtime/security/walls.ts";

const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-bench-" }));
const file = `${root}/small.txt`;
await Deno.writeTextFile(file, "line\n".repeat(40));
const files = FileExecutor.create({ root });
await files.run("read_file", { file_path: file }); // start the Worker outside the measurement
const shell = await BashExecutor.create();
const ctx = { workspaceRoot: root, sessionId: "bench", cwd: root };

Deno.bench(
  "read_file: direct Deno.readTextFile",
  { group: "read_file", baseline: true },
  async () => {
    await Deno.readTextFile(file);
  },
);

Deno.bench("read_file: FileExecutor (Worker, verified open)", { group: "read_file" }, async () => {
  await files.run("read_file", { file_path: file });
});

Deno.bench("spawn: plain `true`", { group: "spawn", baseline: true }, async () => {
  await new Deno.Command("true", { stdout: "null", stderr: "null" }).output();
});

Deno.bench(
  "spawn: `true` under a bare bwrap (no namespaces but mount)",
  { group: "spawn" },
  async () => {
    await new Deno.Command("/usr/bin/bwrap", {
      args: ["--ro-bind", "/", "/", "--", "true"],
      stdout: "null",
      stderr: "null",
    }).output();
  },
);

const sandbox = await Sandbox.open({ ...NO_WALLS, userHome: Deno.env.get("HOME") ?? null });
Deno.bench(
  "spawn: `true` inside the full wall (user namespace, caps dropped, hides, no net)",
  { group: "spawn" },
  async () => {
    if (!(sandbox instanceof Sandbox)) throw new Error(`no sandbox: ${sandbox}`);
    const walled = await sandbox.command({ workspace: root, network: false, cwd: root }, ["true"]);
    await new Deno.Command(walled.program, {
      args: walled.args,
      stdout: "null",
      stderr: "null",
    }).output();
  },
);

Deno.bench(
  "spawn: BashExecutor.run(`true`) (bwrap + bash + cwd marker)",
  { group: "spawn" },
  async () => {
    await shell.run({ command: "true", timeout: 10_000 }, ctx);
  },
);
