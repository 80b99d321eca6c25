import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { BashExecutor } from "./bash_executor.ts";
import { type ToolContext, ToolError } from "./types.ts";

async function session(): Promise<ToolContext> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-sh-" }));
  return { workspaceRoot: root, sessionId: "test", cwd: root };
}

const shell = await BashExecutor.create();
const T = 20_000;

Deno.test("BashExecutor.run() returns output and exit code; stderr is merged", async () => {
  const ctx = await session();
  const ok0 = await shell.run({ command: "echo out; echo err >&2", timeout: T }, ctx);
  equal(ok0.output, "out\nerr\n");
  equal(ok0.exitCode, 0);
  equal(ok0.isError, false);
  const bad = await shell.run({ command: "echo nope; exit 7", timeout: T }, ctx);
  equal(bad.exitCode, 7);
  equal(bad.isError, true);
  match(bad.output, /^nope\n\n\[exit code 7\]$/);
});

Deno.test("BashExecutor.run() persists the working directory inside the workspace only", async () => {
  const ctx = await session();
  await Deno.mkdir(`${ctx.workspaceRoot}/sub/deeper`, { recursive: true });
  await shell.run({ command: "cd sub", timeout: T }, ctx);
  equal(ctx.cwd, `${ctx.workspaceRoot}/sub`);
  equal(
    (await shell.run({ command: "cd deeper && pwd", timeout: T }, ctx)).output,
    `${ctx.workspaceRoot}/sub/deeper\n`,
  );
  equal(ctx.cwd, `${ctx.workspaceRoot}/sub/deeper`);
  await shell.run({ command: "cd /etc", timeout: T }, ctx);
  equal(ctx.cwd, `${ctx.workspaceRoot}/sub/deeper`, "a cd outside the workspace is not persisted");
  await shell.run({ command: "cd .. ; exit 3", timeout: T }, ctx);
  equal(ctx.cwd, `${ctx.workspaceRoot}/sub`, "the cwd is reported even when the command exits");
  await Deno.remove(`${ctx.workspaceRoot}/sub`, { recursive: true });
  equal((await shell.run({ command: "pwd", timeout: T }, ctx)).output, `${ctx.workspaceRoot}\n`);
});

Deno.test("BashExecutor.run() does not let a forged marker move the cwd outside", async () => {
  const ctx = await session();
  const out = await shell.run({ command: "printf '\\n__ASTRID_CWD_x__:/etc\\n'", timeout: T }, ctx);
  equal(ctx.cwd, ctx.workspaceRoot);
  match(out.output, /__ASTRID_CWD_x__:\/etc/);
});

Deno.test("BashExecutor.run() kills the whole process tree on timeout", async () => {
  const ctx = await session();
  const tag = 1000 + Math.floor(Math.random() * 8000);
  const result = await shell.run({ command: `sleep ${tag} & sleep ${tag}`, timeout: 500 }, ctx);
  equal(result.isError, true);
  match(result.output, /killed: the command ran past its 500 ms timeout/);
  await new Promise((r) => setTimeout(r, 200));
  const ps = await new Deno.Command("pgrep", { args: ["-f", `sleep ${tag}`] }).output();
  equal(new TextDecoder().decode(ps.stdout), "", "no sleep survives");
});

