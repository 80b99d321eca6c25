/**
 * LEB128 encoders for the WebAssembly binary format (WebAssembly Core Specification 2.0, §5.2.2),
 * shared by the module rewriters (embed.ts, pack_data.ts).
 *
 * @module
 */

/**
 * `value` (a u32) as unsigned LEB128 bytes.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { u32 } from "./_leb128.ts";
 * deepEqual(u32(624485), [0xe5, 0x8e, 0x26]);
 * ```
 */
export function u32(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) b |= 0x80;
    out.push(b);
  } while (value !== 0);
  return out;
}

/**
 * `value` (an i32) as signed LEB128 bytes.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { s32 } from "./_leb128.ts";
 * deepEqual(s32(-123456), [0xc0, 0xbb, 0x78]);
 * ```
 */
export function s32(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (b & 0x40) === 0) || (value === -1 && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}
