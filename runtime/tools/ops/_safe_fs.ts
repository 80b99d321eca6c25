/**
 * Open-then-verify: the check below Deno's permissions. Deno checks a path lexically, so a
 * symlink inside the workspace could still lead out of it; every file is opened first, then the
 * real path of what was named is checked against the allowed roots and its inode compared with
 * the opened handle's, so a symlink swapped in between check and use is caught.
 *
 * Limit: a hard link to an outside file is indistinguishable from a file (Linux's
 * `protected_hardlinks` stops users from linking files they do not own).
 *
 * @module
 */
import { ToolError } from "../types.ts";

/** The canonical roots the Worker may read and write. */
export interface Roots {
  /** Canonical paths readable (files or folders). */
  readonly read: readonly string[];
  /** Canonical paths writable (files or folders). */
  readonly write: readonly string[];
  /**
   * Canonical paths never read or written, even inside the roots (`$ASTRID_HOME`, the audit
   * witness). Whatever the roots say, a `.astrid` folder is never written either.
   */
  readonly hidden: readonly string[];
  /**
   * Folders in which the executor's host creates new files before the call, from inside the
   * sandbox (race-free); the ops never create a file there themselves. Default: none.
   */
  readonly createdByHost?: readonly string[];
}

/** What a path is opened for. */
export type Need = "read" | "write";

/** True when canonical `path` is one of `roots` or lies below one. */
export function insideRoots(path: string, roots: readonly string[]): boolean {
  return roots.some((r) => path === r || path.startsWith(r.endsWith("/") ? r : `${r}/`));
}

/**
 * Throws NOT_CAPABLE unless canonical `real` may be used for `need`: inside the read (or write)
 * roots, outside every hidden path, and, for a write, outside any `.astrid` folder.
 */
export function assertAllowed(real: string, path: string, roots: Roots, need: Need, verb: string) {
  if (!insideRoots(real, need === "read" ? roots.read : roots.write)) {
    throw new ToolError(
      "NOT_CAPABLE",
      `Cannot ${verb} ${path}: it resolves to ${real}, outside the allowed paths`,
    );
  }
  if (insideRoots(real, roots.hidden)) {
    throw new ToolError(
      "NOT_CAPABLE",
      `Cannot ${verb} ${path}: ${real} is the runtime's own state, which no tool may touch`,
    );
  }
  if (need === "write" && real.split("/").includes(".astrid")) {
    throw new ToolError(
      "NOT_CAPABLE",
      `Cannot ${verb} ${path}: ${real} is configuration (.astrid), which only the human's own ` +
        "astrid commands change",
    );
  }
}

/** Throws NOT_CAPABLE unless the real path of `path` may be used for `need`; returns it. */
export async function verifiedRealPath(
  path: string,
  roots: Roots,
  need: Need,
  verb: string,
): Promise<string> {
  const real = await Deno.realPath(path);
  assertAllowed(real, path, roots, need, verb);
  return real;
}

/** Verifies that the opened `file` is the real, allowed file named by `path`. */
export async function verifyOpened(
  file: Deno.FsFile,
  path: string,
  roots: Roots,
  need: Need,
  verb: string,
): Promise<string> {
  const opened = await file.stat();
  const real = await verifiedRealPath(path, roots, need, verb);
  const named = await Deno.stat(real);
  if (opened.ino !== named.ino || opened.dev !== named.dev) {
    throw new ToolError(
      "NOT_CAPABLE",
      `Cannot ${verb} ${path}: the file changed between opening and checking`,
    );
  }
  return real;
}

/** Opens `path` for reading, verified; the caller closes the handle. */
export async function openForRead(path: string, roots: Roots, verb = "read"): Promise<Deno.FsFile> {
  const file = await Deno.open(path, { read: true });
  try {
    const info = await file.stat();
    if (info.isDirectory) {
      throw new ToolError("INVALID_ARGS", `Cannot ${verb} ${path}: it is a directory`);
    }
    await verifyOpened(file, path, roots, "read", verb);
    return file;
  } catch (err) {
    file.close();
    throw err;
  }
}

/** Reads every byte of an open file, refusing more than `maxBytes`. */
export async function readAllFrom(file: Deno.FsFile, path: string, maxBytes: number) {
  const size = (await file.stat()).size;
  if (size > maxBytes) {
    throw new ToolError(
      "TOO_LARGE",
      `Cannot read ${path}: it is ${size} bytes, more than the ${maxBytes}-byte limit`,
    );
  }
  const buf = new Uint8Array(size);
  let off = 0;
  while (off < size) {
    const n = await file.read(buf.subarray(off));
    if (n === null) break;
    off += n;
  }
  return buf.subarray(0, off);
}

/**
 * Opens `path` for writing without truncating, creating it (and missing parent folders) inside
 * the write roots. An existing file is verified before the caller truncates it; a new file is
 * created with O_EXCL, which never follows a symlink.
 */
export async function openForWrite(
  path: string,
  roots: Roots,
  opts: { create: boolean; read?: boolean },
): Promise<{ file: Deno.FsFile; created: boolean }> {
  let exists = true;
  try {
    await Deno.lstat(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    exists = false;
  }
  if (!exists && !opts.create) {
    throw new ToolError("NOT_FOUND", `Cannot edit ${path}: it does not exist`);
  }
  if (!exists && insideRoots(path, roots.createdByHost ?? [])) {
    throw new ToolError(
      "NOT_FOUND",
      `Cannot write ${path}: it disappeared while it was being created (changed concurrently)`,
    );
  }
  if (!exists) await makeParents(path, roots);
  const file = await Deno.open(path, {
    read: opts.read ?? false,
    write: true,
    ...(exists ? {} : { createNew: true }),
  });
  try {
    const info = await file.stat();
    if (!info.isFile) throw new ToolError("INVALID_ARGS", `Cannot write ${path}: not a file`);
    await verifyOpened(file, path, roots, "write", "write");
    return { file, created: !exists };
  } catch (err) {
    file.close();
    if (!exists) await Deno.remove(path).catch(() => {});
    throw err;
  }
}

async function makeParents(path: string, roots: Roots): Promise<void> {
  const parent = path.slice(0, path.lastIndexOf("/")) || "/";
  // An approved escape names the file itself: no folder is made for it, and its folder need
  // not be readable or writable as a whole (the file's real path is verified once it is open;
  // a missing folder fails the open).
  if (roots.write.includes(path)) return;
  // Find the nearest existing ancestor and verify it before creating anything below it.
  let existing = parent;
  const missing: string[] = [];
  for (;;) {
    try {
      await Deno.lstat(existing);
      break;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      missing.unshift(existing);
      existing = existing.slice(0, existing.lastIndexOf("/")) || "/";
    }
  }
  await verifiedRealPath(existing, roots, "write", "create a folder in");
  for (const dir of missing) {
    await Deno.mkdir(dir);
    await verifiedRealPath(dir, roots, "write", "create a folder in");
  }
  await verifiedRealPath(parent, roots, "write", "write into");
}
