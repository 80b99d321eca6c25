import { deepEqual, equal, match, ok, rejects, throws } from "node:assert/strict";
import type { Action } from "../security/action.ts";
import { BashExecutor } from "./bash_executor.ts";
import { FileExecutor } from "./file_executor.ts";
import { BUILTIN_TOOLS, builtinTool } from "./registry.ts";
import { type ToolContext, type ToolEnv, ToolError } from "./types.ts";

async function session(): Promise<ToolContext> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-tools-" }));
  return { workspaceRoot: root, sessionId: "s1", cwd: root };
}

function tool(name: string) {
  const t = builtinTool(name);
  ok(t, name);
  return t;
}

async function classify(name: string, args: unknown, ctx: ToolContext): Promise<Action[]> {
  const t = tool(name);
  return await t.classify(t.parse(args), ctx);
}

Deno.test("BUILTIN_TOOLS have strict object schemas whose required fields exist", () => {
  equal(BUILTIN_TOOLS.length, 8);
  for (const { definition } of BUILTIN_TOOLS) {
    equal(definition.inputSchema.type, "object");
    equal(definition.inputSchema.additionalProperties, false);
    for (const field of definition.inputSchema.required) {
      ok(field in definition.inputSchema.properties, `${definition.name}.${field}`);
    }
    ok(definition.description.length > 20);
  }
  deepEqual(Object.keys(tool("grep").definition.inputSchema.properties), [
    "pattern",
    "path",
    "glob",
    "context",
    "case_insensitive",
  ]);
});

Deno.test("parse() throws TypeError naming the bad field", () => {
  throws(() => tool("read_file").parse({}), /read_file\.file_path: expected a string/);
  throws(() => tool("read_file").parse({ file_path: "a", limit: 0 }), /read_file\.limit/);
  throws(() => tool("read_file").parse({ file_path: "a\0b" }), /NUL/);
  throws(
    () => tool("write_file").parse({ file_path: "a", content: "x", mode: 1 }),
    /unknown field "mode"/,
  );
  throws(
    () => tool("edit_file").parse({ file_path: "a", old_string: "x", new_string: "x" }),
    /equals/,
  );
  throws(() => tool("grep").parse({ pattern: "(" }), /grep\.pattern/);
  throws(() => tool("bash").parse({ command: "ls", timeout: 600_001 }), /bash\.timeout/);
  throws(() => tool("task").parse({ description: "x" }), /task\.prompt/);
  throws(() => tool("glob").parse([]), TypeError);
  throws(() => tool("list_directory").parse(null), TypeError);
  deepEqual(tool("bash").parse({ command: "ls" }), { command: "ls", timeout: 120_000 });
  deepEqual(tool("read_file").parse({ file_path: "a" }), { file_path: "a" });
});

Deno.test("file tools classify to canonical file_read / file_write paths", async () => {
  const ctx = await session();
  const root = ctx.workspaceRoot;
  await Deno.symlink("/etc", `${root}/etc-link`);
  deepEqual(await classify("read_file", { file_path: "a.txt" }, ctx), [
    { kind: "file_read", path: `${root}/a.txt` },
  ]);
  deepEqual(await classify("read_file", { file_path: "../../../../../etc/passwd" }, ctx), [
    { kind: "file_read", path: "/etc/passwd" },
  ]);
  deepEqual(await classify("read_file", { file_path: "etc-link/hostname" }, ctx), [
    { kind: "file_read", path: "/etc/hostname" },
  ]);
  deepEqual(await classify("write_file", { file_path: "new/dir/x.ts", content: "" }, ctx), [
    { kind: "file_write", path: `${root}/new/dir/x.ts` },
  ]);
  deepEqual(
    await classify("edit_file", { file_path: "/etc/hosts", old_string: "a", new_string: "b" }, ctx),
    [{ kind: "file_write", path: "/etc/hosts" }],
  );
  deepEqual(await classify("glob", { pattern: "**/*.ts" }, ctx), [{
    kind: "file_read",
    path: root,
  }]);
  deepEqual(await classify("grep", { pattern: "x", path: "/proc/self/root/etc" }, ctx), [
    { kind: "file_read", path: "/etc" },
  ]);
  deepEqual(await classify("list_directory", {}, ctx), [{ kind: "file_read", path: root }]);
});

