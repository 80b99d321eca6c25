import { deepEqual, equal, match, ok } from "node:assert/strict";
import {
  completeFrom,
  type Key,
  KeyParser,
  LineEditor,
  MAX_LINE_CHARS,
  PASTE_END,
  PASTE_START,
} from "./_line_editor.ts";

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

Deno.test("KeyParser drops unknown escapes and stray control bytes; ESC and Ctrl-G are keys", () => {
  deepEqual(parse("a\x1b[99Zb\x1b]c\x00\x07\x9bd"), [
    { kind: "char", text: "ab" },
    { kind: "escape" },
    { kind: "char", text: "]c" },
    { kind: "cancel" },
    { kind: "char", text: "d" },
  ]);
  deepEqual(parse("x\r\ny"), [{ kind: "char", text: "x" }, { kind: "enter" }, {
    kind: "char",
    text: "y",
  }]);
});

Deno.test("KeyParser reads Tab, Ctrl-R, Alt-Enter, and a lone ESC only once flushed", () => {
  deepEqual(parse("\t\x12\x1b\r"), [{ kind: "tab" }, { kind: "search" }, { kind: "newline" }]);
  const p = new KeyParser();
  deepEqual(p.feed(enc.encode("\x1b")), []);
  equal(p.pending, true);
  deepEqual(p.flush(), [{ kind: "escape" }]);
  equal(p.pending, false);
  deepEqual(p.flush(), []);
  // An arrow split after its ESC is still an arrow when the rest comes before the flush.
  deepEqual(parse("\x1b", "[A"), [{ kind: "up" }]);
});

Deno.test("KeyParser turns a bracketed paste into one key: newlines never act as Enter", () => {
  deepEqual(parse("hi \x1b[200~one\r\ntwo\rthree\n\x1b[201~!\r"), [
    { kind: "char", text: "hi " },
    { kind: "paste", text: "one\ntwo\nthree\n" },
    { kind: "char", text: "!" },
    { kind: "enter" },
  ]);
  // Split anywhere, the start and end markers included.
  const whole = "\x1b[200~line 1\nline 2\x1b[201~\r";
  for (let cut = 1; cut < whole.length; cut++) {
    deepEqual(parse(whole.slice(0, cut), whole.slice(cut)), [
      { kind: "paste", text: "line 1\nline 2" },
      { kind: "enter" },
    ], `cut at ${cut}`);
  }
});

Deno.test("KeyParser strips escape sequences and control bytes out of a paste (hostile clipboard)", () => {
  const hostile = "\x1b[200~rm -rf /\x1b[2J\x1b]0;pwned\x07\x03\x04\x1b[201~ ok\x1b[201~";
  deepEqual(parse(hostile), [
    { kind: "paste", text: "rm -rf /" },
    { kind: "char", text: " ok" },
  ]);
  // A fake end marker inside cannot be forged by halves: the first real one ends the paste.
  deepEqual(parse("\x1b[200~a\x1b[20", "1~b"), [
    { kind: "paste", text: "a" },
    { kind: "char", text: "b" },
  ]);
});

Deno.test("KeyParser holds a never-ending paste to a bounded size", () => {
  const p = new KeyParser();
  p.feed(enc.encode(PASTE_START));
  const chunk = enc.encode("x".repeat(64 * 1024));
  for (let i = 0; i < 8; i++) deepEqual(p.feed(chunk), []);
  const keys = p.feed(enc.encode(PASTE_END));
  equal(keys.length, 1);
  ok((keys[0] as { text: string }).text.length <= 2 * MAX_LINE_CHARS);
  const ed = new LineEditor();
  ed.feed({ kind: "paste", text: `${(keys[0] as { text: string }).text}\nend` });
  ok(ed.line.length <= MAX_LINE_CHARS);
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
  equal(small.render("> "), "\r\x1b[J> abc\r\x1b[4C");
});

const feedAll = (ed: LineEditor, ...keys: Key[]) => keys.map((k) => ed.feed(k)).at(-1);

Deno.test("LineEditor keeps a multi-line paste as one block: marker shown, full text sent", () => {
  const ed = new LineEditor();
  feedAll(ed, { kind: "char", text: "see " }, { kind: "paste", text: "one\ntwo\n" }, {
    kind: "char",
    text: " please",
  });
  match(ed.render("› ", 80), /› see \[pasted 2 lines\] please/);
  deepEqual(ed.feed({ kind: "enter" }), { kind: "submit", line: "see one\ntwo\n please" });
  // The block is deleted as one.
  const del = new LineEditor();
  feedAll(del, { kind: "paste", text: "a\nb\nc" }, { kind: "backspace" });
  equal(del.line, "");
  // A one-line paste is ordinary text; a prompt field joins a multi-line paste into one line.
  const one = new LineEditor();
  one.feed({ kind: "paste", text: "plain" });
  equal(one.cursor, 5);
  const field = new LineEditor([], { multiline: false });
  feedAll(field, { kind: "paste", text: "a\n  b" }, { kind: "newline" });
  equal(field.line, "a b");
});

