import { equal, ok } from "node:assert/strict";
import { MarkdownStream, renderInline, stripControls } from "./markdown.ts";

function render(text: string, colour = false, pieces = 1): string {
  const md = new MarkdownStream({ colour, width: 20 });
  const size = Math.max(1, Math.ceil(text.length / pieces));
  let out = "";
  for (let i = 0; i < text.length; i += size) out += md.push(text.slice(i, i + size));
  return out + md.flush();
}

const SAMPLE = [
  "# Plan",
  "Some **bold** and `code` and *it*.",
  "## Steps",
  "1. read the file",
  "2) edit it",
  "- a",
  "  - nested",
  "- [x] done",
  "> quoted **text**",
  "---",
  "```ts",
  "const a = **not bold**;",
  "```",
  "### small",
  "end",
].join("\n");

Deno.test("MarkdownStream renders headings, lists, quotes, rules and code readably without colour", () => {
  equal(
    render(SAMPLE),
    [
      "Plan",
      "════",
      "Some bold and `code` and it.",
      "Steps",
      "─────",
      "  1. read the file",
      "  2. edit it",
      "  • a",
      "    ◦ nested",
      "  ☑ done",
      "  ┃ quoted text",
      "─".repeat(20),
      "  ┌──── ts",
      "  │ const a = **not bold**;",
      "  └────",
      "small",
      "end",
      "",
    ].join("\n"),
  );
});

Deno.test("MarkdownStream output does not depend on how the text was split", () => {
  const whole = render(SAMPLE, true);
  for (const pieces of [2, 7, 31, SAMPLE.length]) equal(render(SAMPLE, true, pieces), whole);
});

Deno.test("MarkdownStream with colour styles bold and code, and never without it", () => {
  const coloured = render("**b** `c`\n", true);
  ok(coloured.includes("\x1b[1mb\x1b[22m"));
  ok(coloured.includes("\x1b[36mc\x1b[39m"));
  ok(!render(SAMPLE, false).includes("\x1b"));
});

Deno.test("MarkdownStream holds back an unfinished line until it completes", () => {
  const md = new MarkdownStream({ colour: false });
  equal(md.push("**bo"), "");
  equal(md.push("ld** x"), "");
  equal(md.push("\n"), "bold x\n");
  equal(md.flush(), "");
});

Deno.test("MarkdownStream strips escape sequences from hostile model text", () => {
  const out = render("hi\x1b[2J\x1b]0;title\x07 there\r\n```\n\x1b[31mred\n```\n", true);
  ok(!out.includes("\x1b[2J"));
  ok(!out.includes("\x1b]0;"));
  ok(!out.includes("\x07"));
  ok(!out.includes("\x1b[31m"));
  ok(!out.includes("\r"));
});

Deno.test("MarkdownStream.flush() closes an unterminated code block for the next message", () => {
  const md = new MarkdownStream({ colour: false });
  md.push("```\ncode\n");
  ok(md.inCode);
  md.flush();
  ok(!md.inCode);
  equal(md.push("# h\n"), "h\n═\n");
});

Deno.test("renderInline() leaves snake_case, arithmetic and lone asterisks alone", () => {
  equal(renderInline("snake_case_name and 2 * 3 * 4", false), "snake_case_name and 2 * 3 * 4");
  equal(renderInline("[docs](https://x.test/a)", false), "docs (https://x.test/a)");
  equal(stripControls("a\tb\n"), "a\tb\n");
});
