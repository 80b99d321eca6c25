import { equal, ok } from "node:assert/strict";
import { checkConfigWalls, namesConfigDir } from "./_config_walls.ts";
import { AdminPolicy, DEFAULT_POLICY } from "./policy.ts";
import type { Action } from "./action.ts";
import type { Walls } from "./walls.ts";

const walls: Walls = {
  hidden: ["/home/u/.astrid", "/srv/witness.jsonl"],
  userHome: "/home/u",
  sandboxHide: [],
};
const policy = new AdminPolicy({ ...DEFAULT_POLICY, walls });

function bash(line: string, cwd = "/ws"): Action {
  return { kind: "execute_command", argv: ["bash", "-c", line], line, cwd };
}

Deno.test("namesConfigDir() sees .astrid however it is spelled", () => {
  for (
    const w of [".astrid", "./.astrid/", "a/.astrid/b", "~/.astrid", "--out=.astrid/x", ".ast*"]
  ) {
    ok(namesConfigDir(w), w);
  }
  for (const w of [".[a]strid", "{.astrid,x}", ".astri?/capsules"]) ok(namesConfigDir(w), w);
  for (const w of [".astrid-notes", "astrid", "src/astrid.ts", "*.ts", ".git", "."]) {
    ok(!namesConfigDir(w), w);
  }
});

Deno.test("file and capsule writes into any .astrid folder are walls; reads are not", () => {
  const denied: Action[] = [
    { kind: "file_write", path: "/ws/.astrid/capsules/evil/Capsule.toml" },
    { kind: "file_write", path: "/ws/.astrid/config.toml" },
    { kind: "file_delete", path: "/ws/.astrid" },
    { kind: "file_write", path: "/ws/sub/.astrid/config.toml" },
    { kind: "capsule_file_access", capsule: "c", capability: "write_file", path: "/ws/.astrid/x" },
    {
      kind: "capsule_file_access",
      capsule: "c",
      capability: "fs_mkdir",
      path: "/ws/.astrid/capsules",
    },
    {
      kind: "capsule_file_access",
      capsule: "c",
      capability: "fs_unlink",
      path: "/ws/.astrid/config.toml",
    },
  ];
  for (const a of denied) {
    const v = policy.check(a);
    equal(v.ok ? "ok" : v.rule, "config_walls", JSON.stringify(a));
  }
  ok(policy.check({ kind: "file_read", path: "/ws/.astrid/config.toml" }).ok);
  ok(
    policy.check({
      kind: "capsule_file_access",
      capsule: "c",
      capability: "read_file",
      path: "/ws/.astrid/config.toml",
    }).ok,
  );
});

Deno.test("the runtime's own state is neither read nor written by any action", () => {
  const denied: Action[] = [
    { kind: "file_read", path: "/home/u/.astrid/keys/runtime.key" },
    { kind: "file_read", path: "/home/u/.astrid" },
    { kind: "file_write", path: "/home/u/.astrid/config.toml" },
    { kind: "file_read", path: "/srv/witness.jsonl" },
    {
      kind: "capsule_file_access",
      capsule: "c",
      capability: "fs_readdir",
      path: "/home/u/.astrid",
    },
  ];
  for (const a of denied) {
    const v = policy.check(a);
    equal(v.ok ? "ok" : v.rule, "config_walls", JSON.stringify(a));
  }
  ok(policy.check({ kind: "file_read", path: "/home/u/.astrid-other/x" }).ok);
});

Deno.test("commands naming configuration or the runtime's state are walls", () => {
  const lines = [
    "mkdir -p .astrid/capsules/evil",
    'cat > .astrid/capsules/evil/Capsule.toml <<EOF\n[package]\nname = "evil"\nEOF',
    "cp -r /tmp/evil .astrid/capsules/",
    "echo 'allow = [\"exec://**\"]' >> .astrid/config.toml",
    "mv x ./.astrid",
    "ln -s /tmp/x .astrid/capsules/evil",
    "cd .astrid && touch x",
    "tar -xf evil.tar -C .astrid",
    "rsync -a evil/ sub/../.astrid/",
    "cp evil .ast*/",
    "cat ~/.astrid/keys/runtime.key",
    "cat /home/u/.astrid/keys/runtime.key",
    "python3 /home/u/.astrid/../.astrid/state.kv",
    "ls /home/u/.ast*",
    "cat /srv/witness.jsonl",
    "sed -i s/a/b/ .astrid/config.toml",
    "find . -path ./.astrid -prune -o -print",
    "echo x | tee -a .astrid/config.toml",
    "git --git-dir=.astrid/x status",
  ];
  for (const line of lines) {
    const v = policy.check(bash(line));
    equal(v.ok ? "ok" : v.rule, "config_walls", line);
  }
  const v = policy.check(bash("touch x", "/ws/.astrid"));
  equal(v.ok ? "ok" : v.rule, "config_walls", "a cwd inside .astrid");
});

Deno.test("ordinary commands and heredocs that do not name configuration pass", () => {
  const lines = [
    "ls -la",
    "cat > notes.md <<'EOF'\nmention .astrid in text is fine\nEOF",
    "grep -rn astrid src",
    "git status && git diff",
    "echo hi > out.txt",
    "deno test -A",
    "find . -name '*.ts'",
    "cat src/astrid.ts",
  ];
  for (const line of lines) ok(policy.check(bash(line)).ok, line);
});

Deno.test("an MCP tool naming configuration or the runtime's state in its arguments is a wall", () => {
  const call = (args: unknown): Action => ({
    kind: "mcp_tool_call",
    server: "fs",
    tool: "write",
    args,
  });
  for (
    const args of [
      { path: "/ws/.astrid/capsules/evil/Capsule.toml" },
      { files: [{ path: ".astrid/config.toml" }] },
      { path: "~/.astrid/keys/runtime.key" },
      { nested: { deeper: { target: "/home/u/.astrid" } } },
    ]
  ) {
    const v = policy.check(call(args));
    equal(v.ok ? "ok" : v.rule, "config_walls", JSON.stringify(args));
  }
  ok(policy.check(call({ path: "/ws/src/a.ts", content: "x" })).ok);
});

Deno.test("checkConfigWalls() without walls still guards .astrid", () => {
  const none: Walls = { hidden: [], userHome: null, sandboxHide: [] };
  ok(checkConfigWalls({ kind: "file_write", path: "/x/.astrid/a" }, none));
  equal(checkConfigWalls({ kind: "file_read", path: "/x/.astrid/a" }, none), undefined);
});
