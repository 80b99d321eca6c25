/**
 * The runtime's own Ed25519 key, stored as `$ASTRID_HOME/keys/runtime.key` (hex seed, mode 0600).
 *
 * @module
 */
import { blake3 } from "./blake3.ts";
import { fromHex, toBase64Url, toHex } from "./encoding.ts";
import { generateSeed, loadSigner, type Signer } from "./ed25519.ts";

/** The runtime key file name inside `$ASTRID_HOME/keys/`. */
export const RUNTIME_KEY_FILE = "runtime.key";

/** A loaded runtime key: the signer plus its printable identity. */
export interface RuntimeKey extends Signer {
  /** Hex of the public key. */
  readonly publicKeyHex: string;
  /** `b3:` followed by base64url of the first 16 bytes of BLAKE3(public key). */
  readonly fingerprint: string;
  /** Where the key lives on disk. */
  readonly path: string;
}

/** Raised when a key file exists but cannot be used. */
export class KeyError extends Error {
  /** Always `"KEY"`. */
  readonly code = "KEY";
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "KeyError";
  }
}

/**
 * Returns the fingerprint of a public key.
 *
 * @example Fingerprint
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { fingerprint } from "./keys.ts";
 * ok(fingerprint(new Uint8Array(32)).startsWith("b3:"));
 * ```
 */
export function fingerprint(publicKey: Uint8Array): string {
  return `b3:${toBase64Url(blake3(publicKey).subarray(0, 16))}`;
}

/** `dir/file` (without `node:path`, whose load costs a few ms at start-up). */
function joinPath(dir: string, file: string): string {
  return dir.endsWith("/") ? dir + file : `${dir}/${file}`;
}

async function toRuntimeKey(seed: Uint8Array, path: string): Promise<RuntimeKey> {
  // WebCrypto derives the public key; node:crypto loads at the first signature (ed25519.ts).
  const signer = await loadSigner(seed);
  seed.fill(0);
  return {
    ...signer,
    publicKeyHex: toHex(signer.publicKey),
    fingerprint: fingerprint(signer.publicKey),
    path,
  };
}

/**
 * Generates a new runtime key in `keysDir` (or another key kept the same way, in `file`: the
 * publisher key). Refuses to replace an existing key unless `force`.
 *
 * @example Generate into a temporary folder
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { generateRuntimeKey } from "./keys.ts";
 * const dir = await Deno.makeTempDir();
 * const key = await generateRuntimeKey(dir);
 * deepEqual((await Deno.stat(key.path)).mode! & 0o777, 0o600);
 * ```
 */
export async function generateRuntimeKey(
  keysDir: string,
  force = false,
  file = RUNTIME_KEY_FILE,
): Promise<RuntimeKey> {
  await Deno.mkdir(keysDir, { recursive: true, mode: 0o700 });
  const path = joinPath(keysDir, file);
  const seed = generateSeed();
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, toHex(seed) + "\n", { mode: 0o600, createNew: true });
  await Deno.chmod(tmp, 0o600);
  try {
    if (!force) {
      // link() fails if the target exists: no window in which an existing key is replaced.
      await Deno.link(tmp, path);
      await Deno.remove(tmp);
    } else {
      await Deno.rename(tmp, path);
    }
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    if (err instanceof Deno.errors.AlreadyExists) {
      throw new KeyError(`Cannot generate a key: ${path} already exists (use --force to replace)`);
    }
    throw err;
  }
  return await toRuntimeKey(seed, path);
}

/**
 * Loads the runtime key (or the key in `file`) from `keysDir`, or returns `null` when there is
 * none. Refuses a symlink or anything but a regular file.
 * Refuses a key file readable by group or others.
 *
 * @example Load what was generated
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { generateRuntimeKey, loadRuntimeKey } from "./keys.ts";
 * const dir = await Deno.makeTempDir();
 * const made = await generateRuntimeKey(dir);
 * deepEqual((await loadRuntimeKey(dir))?.publicKeyHex, made.publicKeyHex);
 * ```
 */
export async function loadRuntimeKey(
  keysDir: string,
  file = RUNTIME_KEY_FILE,
): Promise<RuntimeKey | null> {
  const path = joinPath(keysDir, file);
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
  return await toRuntimeKey(seed, path);
}

/**
 * Loads the runtime key, generating one on first use.
 *
 * @example First use creates the key
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { ensureRuntimeKey } from "./keys.ts";
 * const key = await ensureRuntimeKey(await Deno.makeTempDir());
 * ok(key.fingerprint.startsWith("b3:"));
 * ```
 */
export async function ensureRuntimeKey(
  keysDir: string,
  file = RUNTIME_KEY_FILE,
): Promise<RuntimeKey> {
  const existing = await loadRuntimeKey(keysDir, file);
  if (existing) return existing;
  try {
    return await generateRuntimeKey(keysDir, false, file);
  } catch (err) {
    // Another process won the race to create it: use theirs.
    if (err instanceof KeyError) {
      const key = await loadRuntimeKey(keysDir, file);
      if (key) return key;
    }
    throw err;
  }
}
