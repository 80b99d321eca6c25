import { deepEqual, equal } from "node:assert/strict";
import { basename, unwrapCommand, unwrapSpan, wrapperChain } from "./_argv.ts";

Deno.test("unwrapCommand() skips each wrapper's options", () => {
  const cases: [string[], string[] | undefined][] = [
    [["env", "-i", "A=1", "B=2", "sudo", "id"], ["sudo", "id"]],
    [["env", "-u", "X", "--chdir=/", "sudo"], ["sudo"]],
    [["env", "-S", "sudo id"], ["sudo", "id"]],
    [["command", "-p", "sudo"], ["sudo"]],
    [["exec", "-a", "name", "sudo"], ["sudo"]],
    [["nice", "-n", "5", "sudo"], ["sudo"]],
    [["nice", "-n5", "sudo"], ["sudo"]],
    [["nice", "--adjustment", "5", "sudo"], ["sudo"]],
    [["nohup", "--", "sudo"], ["sudo"]],
    [["timeout", "-k", "1", "--signal=KILL", "5s", "sudo"], ["sudo"]],
    [["time", "-p", "sudo"], ["sudo"]],
    [["stdbuf", "-oL", "-e", "0", "sudo"], ["sudo"]],
    [["ionice", "-c", "3", "sudo"], ["sudo"]],
    [["xargs", "-0", "-I", "{}", "-n", "1", "sudo"], ["sudo"]],
    [["doas", "-u", "root", "id"], ["id"]],
    [["builtin", "eval", "x"], ["eval", "x"]],
    [["/usr/bin/env", "sudo"], ["sudo"]],
    [["xargs"], undefined],
    [["ls", "sudo"], undefined],
  ];
  for (const [argv, inner] of cases) deepEqual(unwrapCommand(argv), inner, argv.join(" "));
});

Deno.test("wrapperChain() unwraps nested wrappers", () => {
  deepEqual(wrapperChain(["env", "nice", "nohup", "sudo", "id"]).map((c) => c[0]), [
    "env",
    "nice",
    "nohup",
    "sudo",
    "id",
  ]);
});

Deno.test("unwrapSpan() points at the wrapped command and the words env -S splits", () => {
  deepEqual(unwrapSpan(["timeout", "5", "ls"]), { start: 2, split: [], splitFrom: -1 });
  deepEqual(unwrapSpan(["env", "--split-string=sh -c", "x"]), {
    start: 2,
    split: ["sh", "-c"],
    splitFrom: 1,
  });
  deepEqual(unwrapSpan(["env", "-Ssh", "x"]), { start: 2, split: ["sh"], splitFrom: 1 });
  deepEqual(unwrapSpan(["env", "-S", "id"]), { start: 3, split: ["id"], splitFrom: 2 });
  equal(unwrapSpan(["env"]), undefined);
  equal(unwrapSpan(["ls", "x"]), undefined);
});

Deno.test("unwrapCommand() unwraps sudo, setsid and taskset; xargs --replace takes no next word", () => {
  deepEqual(unwrapCommand(["sudo", "-u", "bob", "-E", "sh", "-c", "x"]), ["sh", "-c", "x"]);
  deepEqual(unwrapCommand(["sudo", "--user=bob", "id"]), ["id"]);
  deepEqual(unwrapCommand(["setsid", "-f", "python3", "-c", "x"]), ["python3", "-c", "x"]);
  deepEqual(unwrapCommand(["taskset", "-c", "0-3", "node", "-e", "1"]), ["node", "-e", "1"]);
  deepEqual(unwrapCommand(["xargs", "--replace", "sh", "-c", "echo {}"]), ["sh", "-c", "echo {}"]);
  deepEqual(unwrapCommand(["xargs", "--eof=x", "sh"]), ["sh"]);
});

Deno.test("basename() drops trailing slashes", () => {
  equal(basename("/a/b/"), "b");
});
