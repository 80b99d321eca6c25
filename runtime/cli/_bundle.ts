/**
 * The CLI bundle (issue 15): the CLI's modules built into a few dozen chunks by
 * scripts/build_cli.ts, because Deno loads one large module much faster than the hundred small
 * ones a command needs (`tools call read_file` loads about 120: 12–15 ms of its start-up).
 *
 * Layout, under the checkout's `.build/cli/`:
 * - `current`: the id of the build to run (written last, atomically);
 * - `ID/entry.js`: the entry (starts the launcher or, narrowed, the CLI in place);
 * - `ID/manifest.json`: each source module the build holds, with its size, mtime, ctime, inode;
 * - `ID/*.js`: the chunks.
 *
 * Who runs it:
 * - the launcher (launch.ts) starts its child on the current build when {@link freshBuild} says
 *   it was built from the sources as they are (every listed file's size, mtime, ctime and inode
 *   unchanged), else on the sources;
 * - the installed `astrid` (scripts/install.ts) runs the current build without that check (it
 *   costs 2–3 ms, as much as a fifth of what the bundle saves): what `deno task install`,
 *   `deno task setup` or `deno task test` last built. `ASTRID_PROFILE=1` and `astrid doctor` say
 *   when the sources have changed since.
 *
 * A build is used only from a folder and a `current` file that are not symlinks and that no
 * group or other user can write. It imports nothing, and captures the `Deno` functions it uses
 * when it loads (before the launcher's recorder wraps them: _launch_record.ts).
 *
 * @module
 */

const lstat = Deno.lstatSync;
const readText = Deno.readTextFileSync;

/** The folder of the builds (`.build/cli/` of this checkout). */
export const BUNDLE_ROOT: string = decodeURIComponent(
  new URL("../../.build/cli/", import.meta.url).pathname,
);
/** The manifest's format: a build of another is not used. */
export const MANIFEST_FORMAT = 1;
/** A build id: the first 16 hex digits of the SHA-256 of its files. */
const ID = /^[0-9a-f]{16}$/;

/**
 * One source module of a build: its path under the checkout and what `lstat` said of it (Deno
 * gives mtime in milliseconds and ctime in seconds: a file replaced by a rename shows by its
 * inode, one copied with its old mtime by its ctime).
 */
export type SourceStamp = readonly [
  path: string,
  size: number,
  mtimeMs: number,
  ctimeMs: number,
  ino: number,
];

/** What `ID/manifest.json` holds. */
export interface BundleManifest {
  readonly format: number;
  /** The build's id (its folder's name). */
  readonly id: string;
  /** The Deno that built it (`Deno.version.deno`). */
  readonly deno: string;
  /** The entry's file name in the build's folder. */
  readonly entry: string;
  /** Every source module in the build, and deno.json and deno.lock. */
  readonly sources: readonly SourceStamp[];
}

/** What this process runs: the build `id` in `dir`, or the sources (null). */
let running: { readonly id: string; readonly dir: string } | null = null;

/** Called by a build's entry: this process runs that build. */
export function runningBuild(id: string, dir: string): void {
  running = { id, dir };
}

/** The build this process runs, or null when it runs the sources. */
export function runningFrom(): { readonly id: string; readonly dir: string } | null {
  return running;
}

