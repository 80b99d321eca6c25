/**
 * Private path canonicalisation (re-exported by workspace.ts; confined opening is in
 * `_open_confined.ts`).
 *
 * Symlinks are resolved component by component with realpath, the way the kernel walks a
 * path, so `ws/link/../x` follows `link` before `..` applies. A not-yet-existing tail is
 * appended to its deepest existing (real) ancestor; a dangling symlink is followed by hand.
 *
 * @module
 */

/**
 * Longest accepted path, in UTF-8 bytes (Linux PATH_MAX).
 *
 * @example
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { canonicalizePath, MAX_PATH_BYTES } from "./_paths.ts";
 * await rejects(canonicalizePath("/" + "a".repeat(MAX_PATH_BYTES), "/"), /bytes/);
 * ```
 */
export const MAX_PATH_BYTES = 4096;
/** Most symlinks followed by hand in one path (Linux uses 40). */
const MAX_LINKS = 40;

// C0 and DEL, C1, bidi embeddings/overrides/isolates and marks, zero-width characters, BOM.
// deno-lint-ignore no-control-regex -- rejecting control characters is the point
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/u;

/**
 * A path that cannot be used: malformed input, a symlink loop, or an escape from a root.
 *
 * @example Callers match on the code
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { PathError } from "./_paths.ts";
 * equal(new PathError("Cannot use path: x").code, "PATH");
 * ```
 */
export class PathError extends Error {
  /** Stable code for callers to match on. */
  readonly code = "PATH";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PathError";
  }
}

function validate(input: unknown, what: string): string {
  if (typeof input !== "string") {
    throw new PathError(`Cannot use ${what}: current value is ${typeof input}, not a string`);
  }
  if (input === "") throw new PathError(`Cannot use ${what}: current value is empty`);
  const bad = FORBIDDEN.exec(input);
  if (bad) {
    const code = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
    const kind = code === "0000" ? "a NUL byte" : `the invisible or control character U+${code}`;
    throw new PathError(`Cannot use ${what}: it holds ${kind}`);
  }
  const bytes = new TextEncoder().encode(input).length;
  if (bytes > MAX_PATH_BYTES) {
    throw new PathError(
      `Cannot use ${what}: current length is ${bytes} bytes, over ${MAX_PATH_BYTES}`,
    );
  }
  return input.normalize("NFC");
}

function join(base: string, name: string): string {
  return base === "/" ? `/${name}` : `${base}/${name}`;
}

/**
 * The lexical parent folder of an absolute path.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { parent } from "./_paths.ts";
 * equal(parent("/ws/a/b.txt"), "/ws/a");
 * equal(parent("/a"), "/");
 * ```
 */