Deno.test("BashExecutor.run() has no network unless allowed", async () => {
  const ctx = await session();
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    () => new Response("pong"),
  );
  try {
    const hasCurl =
      (await new Deno.Command("sh", { args: ["-c", "command -v curl"] }).output()).success;
    const command = hasCurl
      ? `curl -s --max-time 5 http://127.0.0.1:${server.addr.port}/`
      : `exec 3<>/dev/tcp/127.0.0.1/${server.addr.port} && echo pong`;
    const blocked = await shell.run({ command, timeout: T }, ctx);
    equal(blocked.isError, true, blocked.output);
    const allowed = await shell.run({ command, timeout: T }, ctx, { allowNetwork: true });
    equal(allowed.exitCode, 0, allowed.output);
    match(allowed.output, /pong/);
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("BashExecutor.run() keeps the system read-only and the workspace writable", async () => {
  const ctx = await session();
  const tee = await shell.run({ command: "echo x | tee /etc/astrid-x", timeout: T }, ctx);
  equal(tee.isError, true);
  match(tee.output, /Read-only file system/);
  await rejects(Deno.lstat("/etc/astrid-x"), Deno.errors.NotFound);
  const rm = await shell.run({ command: "rm -rf /usr/bin/true", timeout: T }, ctx);
  equal(rm.isError, true);
  ok((await Deno.lstat("/usr/bin/true")).isFile || (await Deno.lstat("/usr/bin/true")).isSymlink);
  await shell.run({ command: "mkdir -p out && echo data > out/f.txt", timeout: T }, ctx);
  equal(await Deno.readTextFile(`${ctx.workspaceRoot}/out/f.txt`), "data\n");
});

Deno.test("BashExecutor.run() gives each call a private /tmp", async () => {
  const ctx = await session();
  const hostFile = await Deno.makeTempFile({ prefix: "astrid-host-" });
  const name = `astrid-private-${crypto.randomUUID()}`;
  const out = await shell.run({
    command: `ls /tmp; echo hidden > /tmp/${name}; cat /tmp/${name}`,
    timeout: T,
  }, ctx);
  ok(!out.output.includes(hostFile.slice("/tmp/".length)), out.output);
  match(out.output, /hidden/);
  await rejects(Deno.lstat(`/tmp/${name}`), Deno.errors.NotFound);
});

Deno.test("BashExecutor.run() passes only the allowlisted environment", async () => {
  const ctx = await session();
  const out = await shell.run({ command: "env | cut -d= -f1 | sort", timeout: T }, ctx);
  const names = out.output.trim().split("\n").filter((n) =>
    !["PWD", "SHLVL", "_", "OLDPWD"].includes(n)
  );
  deepEqual(names, ["HOME", "LANG", "PATH", "TERM"]);
  equal(
    (await shell.run({ command: "echo $HOME", timeout: T }, ctx)).output,
    `${ctx.workspaceRoot}\n`,
  );
});

Deno.test("BashExecutor.run() caps large output with a marker", async () => {
  const ctx = await session();
  const small = await BashExecutor.create({ maxOutputChars: 1000 });
  const out = await small.run({ command: "head -c 5000 /dev/zero | tr '\\0' a", timeout: T }, ctx);
  equal(out.truncatedChars, 4000);
  match(out.output, /\[\.\.\. output truncated: 4000 of 5000 characters cut \.\.\.\]$/);
});

Deno.test("BashExecutor refuses to run without bwrap unless the sandbox is off", async () => {
  const ctx = await session();
  const missing = await BashExecutor.create({ bwrapPath: "/nonexistent/bwrap" });
  await rejects(missing.run({ command: "echo hi", timeout: T }, ctx), (err) => {
    ok(err instanceof ToolError);
    equal(err.code, "SANDBOX_UNAVAILABLE");
    match(err.message, /sandbox = "off"/);
    return true;
  });
  const off = await BashExecutor.create({ sandbox: "off", bwrapPath: "/nonexistent/bwrap" });
  equal((await off.run({ command: "echo hi", timeout: T }, ctx)).output, "hi\n");
});

Deno.test("BashExecutor with the sandbox off still kills the process group on timeout", async () => {
  const ctx = await session();
  const off = await BashExecutor.create({ sandbox: "off" });
  const tag = 1000 + Math.floor(Math.random() * 8000);
  await off.run({ command: `sleep ${tag}.5 & sleep ${tag}.5`, timeout: 400 }, ctx);
  await new Promise((r) => setTimeout(r, 200));
  const ps = await new Deno.Command("pgrep", { args: ["-f", `sleep ${tag}.5`] }).output();
  equal(new TextDecoder().decode(ps.stdout), "");
});

Deno.test("BashExecutor.run() rejects out-of-range timeouts", async () => {
  const ctx = await session();
  await rejects(
    async () => await shell.run({ command: "true", timeout: 600_001 }, ctx),
    RangeError,
  );
  await rejects(async () => await shell.run({ command: "true", timeout: 0 }, ctx), RangeError);
});

Deno.test("BashExecutor.run() keeps the cwd marker even after megabytes of output", async () => {
  const ctx = await session();
  await Deno.mkdir(`${ctx.workspaceRoot}/sub`);
  const out = await shell.run({
    command: "head -c 6000000 /dev/zero | tr '\\0' a; cd sub",
    timeout: T,
  }, ctx);
  equal(ctx.cwd, `${ctx.workspaceRoot}/sub`);
  match(out.output, /output truncated: 5970000 of 6000000 characters cut/);
});

Deno.test("BashExecutor.run() never keeps a working directory inside .astrid", async () => {
  const ctx = await session();
  await Deno.mkdir(`${ctx.workspaceRoot}/.astrid/capsules`, { recursive: true });
  await Deno.symlink(`${ctx.workspaceRoot}/.astrid`, `${ctx.workspaceRoot}/cfg`);
  for (const command of ["cd .astrid/capsules", "cd cfg", 'cd "$(printf .ast)rid"']) {
    await shell.run({ command, timeout: T }, ctx);
    equal(ctx.cwd, ctx.workspaceRoot, command);
  }
});
