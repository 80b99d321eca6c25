/**
 * The configuration walls: what no agent-side action may touch, wherever it comes from (a file
 * tool, bash, a capsule host call, an MCP tool naming a path).
 *
 * - `hidden`: the runtime's own state (`$ASTRID_HOME`: keys, the KV store, capsule secrets,
 *   install records; the audit witness; a local state store kept elsewhere). Never read or
 *   written by the agent; the sandbox hides it.
 * - Configuration folders: any `.astrid` folder (the workspace's `.astrid/` above all). Read,
 *   never written; the sandbox binds the workspace's `.astrid/` read-only.
 *
 * Only the human's own CLI commands (`init`, `capsule install`, `config`, `keys`) write there.
 *
 * @module
 */

/** The walls of one runtime. Paths are absolute and canonical where they exist. */
export interface Walls {
  /** Never read or written by the agent. */
  readonly hidden: readonly string[];
  /** The user's home, whose credential folders the sandbox hides (null: none known). */
  readonly userHome: string | null;
  /** Extra paths the sandbox hides (`[sandbox] hide`, expanded). */
  readonly sandboxHide: readonly string[];
}

/**
 * No walls beyond the built-in `.astrid` rule (tests and embedders without a home).
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { NO_WALLS } from "./walls.ts";
 * deepEqual(NO_WALLS.hidden, []);
 * ```
 */
export const NO_WALLS: Walls = Object.freeze({
  hidden: Object.freeze([]) as readonly string[],
  userHome: null,
  sandboxHide: Object.freeze([]) as readonly string[],
});

/** The name of a configuration folder. */
export const CONFIG_DIR_NAME = ".astrid";

/**
 * True when `path` (absolute, canonical) is `root` or lies below it.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { within } from "./walls.ts";
 * ok(within("/h/.astrid/keys", "/h/.astrid"));
 * ok(!within("/h/.astrid-x", "/h/.astrid"));
 * ```
 */
export function within(path: string, root: string): boolean {
  if (root === "/") return path.startsWith("/");
  return path === root || path.startsWith(`${root}/`);
}

/**
 * The hidden root that `path` lies in, if any.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { hiddenRoot } from "./walls.ts";
 * const walls = { hidden: ["/h/.astrid"], userHome: null, sandboxHide: [] };
 * equal(hiddenRoot(walls, "/h/.astrid/keys/runtime.key"), "/h/.astrid");
 * equal(hiddenRoot(walls, "/ws/a"), undefined);
 * ```
 */
export function hiddenRoot(walls: Walls, path: string): string | undefined {
  return walls.hidden.find((root) => within(path, root));
}

/**
 * True when a path names a configuration folder or something in it: a `.astrid` segment.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { inConfigDir } from "./walls.ts";
 * ok(inConfigDir("/ws/.astrid/capsules/evil/Capsule.toml"));
 * ok(inConfigDir(".astrid"));
 * ok(!inConfigDir("/ws/.astrid-notes/a"));
 * ```
 */
export function inConfigDir(path: string): boolean {
  return path.split("/").includes(CONFIG_DIR_NAME);
}

/**
 * Creates new files and folders so that nothing can appear outside the workspace, whatever a
 * path resolves to at that moment (runtime/sandbox `WalledCreator`: a shell inside the wall,
 * where only the workspace is writable). Callers then open the existing file and verify it.
 *
 * @example Any object with the two methods will do (tests)
 * ```ts
 * import type { FileCreator } from "./walls.ts";
 * const creator: FileCreator = {
 *   createFile: (p) => Deno.writeTextFile(p, "", { createNew: true }),
 *   mkdir: (p) => Deno.mkdir(p, { recursive: true }),
 * };
 * void creator;
 * ```
 */
export interface FileCreator {
  /** Creates an empty file unless a regular file already exists there. */
  createFile(path: string): Promise<void>;
  /** Creates a folder and its missing parents. */
  mkdir(path: string): Promise<void>;
}
