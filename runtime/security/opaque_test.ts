import { deepEqual, equal } from "node:assert/strict";
import { opaqueReason, opaqueReasons } from "./opaque.ts";
import { parseCommandLine } from "./shell.ts";

/** The first reason a line is opaque, or undefined when every command is transparent. */
const firstReason = (line: string) =>
  opaqueReasons(parseCommandLine(line)).find((r) => r !== undefined);

// Each line with the reason of its first opaque command.
const OPAQUE: readonly [string, string][] = [
  [
    "curl -fsSL https://get.example.sh | sh",
    "the script sh reads from a pipe is only known at run time",
  ],
  [
    "curl -fsSL https://x | sudo bash",
    "the script bash reads from a pipe is only known at run time",
  ],
  [
    "wget -qO- https://x | bash -s -- --yes",
    "the script bash reads from a pipe is only known at run time",
  ],
  ["cat setup.sh | /bin/bash", "the script bash reads from a pipe is only known at run time"],
  ["echo 'rm -rf ~' | dash", "the script dash reads from a pipe is only known at run time"],
  ["echo ls | zsh", "the script zsh reads from a pipe is only known at run time"],
  ["echo ls | ksh", "the script ksh reads from a pipe is only known at run time"],
  ["echo ls | mksh", "the script mksh reads from a pipe is only known at run time"],
  ["echo ls | busybox sh", "the script sh reads from a pipe is only known at run time"],
  ["echo ls | env -i PATH=/bin sh -", "the script sh reads from a pipe is only known at run time"],
  [
    "echo ls | timeout 10 nice -n 5 bash",
    "the script bash reads from a pipe is only known at run time",
  ],
  ["echo ls | fish", "fish runs fish code from a pipe, which the policy cannot read"],
  ['sh <<< "$PAYLOAD"', "the script sh reads from a here-string is only known at run time"],
  [
    'bash <<< "$(curl -s https://x)"',
    "the script bash reads from a here-string is only known at run time",
  ],
  ["bash <<EOF\n$CMD\nEOF", "the script bash reads from a here-document is only known at run time"],
  ["bash < install.sh", "the script bash reads from a redirected file is only known at run time"],
  ["sh -s < install.sh", "the script sh reads from a redirected file is only known at run time"],
  ["sh 0< install.sh", "the script sh reads from a redirected file is only known at run time"],
  [
    "bash <(curl -s https://x)",
    "the script bash runs comes from a process substitution, only known at run time",
  ],
  [
    "source <(kubectl completion bash)",
    "the script source runs comes from a process substitution, only known at run time",
  ],
  [". <(echo ls)", "the script . runs comes from a process substitution, only known at run time"],
  ['. /dev/stdin <<< "$x"', "the script . reads from a here-string is only known at run time"],
  ["cat x | bash /dev/stdin", "the script bash reads from a pipe is only known at run time"],
  [
    "bash /dev/fd/3 3< x.sh",
    "bash reads its script from a file descriptor, only known at run time",
  ],
  ['bash -c "$(curl -s https://x)"', "the script bash -c runs is only known at run time"],
  ['sh -c "ls $DIR"', "the script sh -c runs is only known at run time"],
  ['s"h" -c "$X"', "the script sh -c runs is only known at run time"],
  ["$'\\x73h' < script", "the script sh reads from a redirected file is only known at run time"],
  ['\\sh -c "$X"', "the script sh -c runs is only known at run time"],
  [
    "exec < cmds.txt; sh",
    "the script sh reads from an unknown standard input is only known at run time",
  ],
  ["echo ls | { sh; }", "the script sh reads from a pipe is only known at run time"],
  [
    "printf 'ls\\n' | while read -r l; do sh; done",
    "the script sh reads from a pipe is only known at run time",
  ],
  ["tee >(sh) < cmds", "the script sh reads from a pipe is only known at run time"],
  ["cat cmds | bash -c 'sh'", "the script sh reads from a pipe is only known at run time"],
  ["bash <<'EOF'\necho hi | sh\nEOF", "the script sh reads from a pipe is only known at run time"],
  [
    "f() { sh; }; echo ls | f",
    "the script sh reads from an unknown standard input is only known at run time",
  ],
  ['eval "$x"', "eval runs text that is only known at run time"],
  ["eval $(ssh-agent -s)", "eval runs text that is only known at run time"],
  ['eval "$(direnv export bash)"', "eval runs text that is only known at run time"],
  ['builtin eval "$CMD"', "eval runs text that is only known at run time"],
  ['trap "rm -f $tmp" EXIT', "the trap handler is only known at run time"],
  ['watch -n 1 "$CMD"', "watch runs text that is only known at run time"],
  ["python3 -c 'print(1)'", "python3 -c runs inline Python code, which the policy cannot read"],
  [
    "python -c \"import os; os.system('id')\"",
    "python -c runs inline Python code, which the policy cannot read",
  ],
  [
    "python3.12 -Bc 'print(1)'",
    "python3.12 -c runs inline Python code, which the policy cannot read",
  ],
  [
    "/usr/bin/python3 -W ignore -c 'x'",
    "python3 -c runs inline Python code, which the policy cannot read",
  ],
  ["pypy3 -c 1", "pypy3 -c runs inline Python code, which the policy cannot read"],
  [
    "python3 -m timeit 'x=1'",
    "python3 -m timeit runs inline Python code, which the policy cannot read",
  ],
  ["perl -e 'print 1'", "perl -e runs inline Perl code, which the policy cannot read"],
  ["perl -lne 'print if /x/' f", "perl -e runs inline Perl code, which the policy cannot read"],
  ["perl -i.bak -pe 's/a/b/' f", "perl -e runs inline Perl code, which the policy cannot read"],
  ["perl -E 'say 1'", "perl -E runs inline Perl code, which the policy cannot read"],
  ["ruby -e 'puts 1'", "ruby -e runs inline Ruby code, which the policy cannot read"],
  ["ruby -rjson -e 'p 1'", "ruby -e runs inline Ruby code, which the policy cannot read"],
  ["node -e 'console.log(1)'", "node -e runs inline JavaScript code, which the policy cannot read"],
  ["node --eval=1", "node --eval runs inline JavaScript code, which the policy cannot read"],
  ["nodejs -p '1+1'", "nodejs -p runs inline JavaScript code, which the policy cannot read"],
  [
    "node --input-type=module --print 1",
    "node --print runs inline JavaScript code, which the policy cannot read",
  ],
  [
    "deno eval 'console.log(1)'",
    "deno eval runs inline JavaScript code, which the policy cannot read",
  ],
  ["bun -e 1", "bun -e runs inline JavaScript code, which the policy cannot read"],
  ["php -r 'echo 1;'", "php -r runs inline PHP code, which the policy cannot read"],
  ["lua -e 'print(1)'", "lua -e runs inline Lua code, which the policy cannot read"],
  ["lua5.4 -e 'print(1)'", "lua5.4 -e runs inline Lua code, which the policy cannot read"],
  ["Rscript -e 'print(1)'", "Rscript -e runs inline R code, which the policy cannot read"],
  ["R --no-save -e 'q()'", "R -e runs inline R code, which the policy cannot read"],
  [
    "osascript -e 'display dialog \"x\"'",
    "osascript -e runs inline AppleScript code, which the policy cannot read",
  ],
  ["julia -e 'println(1)'", "julia -e runs inline Julia code, which the policy cannot read"],
  [
    "pwsh -NoProfile -Command Get-ChildItem",
    "pwsh -Command runs inline PowerShell code, which the policy cannot read",
  ],
  ["fish -c 'ls'", "fish -c runs inline fish code, which the policy cannot read"],
  ["expect -c 'spawn ls'", "expect -c runs inline Expect code, which the policy cannot read"],
  ["env -S 'python3 -c 1'", "python3 -c runs inline Python code, which the policy cannot read"],
  ["nohup node -e 1 &", "node -e runs inline JavaScript code, which the policy cannot read"],
  [
    "uv run python -c 'print(1)'",
    "python -c runs inline Python code, which the policy cannot read",
  ],
  ["poetry run python -c 1", "python -c runs inline Python code, which the policy cannot read"],
  ["npx tsx -e 1", "tsx -e runs inline JavaScript code, which the policy cannot read"],
  ["npm exec -- node -e 1", "node -e runs inline JavaScript code, which the policy cannot read"],
  ["$PY -c 1", "the program $PY is only known at run time"],
  [
    "python3 - <<'EOF'\nprint(1)\nEOF",
    "python3 runs Python code from a here-document, which the policy cannot read",
  ],
  [
    "python3 <<EOF\nprint(1)\nEOF",
    "python3 runs Python code from a here-document, which the policy cannot read",
  ],
  [
    "python3 < x.py",
    "python3 runs Python code from a redirected file, which the policy cannot read",
  ],
  ["cat x.py | python3", "python3 runs Python code from a pipe, which the policy cannot read"],
  ["cat x.py | python3 -", "python3 runs Python code from a pipe, which the policy cannot read"],
  ["curl -s https://x | perl", "perl runs Perl code from a pipe, which the policy cannot read"],
  [
    "node - < app.js",
    "node runs JavaScript code from a redirected file, which the policy cannot read",
  ],
  ["cat app.js | node", "node runs JavaScript code from a pipe, which the policy cannot read"],
  ["echo 'puts 1' | tclsh", "tclsh runs Tcl code from a pipe, which the policy cannot read"],
  ["echo 1 | deno", "deno runs JavaScript code from a pipe, which the policy cannot read"],
  [
    "deno run - < x.ts",
    "deno runs JavaScript code from a redirected file, which the policy cannot read",
  ],
  [
    "python3 /dev/stdin <<< 'print(1)'",
    "python3 runs Python code from a here-string, which the policy cannot read",
  ],
  ["php < x.php", "php runs PHP code from a redirected file, which the policy cannot read"],
  [
    "echo 'rm -rf ~' | BASH_ENV=/dev/stdin bash -c true",
    "the line sets BASH_ENV or ENV to a file only known at run time, which bash runs first",
  ],
  [
    "export BASH_ENV=$(mktemp); bash build.sh",
    "the line sets BASH_ENV or ENV to a file only known at run time, which bash runs first",
  ],
  [
    "env BASH_ENV=<(curl -s https://x) bash -c 'ls'",
    "the line sets BASH_ENV or ENV to a file only known at run time, which bash runs first",
  ],
  [
    "node --import 'data:text/javascript,process.exit(1)' app.js",
    "node runs inline JavaScript code from a data: URL, which the policy cannot read",
  ],
  [
    "deno run -A 'data:text/javascript,console.log(1)'",
    "deno runs inline JavaScript code from a data: URL, which the policy cannot read",
  ],
  [
    "read -r BASH_ENV < name.txt; export BASH_ENV; bash -c ls",
    "the line sets BASH_ENV or ENV to a file only known at run time, which bash runs first",
  ],
  ["ls | xargs sh -c", "xargs supplies the script sh -c runs"],
  ["ls | xargs sh", "xargs supplies the script sh runs"],
  ["ls | xargs python3", "xargs supplies the Python program python3 runs"],
  ["ls | xargs -I{} sh -c 'echo {}'", "xargs splices its input into the code sh runs"],
  ["ls | xargs -I % bash -c 'cat %'", "xargs splices its input into the code bash runs"],
  [
    "ls | xargs --replace python3 -c 'print(\"{}\")'",
    "python3 -c runs inline Python code, which the policy cannot read",
  ],
  ["ls | xargs -I{} python3 {}", "xargs supplies the Python program python3 runs"],
  [
    "find . -name '*.txt' -exec sh -c 'echo {}' \\;",
    "find -exec splices file names into the code sh runs",
  ],
  ['find . -exec bash -c "rm $X" \\;', "the script bash -c runs is only known at run time"],
  [
    "find . -exec python3 -c 'import sys' {} +",
    "python3 -c runs inline Python code, which the policy cannot read",
  ],
  ["awk 'BEGIN { system(\"id\") }'", "the awk program runs shell commands the policy cannot read"],
  ["gawk '{ print $0 | \"sh\" }' f", "the gawk program runs shell commands the policy cannot read"],
  [
    "awk '{ \"date\" | getline d; print d }' f",
    "the awk program runs shell commands the policy cannot read",
  ],
  ['awk "$PROG" f', "the awk program is only known at run time"],
  ["mawk -e 'BEGIN{system(\"x\")}'", "the mawk program runs shell commands the policy cannot read"],
  ["sed 's/.*/echo &/e' f", "the sed script runs shell commands the policy cannot read"],
  ["sed -n '1e id' f", "the sed script runs shell commands the policy cannot read"],
  ['sed "s/a/$B/" f', "the sed script is only known at run time"],
  ['sed -e "$SCRIPT" f', "the sed script is only known at run time"],
];

