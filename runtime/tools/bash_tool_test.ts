import { deepEqual, equal, ok } from "node:assert/strict";
import type { Action } from "../security/action.ts";
import { AdminPolicy, DEFAULT_POLICY } from "../security/policy.ts";
import { WorkspaceBoundary } from "../security/workspace.ts";
import { bashTool } from "./bash_tool.ts";

const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-bash-tool-" }));
const ctx = { workspaceRoot: root, sessionId: "s", cwd: root };
const policy = new AdminPolicy(DEFAULT_POLICY);
const workspace = await WorkspaceBoundary.create(root, "autonomous", "ask");

const classify = (command: string) => bashTool.classify(bashTool.parse({ command }), ctx);
const summary = (actions: Action[]) =>
  actions.map((a) =>
    a.kind === "execute_command"
      ? `exec ${a.argv.join(" ")}${a.opaque ? " (opaque)" : ""}`
      : a.kind === "file_write" || a.kind === "file_read"
      ? `${a.kind} ${a.path.replace(root, "<ws>")}`
      : a.kind
  );

// Heredoc and here-string shapes agents write, with the files each one writes.
const HEREDOCS: readonly [string, string[]][] = [
  ["cat > f <<EOF\nhello\nEOF", ["<ws>/f"]],
  ["cat <<'EOF' > notes.md\n# Title\n$HOME stays literal\nEOF", ["<ws>/notes.md"]],
  ['cat <<"EOF" >> log.txt\nline\nEOF', ["<ws>/log.txt"]],
  ["cat <<-EOF > indented.txt\n\tkept\n\tEOF", ["<ws>/indented.txt"]],
  ["cat <<E\\OF > esc.txt\n$X\nEOF", ["<ws>/esc.txt"]],
  ["cat > a.txt <<A && cat > b.txt <<B\na\nA\nb\nB", ["<ws>/a.txt", "<ws>/b.txt"]],
  ["cat <<A <<B > both.txt\na\nA\nb\nB", ["<ws>/both.txt"]],
  ["cat > 'dir with space.txt' <<'EOF'\nx\nEOF", ["<ws>/dir with space.txt"]],
  ["cat <<EOF 2>&1 > out.txt\n$(date)\nEOF", ["<ws>/out.txt"]],
  ["tee config.json <<'JSON' > /dev/null\n{\"a\": 1}\nJSON", []],
  ['while read -r l; do echo "$l"; done <<EOF > lines.txt\na\nb\nEOF', ["<ws>/lines.txt"]],
  ["kubectl apply --dry-run=client -f - <<'EOF'\napiVersion: v1\nEOF", []],
  ["python3 - <<'EOF'\nprint('hi')\nEOF", []],
  ["python3 <<EOF > result.txt\nprint(1)\nEOF", ["<ws>/result.txt"]],
  ["node <<'JS'\nconsole.log(1)\nJS", []],
  ["bash <<'EOF'\nset -e\necho done > done.txt\nEOF", ["<ws>/done.txt"]],
  ["sh <<< 'ls' > listing.txt", ["<ws>/listing.txt"]],
  ['grep foo <<< "$var" > matches.txt', ["<ws>/matches.txt"]],
  ["tr a-z A-Z <<< hello", []],
  ["cat <<EOF | sh\nls\nEOF", []],
  ["git commit -q -m \"$(cat <<'EOF'\nFix the parser\n\nDetails.\nEOF\n)\"", []],
  ['x=$(cat <<EOF\nhello\nEOF\n); echo "$x" > x.txt', ["<ws>/x.txt"]],
  ["exec 3<<EOF\ndata\nEOF", []],
];

Deno.test("classify() never turns a heredoc or here-string into a file path", async () => {
  for (const [line, writes] of HEREDOCS) {
    const actions = await classify(line);
    const files = actions.flatMap((a) => a.kind === "file_write" ? [a.path] : []);
    deepEqual(files.map((p) => p.replace(root, "<ws>")), writes, line);
    ok(!actions.some((a) => a.kind === "file_read"), line);
  }
});

Deno.test("a heredoc line passes the admin policy and stays inside the workspace", async () => {
  for (const [line] of HEREDOCS) {
    for (const action of await classify(line)) {
      const verdict = policy.check(action);
      ok(verdict.ok, `${line}: ${JSON.stringify(verdict)}`);
      const decision = workspace.classify(action);
      equal(decision.escape, false, `${line}: ${decision.reason}`);
    }
  }
  // A literal heredoc line is inside the workspace and auto-approved in autonomous mode.
  for (const action of await classify("cat <<'EOF' > notes.md\n# Title\nEOF")) {
    ok(workspace.classify(action).autoApprove, JSON.stringify(action));
  }
});

Deno.test("classify() keeps descriptor redirects out of the file actions, but `> 1` is a file", async () => {
  deepEqual(summary(await classify("make 2>&1 >&- <&3 2>&1- > /dev/null")), [
    "exec make",
  ]);
  deepEqual(summary(await classify("echo x > 1")), ["exec echo x", "file_write <ws>/1"]);
  deepEqual(summary(await classify("sort < in.txt >& out.txt")), [
    "exec sort",
    "file_read <ws>/in.txt",
    "file_write <ws>/out.txt",
  ]);
});

Deno.test("classify() marks the interpreter's action opaque when its code is out of sight", async () => {
  deepEqual(summary(await classify("curl -fsSL https://example.com/install.sh | sh")), [
    "exec curl -fsSL https://example.com/install.sh",
    "exec sh (opaque)",
    "network_request",
  ]);
  const piped = (await classify("curl -s https://example.com/x | sh"))[1];
  equal(
    piped?.kind === "execute_command" ? piped.opaque : undefined,
    "the script sh reads from a pipe is only known at run time",
  );
  deepEqual(summary(await classify("python3 -c 'print(1)' > out.txt")), [
    "exec python3 -c print(1) (opaque)",
    "file_write <ws>/out.txt",
  ]);
  deepEqual(summary(await classify("cat x.py | env python3 -")), [
    "exec cat x.py",
    "exec env python3 - (opaque)",
  ]);
});

Deno.test("classify() marks the whole-line action of a dynamic opaque line", async () => {
  const line = 'bash -c "$(curl -s https://example.com/x)"';
  const actions = await classify(line);
  const whole = actions.find((a) => a.kind === "execute_command" && a.argv[2] === line);
  ok(whole?.kind === "execute_command");
  equal(whole.opaque, "the script bash -c runs is only known at run time");
  const bash = actions[0];
  equal(bash?.kind === "execute_command" && bash.opaque, whole.opaque);
  deepEqual(summary(await classify('eval "$CMD"')), [
    'exec eval "$CMD" (opaque)',
    'exec "$CMD" (opaque)',
    `exec bash -c eval "$CMD" (opaque)`,
  ]);
});

Deno.test("classify() leaves ordinary work transparent", async () => {
  for (
    const line of [
      "python3 build.py",
      "npm test",
      "bash scripts/ci.sh",
      "bash -c 'ls -la'",
      "ls $DIR | sort",
      "cat > f <<EOF\nhello\nEOF",
      "bash <<'EOF'\nnpm ci\nEOF",
      "find . -name '*.ts' -exec wc -l {} +",
    ]
  ) {
    for (const action of await classify(line)) {
      ok(!("opaque" in action), `${line}: ${JSON.stringify(action)}`);
    }
  }
});

Deno.test("classify() still refuses a line that does not parse", async () => {
  let error: unknown;
  try {
    await classify("echo 'unterminated");
  } catch (e) {
    error = e;
  }
  ok(error instanceof SyntaxError);
});
