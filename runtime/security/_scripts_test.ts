import { deepEqual, equal } from "node:assert/strict";
import {
  findExecSpans,
  innerScript,
  readsScriptFromStdin,
  shellProgram,
  STDIN_FILES,
} from "./_scripts.ts";

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
});

Deno.test("shellProgram() tells -c, a script file and stdin apart", () => {
  deepEqual(shellProgram(["bash", "-c", "ls"]), { from: "inline", index: 2 });
  deepEqual(shellProgram(["sh", "-euc", "ls"]), { from: "inline", index: 2 });
  deepEqual(shellProgram(["bash", "-c", "--", "ls"]), { from: "inline", index: 3 });
  deepEqual(shellProgram(["sh", "-c"]), { from: "inline", index: 2 });
  deepEqual(shellProgram(["bash", "--rcfile", "rc", "x.sh"]), { from: "file", index: 3 });
  deepEqual(shellProgram(["bash", "-O", "extglob", "x.sh", "arg"]), { from: "file", index: 3 });
  deepEqual(shellProgram(["bash", "-", "x.sh"]), { from: "file", index: 2 });
  deepEqual(shellProgram(["bash"]), { from: "stdin" });
  deepEqual(shellProgram(["bash", "-"]), { from: "stdin" });
  deepEqual(shellProgram(["zsh", "-s", "a", "b"]), { from: "stdin" });
  deepEqual(shellProgram(["busybox", "ash"]), { from: "stdin" });
  deepEqual(shellProgram(["ksh93", "x"]), { from: "file", index: 1 });
  equal(shellProgram(["busybox", "ls"]), undefined);
  equal(shellProgram(["busybox", "busybox", "sh"]), undefined);
  equal(shellProgram(["fish"]), undefined);
});

Deno.test("readsScriptFromStdin() covers shells, /dev/stdin and source", () => {
  for (
    const argv of [["sh"], ["bash", "-s", "x"], ["bash", "/dev/stdin"], ["source", "/dev/fd/0"]]
  ) {
    equal(readsScriptFromStdin(argv), true, argv.join(" "));
  }
  for (const argv of [["sh", "x.sh"], ["sh", "-c", "ls"], ["source", "x"], ["cat"], ["."]]) {
    equal(readsScriptFromStdin(argv), false, argv.join(" "));
  }
  deepEqual([...STDIN_FILES].sort(), ["/dev/fd/0", "/dev/stdin", "/proc/self/fd/0"]);
});

Deno.test("findExecSpans() finds each -exec command up to ; or +", () => {
  deepEqual(findExecSpans(["find", ".", "-exec", "sh", "-c", "x", ";"]), [[3, 6]]);
  deepEqual(findExecSpans(["find", "-execdir", "a", "{}", "+", "-okdir", "b", ";"]), [[2, 4], [
    6,
    7,
  ]]);
  deepEqual(findExecSpans(["find", "-exec", ";"]), []);
  deepEqual(findExecSpans(["find", "-exec", "ls"]), [[2, 3]]);
});