/** True when `path` is a real (not symlinked) file or folder no group or other user can write. */
function closed(path: string, kind: "file" | "dir"): boolean {
  try {
    const info = lstat(path);
    if (kind === "file" ? !info.isFile : !info.isDirectory) return false;
    return info.mode === null || (info.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** The `lstat` stamp of `path` under `repo`, or null when it cannot be read. */
export function stampOf(repo: string, path: string): SourceStamp | null {
  try {
    const info = lstat(`${repo}/${path}`);
    if (!info.isFile) return null;
    return [
      path,
      info.size,
      info.mtime?.getTime() ?? -1,
      info.ctime?.getTime() ?? -1,
      info.ino ?? -1,
    ];
  } catch {
    return null;
  }
}

/**
 * The current build's folder and manifest under `root` (default {@link BUNDLE_ROOT}), or null
 * when there is none usable (missing, a symlink, writable by others, another format).
 *
 * @example No build in an empty folder
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { currentBuild } from "./_bundle.ts";
 * const root = await Deno.makeTempDir();
 * equal(currentBuild(`${root}/`), null);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export function currentBuild(
  root: string = BUNDLE_ROOT,
): { readonly dir: string; readonly manifest: BundleManifest } | null {
  try {
    if (!closed(root, "dir") || !closed(`${root}current`, "file")) return null;
    const id = readText(`${root}current`).trim();
    const dir = `${root}${id}/`;
    const manifest = ID.test(id) ? readManifest(dir, id) : null;
    return manifest === null ? null : { dir, manifest };
  } catch {
    return null;
  }
}

/** The manifest of the build `id` in `dir`, or null when the build is not usable. */
function readManifest(dir: string, id: string): BundleManifest | null {
  try {
    if (!closed(dir, "dir") || !closed(`${dir}manifest.json`, "file")) return null;
    const manifest = JSON.parse(readText(`${dir}manifest.json`)) as BundleManifest;
    const usable = manifest?.format === MANIFEST_FORMAT && manifest.id === id &&
      typeof manifest.entry === "string" && /^[\w.-]+\.js$/.test(manifest.entry) &&
      Array.isArray(manifest.sources) && closed(`${dir}${manifest.entry}`, "file");
    return usable ? manifest : null;
  } catch {
    return null;
  }
}

/**
 * True when every source `manifest` lists is as it was when the build was made (same size,
 * mtime, ctime and inode), under the checkout at `repo`.
 */
export function sourcesUnchanged(manifest: BundleManifest, repo: string): boolean {
  if (manifest.deno !== Deno.version.deno) return false;
  for (const stamp of manifest.sources) {
    if (!Array.isArray(stamp) || typeof stamp[0] !== "string") return false;
    const now = stampOf(repo, stamp[0]);
    if (now === null || now.some((v, i) => v !== stamp[i])) return false;
  }
  return true;
}

/** The checkout of the builds under `root` (two folders up from `.build/cli/`). */
function repoOf(root: string): string {
  return root.replace(/\/+$/, "").split("/").slice(0, -2).join("/");
}

/**
 * The entry of the current build when it was built from the sources as they are, else null
 * (then the sources run). `root` defaults to {@link BUNDLE_ROOT}.
 */
export function freshBuild(root: string = BUNDLE_ROOT): string | null {
  const build = currentBuild(root);
  if (build === null || !sourcesUnchanged(build.manifest, repoOf(root))) return null;
  return `${build.dir}${build.manifest.entry}`;
}

/**
 * One line for `ASTRID_PROFILE=1` and `astrid doctor`: what this process runs (a build, or the
 * sources), and whether that build (or the current one under `root`) matches the sources.
 */
export function describeCode(root: string = BUNDLE_ROOT): string {
  const me = runningFrom();
  if (me !== null) {
    const buildRoot = me.dir.replace(/[^/]+\/$/, "");
    const manifest = readManifest(me.dir, me.id);
    const fresh = manifest !== null && sourcesUnchanged(manifest, repoOf(buildRoot));
    return `the CLI bundle ${me.dir}` +
      (fresh
        ? " (built from the sources as they are)"
        : " (the sources changed since it was built: `deno task setup` rebuilds it)");
  }
  if (currentBuild(root) === null) {
    return "the sources (no CLI bundle: `deno task setup` builds it)";
  }
  return freshBuild(root) === null
    ? "the sources (the CLI bundle is older than them: `deno task setup` rebuilds it)"
    : "the sources (a CLI bundle built from them is there too)";
}
