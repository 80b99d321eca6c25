/**
 * Text detection: binary files are refused politely instead of dumped into the transcript.
 *
 * @module
 */
import { ToolError } from "../types.ts";

const SNIFF_BYTES = 8192;

/** Decodes UTF-8 text, or throws BINARY_FILE (a NUL byte early on, or invalid UTF-8). */
export function decodeText(bytes: Uint8Array, path: string): string {
  const nul = bytes.subarray(0, SNIFF_BYTES).indexOf(0);
  if (nul !== -1) {
    throw new ToolError(
      "BINARY_FILE",
      `Cannot show ${path}: it looks like a binary file (NUL byte at offset ${nul}); only text files can be read`,
    );
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ToolError(
      "BINARY_FILE",
      `Cannot show ${path}: it is not valid UTF-8 text; only text files can be read`,
    );
  }
}

/** True when the bytes look like text (used by grep to skip binaries silently). */
export function looksText(bytes: Uint8Array): boolean {
  return bytes.subarray(0, SNIFF_BYTES).indexOf(0) === -1;
}
