/**
 * Places a capsule's bundled JavaScript inside the engine module, where `wizer.initialize`
 * (engine.c) finds it: new pages at the end of the initial memory hold the source, then a
 * 4 KiB pad, then a 16-byte trailer that ends the memory (`ASTRJS01`, the source length and its
 * address as u32 LE). wasi-libc's malloc takes the memory from `__heap_base` to the end of the
 * initial memory as its first segment and writes its bookkeeping at both ends, so a free gap
 * larger than the source is left below it and the pad above it: the engine copies the source
 * into its heap before anything else allocates. The memory's minimum grows by the pages the source needs; its maximum (the engine's hard
 * backstop) is kept and never raised.
 *
 * Only the WebAssembly binary format's memory (5), data (11) and data count (12) sections are
 * touched (WebAssembly Core Specification 2.0, §5.5).
 *
 * @module
 */
import { s32, u32 } from "./_leb128.ts";

const PAGE = 65536;
const MAGIC = new TextEncoder().encode("ASTRJS01");
const TRAILER = 16;
const PAD = 4096;

/**
 * Raised when the engine module cannot take the source.
 *
 * @example Catch a malformed engine
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { EmbedError, embedSource } from "./embed.ts";
 * try {
 *   embedSource(new Uint8Array(4), "1");
 * } catch (e) {
 *   ok(e instanceof EmbedError && e.code === "MALFORMED");
 * }
 * ```
 */
export class EmbedError extends Error {
  /** Why: `MALFORMED` module or `TOO_LARGE` source. */
  readonly code: "MALFORMED" | "TOO_LARGE";
  /**
   * @param code the failure class
   * @param message a "Cannot X: current value is Y" message
   */
  constructor(code: "MALFORMED" | "TOO_LARGE", message: string) {
    super(message);
    this.name = "EmbedError";
    this.code = code;
  }
}

interface Section {
  id: number;
  body: Uint8Array;
}

function readU32(bytes: Uint8Array, pos: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    const b = bytes[pos + i];
    if (b === undefined) break;
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) {
      if (value > 0xffffffff) break;
      return [value, pos + i + 1];
    }
  }
  throw new EmbedError("MALFORMED", `Cannot read a LEB128 u32: current value is offset ${pos}`);
}

function concat(parts: (Uint8Array | number[])[]): Uint8Array<ArrayBuffer> {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function parseSections(wasm: Uint8Array): Section[] {
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (wasm.length < 8 || header.some((b, i) => wasm[i] !== b)) {
    throw new EmbedError(
      "MALFORMED",
      `Cannot embed into the engine: current value is not a wasm module (${wasm.length} bytes)`,
    );
  }
  const sections: Section[] = [];
  let pos = 8;
  while (pos < wasm.length) {
    const id = wasm[pos]!;
    const [size, start] = readU32(wasm, pos + 1);
    if (start + size > wasm.length) {
      throw new EmbedError(
        "MALFORMED",
        `Cannot read section ${id}: current value overruns the module`,
      );
    }
    sections.push({ id, body: wasm.subarray(start, start + size) });
    pos = start + size;
  }
  return sections;
}

/**
 * Returns a copy of `engine` whose initial memory ends with `source` and its trailer.
 *
 * @param engine the engine module (engine.wasm), not yet initialised by Wizer
 * @param source the bundled JavaScript
 * @returns the module to hand to Wizer
 *
 * @example Embed a tiny source
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { embedSource } from "./embed.ts";
 * // (module (memory 1 4) (data (i32.const 0) "x"))
 * const engine = new Uint8Array([
 *   0, 97, 115, 109, 1, 0, 0, 0, 5, 4, 1, 1, 1, 4, 11, 7, 1, 0, 65, 0, 11, 1, 120,
 * ]);
 * const out = embedSource(engine, "globalThis.x = 1;");
 * ok(WebAssembly.validate(out));
 * ```
 */
export function embedSource(
  engine: Uint8Array,
  source: string | Uint8Array,
): Uint8Array<ArrayBuffer> {
  const src = typeof source === "string" ? new TextEncoder().encode(source) : source;
  const sections = parseSections(engine);
  const memory = sections.find((s) => s.id === 5);
  const data = sections.find((s) => s.id === 11);
  if (!memory || !data) {
    throw new EmbedError(
      "MALFORMED",
      "Cannot embed into the engine: current value has no memory or data section",
    );
  }
  const [count, at] = readU32(memory.body, 0);
  const flags = memory.body[at];
  if (count !== 1 || (flags !== 0 && flags !== 1)) {
    throw new EmbedError(
      "MALFORMED",
      `Cannot embed into the engine: current value has ${count} memories with flags ${flags}`,
    );
  }
  const [min, next] = readU32(memory.body, at + 1);
  const max = flags === 1 ? readU32(memory.body, next)[0] : undefined;
  const payload = src.length + PAD + TRAILER;
  // wasi-libc's malloc starts at __heap_base and uses the rest of the initial memory, so the
  // engine copies the source into the heap first: leave it a free gap at least as large.
  const newMin = min + Math.ceil((2 * payload + PAGE) / PAGE);
  const offset = newMin * PAGE - payload;
  if ((max !== undefined && newMin > max) || offset > 0x7fffffff) {
    throw new EmbedError(
      "TOO_LARGE",
      `Cannot embed the source: current value is ${src.length} bytes, over the engine's memory maximum`,
    );
  }
  const trailer = new Uint8Array(TRAILER);
  trailer.set(MAGIC, 0);
  new DataView(trailer.buffer).setUint32(8, src.length, true);
  new DataView(trailer.buffer).setUint32(12, offset, true);

  const newMemory = concat([[1, 0x00 + flags], u32(newMin), max === undefined ? [] : u32(max)]);
  const [segments, rest] = readU32(data.body, 0);
  const body = concat([src, new Uint8Array(PAD), trailer]);
  const segment = concat([[0x00, 0x41], s32(offset | 0), [0x0b], u32(payload), body]);
  const newData = concat([u32(segments + 1), data.body.subarray(rest), segment]);

  const out: (Uint8Array | number[])[] = [engine.subarray(0, 8)];
  for (const s of sections) {
    let body = s.body;
    if (s.id === 5) body = newMemory;
    else if (s.id === 11) body = newData;
    else if (s.id === 12) body = new Uint8Array(u32(readU32(s.body, 0)[0] + 1));
    out.push([s.id], u32(body.length), body);
  }
  return concat(out);
}
