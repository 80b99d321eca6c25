/**
 * Opening a file confined to a root, race-checked (re-exported by workspace.ts as
 * `openConfined`). Private.
 *
 * @module
 */
import type { FileCreator } from "./walls.ts";
import { canonicalizePath, isWithin, parent, PathError } from "./_paths.ts";

/**
 * Test seams for openConfined's race checks (private).
 *
 * @example
 * ```ts
 * import type { OpenHooks } from "./_open_confined.ts";
 * const hooks: OpenHooks = { beforeOpen: () => Promise.resolve() };
 * void hooks;
 * ```
 */
export interface OpenHooks {
  beforeCreate?: () => Promise<void>;
  beforeOpen?: () => Promise<void>;
  afterOpen?: () => Promise<void>;
}

/**
 * Opens `path` only if it is inside `root`, re-canonicalising right before opening and
 * verifying after opening (realpath inside root, and the opened file's inode is the one the
 * path names now) so a symlink swapped in after the check is refused. `truncate` is applied
 * only after verification.
 *
 * A missing file is created (`create`) before it is opened, never by the open itself: through
 * `creator` when given (runtime/sandbox `WalledCreator`: nothing can be created outside the
 * workspace, whatever the path resolves to), else in-process under a parent verified before and
 * after, and removed again by inode if the parent was swapped in between.
 *
 * @example Escapes are refused
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { openConfined } from "./_open_confined.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${root}/a.txt`, "hi");
 * (await openConfined("a.txt", root, { read: true })).close();
 * await rejects(openConfined("../../../../etc/passwd", root, { read: true }), /outside/);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export function openConfined(
  path: string,
  root: string,
  options: Deno.OpenOptions,
  creator?: FileCreator,
): Promise<Deno.FsFile> {
  return openConfinedWith(path, root, options, creator ? { creator } : {});
}

/**
 * openConfined with test seams (private).
 *
 * @example The hook runs between the check and the open
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openConfinedWith } from "./_open_confined.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${root}/a`, "x");
 * let ran = false;
 * (await openConfinedWith("a", root, { read: true }, { beforeOpen: async () => { ran = true; } })).close();
 * equal(ran, true);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function openConfinedWith(
  path: string,
  root: string,
  options: Deno.OpenOptions,
  hooks: OpenHooks & { creator?: FileCreator },
): Promise<Deno.FsFile> {
  const realRoot = await canonicalizePath(root, "/");
  const target = await canonicalizePath(path, realRoot);
  if (!isWithin(target, realRoot)) {
    throw new PathError(`Cannot open ${path}: it resolves to ${target}, outside ${realRoot}`);
  }
  if ((options.create || options.createNew) && !(await Deno.lstat(target).catch(() => null))) {
    if (hooks.creator) await hooks.creator.createFile(target);
    else await createInside(target, realRoot, hooks);
  }
  await hooks.beforeOpen?.();
  const file = await Deno.open(target, {
    ...options,
    create: false,
    createNew: false,
    truncate: false,
  });
  try {
    await hooks.afterOpen?.();
    const opened = await file.stat();
    const real = await Deno.realPath(target);
    if (!isWithin(real, realRoot)) {
      throw new PathError(`Cannot open ${path}: it was swapped to ${real}, outside ${realRoot}`);
    }
    const named = await Deno.stat(real);
    if (opened.ino === null || opened.ino !== named.ino || opened.dev !== named.dev) {
      throw new PathError(`Cannot open ${path}: the file changed while it was being opened`);
    }
    if (options.truncate) await file.truncate(0);
    return file;
  } catch (e) {
    file.close();
    throw e;
  }
}

/**
 * Creates `target` (whose parent must exist) without a sandbox: the parent's real path and
 * inode are checked before and after an O_EXCL create, and the new file must be the one the
 * path names. If the parent was swapped meanwhile, the new file is removed again by its inode
 * where it can be found (the path, or where a symlink in the parent's place leads), and the call
 * fails. This narrows the race but cannot close it (a swap undone before the check hides where
 * the file went): the walled creator closes it, and is used wherever bubblewrap runs.
 *
 * @example Create a file in a folder of the root
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { createInside } from "./_open_confined.ts";
 * const root = await Deno.realPath(await Deno.makeTempDir());
 * await createInside(`${root}/new.txt`, root);
 * ok((await Deno.lstat(`${root}/new.txt`)).isFile);
 * ```
 */
export async function createInside(
  target: string,
  realRoot: string,
  hooks: OpenHooks = {},
): Promise<void> {
  const parentPath = parent(target);
  const name = target.slice(parentPath.length + 1);
  const before = await Deno.stat(parentPath);
  if (!isWithin(await Deno.realPath(parentPath), realRoot)) {
    throw new PathError(`Cannot create ${target}: its folder leads outside ${realRoot}`);
  }
  await hooks.beforeCreate?.();
  const file = await Deno.open(target, { write: true, createNew: true });
  try {
    const created = await file.stat();
    const realParent = await Deno.realPath(parentPath).catch(() => "");
    const after = await Deno.stat(parentPath).catch(() => null);
    const there = await Deno.lstat(target).catch(() => null);
    if (
      isWithin(realParent, realRoot) && after?.ino === before.ino && after.dev === before.dev &&
      there?.ino === created.ino && there.dev === created.dev
    ) {
      return;
    }
    // Swapped: find the file we made by its inode, where the path points now or where a
    // symlink in its place leads, and remove it.
    const places = [target];
    const link = await Deno.readLink(parentPath).catch(() => null);
    if (link !== null) {
      places.push(`${link.startsWith("/") ? link : `${parentPath}/../${link}`}/${name}`);
    }
    for (const place of places) {
      const info = await Deno.lstat(place).catch(() => null);
      if (info?.ino === created.ino && info.dev === created.dev) {
        await Deno.remove(place).catch(() => {});
      }
    }
    throw new PathError(`Cannot create ${target}: its folder was swapped while it was created`);
  } finally {
    file.close();
  }
}
