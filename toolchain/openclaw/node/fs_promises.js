// Astrid's `node:fs/promises`: readFile, writeFile, appendFile, mkdir, readdir, stat/lstat,
// access, rm/unlink, copyFile and rename over the capsule's fs host functions. Paths are
// workspace-relative and gated by the manifest's fs_read/fs_write. Binary-safe: readFile without
// an encoding returns a Buffer of the file's exact bytes, and Buffer/typed-array data is written
// byte for byte (base64 over the host boundary; files up to 16 MiB). Not provided: file handles (open), streams, watch, symlinks,
// chmod/chown, removing folders (rm of a folder fails with ENOTSUP), and the sync/callback APIs.
import { Buffer } from "./buffer.js";

const CODES = {
  NOT_FOUND: "ENOENT",
  DENIED: "EACCES",
  CAPABILITY: "EACCES",
  CONFINED: "EACCES",
  EXISTS: "EEXIST",
  TOO_LARGE: "EFBIG",
  BAD_ARGS: "EINVAL",
  IO: "EIO",
};

const host = () => {
  const api = globalThis.__astrid_api;
  if (!api) throw nodeError("ENOSYS", "Cannot use the file system: current value is not a capsule");
  return api.fs;
};

function nodeError(code, message, syscall, path) {
  const e = new Error(message);
  e.code = code;
  if (syscall) e.syscall = syscall;
  if (path !== undefined) e.path = path;
  return e;
}

/** Runs one host call, turning host error codes into Node ones (the host's message kept). */
async function call(syscall, path, run) {
  try {
    return await run(host());
  } catch (e) {
    if (e && typeof e === "object" && typeof e.code === "string" && e.code in CODES) {
      const err = nodeError(CODES[e.code], e.message, syscall, path);
      err.hostCode = e.code;
      throw err;
    }
    throw e;
  }
}

const pathOf = (p) => (p instanceof URL ? decodeURIComponent(p.pathname) : String(p));
const encodingOf = (opts) => (typeof opts === "string" ? opts : opts?.encoding ?? null);
const isUtf8 = (enc) => /^utf-?8$/i.test(enc);
/** What to hand the host: a string (written as UTF-8) or a Uint8Array (written exactly). */
const contentOf = (data, opts) => {
  if (typeof data === "string") {
    const enc = encodingOf(opts);
    return enc && !isUtf8(enc) ? Buffer.from(data, enc) : data;
  }
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  return String(data);
};
const bufferOf = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Reads a file: a Buffer of its exact bytes, or a string when an encoding is given. */
export async function readFile(path, opts) {
  const p = pathOf(path);
  const enc = encodingOf(opts);
  if (enc !== null && isUtf8(enc)) return await call("open", p, (fs) => fs.readFile(p));
  const bytes = bufferOf(await call("open", p, (fs) => fs.readFileBytes(p)));
  return enc === null ? bytes : bytes.toString(enc);
}

/**
 * Writes (creates or replaces) a file: a string in its encoding (UTF-8 by default), or a
 * Buffer, typed array or ArrayBuffer as its exact bytes.
 */
export async function writeFile(path, data, opts) {
  const p = pathOf(path);
  await call("open", p, (fs) => fs.writeFile(p, contentOf(data, opts)));
}

/** Appends to a file, byte for byte (read, then write: not atomic). */
export async function appendFile(path, data, opts) {
  const p = pathOf(path);
  const before = await readFile(p).catch((e) => {
    if (e.code === "ENOENT") return Buffer.alloc(0);
    throw e;
  });
  const more = contentOf(data, opts);
  const added = typeof more === "string" ? Buffer.from(more, "utf8") : more;
  await writeFile(p, Buffer.concat([before, added]));
}

/** Creates a folder (`recursive` creates parents and accepts an existing folder). */
export async function mkdir(path, opts = {}) {
  const p = pathOf(path);
  const recursive = typeof opts === "object" && opts !== null && !!opts.recursive;
  await call("mkdir", p, (fs) => fs.mkdir(p, { recursive }));
  return recursive ? p : undefined;
}

class Dirent {
  #file;
  #dir;
  constructor(parent, entry) {
    this.name = entry.name;
    this.parentPath = parent;
    this.path = parent;
    this.#file = !!entry.isFile;
    this.#dir = !!entry.isDirectory;
  }
  isFile() {
    return this.#file;
  }
  isDirectory() {
    return this.#dir;
  }
  isSymbolicLink() {
    return !this.#file && !this.#dir;
  }
  isBlockDevice() {
    return false;
  }
  isCharacterDevice() {
    return false;
  }
  isFIFO() {
    return false;
  }
  isSocket() {
    return false;
  }
}

/** Lists a folder: names, or Dirent-like objects with `withFileTypes`. */
export async function readdir(path, opts) {
  const p = pathOf(path);
  const entries = await call("scandir", p, (fs) => fs.readdir(p));
  return opts?.withFileTypes ? entries.map((e) => new Dirent(p, e)) : entries.map((e) => e.name);
}

class Stats {
  #file;
  #dir;
  constructor(info) {
    this.size = info.size;
    this.mtimeMs = info.mtime ?? 0;
    this.mtime = new Date(this.mtimeMs);
    this.#file = !!info.isFile;
    this.#dir = !!info.isDirectory;
  }
  isFile() {
    return this.#file;
  }
  isDirectory() {
    return this.#dir;
  }
  isSymbolicLink() {
    return !this.#file && !this.#dir;
  }
}

/** Describes a file or folder (size, mtime, isFile(), isDirectory()). */
export async function stat(path) {
  const p = pathOf(path);
  return new Stats(await call("stat", p, (fs) => fs.stat(p)));
}

/** Same as stat: the host never follows a final symlink. */
export const lstat = stat;

/** Resolves when `path` exists; rejects with ENOENT otherwise. */
export async function access(path) {
  const p = pathOf(path);
  const there = await call("access", p, (fs) => fs.exists(p));
  if (!there) {
    throw nodeError("ENOENT", `Cannot access ${p}: no such file or folder`, "access", p);
  }
}

/** Removes a file. */
export async function unlink(path) {
  const p = pathOf(path);
  await call("unlink", p, (fs) => fs.unlink(p));
}

/** Removes a file (`force` ignores a missing one). Folders cannot be removed from a capsule. */
export async function rm(path, opts = {}) {
  const p = pathOf(path);
  try {
    await unlink(p);
  } catch (e) {
    if (e.code === "ENOENT" && opts.force) return;
    if (e.hostCode === "BAD_ARGS") {
      throw nodeError("ENOTSUP", `Cannot remove ${p}: capsules cannot remove folders`, "rm", p);
    }
    throw e;
  }
}

/** Copies a file's exact bytes. */
export async function copyFile(from, to) {
  await writeFile(to, await readFile(from));
}

/** Moves a file (copy, then unlink: not atomic; folders are not supported). */
export async function rename(from, to) {
  await copyFile(from, to);
  await unlink(from);
}

/** `access` modes (only existence is checked). */
export const constants = Object.freeze({ F_OK: 0, R_OK: 4, W_OK: 2, X_OK: 1 });

export default {
  readFile,
  writeFile,
  appendFile,
  mkdir,
  readdir,
  stat,
  lstat,
  access,
  unlink,
  rm,
  copyFile,
  rename,
  constants,
};
