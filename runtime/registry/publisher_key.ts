/**
 * The publisher key: the Ed25519 key that signs published capsules, separate from the runtime
 * key (which signs tokens, records and checkpoints on this machine only). It is stored like the
 * runtime key: `$ASTRID_HOME/keys/publisher.key`, the hex seed, mode 0600, created without ever
 * replacing an existing key unless forced.
 *
 * @module
 */
import {
  ensureRuntimeKey,
  generateRuntimeKey,
  loadRuntimeKey,
  type RuntimeKey,
} from "../crypto/mod.ts";

/** The publisher key file name inside `$ASTRID_HOME/keys/`. */
export const PUBLISHER_KEY_FILE = "publisher.key";

/** A loaded publisher key (kept exactly like the runtime key, in its own file). */
export type PublisherKey = RuntimeKey;

/**
 * Creates the publisher key in `keysDir` (refused when one exists, unless `force`).
 *
 * @throws {KeyError} when the key exists and `force` is not set
 *
 * @example
 * ```ts
 * import { equal, match } from "node:assert/strict";
 * import { generatePublisherKey } from "./publisher_key.ts";
 * const dir = await Deno.makeTempDir();
 * const key = await generatePublisherKey(dir);
 * match(key.fingerprint, /^b3:/);
 * equal((await Deno.stat(key.path)).mode! & 0o777, 0o600);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function generatePublisherKey(keysDir: string, force = false): Promise<PublisherKey> {
  return generateRuntimeKey(keysDir, force, PUBLISHER_KEY_FILE);
}

/**
 * Loads the publisher key, or null when there is none.
 *
 * @throws {KeyError} when the file is readable by others or does not hold a 32-byte hex seed
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { loadPublisherKey } from "./publisher_key.ts";
 * equal(await loadPublisherKey(await Deno.makeTempDir()), null);
 * ```
 */
export function loadPublisherKey(keysDir: string): Promise<PublisherKey | null> {
  return loadRuntimeKey(keysDir, PUBLISHER_KEY_FILE);
}

/**
 * Loads the publisher key, creating it when there is none; `created` says which.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { ensurePublisherKey } from "./publisher_key.ts";
 * const dir = await Deno.makeTempDir();
 * const first = await ensurePublisherKey(dir);
 * const again = await ensurePublisherKey(dir);
 * equal(first.created && !again.created, true);
 * equal(first.key.fingerprint, again.key.fingerprint);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function ensurePublisherKey(
  keysDir: string,
): Promise<{ key: PublisherKey; created: boolean }> {
  const existing = await loadPublisherKey(keysDir);
  if (existing) return { key: existing, created: false };
  return { key: await ensureRuntimeKey(keysDir, PUBLISHER_KEY_FILE), created: true };
}
