import { deepEqual, equal } from "node:assert/strict";
import { interpreterOf, isRunner, programSource } from "./_interpreters.ts";

const source = (...argv: string[]) => programSource(argv, interpreterOf(argv[0]!)!);

Deno.test("interpreterOf() knows versioned names and nothing else", () => {
  for (const name of ["python", "python3", "python3.12", "pypy3", "perl5.36", "lua5.4", "php8.2"]) {
    equal(typeof interpreterOf(name)?.lang, "string", name);
  }
  equal(interpreterOf("powershell")?.lang, "PowerShell");
  for (
    const name of ["npm", "git", "jq", "make", "sh", "bash", "awk", "python-config", "constructor"]
  ) {
    equal(interpreterOf(name), undefined, name);
  }
});

Deno.test("programSource() finds inline code through option clusters and values", () => {
  deepEqual(source("python3", "-W", "ignore", "-X", "dev", "-c", "x"), {
    from: "inline",
    flag: "-c",
  });
  deepEqual(source("python3", "-Bc", "x"), { from: "inline", flag: "-c" });
  deepEqual(source("python3", "-m", "timeit", "x"), { from: "inline", flag: "-m timeit" });
  deepEqual(source("perl", "-lane", "print"), { from: "inline", flag: "-e" });
  deepEqual(source("perl", "-I", "lib", "-e", "1"), { from: "inline", flag: "-e" });
  deepEqual(source("ruby", "-r", "json", "-ne", "p"), { from: "inline", flag: "-e" });
  deepEqual(source("node", "--require", "x", "--eval=1"), { from: "inline", flag: "--eval" });
  deepEqual(source("php", "-d", "x=1", "-r", "echo 1;"), { from: "inline", flag: "-r" });
  deepEqual(source("deno", "eval", "1"), { from: "inline", flag: "eval" });
  deepEqual(source("deno", "repl", "--eval", "1"), { from: "inline", flag: "--eval" });
  deepEqual(source("pwsh", "-NoProfile", "-EncodedCommand", "ZQ=="), {
    from: "inline",
    flag: "-EncodedCommand",
  });
  deepEqual(source("fish", "--command=ls"), { from: "inline", flag: "--command" });
});

Deno.test("programSource() tells files, modules and stdin apart", () => {
  deepEqual(source("python3", "-u", "x.py", "-c"), { from: "file", index: 2 });
  deepEqual(source("python3", "-m", "pytest", "-c", "x"), { from: "none" });
  deepEqual(source("python3", "-m", "code"), { from: "stdin" });
  deepEqual(source("python3"), { from: "stdin" });
  deepEqual(source("python3", "-"), { from: "stdin" });
  deepEqual(source("perl", "-i.bak", "x.pl"), { from: "file", index: 2 });
  deepEqual(source("ruby", "-c", "x.rb"), { from: "file", index: 2 });
  deepEqual(source("php", "-f", "x.php"), { from: "file", index: 2 });
  deepEqual(source("R", "--file=x.R"), { from: "file", index: 1 });
  deepEqual(source("node", "--", "x.js"), { from: "file", index: 2 });
  deepEqual(source("deno", "run", "-c", "deno.json", "main.ts"), { from: "file", index: 4 });
  deepEqual(source("deno", "run", "-"), { from: "stdin" });
  deepEqual(source("deno", "run"), { from: "none" });
  deepEqual(source("deno", "test", "-A"), { from: "none" });
  deepEqual(source("deno", "main.ts"), { from: "file", index: 1 });
  deepEqual(source("deno"), { from: "stdin" });
  deepEqual(source("bun", "install"), { from: "none" });
  deepEqual(source("bun", "x.ts"), { from: "file", index: 1 });
  deepEqual(source("bun"), { from: "none" });
  deepEqual(source("pwsh", "-ExecutionPolicy", "Bypass", "x.ps1"), { from: "file", index: 3 });
  deepEqual(source("tclsh"), { from: "stdin" });
});

Deno.test("isRunner() needs the runner's run subcommand", () => {
  equal(isRunner(["uv", "run", "x"]), true);
  equal(isRunner(["/usr/bin/poetry", "run", "x"]), true);
  equal(isRunner(["bundle", "exec", "ruby", "-e", "1"]), true);
  equal(isRunner(["yarn", "node", "-e", "1"]), true);
  equal(isRunner(["npm", "test"]), false);
  equal(isRunner(["uv", "sync"]), false);
  equal(isRunner(["make"]), false);
});
