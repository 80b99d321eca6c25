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

const stdinOf = (line: string) => parseCommandLine(line).details.map((d) => d.stdin);

Deno.test("parseCommandLine() gives one detail per command, in the same order", () => {
  for (
    const line of [
      "a | b && c",
      "bash -c 'x | y' | z",
      "find . -exec sh -c 'echo $1' _ {} \\; | wc -l",
      "env -S 'find . -exec ls ;'",
      "sh <<'EOF'\na; b | c\nEOF",
      "alias x='a | b'; trap 'c' EXIT",
    ]
  ) {
    const parsed = parseCommandLine(line);
    equal(parsed.details.length, parsed.commands.length, line);
    parsed.details.forEach((d, i) => equal(d.words.length, parsed.commands[i]!.length, line));
  }
  deepEqual(parseArgv(["sh", "-c", "ls"]).details, [
    { stdin: "inherit", words: ["literal", "literal", "literal"] },
    { stdin: "inherit", words: ["literal"] },
  ]);
});

Deno.test("parseCommandLine() tells where each command's stdin comes from", () => {
  const cases: [string, string[]][] = [
    ["a | b |& c", ["inherit", "pipe", "pipe"]],
    ["a && b || c; d &", ["inherit", "inherit", "inherit", "inherit"]],
    ["a < f", ["file"]],
    ["a 0< f 3< g", ["file"]],
    ["a 3< g", ["inherit"]],
    ["a <> f", ["file"]],
    ["a < <(b)", ["procsub", "procsub"]], // a redirect's own commands: conservatively the same
    ["a < /dev/null", ["closed"]],
    ["a <&-", ["closed"]],
    ["a <&3", ["unknown"]],
    ["a <&0", ["inherit"]],
    ["a <<E\nx\nE", ["heredoc"]],
    ["a <<-E\n\tx\n\tE", ["heredoc"]],
    ["a <<< x", ["herestring"]],
    ["a < f <<< x", ["herestring"]],
    ["x | { a; b; }", ["inherit", "pipe", "pipe"]],
    ["x | (a) | b < f", ["inherit", "pipe", "file"]],
    ["while read l; do a; done < f", ["file", "file"]],
    ["x | while read l; do a; done", ["inherit", "pipe", "pipe"]],
    ["tee >(a) <(b)", ["inherit", "pipe", "inherit"]],
    ["x | echo $(a)", ["inherit", "pipe", "pipe"]],
    ["f() { a; }", ["unknown"]],
    ["coproc a", ["pipe"]],
    ["exec < f; a", ["file", "unknown"]],
    ["exec 3< f; a", ["inherit", "inherit"]],
    ["x | bash -c 'a; b'", ["inherit", "pipe", "pipe", "pipe"]],
    ["x | eval a", ["inherit", "pipe", "pipe"]],
    ["trap a EXIT", ["inherit", "unknown"]],
    ["x | find . -exec a {} ;", ["inherit", "pipe", "pipe"]],
  ];
  for (const [line, kinds] of cases) deepEqual(stdinOf(line), kinds, line);
});

Deno.test("parseCommandLine() marks dynamic words and process substitutions", () => {
  deepEqual(parseCommandLine(`bash <(curl x) "$A" 'b' c$(d) >(e)`).details[0]?.words, [
    "literal",
    "procsub",
    "dynamic",
    "literal",
    "dynamic",
    "procsub",
  ]);
  deepEqual(parseCommandLine("find . -exec sh -c $S ;").details[1]?.words, [
    "literal",
    "literal",
    "dynamic",
  ]);
});

Deno.test("parseCommandLine() parses the literal script a heredoc or here-string feeds a shell", () => {
  const quoted = parseCommandLine("bash <<'EOF'\nsudo id $X\nEOF");
  deepEqual(quoted.commands, [["bash"], ["sudo", "id", "$X"]]);
  equal(quoted.details[0]?.stdinText, "sudo id $X\n");
  equal(quoted.details[1]?.stdin, "heredoc");
  equal(quoted.dynamic, true);
  const plain = parseCommandLine("sh -s <<EOF\necho \\$HOME > /etc/x\nEOF");
  deepEqual(plain.commands, [["sh", "-s"], ["echo", "$HOME"]]);
  deepEqual(plain.redirects, [{ op: "<<", target: "" }, { op: ">", target: "/etc/x" }]);
  deepEqual(cmds("sh <<< 'sudo id'"), [["sh"], ["sudo", "id"]]);
  deepEqual(cmds(". /dev/stdin <<< 'sudo id'"), [[".", "/dev/stdin"], ["sudo", "id"]]);
  deepEqual(cmds("env bash <<-EOF\n\tsudo id\n\tEOF").at(-1), ["sudo", "id"]);
  // Expansions in the body, a script file, or a body that does not parse: not parsed.
  for (
    const line of [
      "bash <<EOF\n$CMD\nEOF",
      'sh <<< "$X"',
      "bash x.sh <<'EOF'\nsudo id\nEOF",
      "bash -c 'ls' <<< 'sudo id'",
      "cat <<'EOF'\nsudo id\nEOF",
      "bash <<'EOF'\nif then (\nEOF",
    ]
  ) {
    const parsed = parseCommandLine(line);
    equal(parsed.details[0]?.stdinText, undefined, line);
    ok(!parsed.commands.some((c) => c[0] === "sudo"), line);
  }
});

Deno.test("parseCommandLine() keeps heredoc and here-string redirects as they were", () => {
  deepEqual(parseCommandLine("cat > f <<EOF\nhello\nEOF").redirects, [
    { op: ">", target: "f" },
    { op: "<<", target: "" },
  ]);
  deepEqual(parseCommandLine("cat <<-'EOF' <<< x\n\ty\n\tEOF").redirects, [
    { op: "<<-", target: "" },
    { op: "<<<", target: "x" },
  ]);
});

Deno.test("parseCommandLine() flags BASH_ENV or ENV set to a file out of sight", () => {
  equal(parseCommandLine("BASH_ENV=/dev/stdin bash -c true").startupFile, true);
  equal(parseCommandLine("export BASH_ENV").startupFile, true);
  equal(parseCommandLine("declare -x ENV=$X; sh").startupFile, true);
  equal(parseCommandLine("sh <<'EOF'\nBASH_ENV=/dev/fd/3 bash x\nEOF").startupFile, true);
  equal(parseCommandLine("BASH_ENV=./env.sh bash -c true").startupFile, undefined);
  equal(parseCommandLine("FOO=$X bash").startupFile, undefined);
});
