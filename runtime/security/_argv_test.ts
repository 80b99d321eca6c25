import { deepEqual, equal } from "node:assert/strict";
import { basename, innerScript, unwrapCommand, wrapperChain } from "./_argv.ts";

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
  ]);
});

Deno.test("innerScript() finds -c scripts only when -c is given", () => {
  equal(innerScript(["bash", "-c", "x"]), "x");
  equal(innerScript(["bash", "-e", "-c", "x"]), "x");
  equal(innerScript(["sh", "+e", "-xc", "x"]), "x");
  equal(innerScript(["bash", "--norc", "-c", "x"]), "x");
  equal(innerScript(["bash", "-o", "pipefail", "-c", "x"]), "x");
  equal(innerScript(["busybox", "sh", "-c", "x"]), "x");
  equal(innerScript(["bash", "script.sh"]), undefined);
  equal(innerScript(["python", "-c", "x"]), undefined);
  equal(innerScript(["eval"]), undefined);
  equal(innerScript(["trap", "sudo id", "EXIT"]), "sudo id");
  equal(innerScript(["watch", "-n", "1", "sudo", "id"]), "sudo id");
  equal(basename("/a/b/"), "b");
});
