import { deepEqual, equal, ok } from "node:assert/strict";
import { createHighlighter } from "./highlight.ts";
import { renderMarkdown } from "./markdown.ts";
import { StreamRenderer } from "./stream.ts";
import { displayWidth } from "./wrap.ts";

/**
 * A minimal terminal: auto-wrap at `columns` (with the pending-wrap column), CR, LF, cursor
 * up/left, erase to end of line/screen; SGR styles are kept in the cells' text.
 */
class Screen {
  rows: string[][] = [[]];
  y = 0;
  x = 0;
  pendingWrap = false;
  constructor(public columns: number) {}
  write(text: string): void {
    // deno-lint-ignore no-control-regex
    const re = /\x1b\[(\d*)([A-Za-z])|\r|\n|[^\x1b\r\n]/gu;
    for (const m of text.matchAll(re)) {
      const t = m[0];
      if (m[2] !== undefined) {
        const n = Number(m[1] || "1");
        if (m[2] === "A") this.y = Math.max(0, this.y - n);
        else if (m[2] === "D") this.x = Math.max(0, this.x - n);
        else if (m[2] === "K") this.row().length = Math.min(this.row().length, this.x);
        else if (m[2] === "J") {
          this.row().length = Math.min(this.row().length, this.x);
          this.rows.length = this.y + 1;
        } else if (m[2] === "m") this.row()[this.x] = (this.row()[this.x] ?? "") + t;
        this.pendingWrap = false;
      } else if (t === "\r") {
        this.x = 0;
        this.pendingWrap = false;
      } else if (t === "\n") {
        this.y++;
        this.x = 0;
        this.pendingWrap = false;
        while (this.rows.length <= this.y) this.rows.push([]);
      } else {
        if (this.pendingWrap) {
          this.y++;
          this.x = 0;
          this.pendingWrap = false;
          while (this.rows.length <= this.y) this.rows.push([]);
        }
        const row = this.row();
        while (row.length < this.x) row.push(" ");
        row[this.x] = (row[this.x]?.startsWith("\x1b") ? row[this.x] : "") + t;
        this.x += displayWidth(t);
        if (this.x >= this.columns) {
          this.x = this.columns - 1;
          this.pendingWrap = true;
        }
      }
    }
  }
  row(): string[] {
    while (this.rows.length <= this.y) this.rows.push([]);
    return this.rows[this.y]!;
  }
  /** The screen's lines (trailing spaces and empty last rows trimmed). */
  text(): string {
    const lines = this.rows.map((r) => r.join("").replace(/\s+$/, ""));
    while (lines.length > 0 && lines.at(-1) === "") lines.pop();
    return lines.join("\n");
  }
}

const DOC = [
  "# Plan",
  "Some **bold** words and `code` in a paragraph long enough to need wrapping twice or more.",
  "",
  "| tool | what it does |",
  "|------|--------------|",
  "| grep | searches files for a pattern |",
  "| sed | edits streams |",
  "",
  "```ts",
  'const greeting = "hello";',
  "```",
  "",
  "1. first step",
  "2. second step",
  "",
  "Done.",
].join("\n");

function streamed(
  text: string,
  opts: { colour: boolean; columns: number; size?: number; maxLiveRows?: number },
) {
  const r = new StreamRenderer({ ...opts, highlight: createHighlighter() });
  const screen = new Screen(opts.columns);
  const size = opts.size ?? 3;
  for (let i = 0; i < text.length; i += size) screen.write(r.push(text.slice(i, i + size)));
  screen.write(r.flush());
  return { r, screen };
}

Deno.test("StreamRenderer leaves exactly the rendered document on screen, however the text was split", () => {
  const whole = renderMarkdown(DOC, { colour: false, width: 59 }).replace(/\n$/, "");
  for (const size of [1, 2, 5, 17, DOC.length]) {
    const { screen } = streamed(DOC, { colour: false, columns: 60, size });
    equal(screen.text(), whole, `split into pieces of ${size}`);
  }
});

Deno.test("StreamRenderer shows text token by token before the line ends", () => {
  const r = new StreamRenderer({ colour: false, columns: 80 });
  equal(r.push("Hel"), "Hel");
  equal(r.push("lo there"), "lo there");
});

Deno.test("StreamRenderer wraps the unfinished line without breaking a word: a word that overflows moves down whole", () => {
  const r = new StreamRenderer({ colour: false, columns: 21 });
  const screen = new Screen(21);
  for (const token of ["alpha ", "beta ", "gamma ", "del", "ta", "word ", "more"]) {
    screen.write(r.push(token));
  }
  // Rows are at most 20 columns (one is kept free), and every word is whole on one row.
  const rows = screen.text().split("\n");
  deepEqual(rows, ["alpha beta gamma", "deltaword more"]);
});

Deno.test("StreamRenderer re-flows the live paragraph on resize and lays it out at the new width", () => {
  const r = new StreamRenderer({ colour: false, columns: 40 });
  const screen = new Screen(40);
  const text = "one two three four five six seven eight nine ten eleven twelve";
  screen.write(r.push(text));
  equal(screen.text().split("\n").length, 2);
  // The terminal narrows: it re-wraps what is there; the renderer redraws it.
  screen.columns = 25;
  const narrowed = new Screen(25);
  narrowed.write(screen.rows.map((row) => row.join("")).join("\n"));
  narrowed.write(r.resize(25));
  for (const row of narrowed.text().split("\n")) ok(displayWidth(row) <= 24, row);
  equal(narrowed.text().replace(/\s+/g, " "), text);
  narrowed.write(r.push("\n\n") + r.flush());
  equal(narrowed.text(), renderMarkdown(text, { colour: false, width: 24 }).trimEnd());
});

Deno.test("StreamRenderer commits a live region that grows past maxLiveRows and goes on", () => {
  const code = ["```py", ...Array.from({ length: 12 }, (_, i) => `x${i} = ${i}`), "```"].join("\n");
  const { screen } = streamed(code, { colour: false, columns: 60, maxLiveRows: 5 });
  const lines = screen.text().split("\n");
  equal(lines[0], "╭─ py");
  equal(lines.filter((l) => l.startsWith("╭─")).length, 1, "one language label");
  equal(lines.filter((l) => /^│ x\d+ = \d+$/.test(l)).length, 12);
});

Deno.test("StreamRenderer highlights code with colour and emits no styles without it", () => {
  const text = "```ts\nconst a = 1;\n```\n";
  const coloured = streamed(text, { colour: true, columns: 60 }).screen.text();
  ok(coloured.includes("\x1b[35mconst\x1b[39m"), coloured);
  const plain = streamed(text, { colour: false, columns: 60 }).screen.text();
  // deno-lint-ignore no-control-regex
  ok(!/\x1b\[[\d;]*m/.test(plain), plain);
});

Deno.test("StreamRenderer drops escape sequences from hostile model text", () => {
  const r = new StreamRenderer({ colour: true, columns: 60 });
  const out = r.push("hi\x1b[2J\x1b]0;title\x07 there\n\n") + r.flush();
  ok(!out.includes("\x1b[2J"));
  ok(!out.includes("\x1b]0;"));
  ok(!out.includes("\x07"));
});
