/**
 * `read_file` inside the Worker: verified open, binary refusal, `cat -n` style numbering.
 * The file is streamed, never loaded whole: only the lines shown are kept (each cut at
 * {@link MAX_LINE_CHARS}), so `offset` or `tail` reach into a file of any size. Text that is
 * not UTF-8 is decoded as Latin-1 (windows-1252) with a notice.
 *
 * @module
 */
import { absPath, argsObject, optInt } from "../_args.ts";
import { openForRead, type Roots } from "./_safe_fs.ts";
import { ToolError } from "../types.ts";

/** Largest file `edit_file` loads (reads stream, whatever the size). */
export const MAX_READ_BYTES = 10 * 1024 * 1024;
/** Lines shown when no limit is given. */
export const DEFAULT_READ_LINES = 2000;
/** Longest line shown; the rest of a longer line is summarised. */
export const MAX_LINE_CHARS = 4000;

const CHUNK = 64 * 1024;
const SNIFF_BYTES = 8192;

/** A line as kept: its first {@link MAX_LINE_CHARS} characters and its full length. */
interface Line {
  n: number;
  text: string;
  length: number;
}

/**
 * Streams the lines of `file` through `onLine` with `encoding`; returns the line count, or
 * null when `fatal` decoding met a byte sequence that is not valid in it.
 */
async function scan(
  file: Deno.FsFile,
  encoding: string,
  onLine: (line: Line) => void,
): Promise<number | null> {
  await file.seek(0, Deno.SeekMode.Start);
  const decoder = new TextDecoder(encoding, { fatal: true });
  const buf = new Uint8Array(CHUNK);
  let n = 0;
  let text = "";
  let length = 0;
  const push = (part: string) => {
    if (text.length < MAX_LINE_CHARS) text += part.slice(0, MAX_LINE_CHARS - text.length);
    length += part.length;
  };
  try {
    for (;;) {
      const read = await file.read(buf);
      const chunk = read === null ? decoder.decode() : decoder.decode(buf.subarray(0, read), {
        stream: true,
      });
      const parts = chunk.split("\n");
      for (let i = 0; i < parts.length - 1; i++) {
        push(parts[i]!);
        onLine({ n: ++n, text, length });
        text = "";
        length = 0;
      }
      push(parts.at(-1)!);
      if (read === null) break;
    }
  } catch (err) {
    if (err instanceof TypeError) return null;
    throw err;
  }
  if (length > 0) onLine({ n: ++n, text, length });
  return n;
}

/**
 * Reads a text file and numbers its lines: from `offset` (1-based) for `limit` lines, or the
 * last `tail` lines.
 */
export async function readFileOp(raw: unknown, roots: Roots): Promise<string> {
  const obj = argsObject("read_file", raw, ["file_path", "offset", "limit", "tail"]);
  const path = absPath("read_file", obj, "file_path");
  const given = optInt("read_file", obj, "offset", 1, Number.MAX_SAFE_INTEGER);
  const limit = optInt("read_file", obj, "limit", 1, 1_000_000) ?? DEFAULT_READ_LINES;
  const tail = optInt("read_file", obj, "tail", 1, 1_000_000);
  if (tail !== undefined && given !== undefined) {
    throw new TypeError("Cannot parse read_file arguments: give offset or tail, not both");
  }
  const offset = given ?? 1;
  using file = await openForRead(path, roots);
  const head = new Uint8Array(SNIFF_BYTES);
  const sniffed = (await file.read(head)) ?? 0;
  if (sniffed === 0) return `(${path} is empty)`;
  const nul = head.subarray(0, sniffed).indexOf(0);
  if (nul !== -1) {
    throw new ToolError(
      "BINARY_FILE",
      `Cannot show ${path}: it looks like a binary file (NUL byte at offset ${nul}); only text files can be read`,
    );
  }
  const collect = async (encoding: string) => {
    const shown: Line[] = [];
    const total = await scan(file, encoding, (line) => {
      if (tail !== undefined) {
        shown.push(line);
        if (shown.length >= 2 * tail) shown.splice(0, shown.length - tail);
      } else if (line.n >= offset && line.n < offset + limit) shown.push(line);
    });
    return total === null
      ? null
      : { shown: tail === undefined ? shown : shown.slice(-tail), total };
  };
  let notice = "";
  let found = await collect("utf-8");
  if (found === null) {
    found = (await collect("windows-1252"))!;
    notice = `(note: ${path} is not valid UTF-8; decoded as Latin-1/windows-1252)\n`;
  }
  const { shown, total } = found;
  if (total === 0) return `(${path} is empty)`;
  if (shown.length === 0) {
    return `${notice}(${path} has ${total} lines; offset ${offset} is past the end)`;
  }
  const body = shown.map((l) =>
    `${String(l.n).padStart(6)}\t${l.text}${
      l.length > l.text.length ? ` … (${l.length - l.text.length} more characters)` : ""
    }`
  ).join("\n");
  const first = shown[0]!.n;
  const last = shown.at(-1)!.n;
  const more = first > 1 || last < total
    ? `\n(lines ${first}-${last} of ${total}; pass offset to read more, or tail for the end)`
    : "";
  return `${notice}${body}${more}`;
}