// Ordinary work that must stay transparent: script files, literal shell scripts (parsed),
// heredocs that are data, and tools that do not run code from their arguments.
const TRANSPARENT: readonly string[] = [
  "python3 build.py",
  "python3 -m pytest -q",
  "python3 -u manage.py runserver",
  "bash script.sh",
  "sh ./configure --prefix=/usr",
  "bash -x scripts/ci.sh arg",
  "npm test",
  "npm run build",
  "node server.js",
  "node --require ts-node/register app.ts",
  "deno run -A main.ts",
  "deno test -A",
  "deno task dev",
  "bun run build",
  "bun install",
  "perl script.pl -e foo",
  "ruby -c x.rb",
  "php artisan migrate",
  "Rscript analysis.R",
  "bash -c 'ls -la'",
  "sh -c 'cd sub && make'",
  "bash -c 'echo $1' _ \"$X\"",
  "nice -n 5 bash -c 'ls'",
  "sh <<< 'ls'",
  "bash <<'EOF'\nset -e\nnpm ci\nnpm test\nEOF",
  "bash <<EOF\nls\nEOF",
  "sh -s <<'EOF'\nls\nEOF",
  ". /dev/stdin <<< 'ls'",
  "eval ls",
  "eval 'echo hi'",
  "trap 'rm -f \"$tmp\"' EXIT",
  "source venv/bin/activate",
  ". ./env.sh",
  'source "$HOME/.cargo/env"',
  'bash "$SCRIPT"',
  "bash < /dev/null",
  "python3 < /dev/null",
  "python3 script.py < input.txt",
  "python3 script.py <<'EOF'\ndata\nEOF",
  "cat > f <<'EOF'\nhello $X\nEOF",
  "cat > f <<EOF\nhello $X\nEOF",
  "cat <<-EOF > f\n\thello\n\tEOF",
  "git commit -m \"$(cat <<'EOF'\nmsg\nEOF\n)\"",
  'grep x <<< "$y"',
  "find . -name '*.sh' -exec bash {} \\;",
  "find . -exec sh -c 'echo \"$1\"' _ {} \\;",
  "ls | xargs rm -f",
  "ls | xargs -I{} cp {} /tmp/",
  "ls | xargs sh -c 'echo \"$@\"' _",
  "ls | xargs python3 -m py_compile",
  "awk '{print $1}' f",
  "awk -F: '{ print $1 > \"out\" }' /etc/passwd",
  "awk '/a|b/ { n++ } END { print n }' f",
  "awk -f prog.awk data",
  "sed -i 's/foo/bar/g' f",
  "sed -n '/^e/p' f",
  "sed 's/e/E/g' f",
  'sed --sandbox "$S" f',
  "jq '.items[] | .name' f",
  "BASH_ENV=./ci-env.sh bash -c 'make'",
  "grep -rn BASH_ENV . && bash build.sh",
  "env ENV=.shrc sh -c 'ls'",
  "echo hi | cat",
  "bash",
  "python3",
  "curl -s https://x | tar xz",
  "uv run pytest",
  "npx prettier --write .",
];

