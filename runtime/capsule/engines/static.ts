/**
 * The static engine: `[[context_file]]`, `[[skill]]` and `[[command]]` are plain files in the
 * capsule folder, read (confined to that folder, symlinks out refused) and offered to the agent
 * without booting any wasm. Context files join the system prompt and skills are listed there
 * (runtime/agent/capsule_context.ts); a skill's text is loaded by its tool (../skills.ts);
 * commands become slash commands (../commands.ts). A `[[command]]` without `prompt` or `path`
 * is a wasm command: the capsule's `on_hook` handles `command:<name>`.
 *
 * @module
 */
import { openConfined } from "../../security/workspace.ts";
import { CapsuleError } from "../errors.ts";
import type { LoadedCapsule } from "../loader.ts";

/** The largest static file read, in bytes. */
export const MAX_STATIC_FILE_BYTES = 1 << 20;

/** A context file to add to the agent's context. */
export interface ContextFile {
  readonly capsule: string;
  readonly name: string;
  readonly path: string;
  readonly content: string;
}
/** A skill: a named document the agent can load on demand. */
export interface Skill {
  readonly capsule: string;
  readonly name: string;
  readonly description: string;
  readonly content: string;
}
/**
 * A slash command: a prompt template (`kind: "prompt"`, from `prompt` or the file at `path`),
 * or handled by the capsule's wasm (`kind: "wasm"`, no prompt).
 */
export type CapsuleCommand =
  & { readonly capsule: string; readonly name: string; readonly description: string }
  & (
    | { readonly kind: "prompt"; readonly prompt: string }
    | { readonly kind: "wasm"; readonly prompt?: undefined }
  );
/** Everything a capsule offers statically. */
export interface StaticOffer {
  readonly contextFiles: readonly ContextFile[];
  readonly skills: readonly Skill[];
  readonly commands: readonly CapsuleCommand[];
}

/**
 * Reads `rel` inside the capsule folder: confined to it (symlinks out refused), a regular file of
 * at most {@link MAX_STATIC_FILE_BYTES}.
 *
 * @throws {CapsuleError} `NOT_FOUND` when it cannot be opened, `MANIFEST` when it is too big
 *
 * @example Read a file of a static capsule
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { loadCapsule } from "../loader.ts";
 * import { readStatic } from "./static.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/Capsule.toml`, '[package]\nname = "docs"\nversion = "1"\n');
 * await Deno.writeTextFile(`${dir}/a.md`, "A");
 * equal(await readStatic(await loadCapsule(dir, { requireHash: true }), "a.md"), "A");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readStatic(loaded: LoadedCapsule, rel: string): Promise<string> {
  const name = loaded.manifest.package.name;
  let file: Deno.FsFile;
  try {
    file = await openConfined(`${loaded.dir}/${rel}`, loaded.dir, { read: true });
  } catch (e) {
    throw new CapsuleError(
      "NOT_FOUND",
      `Cannot read ${rel} of capsule ${name}: ${(e as Error).message}`,
    );
  }
  using _ = file;
  const info = await file.stat();
  if (!info.isFile || info.size > MAX_STATIC_FILE_BYTES) {
    throw new CapsuleError(
      "MANIFEST",
      `Cannot read ${rel} of capsule ${name}: current size is ${info.size} bytes ` +
        `(a regular file of at most ${MAX_STATIC_FILE_BYTES} is required)`,
    );
  }
  const buf = new Uint8Array(info.size);
  let at = 0;
  while (at < buf.length) {
    const n = await file.read(buf.subarray(at));
    if (n === null) break;
    at += n;
  }
  return new TextDecoder().decode(buf.subarray(0, at));
}

/**
 * Reads a capsule's context files, skills and commands. No wasm is instantiated.
 *
 * @example A skill from a markdown file
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { loadCapsule } from "../loader.ts";
 * import { loadStatic } from "./static.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/Capsule.toml`,
 *   '[package]\nname = "docs"\nversion = "1"\n[[skill]]\nname = "style"\npath = "style.md"\n');
 * await Deno.writeTextFile(`${dir}/style.md`, "Write short sentences.");
 * const offer = await loadStatic(await loadCapsule(dir, { requireHash: true }));
 * equal(offer.skills[0]?.content, "Write short sentences.");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadStatic(loaded: LoadedCapsule): Promise<StaticOffer> {
  const m = loaded.manifest;
  const capsule = m.package.name;
  const contextFiles: ContextFile[] = [];
  for (const c of m.context_file) {
    contextFiles.push({
      capsule,
      name: c.name ?? c.path,
      path: c.path,
      content: await readStatic(loaded, c.path),
    });
  }
  const skills: Skill[] = [];
  for (const s of m.skill) {
    skills.push({
      capsule,
      name: s.name,
      description: s.description,
      content: await readStatic(loaded, s.path),
    });
  }
  const commands: CapsuleCommand[] = [];
  for (const c of m.command) {
    const base = { capsule, name: c.name, description: c.description };
    if (c.prompt !== undefined || c.path !== undefined) {
      const prompt = c.prompt ?? await readStatic(loaded, c.path!);
      commands.push({ ...base, kind: "prompt", prompt });
    } else if (loaded.wasm) {
      commands.push({ ...base, kind: "wasm" });
    } else {
      throw new CapsuleError(
        "MANIFEST",
        `Cannot offer command ${c.name} of capsule ${capsule}: it has neither prompt nor path, ` +
          "and no [component] wasm to handle it",
        { key: "command" },
      );
    }
  }
  return { contextFiles, skills, commands };
}
