/**
 * Packs the data segments of a Wizer snapshot (issue 15). Wizer writes the initialised memory
 * as one active segment per non-zero run, splitting at every zero gap of 5 bytes or more: about
 * 8,300 segments of 10 bytes (median) for a capsule. Each costs V8 work when the module is
 * compiled and instantiated, and its header (flags, `i32.const` offset, `end`, length) takes
 * about 7 bytes. Joining segments whose gap is at most {@link MAX_GAP} zero bytes leaves about
 * 900, in a module of about the same size, and the same memory once instantiated.
 *
 * Only the data section (11) is rewritten (WebAssembly Core Specification 2.0, §5.5.12), and
 * only when every segment is active in memory 0 at an `i32.const` offset, in ascending order
 * without overlap, and the module has no data count section (12): without one, no instruction
 * can name a segment by index (`memory.init`, `data.drop`; §5.5.13), so renumbering them is
 * safe. Any other module is returned unchanged.
 *
 * @module
 */
import { s32, u32 } from "./_leb128.ts";

/** The largest run of zero bytes between two segments that packing fills in. */
export const MAX_GAP = 16;

interface Segment {
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/** A LEB128 reader over `bytes` that records the first malformed read. */
class Reader {
  pos: number;
  bad = false;
  readonly #bytes: Uint8Array;
  constructor(bytes: Uint8Array, pos: number) {
    this.#bytes = bytes;
    this.pos = pos;
  }
  byte(): number {
    const b = this.#bytes[this.pos++];
    if (b === undefined) this.bad = true;
    return b ?? 0;
  }
  u32(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
    this.bad = true;
    return 0;
  }
  s32(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return (b & 0x40) === 0 ? value : value - 2 ** (shift + 7);
    }
    this.bad = true;
    return 0;
  }
}

/** The segments of a data section body, or null when one is not a plain active segment. */
function readSegments(body: Uint8Array): Segment[] | null {
  const r = new Reader(body, 0);
  const count = r.u32();
  const segments: Segment[] = [];
  let end = 0;
  for (let i = 0; i < count && !r.bad; i++) {
    // flags 0: active, memory 0, then `i32.const offset; end`, a length and the bytes.
    if (r.u32() !== 0 || r.byte() !== 0x41) return null;
    const offset = r.s32();
    if (r.byte() !== 0x0b) return null;
    const length = r.u32();
    if (r.bad || offset < end || r.pos + length > body.length) return null;
    segments.push({ offset, bytes: body.subarray(r.pos, r.pos + length) });
    r.pos += length;
    end = offset + length;
  }
  return r.bad || r.pos !== body.length ? null : segments;
}

/** Segments joined across gaps of at most `maxGap` zero bytes, as a data section body. */
function packedBody(segments: Segment[], maxGap: number): Uint8Array {
  const runs: Segment[][] = [];
  let last: Segment | undefined;
  for (const s of segments) {
    const run = runs.at(-1);
    if (run && last && s.offset - (last.offset + last.bytes.length) <= maxGap) run.push(s);
    else runs.push([s]);
    last = s;
  }
  const parts: (Uint8Array | number[])[] = [u32(runs.length)];
  for (const run of runs) {
    const first = run[0]!;
    const tail = run.at(-1)!;
    const bytes = new Uint8Array(tail.offset + tail.bytes.length - first.offset);
    for (const s of run) bytes.set(s.bytes, s.offset - first.offset);
    parts.push([0x00, 0x41, ...s32(first.offset), 0x0b, ...u32(bytes.length)], bytes);
  }
  return concat(parts);
}

function concat(parts: (Uint8Array | number[])[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Returns `wasm` with its data segments joined across zero gaps of at most `maxGap` bytes, or
 * `wasm` itself when its data section is not the plain kind Wizer writes (see the module doc).
 * Deterministic: the same input gives the same bytes.
 *
 * @param wasm a module, typically Wizer's output
 * @param maxGap the largest zero gap to fill (default {@link MAX_GAP})
 * @returns the packed module, or `wasm`
 *
 * @example Two segments 3 bytes apart become one
 * ```ts
 * import { equal, ok } from "node:assert/strict";
 * import { packDataSegments } from "./pack_data.ts";
 * // (module (memory 1) (data (i32.const 0) "a") (data (i32.const 4) "b"))
 * const wasm = new Uint8Array([
 *   0, 97, 115, 109, 1, 0, 0, 0, 5, 3, 1, 0, 1,
 *   11, 13, 2, 0, 65, 0, 11, 1, 97, 0, 65, 4, 11, 1, 98,
 * ]);
 * const packed = packDataSegments(wasm);
 * ok(WebAssembly.validate(packed));
 * equal(packed.length, wasm.length - 2);
 * ```
 */
export function packDataSegments(
  wasm: Uint8Array<ArrayBuffer>,
  maxGap: number = MAX_GAP,
): Uint8Array<ArrayBuffer> {
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (wasm.length < 8 || header.some((b, i) => wasm[i] !== b)) return wasm;
  const r = new Reader(wasm, 8);
  let data: { start: number; end: number; segments: Segment[] } | undefined;
  while (r.pos < wasm.length) {
    const start = r.pos;
    const id = r.byte();
    const size = r.u32();
    if (r.bad || r.pos + size > wasm.length || id === 12) return wasm;
    if (id === 11) {
      const segments = readSegments(wasm.subarray(r.pos, r.pos + size));
      if (!segments || data) return wasm;
      data = { start, end: r.pos + size, segments };
    }
    r.pos += size;
  }
  if (!data) return wasm;
  const body = packedBody(data.segments, maxGap);
  return concat([
    wasm.subarray(0, data.start),
    [11, ...u32(body.length)],
    body,
    wasm.subarray(data.end),
  ]);
}