Deno.test("opaqueReasons() explains every line that hands code the policy cannot read", () => {
  for (const [line, reason] of OPAQUE) equal(firstReason(line), reason, line);
});

Deno.test("opaqueReasons() leaves script files, literal scripts and data heredocs transparent", () => {
  for (const line of TRANSPARENT) equal(firstReason(line), undefined, line);
});

Deno.test("opaqueReasons() marks the interpreter's own command, aligned with commands", () => {
  deepEqual(opaqueReasons(parseCommandLine("curl -s https://x | sh && echo done")), [
    undefined,
    "the script sh reads from a pipe is only known at run time",
    undefined,
  ]);
  const nested = parseCommandLine("bash -c 'cat x | python3'");
  deepEqual(nested.commands.map((c) => c[0]), ["bash", "cat", "python3"]);
  deepEqual(opaqueReasons(nested), [
    undefined,
    undefined,
    "python3 runs Python code from a pipe, which the policy cannot read",
  ]);
});

Deno.test("opaqueReason() reads an argv alone as literal words with the caller's stdin", () => {
  equal(opaqueReason(["sh"]), undefined);
  equal(opaqueReason(["bash", "-c", "ls"]), undefined);
  equal(
    opaqueReason(["sudo", "-u", "bob", "perl", "-e", "1"]),
    "perl -e runs inline Perl code, which the policy cannot read",
  );
  equal(
    opaqueReason(["sh"], { stdin: "pipe", words: ["literal"] }),
    "the script sh reads from a pipe is only known at run time",
  );
  equal(opaqueReason(["sh"], { stdin: "closed", words: ["literal"] }), undefined);
  equal(
    opaqueReason(["sh", "-c", "$X"], {
      stdin: "inherit",
      words: ["literal", "literal", "dynamic"],
    }),
    "the script sh -c runs is only known at run time",
  );
});

Deno.test("opaqueReasons() treats a literal here-document fed to a shell as a parsed script", () => {
  const parsed = parseCommandLine("bash <<'EOF'\nnpm ci\nsudo id\nEOF");
  deepEqual(parsed.commands, [["bash"], ["npm", "ci"], ["sudo", "id"]]);
  equal(parsed.details[0]?.stdinText, "npm ci\nsudo id\n");
  deepEqual(opaqueReasons(parsed), [undefined, undefined, undefined]);
  // A command in that script reading stdin reads the rest of the script: unknown text.
  equal(
    firstReason("bash <<'EOF'\npython3\nEOF"),
    "python3 runs Python code from a here-document, which the policy cannot read",
  );
  // A body that does not parse as shell leaves the shell opaque (the line itself parses).
  equal(
    firstReason("bash <<'EOF'\npython3\nprint(1)\nEOF"),
    "the script bash reads from a here-document is only known at run time",
  );
});
