import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { MAX_NESTING, parseArgv, parseCommandLine } from "./shell.ts";

const cmds = (line: string) => parseCommandLine(line).commands;

Deno.test("parseCommandLine() finds commands in lists, pipelines and compound commands", () => {
  deepEqual(cmds("a 1 && b 2 || c; d | e"), [["a", "1"], ["b", "2"], ["c"], ["d"], ["e"]]);
  deepEqual(cmds("(sudo id)"), [["sudo", "id"]]);
  deepEqual(cmds("{ sudo id; }"), [["sudo", "id"]]);
  deepEqual(cmds("if true; then sudo id; else x; fi"), [["true"], ["sudo", "id"], ["x"]]);
  deepEqual(cmds("while false; do sudo id; done"), [["false"], ["sudo", "id"]]);
  deepEqual(cmds("for i in 1 2; do sudo id; done"), [["sudo", "id"]]);
  deepEqual(cmds("case x in a) sudo id;; esac"), [["sudo", "id"]]);
  deepEqual(cmds("f() { sudo id; }"), [["sudo", "id"]]);
  deepEqual(cmds("! sudo id &"), [["sudo", "id"]]);
  deepEqual(cmds("time sudo id"), [["sudo", "id"]]);
  deepEqual(cmds("FOO=1 sudo id"), [["sudo", "id"]]);
  deepEqual(cmds("X=1"), []);
});

Deno.test("parseCommandLine() finds commands inside substitutions and heredocs", () => {
  const p = parseCommandLine("echo $(sudo id) `whoami` <(cat z) >(tee q)");
  deepEqual(p.commands.slice(1), [["sudo", "id"], ["whoami"], ["cat", "z"], ["tee", "q"]]);
  equal(p.dynamic, true);
  deepEqual(cmds('echo "$(sudo id)"').slice(1), [["sudo", "id"]]);
  deepEqual(cmds("cat <<EOF\n$(sudo id)\nEOF").slice(1), [["sudo", "id"]]);
  deepEqual(cmds("export A=$(sudo id)"), [["sudo", "id"]]);
  deepEqual(cmds("[[ $(sudo id) ]]"), [["sudo", "id"]]);
});

Deno.test("parseCommandLine() renders literal words without quotes or escapes", () => {
  const p = parseCommandLine(`"su""do" 'a b' \\s\\u\\d\\o $'\\x73\\165do' "a\\"b" a\\ b`);
  deepEqual(p.commands, [["sudo", "a b", "sudo", "sudo", 'a"b', "a b"]]);
  equal(p.dynamic, false);
});

Deno.test("parseCommandLine() keeps non-ASCII words intact (UTF-8 through the Go parser)", () => {
  const p = parseCommandLine(`echo é "ü" $'\\xc3\\xa9\\u00e9' 日本 > /tmp/ß`);
  deepEqual(p.commands, [["echo", "é", "ü", "éé", "日本"]]);
  deepEqual(p.redirects, [{ op: ">", target: "/tmp/ß" }]);
  deepEqual(parseCommandLine(`echo "$X" ü`).commands, [["echo", '"$X"', "ü"]]);
});

Deno.test("parseCommandLine() keeps expansions as source text and flags them dynamic", () => {
  for (
    const [line, word] of [
      ["echo $X", "$X"],
      ["echo a*b", "a*b"],
      ["echo {a,b}c", "{a,b}c"],
      ["echo ${X:-y}", "${X:-y}"],
      ["echo [ab]", "[ab]"],
      ["echo $((1+2))", "$((1+2))"],
    ]
  ) {
    const p = parseCommandLine(line!);
    deepEqual(p.commands[0], ["echo", word], line);
    equal(p.dynamic, true, line);
  }
  equal(parseCommandLine("[ -f x ] && echo ok").dynamic, false);
});

Deno.test("parseCommandLine() recurses into shell -c scripts, eval, alias and find -exec", () => {
  deepEqual(cmds("bash -c 'sudo id'"), [["bash", "-c", "sudo id"], ["sudo", "id"]]);
  deepEqual(cmds(`bash -c "bash -c 'sudo id'"`).at(-1), ["sudo", "id"]);
  deepEqual(cmds("sh -ec 'sudo id'").at(-1), ["sudo", "id"]);
  deepEqual(cmds("/bin/dash -o errexit -c 'sudo id' name").at(-1), ["sudo", "id"]);
  deepEqual(cmds("zsh -lc 'a; sudo id'").at(-1), ["sudo", "id"]);
  deepEqual(cmds("env FOO=1 sh -c 'sudo id'").at(-1), ["sudo", "id"]);
  deepEqual(cmds("xargs -0 sh -c 'sudo id'").at(-1), ["sudo", "id"]);
  deepEqual(cmds("eval 'sudo' id").at(-1), ["sudo", "id"]);
  deepEqual(cmds("alias x='sudo id'").at(-1), ["sudo", "id"]);
  deepEqual(cmds("find . -name x -exec sudo rm {} +").at(-1), ["sudo", "rm", "{}"]);
  deepEqual(cmds("bash script.sh"), [["bash", "script.sh"]]);
});

Deno.test("parseCommandLine() collects redirects, including nested ones", () => {
  deepEqual(parseCommandLine("echo x > /etc/passwd 2>>log <in &>all 2>&1").redirects, [
    { op: ">", target: "/etc/passwd" },
    { op: ">>", target: "log" },
    { op: "<", target: "in" },
    { op: "&>", target: "all" },
    { op: ">&", target: "1" },
  ]);
  deepEqual(parseCommandLine("bash -c 'echo x >> /etc/hosts'").redirects, [
    { op: ">>", target: "/etc/hosts" },
  ]);
  deepEqual(parseCommandLine("echo $(cat < /etc/shadow)").redirects, [
    { op: "<", target: "/etc/shadow" },
  ]);
});

Deno.test("parseCommandLine() fails closed with SyntaxError", () => {
  for (const bad of ["echo 'x", "if true; then", "a &&", "echo $(("]) {
    throws(
      () => parseCommandLine(bad),
      (e: unknown) => e instanceof SyntaxError && e.message.startsWith("Cannot parse command:"),
    );
  }
  throws(() => parseCommandLine("a".repeat(64 * 1024 + 1)), /65537 bytes/);
  throws(() => parseCommandLine("eval ".repeat(MAX_NESTING + 1) + "ls"), /nesting/);
  ok(parseCommandLine("eval ".repeat(MAX_NESTING) + "ls").commands.length > 0);
  throws(() => parseCommandLine(7 as unknown as string), TypeError);
  throws(() => parseArgv(["bash", "-c", "echo 'x"]), SyntaxError);
});

Deno.test("parseArgv() expands an argv's nested scripts", () => {
  deepEqual(parseArgv(["nice", "bash", "-c", "sudo id && rm x"]).commands, [
    ["nice", "bash", "-c", "sudo id && rm x"],
    ["sudo", "id"],
    ["rm", "x"],
  ]);
  deepEqual(parseArgv(["ls", "-la"]).commands, [["ls", "-la"]]);
});
