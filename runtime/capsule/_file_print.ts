/**
 * The file checks an installed capsule's listing makes without reading a file (issue 15): its
 * `Capsule.toml` and `capsule.wasm` fingerprints, the wasm's kind and size, and the agreement
 * of the wasm pins. The loader (loader.ts) makes them on every load, and listing (installed.ts)
 * makes them first, for a capsule the signed listing cache holds: when all pass, it needs no
 * loader at all.
 *
 * @module
 */
import { CapsuleError } from "./errors.ts";
import type { CapsuleManifest } from "./manifest.ts";

/** The largest capsule.wasm the loader reads (the engine caps memory at 128 MiB anyway). */
export const MAX_WASM_BYTES = 64 << 20;

/**
 * How old a `Capsule.toml`'s ctime must be for its fingerprint to stand for its text in the
 * listing cache (_list_cache.ts): Deno gives ctime in whole seconds, so a write later in the
 * same second could keep the fingerprint.
 */
export const STABLE_MS = 2_000;

/**
 * A file's fingerprint: `dev:ino:size:mtime:ctime` (milliseconds). Any write changes the
 * ctime, which only root can set back.
 *
 * @example
 * ```ts
 * import { match } from "node:assert/strict";
 * import { fileFingerprint } from "./_file_print.ts";
 * const path = await Deno.makeTempFile();
 * match(fileFingerprint(await Deno.lstat(path)), /^\d+:\d+:0:\d+:\d+$/);
 * await Deno.remove(path);
 * ```
 */
export function fileFingerprint(info: Deno.FileInfo): string {
  const ms = (d: Date | null) => d?.getTime() ?? -1;
  return `${info.dev}:${info.ino ?? -1}:${info.size}:${ms(info.mtime)}:${ms(info.ctime)}`;
}

/**
 * The fingerprint of a `Capsule.toml` (its `stat`) that may stand for its text: null for
 * anything but a regular file, and while its ctime is under {@link STABLE_MS} old.
 *
 * @example A file written just now has none yet
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { manifestFingerprint } from "./_file_print.ts";
 * const path = await Deno.makeTempFile();
 * equal(manifestFingerprint(await Deno.stat(path)), null);
 * ```
 */
export function manifestFingerprint(info: Deno.FileInfo): string | null {
  const stable = (info.ctime?.getTime() ?? Infinity) <= Date.now() - STABLE_MS;
  return info.isFile && stable ? fileFingerprint(info) : null;
}

/**
 * `lstat`s capsule `name`'s wasm at `path`: a regular file no larger than
 * {@link MAX_WASM_BYTES}.
 *
 * @throws {CapsuleError} `NOT_FOUND` when it is missing, `INTEGRITY` when it is not such a file
 *
 * @example A symlink is refused
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { plainFile } from "./_file_print.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.symlink("/etc/hostname", `${dir}/capsule.wasm`);
 * throws(() => plainFile("x", `${dir}/capsule.wasm`), /not a regular file/);
 * ```
 */
export function plainFile(name: string, path: string): Deno.FileInfo {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch {
    throw new CapsuleError("NOT_FOUND", `Cannot load capsule ${name}: ${path} is missing`);
  }
  if (!info.isFile) {
    throw new CapsuleError(
      "INTEGRITY",
      `Cannot load capsule ${name}: ${path} is not a regular file (symlinks are refused)`,
    );
  }
  if (info.size > MAX_WASM_BYTES) {
    throw new CapsuleError(
      "INTEGRITY",
      `Cannot load capsule ${name}: current wasm size is ${info.size} bytes (max ${MAX_WASM_BYTES})`,
    );
  }
  return info;
}

/**
 * Refuses a manifest whose wasm pin disagrees with the install record's (`pinned`), or that has
 * none when `requireHash` (`[capsules] require_hash`) asks for one: what the wasm's bytes will
 * be checked against, refused before they are read.
 *
 * @throws {CapsuleError} `INTEGRITY`
 *
 * @example The two pins must agree
 * ```ts
 * import { throws } from "node:assert/strict";
 * import type { CapsuleManifest } from "./manifest.ts";
 * import { checkPins } from "./_file_print.ts";
 * const manifest = { package: { name: "x" }, component: { hash: "blake3:aa" } } as CapsuleManifest;
 * throws(() => checkPins(manifest, "blake3:bb", true), /install record pins blake3:bb/);
 * ```
 */
export function checkPins(manifest: CapsuleManifest, pinned: string, requireHash: boolean): void {
  const name = manifest.package.name;
  const declared = manifest.component?.hash;
  if (declared === undefined && requireHash) {
    throw new CapsuleError(
      "INTEGRITY",
      `Cannot load capsule ${name}: [component] hash is missing and [capsules] require_hash ` +
        `is true (its install record pins ${pinned})`,
    );
  }
  if (declared !== undefined && declared !== pinned) {
    throw new CapsuleError(
      "INTEGRITY",
      `Cannot load capsule ${name}: the manifest pins ${declared}, its install record pins ` +
        `${pinned}`,
    );
  }
}
