/**
 * Output capture for the bash executor (private): a bounded head, a rolling tail for the
 * working-directory marker, and the marker's removal.
 *
 * @module
 */

/** Bytes of output kept in memory; the rest is counted and dropped. */
const MAX_CAPTURE_BYTES = 4 * 1024 * 1024;
const TAIL_BYTES = 8192;

/** A command's merged output: the kept head, a rolling tail, and how much was dropped. */
export interface Captured {
  text: string;
  tail: string;
  droppedBytes: number;
}

/** Reads a stream, keeping at most 4 MiB plus an 8 KiB tail (where the cwd marker lands). */
export async function capture(stream: ReadableStream<Uint8Array>): Promise<Captured> {
  const head: Uint8Array[] = [];
  let headBytes = 0;
  let dropped = 0;
  let tail = new Uint8Array(0);
  for await (const chunk of stream) {
    if (headBytes < MAX_CAPTURE_BYTES) {
      const take = chunk.subarray(0, MAX_CAPTURE_BYTES - headBytes);
      head.push(take);
      headBytes += take.length;
      dropped += chunk.length - take.length;
    } else dropped += chunk.length;
    const joined = new Uint8Array(tail.length + chunk.length);
    joined.set(tail);
    joined.set(chunk, tail.length);
    tail = joined.subarray(Math.max(0, joined.length - TAIL_BYTES));
  }
  const all = new Uint8Array(headBytes);
  let off = 0;
  for (const part of head) {
    all.set(part, off);
    off += part.length;
  }
  const decoder = new TextDecoder();
  return {
    text: decoder.decode(all),
    tail: dropped > 0 ? decoder.decode(tail) : "",
    droppedBytes: dropped,
  };
}

/** Removes the last cwd marker line and returns the directory it carried. */
export function stripMarker(
  text: string,
  tail: string,
  marker: string,
): { text: string; newCwd?: string } {
  const source = tail === "" ? text : tail;
  const at = source.lastIndexOf(`\n${marker}`);
  if (at === -1) return { text };
  const end = source.indexOf("\n", at + 1 + marker.length);
  const newCwd = source.slice(at + 1 + marker.length, end === -1 ? undefined : end);
  const cleaned = tail === ""
    ? text.slice(0, at) + text.slice(end === -1 ? text.length : end + 1)
    : text;
  return { text: cleaned, newCwd };
}
