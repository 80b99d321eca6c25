/**
 * The publisher key: the Ed25519 key that signs published capsules, separate from the runtime
 * key (which signs tokens, records and checkpoints on this machine only). It is stored like the
 * runtime key: `$ASTRID_HOME/keys/publisher.key`, the hex seed, mode 0600, created without ever
 * replacing an existing key unless forced.
 *
 * @module
 */
import { join } from "node:path";
import {
  fingerprint,
  fromHex,
  generateSeed,
  KeyError,
  type Signer,
  signerFromSeed,
  toHex,
} from "../crypto/mod.ts";

/** The publisher key file name inside `$ASTRID_HOME/keys/`. */
export const PUBLISHER_KEY_FILE = "publisher.key";

/** A loaded publisher key. */
export interface PublisherKey extends Signer {
  readonly publicKeyHex: string;
  /** `b3:` and base64url of the first 16 bytes of BLAKE3(public key). */
  readonly fingerprint: string;
  readonly path: string;
}

function toKey(seed: Uint8Array, path: string): PublisherKey {
  const signer = signerFromSeed(seed);
  seed.fill(0);
  return {
    ...signer,
    publicKeyHex: toHex(signer.publicKey),
    fingerprint: fingerprint(signer.publicKey),
    path,
  };
}

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
export async function generatePublisherKey(keysDir: string, force = false): Promise<PublisherKey> {
  await Deno.mkdir(keysDir, { recursive: true, mode: 0o700 });
  const path = join(keysDir, PUBLISHER_KEY_FILE);
  const seed = generateSeed();
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, toHex(seed) + "\n", { mode: 0o600, createNew: true });
  await Deno.chmod(tmp, 0o600);
  try {
    if (force) await Deno.rename(tmp, path);
    else {
      await Deno.link(tmp, path); // fails when the key exists: never replaced by accident
      await Deno.remove(tmp);
    }
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    if (err instanceof Deno.errors.AlreadyExists) {
      throw new KeyError(
        `Cannot generate a publisher key: ${path} already exists (use --force to replace)`,
      );
    }
    throw err;
  }
  return toKey(seed, path);
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
export async function loadPublisherKey(keysDir: string): Promise<PublisherKey | null> {
  const path = join(keysDir, PUBLISHER_KEY_FILE);
  let text: string;
  try {
    const info = await Deno.lstat(path);
    if (!info.isFile) throw new KeyError(`Cannot use ${path}: it is not a regular file`);
    if (info.mode !== null && (info.mode & 0o077) !== 0) {
      throw new KeyError(
        `Cannot use ${path}: its mode is ${(info.mode & 0o777).toString(8)}, expected 600`,
      );
    }
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  let seed: Uint8Array;
  try {
    seed = fromHex(text.trim());
  } catch {
    throw new KeyError(`Cannot use ${path}: it does not hold a hex Ed25519 seed`);
  }
  if (seed.length !== 32) {
    throw new KeyError(`Cannot use ${path}: seed has ${seed.length} bytes, expected 32`);
  }
  return toKey(seed, path);
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
  try {
    return { key: await generatePublisherKey(keysDir), created: true };
  } catch (err) {
    if (err instanceof KeyError) {
      const key = await loadPublisherKey(keysDir);
      if (key) return { key, created: false };
    }
    throw err;
  }
}
