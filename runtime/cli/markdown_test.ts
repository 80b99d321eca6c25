import { equal } from "node:assert/strict";
import { paint, stripControls } from "./markdown.ts";

Deno.test("paint() styles only when colour is on, and leaves empty text alone", () => {
  equal(paint("x", "green", true), "\x1b[32mx\x1b[39m");
  equal(paint("x", "green", false), "x");
  equal(paint("", "bold", true), "");
});

Deno.test("stripControls() drops escape sequences, bells and carriage returns but keeps tabs and newlines", () => {
  equal(stripControls("a\x1b[2J\x1b]0;t\x07b\r\n\tc\x9bd"), "a[2J]0;tb\n\tcd");
});
