import { equal, throws } from "node:assert/strict";
import { capOutput } from "./output.ts";

Deno.test("capOutput() leaves short text alone and marks what it cuts", () => {
  equal(capOutput("abc", 3).text, "abc");
  equal(capOutput("abc", 3).cut, 0);
  const { text, cut } = capOutput("abcdef", 4);
  equal(cut, 2);
  equal(text, "abcd\n\n[... output truncated: 2 of 6 characters cut ...]");
  equal(capOutput("ab", 4, 10).text, "ab\n\n[... output truncated: 10 of 12 characters cut ...]");
  throws(() => capOutput("a", 0), RangeError);
});
