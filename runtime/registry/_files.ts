/**
 * The files of a capsule folder that travel in an artifact (private): those its manifest names,
 * each a regular file reached without a symlink.
 *
 * @module
 */
import { type CapsuleManifest, readManifest } from "../capsule/mod.ts";
import { FILE_LAYER_TYPE, MANIFEST_LAYER_TYPE, WASM_LAYER_TYPE } from "./artifact.ts";
import { RegistryError } from "./errors.ts";

/** A file to publish: its path relative to the capsule folder and its media type. */
export interface CapsuleFile {
  readonly path: string;
  readonly mediaType: string;
}

/** The files `manifest` names, `Capsule.toml` first, with their layer media types. */
export function capsuleFiles(manifest: CapsuleManifest): CapsuleFile[] {
  const out = new Map<string, string>([["Capsule.toml", MANIFEST_LAYER_TYPE]]);
  if (manifest.component) out.set(manifest.component.entrypoint, WASM_LAYER_TYPE);
  const rest = [
    ...manifest.context_file.map((c) => c.path),
    ...manifest.skill.map((s) => s.path),
    ...manifest.command.flatMap((c) => (c.path ? [c.path] : [])),
  ];
  for (const p of rest) if (!out.has(p)) out.set(p, FILE_LAYER_TYPE);
  return [...out].map(([path, mediaType]) => ({ path: path.replace(/^\.\//, ""), mediaType }));
}

/** Reads the manifest of `dir` and the bytes of every file it names (symlinks refused). */
export async function readCapsuleFiles(
  dir: string,
): Promise<{ manifest: CapsuleManifest; files: (CapsuleFile & { bytes: Uint8Array })[] }> {
  const { manifest } = await readManifest(dir);
  const files = [];
  for (const f of capsuleFiles(manifest)) {
    let at = dir;
    for (const part of f.path.split("/")) {
      at = `${at}/${part}`;
      const info = await Deno.lstat(at).catch(() => null);
      if (!info) throw new RegistryError("NOT_FOUND", `Cannot publish: ${at} is missing`);
      if (info.isSymlink) {
        throw new RegistryError("INTEGRITY", `Cannot publish: ${at} is a symlink (refused)`);
      }
    }
    files.push({ ...f, bytes: await Deno.readFile(at) });
  }
  return { manifest, files };
}
