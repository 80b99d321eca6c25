/**
 * The files an install copies (private): only those the manifest names, each a regular file
 * reached without a symlink.
 *
 * @module
 */
import { CapsuleError } from "./errors.ts";
import { readManifest } from "./manifest.ts";

/**
 * The folder's files a manifest names, relative to the capsule folder, plus the wasm's source
 * map when it is a plain file beside it (`<entrypoint>.map`: debug information for stack traces,
 * not pinned and never trusted; runtime/capsule/_stack_map.ts reads it defensively).
 */
export async function manifestFiles(dir: string): Promise<string[]> {
  const { manifest } = await readManifest(dir);
  const files = new Set(["Capsule.toml"]);
  if (manifest.component) {
    files.add(manifest.component.entrypoint);
    const map = `${manifest.component.entrypoint}.map`;
    const info = await Deno.lstat(`${dir}/${map}`).catch(() => null);
    if (info?.isFile) files.add(map);
  }
  for (const c of manifest.context_file) files.add(c.path);
  for (const s of manifest.skill) files.add(s.path);
  for (const c of manifest.command) if (c.path) files.add(c.path);
  return [...files];
}

/** Refuses `rel` when it or any folder on its way inside `dir` is a symlink or not a file. */
export async function assertPlainFile(dir: string, rel: string): Promise<void> {
  const parts = rel.split("/").filter((p) => p !== "" && p !== ".");
  let at = dir;
  for (const [i, part] of parts.entries()) {
    at = `${at}/${part}`;
    const info = await Deno.lstat(at).catch(() => null);
    if (!info) throw new CapsuleError("NOT_FOUND", `Cannot install: ${at} is missing`);
    if (info.isSymlink) {
      throw new CapsuleError(
        "INSTALL",
        `Cannot install: ${at} is a symlink (symlinks are refused)`,
      );
    }
    if (i === parts.length - 1 ? !info.isFile : !info.isDirectory) {
      throw new CapsuleError("INSTALL", `Cannot install: ${at} is not a regular file or folder`);
    }
  }
}
