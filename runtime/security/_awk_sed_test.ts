import { deepEqual, equal } from "node:assert/strict";
import { awkPrograms, awkRunsCommands, sedRunsCommands, sedScripts } from "./_awk_sed.ts";

Deno.test("awkPrograms() finds the program among awk's options", () => {
  deepEqual(awkPrograms(["awk", "{print}", "f"]), [{ index: 1, offset: 0 }]);
  deepEqual(awkPrograms(["awk", "-v", "x=1", "-F:", "{print}"]), [{ index: 4, offset: 0 }]);
  deepEqual(awkPrograms(["gawk", "-e", "a", "--source=b", "--source", "c"]), [
    { index: 2, offset: 0 },
    { index: 3, offset: 9 },
    { index: 5, offset: 0 },
  ]);
  deepEqual(awkPrograms(["awk", "-f", "p.awk", "-f", "q.awk", "data"]), []);
  deepEqual(awkPrograms(["awk", "--", "{print}"]), [{ index: 2, offset: 0 }]);
  equal(awkPrograms(["awk", "-F:"]), "missing");
});

Deno.test("sedScripts() finds the scripts among sed's options", () => {
  deepEqual(sedScripts(["sed", "-i.bak", "s/a/b/", "f"]), [{ index: 2, offset: 0 }]);
  deepEqual(sedScripts(["sed", "-ne", "1p", "f"]), [{ index: 2, offset: 0 }]);
  deepEqual(sedScripts(["sed", "-e1p", "-e", "2p"]), [{ index: 1, offset: 2 }, {
    index: 3,
    offset: 0,
  }]);
  deepEqual(sedScripts(["sed", "-f", "s.sed", "f"]), []);
  deepEqual(sedScripts(["sed", "--sandbox", "$X", "f"]), []);
  deepEqual(sedScripts(["sed", "-l", "80", "l"]), [{ index: 3, offset: 0 }]);
  equal(sedScripts(["sed", "-n"]), "missing");
});

Deno.test("awkRunsCommands() finds system(), pipes to and from commands, and @load", () => {
  for (
    const program of [
      'BEGIN { system("id") }',
      '{ print $1 | "sort" }',
      '{ printf "%s\\n", $0 | cmd }',
      '{ "date" | getline d }',
      "{ cmd | getline }",
      '{ print |& "bc" }',
      '@load "filefuncs"',
    ]
  ) equal(awkRunsCommands(program), true, program);
  for (
    const program of [
      "{ print $1 }",
      '{ print $1 > "out.txt" }',
      "/a|b/ { n++ } END { print n }",
      '$1 == "x" || $2 == "y"',
      '{ getline line < "file" }',
    ]
  ) equal(awkRunsCommands(program), false, program);
});

Deno.test("sedRunsCommands() finds GNU sed's e command and s///e flag", () => {
  for (
    const script of [
      "e",
      "1e id",
      "/x/e date",
      "$ e ls",
      "s/.*/date/e",
      "s|a|b|ge",
      "1d;e x",
      "/a/{e x\n}",
    ]
  ) {
    equal(sedRunsCommands(script), true, script);
  }
  for (const script of ["s/e/E/g", "s/a/e/", "/^e/p", "y/abc/xye/", "s/x/y/w out", "1d", "$!N"]) {
    equal(sedRunsCommands(script), false, script);
  }
});
