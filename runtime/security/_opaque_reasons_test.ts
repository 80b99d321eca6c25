import { deepEqual, equal } from "node:assert/strict";
import {
  type Feed,
  fileReason,
  spliced,
  stdinReason,
  type Word,
  xargsFeed,
} from "./_opaque_reasons.ts";

const feed = (over: Partial<Feed> = {}): Feed => ({
  stdin: "inherit",
  stdinParsed: false,
  startup: false,
  ...over,
});
const words = (...texts: string[]): Word[] => texts.map((text) => ({ text, kind: "literal" }));

Deno.test("xargsFeed() reads the replace string and where children's stdin comes from", () => {
  deepEqual(xargsFeed(words("-0", "-n1"), feed({ stdin: "pipe" })), {
    stdin: "closed",
    stdinParsed: false,
    startup: false,
    via: "xargs",
    appends: true,
  });
  equal(xargsFeed(words("-I", "%"), feed()).replace, "%");
  equal(xargsFeed(words("-I{}"), feed()).replace, "{}");
  equal(xargsFeed(words("-i"), feed()).replace, "{}");
  equal(xargsFeed(words("--replace=@"), feed()).replace, "@");
  equal(xargsFeed(words("-a", "list", "-r"), feed({ stdin: "pipe" })).stdin, "pipe");
  equal(xargsFeed(words(), feed({ startup: true })).startup, true);
});

Deno.test("stdinReason() depends on what feeds stdin and whether the text was parsed", () => {
  equal(stdinReason(feed(), "sh", "script", "shell"), undefined);
  equal(stdinReason(feed({ stdin: "closed" }), "sh", "script", "shell"), undefined);
  equal(
    stdinReason(
      feed({ stdin: "heredoc", stdinParsed: true }),
      "python3",
      "Python program",
      "Python",
    ),
    "python3 runs Python code from a here-document, which the policy cannot read",
  );
  equal(
    stdinReason(feed({ stdin: "heredoc", stdinParsed: true }), "sh", "script", "shell"),
    undefined,
  );
  equal(
    stdinReason(feed({ stdin: "unknown" }), "sh", "script", "shell"),
    "the script sh reads from an unknown standard input is only known at run time",
  );
});

Deno.test("fileReason() flags program files that are really streams", () => {
  const dyn: Word = { text: "$F", kind: "dynamic" };
  equal(
    fileReason({ text: "x.sh", kind: "literal" }, feed({ stdin: "pipe" }), "sh", "script", "shell"),
    undefined,
  );
  equal(fileReason(dyn, feed(), "sh", "script", "shell"), undefined);
  equal(
    fileReason(dyn, feed({ stdin: "pipe" }), "sh", "script", "shell"),
    "the script sh runs is named only at run time while its standard input is fed",
  );
  equal(
    fileReason(
      { text: "/proc/self/fd/5", kind: "literal" },
      feed(),
      "perl",
      "Perl program",
      "Perl",
    ),
    "perl reads its Perl program from a file descriptor, only known at run time",
  );
  equal(
    fileReason(
      { text: "{}", kind: "literal" },
      feed({ via: "find", replace: "{}" }),
      "sh",
      "script",
      "shell",
    ),
    undefined,
  );
});

Deno.test("spliced() names who splices input into code", () => {
  const code = { text: "echo {}", kind: "literal" } as const;
  equal(spliced(code, feed(), "sh"), undefined);
  equal(
    spliced(code, feed({ via: "find", replace: "{}" }), "sh"),
    "find -exec splices file names into the code sh runs",
  );
  equal(
    spliced(code, feed({ via: "xargs", replace: "{}" }), "sh"),
    "xargs splices its input into the code sh runs",
  );
});
