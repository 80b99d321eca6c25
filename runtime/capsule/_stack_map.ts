/**
 * Maps a capsule's JavaScript stack back to the author's files (private). The engine evaluates
 * the bundle as `capsule.js`, so a thrown error's stack reads `at inner (capsule.js:1414:29)`;
 * `astrid capsule compile` writes the bundle's source map next to the wasm as
 * `capsule.wasm.map` (version 3, already shifted past the shim, sources relative to the
 * project). It is read only when a call fails with a stack, and it is debug info, never
 * trusted: it is not covered by the wasm hash or the install record, so a map that is a
 * symlink, not a regular file, over {@link MAX_MAP_BYTES}, or malformed is ignored (the raw
 * frames are kept), its parse errors are never shown (they would quote the file), and the names
 * it yields are cut to printable characters.
 *
 * @module
 */

/** The largest `capsule.wasm.map` read, in bytes. */
export const MAX_MAP_BYTES = 8 << 20;
/** Frames mapped per stack. */
const MAX_FRAMES = 32;
const FRAME = /^\s*at (?:(.*?) \()?capsule\.js:(\d+):(\d+)\)?\s*$/;

interface TraceMapLike {
  readonly sources: readonly (string | null)[];
}
interface TraceLib {
  TraceMap: new (map: unknown) => TraceMapLike;
  originalPositionFor(
    map: TraceMapLike,
    needle: { line: number; column: number },
  ): { source: string | null; line: number | null; column: number | null; name: string | null };
}

/** Printable text only, at most 200 characters: a hostile map cannot paint the terminal. */
function printable(text: string): string {
  // deno-lint-ignore no-control-regex -- stripping control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e]/g, "?").slice(0, 200);
}

async function readMap(path: string): Promise<unknown> {
  const info = await Deno.lstat(path).catch(() => null);
  if (!info || !info.isFile || info.size > MAX_MAP_BYTES) return null;
  const text = await Deno.readTextFile(path).catch(() => null);
  if (text === null || text.length > MAX_MAP_BYTES) return null;
  try {
    const map = JSON.parse(text) as Record<string, unknown>;
    const ok = map !== null && typeof map === "object" && map.version === 3 &&
      typeof map.mappings === "string" && Array.isArray(map.sources) &&
      map.sources.every((s) => typeof s === "string" || s === null) &&
      (map.names === undefined || Array.isArray(map.names)) && !("sections" in map);
    return ok ? map : null;
  } catch {
    return null; // never echo the parse error: it quotes the file
  }
}

/**
 * The frames of `stack` that map to the author's sources, as `    at NAME (FILE:LINE:COL)`
 * lines, using `${wasmPath}.map`; an empty array when there is no usable map or nothing maps.
 *
 * @param wasmPath the capsule's `capsule.wasm`
 * @param stack the engine's stack text (`at f (capsule.js:L:C)` lines)
 * @returns the mapped frames
 *
 * @example Without a map nothing is mapped
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { mapCapsuleStack } from "./_stack_map.ts";
 * deepEqual(await mapCapsuleStack("/nonexistent/capsule.wasm", "    at f (capsule.js:9:1)"), []);
 * ```
 */
export async function mapCapsuleStack(wasmPath: string, stack: string): Promise<string[]> {
  const frames = stack.split("\n").map((l) => FRAME.exec(l)).filter((m) => m !== null)
    .slice(0, MAX_FRAMES);
  if (frames.length === 0) return [];
  const raw = await readMap(`${wasmPath}.map`);
  if (raw === null) return [];
  let lib: TraceLib;
  let map: TraceMapLike;
  try {
    lib = await import("@jridgewell/trace-mapping") as unknown as TraceLib;
    map = new lib.TraceMap(raw);
  } catch {
    return []; // a map whose mappings do not decode
  }
  const out: string[] = [];
  for (const [, fn, line, column] of frames) {
    let pos;
    try {
      // The engine's columns are 1-based; source maps count columns from 0.
      pos = lib.originalPositionFor(map, { line: Number(line), column: Number(column) - 1 });
    } catch {
      continue;
    }
    if (pos.source === null || pos.line === null) continue;
    const name = printable(fn || pos.name || "<anonymous>");
    const at = `${printable(pos.source)}:${pos.line}:${(pos.column ?? 0) + 1}`;
    out.push(`    at ${name} (${at})`);
  }
  return out;
}
