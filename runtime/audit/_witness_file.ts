/**
 * Reading the witness file cheaply: `AuditLog.open` runs on every command, so it reads only the
 * file's tail (complete lines, newest first, a chunk at a time) instead of parsing a file that
 * grows for the life of the installation. Line numbers are counted only when a message needs
 * one. Not re-exported.
 *
 * @module
 */

/** A complete line found by {@link readWitnessTail}: its byte offset and parsed JSON value. */
export interface TailLine {
  offset: number;
  value: unknown;
}

const NL = 0x0a;
const CHUNK = 16 * 1024;
/** Longer lines are junk (a witness line is about 300 bytes): skipped without being kept. */
const MAX_LINE = 64 * 1024;
const decoder = new TextDecoder();

// The tail is read with synchronous calls: a chunk or two of a local file, read sooner than an
// async call reaches Deno's thread pool, on the path of every command that opens the log.
function readAt(file: Deno.FsFile, pos: number, dst: Uint8Array): void {
  file.seekSync(pos, Deno.SeekMode.Start);
  for (let n = 0; n < dst.length;) {
    const got = file.readSync(dst.subarray(n));
    if (got === null) throw new Error(`Cannot read the witness: it shrank while being read`);
    n += got;
  }
}

/** Opens `path` for reading; null when it does not exist. */
function openIfExists(path: string): Deno.FsFile | null {
  try {
    return Deno.openSync(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/**
 * Reads the complete lines at the end of the witness, newest first, a chunk at a time, until
 * `enough(lines)` holds after a chunk or the file's start is reached. A last line without its
 * newline (being written) is left out; lines that are not JSON are skipped. Null when the file
 * does not exist.
 */
export function readWitnessTail(
  path: string,
  enough: (lines: readonly TailLine[]) => boolean,
  chunkSize = CHUNK,
): TailLine[] | null {
  const file = openIfExists(path);
  if (!file) return null;
  try {
    const info = file.statSync();
    if (!info.isFile) throw new Error(`Cannot read the witness ${path}: it is not a file`);
    const out: TailLine[] = [];
    let end = info.size; // bytes before `end` are not read yet
    let carry = new Uint8Array(0); // the read part of the line that ends at `end`
    let anchored = false; // true once the newline ending the newest complete line was found
    let junk = false; // the line being carried is too long to be a witness line
    while (end > 0) {
      const start = Math.max(0, end - chunkSize);
      const buf = new Uint8Array(end - start + carry.length);
      readAt(file, start, buf.subarray(0, end - start));
      buf.set(carry, end - start);
      let stop: number; // index of the newline that ends the current line
      if (anchored) {
        stop = buf.length - 1;
      } else {
        stop = buf.lastIndexOf(NL);
        if (stop < 0) {
          carry = buf.length > MAX_LINE ? new Uint8Array(0) : buf;
          end = start;
          continue;
        }
        anchored = true;
      }
      for (;;) {
        const i = stop === 0 ? -1 : buf.lastIndexOf(NL, stop - 1);
        if (i < 0 && start > 0) break; // the line starts in an earlier chunk
        if (!junk) {
          try {
            out.push({
              offset: start + i + 1,
              value: JSON.parse(decoder.decode(buf.subarray(i + 1, stop))),
            });
          } catch { /* not JSON: skipped here, listed by a full read */ }
        }
        junk = false;
        if (i < 0) break;
        stop = i;
      }
      carry = buf.subarray(0, stop + 1);
      if (carry.length > MAX_LINE) {
        junk = true;
        carry = Uint8Array.of(NL);
      }
      end = start;
      if (enough(out)) break;
    }
    return out;
  } finally {
    file.close();
  }
}

/** The 1-based line number of the line that starts at byte `offset` of the witness. */
export async function lineNumberAt(path: string, offset: number): Promise<number> {
  const file = openIfExists(path);
  if (!file) return 0;
  try {
    const buf = new Uint8Array(1 << 20);
    let line = 1;
    for (let pos = 0; pos < offset;) {
      const got = await file.read(buf.subarray(0, Math.min(buf.length, offset - pos)));
      if (got === null) break;
      for (let i = 0; i < got; i++) if (buf[i] === NL) line++;
      pos += got;
    }
    return line;
  } finally {
    file.close();
  }
}

/** The witness's whole text, or null when it does not exist. */
export async function readWitnessText(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw new Error(`Cannot read the witness ${path}: ${(err as Error).message}`, { cause: err });
  }
}
