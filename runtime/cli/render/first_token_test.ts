/**
 * Time to first streamed token: from the first response byte the loopback fake Anthropic server
 * sends (seen by a byte-counting TCP relay in front of it) to the first token of the answer
 * written to the REPL's terminal, through the real SDK, agent and renderer. Printed, never
 * asserted (wall-clock limits are not tested).
 */
import { ok } from "node:assert/strict";
import { world } from "../../agent/_testing.ts";
import { createProvider } from "../../llm/mod.ts";
import type { CliIo } from "../context.ts";
import { Repl } from "../repl.ts";

const BASE_IO: CliIo = { env: {}, cwd: "/", isTty: true, stdout() {}, stderr() {} };

/** A TCP relay to `port` that notes when the first response byte passes. */
function relay(port: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const firstByte: number[] = [];
  const served = (async () => {
    for await (const conn of listener) {
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port });
      // No Nagle delay in the relay itself: it must not add to what is measured.
      conn.setNoDelay(true);
      upstream.setNoDelay(true);
      // Connections are kept alive: the first byte after each request is a response's first.
      let awaiting = false;
      const ask = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, c) {
          awaiting = true;
          c.enqueue(chunk);
        },
      });
      const tap = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, c) {
          if (awaiting) {
            awaiting = false;
            firstByte.push(performance.now());
          }
          c.enqueue(chunk);
        },
      });
      conn.readable.pipeThrough(ask).pipeTo(upstream.writable).catch(() => {});
      upstream.readable.pipeThrough(tap).pipeTo(conn.writable).catch(() => {});
    }
  })().catch(() => {});
  return { port: (listener.addr as Deno.NetAddr).port, firstByte, listener, served };
}

Deno.test("time to first streamed token after the server's first byte (measured)", async () => {
  const turns = Array.from({ length: 6 }, (_, i) => ({ text: `Token${i} and more words here.` }));
  const w = await world(turns);
  const r = relay(Number(new URL(w.fake.url).port));
  try {
    const provider = createProvider({
      ...w.config.model,
      provider: "anthropic",
      model: "claude-sonnet-4-6",
      api_key: "sk-test",
      api_url: `http://127.0.0.1:${r.port}`,
    }, { retry: { maxAttempts: 1 } });
    let firstToken = 0;
    let want = "";
    let screen = "";
    let keyboard!: ReadableStreamDefaultController<Uint8Array>;
    const input = new ReadableStream<Uint8Array>({ start: (c) => void (keyboard = c) });
    const repl = new Repl({
      terminal: {
        input,
        write: (s) => {
          screen += s;
          if (firstToken === 0 && want !== "" && s.includes(want)) firstToken = performance.now();
        },
        colour: true,
        columns: 100,
      },
      historyFile: null,
    });
    const opened = await w.open({
      provider,
      frontend: repl.frontend(BASE_IO),
      onEvent: (e) => repl.onEvent(e),
    });
    const running = repl.run({ opened, audit: w.audit, model: w.config.model });
    const samples: number[] = [];
    for (let i = 0; i < turns.length; i++) {
      firstToken = 0;
      want = `Tok`; // the first piece the fake sends (it splits the text in 3)
      const before = r.firstByte.length;
      keyboard.enqueue(new TextEncoder().encode(`go ${i}\r`));
      for (let j = 0; j < 1000 && !(firstToken > 0 && screen.includes(`model call`)); j++) {
        await new Promise((res) => setTimeout(res, 5));
      }
      screen = "";
      const byte = r.firstByte[before];
      ok(byte !== undefined && firstToken > 0);
      if (i > 0) samples.push(firstToken - byte); // the first turn warms the SDK up
    }
    keyboard.enqueue(new TextEncoder().encode("\x04"));
    await running;
    samples.sort((a, b) => a - b);
    console.log(
      `first streamed token after the server's first byte: median ${
        samples[Math.floor(samples.length / 2)]!.toFixed(2)
      } ms, max ${samples.at(-1)!.toFixed(2)} ms over ${samples.length} turns`,
    );
  } finally {
    r.listener.close();
    await w.close();
  }
});
