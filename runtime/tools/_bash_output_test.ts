import { deepEqual, equal } from "node:assert/strict";
import { capture, stripMarker } from "./_bash_output.ts";

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return ReadableStream.from(chunks.map((c) => enc.encode(c)));
}

Deno.test("capture() bounds memory but keeps the tail where the marker lands", async () => {
  const big = "a".repeat(1024 * 1024);
  const chunks = [...Array(6).fill(big), "\n__M__:/ws/sub\n"];
  const got = await capture(streamOf(chunks));
  equal(got.text.length, 4 * 1024 * 1024);
  equal(got.droppedBytes, 2 * 1024 * 1024 + "\n__M__:/ws/sub\n".length);
  deepEqual(stripMarker(got.text, got.tail, "__M__:").newCwd, "/ws/sub");
});

Deno.test("stripMarker() removes only the last marker line", () => {
  deepEqual(stripMarker("out\n\n__M__:/ws\n", "", "__M__:"), { text: "out\n", newCwd: "/ws" });
  deepEqual(stripMarker("__M__:/x\nout\n", "", "__M__:"), { text: "__M__:/x\nout\n" });
  deepEqual(stripMarker("no marker", "", "__M__:"), { text: "no marker" });
});
