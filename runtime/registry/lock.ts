/**
 * `astrid.lock`: at the workspace root, the capsules installed from a registry into or for that
 * workspace. JSON (sorted by name, two-space indent, trailing newline), written only by the
 * human's `astrid capsule install oci://…`:
 *
 * ```json
 * {
 *   "version": 1,
 *   "capsules": {
 *     "hello": {
 *       "ref": "oci://127.0.0.1:5000/astrid/hello:0.1.0",
 *       "digest": "sha256:…",
 *       "publisher": "b3:…",
 *       "scope": "workspace"
 *     }
 *   }
 * }
 * ```
 *
 * The lock only pins, it never grants: `install --locked` still verifies the signature, the
 * publisher pinned in user state and the hashes, and shows the capabilities. An edited lock can
 * make `--locked` fail or select another artifact signed by a publisher already trusted for that
 * capsule; it cannot install anything the human would not be shown.
 *
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import { RegistryError } from "./errors.ts";

/** The lock file's name at the workspace root. */
export const LOCK_FILE = "astrid.lock";

const ENTRY = z.strictObject({
  ref: z.string().startsWith("oci://"),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  publisher: z.string().min(1),
  scope: z.enum(["user", "workspace"]),
});

const LOCK = z.strictObject({
  version: z.literal(1),
  capsules: z.record(z.string(), ENTRY),
});

/** One locked capsule. */
export type LockEntry = z.output<typeof ENTRY>;

/** The whole lock. */
export type Lockfile = z.output<typeof LOCK>;

/**
 * Reads `<root>/astrid.lock` (an empty lock when there is none).
 *
 * @throws {RegistryError} `INTEGRITY` when it exists but does not parse or validate
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { readLock } from "./lock.ts";
 * deepEqual(await readLock(await Deno.makeTempDir()), { version: 1, capsules: {} });
 * ```
 */
export async function readLock(root: string): Promise<Lockfile> {
  const path = join(root, LOCK_FILE);
  const info = await Deno.lstat(path).catch(() => null);
  if (!info) return { version: 1, capsules: {} };
  if (!info.isFile || info.size > 1 << 20) {
    throw new RegistryError("INTEGRITY", `Cannot read ${path}: not a regular file under 1 MiB`);
  }
  try {
    return LOCK.parse(JSON.parse(await Deno.readTextFile(path)));
  } catch {
    throw new RegistryError("INTEGRITY", `Cannot read ${path}: it does not validate`);
  }
}

/**
 * Records `entry` for capsule `name` in `<root>/astrid.lock` (written atomically: a temporary
 * file renamed over it).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { readLock, writeLockEntry } from "./lock.ts";
 * const root = await Deno.makeTempDir();
 * await writeLockEntry(root, "hello", {
 *   ref: "oci://localhost/hello:1", digest: `sha256:${"0".repeat(64)}`, publisher: "b3:k",
 *   scope: "user",
 * });
 * equal((await readLock(root)).capsules.hello?.publisher, "b3:k");
 * ```
 */
export async function writeLockEntry(root: string, name: string, entry: LockEntry): Promise<void> {
  const lock = await readLock(root);
  const capsules = { ...lock.capsules, [name]: ENTRY.parse(entry) };
  const sorted = Object.fromEntries(Object.entries(capsules).sort(([a], [b]) => a < b ? -1 : 1));
  const path = join(root, LOCK_FILE);
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify({ version: 1, capsules: sorted }, null, 2) + "\n", {
    createNew: true,
  });
  await Deno.rename(tmp, path);
}

/**
 * The locked entry whose `ref` is `ref` (as canonical text), with its capsule name.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { findLocked } from "./lock.ts";
 * const lock = { version: 1 as const, capsules: {} };
 * equal(findLocked(lock, "oci://localhost/x:1"), null);
 * ```
 */
export function findLocked(
  lock: Lockfile,
  ref: string,
): { name: string; entry: LockEntry } | null {
  for (const [name, entry] of Object.entries(lock.capsules)) {
    if (entry.ref === ref) return { name, entry };
  }
  return null;
}
