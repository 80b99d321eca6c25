import { deepEqual, equal } from "node:assert/strict";
import { type Key, KeyParser, LineEditor, MAX_LINE_CHARS } from "./_line_editor.ts";

const enc = new TextEncoder();
const parse = (...chunks: (string | Uint8Array)[]) => {
  const p = new KeyParser();
  return chunks.flatMap((c) => p.feed(typeof c === "string" ? enc.encode(c) : c));
};

Deno.test("KeyParser reads arrows, Home/End/Delete in both encodings, and control keys", () => {
  deepEqual(
    parse("\x1b[A\x1b[B\x1b[C\x1b[D\x1bOH\x1b[F\x1b[3~\x1b[1~\x1b[4~\x03\x04\x7f\r"),
    [
      "up",
      "down",
      "right",
      "left",
      "home",
      "end",
      "delete",
      "home",
      "end",
      "interrupt",
      "eof",
      "backspace",
      "enter",
    ]
      .map((kind) => ({ kind })),
  );
});

Deno.test("KeyParser joins UTF-8 and escape sequences split across reads", () => {
  const bytes = enc.encode("é✓");
  deepEqual(parse(bytes.slice(0, 1), bytes.slice(1, 3), bytes.slice(3)), [
    { kind: "char", text: "é" },
    { kind: "char", text: "✓" },
  ]);
  deepEqual(parse("a\x1b", "[", "D"), [{ kind: "char", text: "a" }, { kind: "left" }]);
});

Deno.test("KeyParser drops unknown escapes and stray control bytes (a paste cannot inject them)", () => {
  deepEqual(parse("a\x1b[99Zb\x1b]c\x00\x07\x9bd"), [{ kind: "char", text: "ab]cd" }]);
  deepEqual(parse("x\r\ny"), [{ kind: "char", text: "x" }, { kind: "enter" }, {
    kind: "char",
    text: "y",
  }]);
});

Deno.test("LineEditor edits in the middle, kills words and lines, and deletes with Ctrl-D", () => {
  const ed = new LineEditor();
  const feed = (...keys: Key[]) => keys.forEach((k) => ed.feed(k));
  feed({ kind: "char", text: "git push --force" }, { kind: "kill_word" });
  equal(ed.line, "git push ");
  feed({ kind: "home" }, { kind: "delete" }, { kind: "eof" });
  equal(ed.line, "t push ");
  feed({ kind: "end" }, { kind: "left" }, { kind: "kill_end" });
  equal(ed.line, "t push");
  feed({ kind: "kill_line" });
  equal(ed.line, "");
  deepEqual(ed.feed({ kind: "eof" }), { kind: "eof" });
  deepEqual(ed.feed({ kind: "interrupt" }), { kind: "interrupt" });
});

Deno.test("LineEditor browses history and keeps the draft", () => {
  const ed = new LineEditor(["one", "two"]);
  ed.feed({ kind: "char", text: "dra" });
  ed.feed({ kind: "up" });
  equal(ed.line, "two");
  ed.feed({ kind: "up" });
  ed.feed({ kind: "up" });
  equal(ed.line, "one");
  ed.feed({ kind: "down" });
  ed.feed({ kind: "down" });
  equal(ed.line, "dra");
  ed.feed({ kind: "down" });
  equal(ed.line, "dra");
});

Deno.test("LineEditor caps a giant paste and renders the cursor position", () => {
  const ed = new LineEditor();
  ed.feed({ kind: "char", text: "x".repeat(MAX_LINE_CHARS + 10) });
  equal(ed.line.length, MAX_LINE_CHARS);
  const small = new LineEditor();
  small.feed({ kind: "char", text: "abc" });
  small.feed({ kind: "left" });
  equal(small.render("> "), "\r> abc\x1b[K\x1b[1D");
});