Deno.test("bash classifies every hidden command, redirect and network target", async () => {
  const ctx = await session();
  const argvs = async (command: string) =>
    (await classify("bash", { command }, ctx)).flatMap((a) =>
      a.kind === "execute_command" ? [a.argv.join(" ")] : []
    );
  deepEqual(await argvs("sudo ls"), ["sudo ls"]);
  deepEqual(await argvs("echo ok && sudo ls"), ["echo ok", "sudo ls"]);
  ok((await argvs("echo $(sudo id)")).includes("sudo id"));
  ok((await argvs("echo `sudo id`")).includes("sudo id"));
  deepEqual(await argvs("env sudo id"), ["env sudo id"]);
  deepEqual(await argvs("/usr/bin/sudo id"), ["/usr/bin/sudo id"]);
  ok((await argvs("bash -c 'sudo id'")).includes("sudo id"));
  ok(
    (await argvs("echo $HOME")).includes("bash -c echo $HOME"),
    "a dynamic line is also named whole",
  );
  deepEqual(await argvs("rm -rf /"), ["rm -rf /"]);

  const redirected = await classify("bash", { command: "cat < in.txt > out.txt 2>/dev/null" }, ctx);
  deepEqual(redirected, [
    {
      kind: "execute_command",
      argv: ["cat"],
      line: "cat < in.txt > out.txt 2>/dev/null",
      cwd: ctx.cwd,
    },
    { kind: "file_read", path: `${ctx.workspaceRoot}/in.txt` },
    { kind: "file_write", path: `${ctx.workspaceRoot}/out.txt` },
  ]);
  ok(
    (await argvs("cd /etc && echo x > passwd")).includes("bash -c cd /etc && echo x > passwd"),
    "a relative redirect after cd is only a guess, so the whole line is named too",
  );

  const net = await classify("bash", { command: "curl http://127.0.0.1:8080/x | tee /etc/x" }, ctx);
  deepEqual(net.filter((a) => a.kind === "network_request"), [
    { kind: "network_request", url: "http://127.0.0.1:8080/x" },
  ]);
  const clone = await classify("bash", {
    command: "git clone git@github.com:a/b.git && npm install",
  }, ctx);
  deepEqual(
    clone.filter((a) => a.kind === "network_request").map((a) => (a as { url: string }).url),
    [
      "https://github.com/",
      "https://registry.npmjs.org/",
    ],
  );
  await rejects(classify("bash", { command: "echo 'unterminated" }, ctx), SyntaxError);
});

Deno.test("task classifies as sub_agent_spawn and fails clearly without a runner", async () => {
  const ctx = await session();
  const t = tool("task");
  const args = t.parse({ description: "run tests", prompt: "Run the test suite" });
  deepEqual(await t.classify(args, ctx), [
    { kind: "sub_agent_spawn", parentSession: "s1", description: "run tests" },
  ]);
  const env = { files: {}, shell: {} } as unknown as ToolEnv;
  await rejects(t.run(args, ctx, env), (err) => {
    ok(err instanceof ToolError);
    equal(err.code, "UNAVAILABLE");
    match(err.message, /sub-agents are not available yet/);
    return true;
  });
  const withRunner: ToolEnv = {
    ...env,
    subAgent: (a, c) =>
      Promise.resolve({ output: `${a.prompt} in ${c.sessionId}`, isError: false }),
  };
  equal((await t.run(args, ctx, withRunner)).output, "Run the test suite in s1");
});

Deno.test("tools run end to end through the executors, relative paths at the workspace root", async () => {
  const ctx = await session();
  using files = FileExecutor.create({ root: ctx.workspaceRoot });
  const env: ToolEnv = { files, shell: await BashExecutor.create() };
  const call = async (name: string, args: unknown) => {
    const t = tool(name);
    return (await t.run(t.parse(args), ctx, env)).output;
  };
  match(
    await call("write_file", { file_path: "src/a.ts", content: "export const a = 1;\n" }),
    /Created/,
  );
  match(
    await call("edit_file", { file_path: "src/a.ts", old_string: "1", new_string: "2" }),
    /replaced 1/,
  );
  match(await call("read_file", { file_path: "src/a.ts" }), /1\texport const a = 2;/);
  equal(await call("glob", { pattern: "**/*.ts" }), `${ctx.workspaceRoot}/src/a.ts`);
  match(await call("grep", { pattern: "a = 2", path: "src" }), /a\.ts:1:export/);
  match(await call("list_directory", { path: "src" }), /file\t20\ta\.ts/);
  equal(await call("bash", { command: "cd src && cat a.ts" }), "export const a = 2;\n");
  equal(ctx.cwd, `${ctx.workspaceRoot}/src`);
  await rejects(
    call("read_file", { file_path: "../../../../../../etc/passwd" }),
    (err) => err instanceof ToolError && err.code === "NOT_CAPABLE",
  );
});

Deno.test("an approved escape runs through its canonical path, and only that path", async () => {
  const ctx = await session();
  using files = FileExecutor.create({ root: ctx.workspaceRoot });
  using wider = files.withGrants({ readEscapes: ["/etc/hostname"] });
  const env: ToolEnv = { files: wider, shell: await BashExecutor.create() };
  const t = tool("read_file");
  const args = t.parse({ file_path: "/proc/self/root/etc/hostname" });
  deepEqual(await t.classify(args, ctx), [{ kind: "file_read", path: "/etc/hostname" }]);
  match((await t.run(args, ctx, env)).output, /^ {5}1\t/);
  await rejects(
    t.run(t.parse({ file_path: "/proc/self/root/etc/passwd" }), ctx, env),
    (err) => err instanceof ToolError && err.code === "NOT_CAPABLE",
  );
});