export function parent(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/**
 * True when `path` is `root` or below it (both canonical). `/ws-evil` is not inside `/ws`.
 *
 * @example Boundaries are segment-aware
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { isWithin } from "./_paths.ts";
 * ok(isWithin("/ws/a", "/ws"));
 * ok(!isWithin("/ws-evil/a", "/ws"));
 * ```
 */
export function isWithin(path: string, root: string): boolean {
  if (root === "/") return path.startsWith("/");
  return path === root || path.startsWith(root + "/");
}

/** One file-system question the walker asks; a driver answers it synchronously or not. */
type FsStep = { readonly op: "realPath" | "isSymlink" | "readLink"; readonly path: string };

/**
 * The canonicalisation walk, written once: it yields each file-system question and receives
 * the answer (or has the driver's error thrown into it), so {@link canonicalizePath} and
 * {@link canonicalizePathSync} apply exactly the same rules.
 */
function* walk(input: string, cwd: string): Generator<FsStep, string, string | boolean> {
  const path = validate(input, "path");
  const base0 = validate(cwd, "cwd");
  if (!path.startsWith("/") && !base0.startsWith("/")) {
    throw new PathError(`Cannot resolve path: cwd "${cwd}" is not absolute`);
  }
  const full = path.startsWith("/") ? path : `${base0}/${path}`;
  const queue = full.split("/").filter((s) => s !== "");
  let base = "/";
  const pending: string[] = [];
  let links = 0;
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (name === ".") continue;
    if (name === "..") {
      // `base` is already real, so its lexical parent is the kernel's `..`.
      if (pending.length > 0) pending.pop();
      else base = parent(base);
      continue;
    }
    if (pending.length > 0) {
      pending.push(name);
      continue;
    }
    const candidate = join(base, name);
    try {
      base = (yield { op: "realPath", path: candidate }) as string;
      continue;
    } catch (e) {
      if (e instanceof Deno.errors.FilesystemLoop) {
        throw new PathError(`Cannot resolve path ${input}: symlink loop at ${candidate}`, {
          cause: e,
        });
      }
      if (!(e instanceof Deno.errors.NotFound) && !(e instanceof Deno.errors.NotADirectory)) {
        throw new PathError(`Cannot resolve path ${input}: ${(e as Error).message}`, { cause: e });
      }
    }
    if ((yield { op: "isSymlink", path: candidate }) === true) {
      // A dangling symlink: writing through it would create its target, so follow it.
      if (++links > MAX_LINKS) {
        throw new PathError(`Cannot resolve path ${input}: symlink loop at ${candidate}`);
      }
      const link = (yield { op: "readLink", path: candidate }) as string;
      const target = validate(link, "symlink target");
      if (target.startsWith("/")) base = "/";
      queue.unshift(...target.split("/").filter((s) => s !== ""));
      continue;
    }
    pending.push(name);
  }
  const result = pending.reduce(join, base);
  return validate(result, "resolved path");
}

async function answer(step: FsStep): Promise<string | boolean> {
  if (step.op === "realPath") return await Deno.realPath(step.path);
  if (step.op === "readLink") return await Deno.readLink(step.path);
  return (await Deno.lstat(step.path).catch(() => undefined))?.isSymlink === true;
}

function answerSync(step: FsStep): string | boolean {
  if (step.op === "realPath") return Deno.realPathSync(step.path);
  if (step.op === "readLink") return Deno.readLinkSync(step.path);
  try {
    return Deno.lstatSync(step.path).isSymlink;
  } catch {
    return false;
  }
}

/**
 * Canonicalises `input` (relative to the absolute `cwd`): rejects control, bidi and
 * zero-width characters and over-long paths with `PathError`, NFC-normalises, resolves every
 * existing component's symlinks, and appends a not-yet-existing tail to its real ancestor.
 *
 * @example Dot segments and symlinks are resolved
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { canonicalizePath } from "./_paths.ts";
 * const dir = await Deno.realPath(await Deno.makeTempDir());
 * equal(await canonicalizePath("a/../b/new.txt", dir), `${dir}/b/new.txt`);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function canonicalizePath(input: string, cwd: string): Promise<string> {
  const steps = walk(input, cwd);
  let next = steps.next();
  while (!next.done) {
    let value: string | boolean;
    try {
      value = await answer(next.value);
    } catch (e) {
      next = steps.throw(e);
      continue;
    }
    next = steps.next(value);
  }
  return next.value;
}

/**
 * {@link canonicalizePath} with synchronous file-system calls: the same walk and the same
 * rules, for hot paths where an `await` per component costs more than the syscall.
 *
 * @example Same answer as the async form
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { canonicalizePath, canonicalizePathSync } from "./_paths.ts";
 * const dir = await Deno.realPath(await Deno.makeTempDir());
 * await Deno.symlink(`${dir}/real`, `${dir}/link`);
 * equal(canonicalizePathSync("link/x/../y", dir), await canonicalizePath("link/x/../y", dir));
 * equal(canonicalizePathSync("link/y", dir), `${dir}/real/y`);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function canonicalizePathSync(input: string, cwd: string): string {
  const steps = walk(input, cwd);
  let next = steps.next();
  while (!next.done) {
    let value: string | boolean;
    try {
      value = answerSync(next.value);
    } catch (e) {
      next = steps.throw(e);
      continue;
    }
    next = steps.next(value);
  }
  return next.value;
}
