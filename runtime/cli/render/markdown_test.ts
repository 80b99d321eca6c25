import { equal, ok } from "node:assert/strict";
import { createHighlighter } from "./highlight.ts";
import { renderMarkdown } from "./markdown.ts";
import { displayWidth } from "./wrap.ts";

Deno.test("renderMarkdown() wraps paragraphs and list items at the width without breaking a word", () => {
  const words = "antidisestablishment is a rather long word among several shorter ones here";
  const out = renderMarkdown(`${words}\n\n- ${words}`, { colour: false, width: 24 });
  for (const line of out.split("\n")) ok(displayWidth(line) <= 24, line);
  const seen = out.replace(/[•\s]+/g, " ").trim();
  equal(seen, `${words} ${words}`, "every word is whole");
});

Deno.test("renderMarkdown() draws a table, fitted to the width, with aligned columns", () => {
  const md = "| name | n |\n|:-----|--:|\n| alpha | 1 |\n| b | 22 |";
  equal(
    renderMarkdown(md, { colour: false, width: 40 }),
    [
      "┌───────┬────┐",
      "│ name  │ n  │",
      "├───────┼────┤",
      "│ alpha │  1 │",
      "├───────┼────┤",
      "│ b     │ 22 │",
      "└───────┴────┘",
      "",
    ].join("\n"),
  );
  const wide = `| a | b |\n|---|---|\n| ${"word ".repeat(20)} | x |`;
  for (const line of renderMarkdown(wide, { colour: false, width: 30 }).split("\n")) {
    ok(displayWidth(line) <= 30, line);
  }
});

Deno.test("renderMarkdown() highlights code with colour and has no escape codes with NO_COLOR", () => {
  const md = '```python\ndef f():\n    return "s"  # c\n```';
  const coloured = renderMarkdown(md, { colour: true, width: 60, highlight: createHighlighter() });
  ok(coloured.includes("\x1b[35mdef\x1b[39m"), coloured);
  ok(coloured.includes('\x1b[32m"s"\x1b[39m'), coloured);
  const plain = renderMarkdown(md + "\n\n**b** `c`", { colour: false, width: 60 });
  ok(!plain.includes("\x1b"), plain);
  equal(plain, '╭─ python\n│ def f():\n│     return "s"  # c\n\nb `c`\n');
});