Deno.test("LineEditor: a trailing backslash or Alt-Enter adds a line; up/down move between lines", () => {
  const ed = new LineEditor(["old"]);
  deepEqual(feedAll(ed, { kind: "char", text: "first \\" }, { kind: "enter" }), { kind: "edit" });
  feedAll(ed, { kind: "char", text: "second" }, { kind: "newline" }, { kind: "char", text: "3" });
  equal(ed.line, "first \nsecond\n3");
  ed.feed({ kind: "up" });
  ed.feed({ kind: "char", text: "X" });
  equal(ed.line, "first \nsXecond\n3");
  ed.feed({ kind: "up" });
  ed.feed({ kind: "up" }); // on the first line: history
  equal(ed.line, "old");
  ed.feed({ kind: "down" });
  equal(ed.line, "first \nsXecond\n3");
  const screen = ed.render("› ", 80);
  match(screen, /› first \r\n… sXecond\r\n… 3/);
  deepEqual(ed.feed({ kind: "enter" }), { kind: "submit", line: "first \nsXecond\n3" });
});

Deno.test("LineEditor wraps long input by hand and redraws from its first row", () => {
  const ed = new LineEditor();
  ed.feed({ kind: "char", text: "abcdefghijklmnop" });
  // 2 prompt + 16 chars in 10 columns: two rows of 10 and the rest.
  equal(ed.render("> ", 10), "\r\x1b[J> abcdefgh\r\nijklmnop\r\x1b[8C");
  ed.feed({ kind: "home" });
  equal(ed.render("> ", 10), "\x1b[1A\r\x1b[J> abcdefgh\r\nijklmnop\x1b[1A\r\x1b[2C");
  equal(ed.finish(), "\x1b[1B\r\n");
  // Exactly full: the cursor goes to a fresh row.
  const full = new LineEditor();
  full.feed({ kind: "char", text: "12345678" });
  equal(full.render("> ", 10), "\r\x1b[J> 12345678\r\n\r");
});

Deno.test("LineEditor Ctrl-R searches history backwards; Esc restores; Enter submits the match", () => {
  const ed = new LineEditor(["git status", "ls -la", "git push", "git push"]);
  ed.feed({ kind: "char", text: "draft" });
  feedAll(ed, { kind: "search" }, { kind: "char", text: "git" });
  equal(ed.searching, true);
  equal(ed.line, "git push");
  match(ed.render("› "), /\(reverse-i-search\)'git': git push/);
  ed.feed({ kind: "search" }); // the next older match, skipping the repeated one
  equal(ed.line, "git status");
  feedAll(ed, { kind: "char", text: "zz" });
  match(ed.render("› "), /failed reverse-i-search\)'gitzz'/);
  equal(ed.line, "git status");
  ed.feed({ kind: "escape" });
  equal(ed.searching, false);
  equal(ed.line, "draft");
  feedAll(ed, { kind: "search" }, { kind: "char", text: "-la" });
  deepEqual(ed.feed({ kind: "enter" }), { kind: "submit", line: "ls -la" });
  // Any other key takes the match and then acts on it.
  const other = new LineEditor(["hello world"]);
  feedAll(other, { kind: "search" }, { kind: "char", text: "wor" }, { kind: "end" }, {
    kind: "char",
    text: "!",
  });
  equal(other.line, "hello world!");
});

Deno.test("LineEditor hands Tab to the caller with the word before the cursor", () => {
  const ed = new LineEditor();
  deepEqual(feedAll(ed, { kind: "char", text: "/he" }, { kind: "tab" }), { kind: "complete" });
  deepEqual(ed.wordBeforeCursor(), { start: 0, word: "/he", first: true });
  ed.replaceBeforeCursor(0, "/help ");
  equal(ed.line, "/help ");
  feedAll(ed, { kind: "char", text: "src/ma" });
  deepEqual(ed.wordBeforeCursor(), { start: 6, word: "src/ma", first: false });
  const pasted = new LineEditor();
  pasted.feed({ kind: "paste", text: "a\nb" });
  equal(pasted.wordBeforeCursor(), null);
  deepEqual(completeFrom("src/m", ["src/main.ts", "src/mod.ts", "README.md"]), {
    text: "src/m",
    matches: ["src/main.ts", "src/mod.ts"],
  });
  deepEqual(completeFrom("x", ["a"]), { text: "x", matches: [] });
});
