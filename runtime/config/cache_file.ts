/**
 * The files of `$ASTRID_HOME/cache/`: derived data the CLI keeps between runs (the launcher's
 * permission flags, runtime/cli/_launch_cache.ts; the configuration snapshot, snapshot.ts).
 * Whatever is read from there decides what the runtime is allowed to do, so a file is trusted
 * only when no one but this user could have written it:
 * - a regular file (not a symlink) owned by this uid, with no group or other permission bits,
 *   at most the given size, read through one handle checked to be the file just checked;
 * - in a folder (not a symlink) of this uid's that no group or other user can write.
 *
 * Anything else reads as absent (the caller recomputes and rewrites), never as an error. Files
 * are written atomically (a 0600 temp file, then rename) into the folder, created 0700 (and
 * closed to others when it was not); `$ASTRID_HOME` itself is never created here. No agent-side
 * action can write `$ASTRID_HOME` (the admin policy's config walls and the sandbox).
 *
 * It imports nothing: the launcher loads it on every run. The `Deno` functions are captured when
 * the module loads, before the launcher's recorder (runtime/cli/_launch_record.ts) wraps them.
 *
 * @module
 */

const lstat = Deno.lstatSync;
const openSync = Deno.openSync;

/** This process's uid, or null where there is none. */
export function uid(): number | null {
  try {
    return Deno.uid();
  } catch {
    return null;
  }
}

/** The parent folder of an absolute path. */
function parentOf(path: string): string {
  const at = path.replace(/\/+$/, "").lastIndexOf("/");
  return at <= 0 ? "/" : path.slice(0, at);
}

/**
 * The text of the trusted file at `path`, or null when it is absent, larger than `maxBytes`, not
 * UTF-8 or not trusted (see the module doc).
 *
 * @example A file others can read is not trusted
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { readTrusted, writeTrusted } from "./cache_file.ts";
 * const dir = await Deno.makeTempDir();
 * writeTrusted(`${dir}/cache/x.json`, "{}");
 * equal(readTrusted(`${dir}/cache/x.json`, 100), "{}");
 * Deno.chmodSync(`${dir}/cache/x.json`, 0o644);
 * equal(readTrusted(`${dir}/cache/x.json`, 100), null);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function readTrusted(path: string, maxBytes: number): string | null {
  const me = uid();
  const ours = (info: Deno.FileInfo, bits: number) =>
    (me === null || info.uid === me) && (info.mode === null || (info.mode & bits) === 0);
  let file: Deno.FsFile | null = null;
  try {
    // The folder too: whoever else could write it could swap the file after these checks.
    const dir = lstat(parentOf(path));
    if (!dir.isDirectory || !ours(dir, 0o022)) return null;
    const info = lstat(path);
    if (!info.isFile || info.size > maxBytes || !ours(info, 0o077)) return null;
    file = openSync(path, { read: true });
    const opened = file.statSync();
    if (opened.dev !== info.dev || opened.ino !== info.ino || opened.size !== info.size) {
      return null;
    }
    const bytes = new Uint8Array(opened.size);
    let at = 0;
    while (at < bytes.length) {
      const n = file.readSync(bytes.subarray(at));
      if (n === null || n === 0) return null;
      at += n;
    }
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  } finally {
    file?.close();
  }
}

/**
 * Writes `text` to `path` atomically, mode 0600, creating its folder (0700) when it is missing;
 * returns whether it was written. Never throws: a cache that cannot be written is only slower.
 *
 * @example Written closed to others
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { writeTrusted } from "./cache_file.ts";
 * const dir = await Deno.makeTempDir();
 * equal(writeTrusted(`${dir}/cache/x.json`, "{}"), true);
 * equal(Deno.statSync(`${dir}/cache/x.json`).mode! & 0o777, 0o600);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function writeTrusted(path: string, text: string): boolean {
  const dir = parentOf(path);
  try {
    Deno.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) return false;
  }
  try {
    // Only into a real folder of this user's (not a symlink), closed to others.
    const info = lstat(dir);
    const me = uid();
    if (!info.isDirectory || (me !== null && info.uid !== me)) return false;
    if (info.mode !== null && (info.mode & 0o077) !== 0) Deno.chmodSync(dir, 0o700);
  } catch {
    return false;
  }
  const temp = `${path}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  try {
    Deno.writeTextFileSync(temp, text, { mode: 0o600, createNew: true });
    Deno.chmodSync(temp, 0o600); // the umask cannot widen it, but a mode is not trusted blindly
    Deno.renameSync(temp, path);
    return true;
  } catch {
    try {
      Deno.removeSync(temp);
    } catch {
      // never written
    }
    return false;
  }
}
