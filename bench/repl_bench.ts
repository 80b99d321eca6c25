/**
 * REPL keystroke-to-echo work: one printable byte through the key parser, the line editor and
 * the render of the prompt line (what the REPL writes back to the terminal), on an empty line and
 * on a 2,000-character line. The terminal's own latency is not included.
 */
import { KeyParser, LineEditor } from "../runtime/cli/_line_editor.ts";

const byte = new TextEncoder().encode("x");

function keystroke(editor: LineEditor, parser: KeyParser): string {
  let out = "";
  for (const key of parser.feed(byte)) {
    editor.feed(key);
    out = editor.render("> ", 100);
  }
  return out;
}

Deno.bench("keystroke to echo: parse + edit + render (empty line)", () => {
  const editor = new LineEditor([]);
  keystroke(editor, new KeyParser());
});

const long = new LineEditor([]);
const longParser = new KeyParser();
for (let i = 0; i < 2000; i++) keystroke(long, longParser);
Deno.bench("keystroke to echo: parse + edit + render (2,000-character line)", () => {
  keystroke(long, longParser);
});
