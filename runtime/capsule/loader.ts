/**
 * Loads a capsule folder: its manifest, then its wasm, pinned by BLAKE3. The bytes that are
 * hashed are the bytes that are compiled (no re-read in between), a mismatch refuses to load
 * with `INTEGRITY`, and with `require_hash` (the default) a manifest without a hash is refused
 * too. Compiled modules are cached by hash, so a second instance costs only instantiation.
 *
 * @module
 */
import { blake3Hex } from "../crypto/mod.ts";
import { openConfined } from "../security/workspace.ts";
import { CapsuleError } from "./errors.ts";
import { type CapsuleManifest, readManifest } from "./manifest.ts";

/** The largest capsule.wasm the loader reads (the engine caps memory at 128 MiB anyway). */
export const MAX_WASM_BYTES = 64 << 20;

/**
 * Compiled `WebAssembly.Module`s keyed by their BLAKE3 hash; keeps the `limit` most recent.
 *
 * @example The same hash compiles once
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { ModuleCache } from "./loader.ts";
 * const cache = new ModuleCache();
 * const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
 * const a = cache.get("blake3:x", bytes);
 * equal(cache.get("blake3:x", bytes), a);
 * equal(cache.size, 1);
 * ```
 */
export class ModuleCache {
  #modules = new Map<string, WebAssembly.Module>();
  #limit: number;
  /** Creates a cache holding at most `limit` modules. */
  constructor(limit = 32) {
    this.#limit = limit;
  }
  /** How many modules are cached. */
  get size(): number {
    return this.#modules.size;
  }
  /** The module for `hash`, compiling `bytes` on a miss. The caller has verified the hash. */
  get(hash: string, bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module {
    const hit = this.#modules.get(hash);
    if (hit) {
      this.#modules.delete(hash);
      this.#modules.set(hash, hit);
      return hit;
    }
    const module = new WebAssembly.Module(bytes);
    this.#modules.set(hash, module);
    if (this.#modules.size > this.#limit) {
      this.#modules.delete(this.#modules.keys().next().value!);
    }
    return module;
  }
}

/** Options for {@link loadCapsule}. */
export interface LoadOptions {
  /** `[capsules] require_hash`: refuse a wasm capsule whose manifest has no hash. */
  readonly requireHash: boolean;
  /** Where compiled modules are kept (default: none, compile every time). */
  readonly cache?: ModuleCache | undefined;
  /**
   * The wasm hash the install record pins, checked before the manifest's own hash (null: the
   * record pins no wasm, so a `[component]` is refused before its file is read). Undefined: no
   * record (an install source, a preview).
   */
  readonly pinnedWasm?: string | null | undefined;
}

/** A loaded capsule. `wasm` is null for a static-only capsule (no `[component]`). */
export interface LoadedCapsule {
  /** The capsule folder (canonical). */
  readonly dir: string;
  readonly manifest: CapsuleManifest;
  readonly warnings: readonly string[];
  readonly wasm: {
    readonly path: string;
    /** `blake3:<hex>` of the bytes that were compiled. */
    readonly hash: string;
    readonly bytes: number;
    readonly module: WebAssembly.Module;
  } | null;
}

/**
 * Checks `bytes` against the manifest's `expected` hash and returns the actual one.
 *
 * @throws {CapsuleError} `INTEGRITY` on a mismatch, or a missing hash when `requireHash`
 *
 * @example A mismatch refuses
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { verifyWasm } from "./loader.ts";
 * throws(() => verifyWasm("x", new Uint8Array([1]), `blake3:${"0".repeat(64)}`, true), /INTEGRITY|hash/);
 * ```
 */
export function verifyWasm(
  name: string,
  bytes: Uint8Array,
  expected: string | undefined,
  requireHash: boolean,
): string {
  const actual = `blake3:${blake3Hex(bytes)}`;
  if (expected === undefined) {
    if (requireHash) {
      throw new CapsuleError(
        "INTEGRITY",
        `Cannot load capsule ${name}: [component] hash is missing and [capsules] require_hash ` +
          `is true (the wasm hashes to ${actual})`,
      );
    }
    return actual;
  }
  if (actual !== expected) {
    throw new CapsuleError(
      "INTEGRITY",
      `Cannot load capsule ${name}: current wasm hash is ${actual}, the manifest pins ${expected}`,
    );
  }
  return actual;
}

/**
 * Loads the capsule in `dir`: manifest, then (when it has a `[component]`) the verified wasm.
 * The wasm must be a regular file inside `dir` (symlinks are refused).
 *
 * @throws {CapsuleError} `MANIFEST`, `NOT_FOUND` or `INTEGRITY`
 *
 * @example A static-only capsule loads without wasm
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { loadCapsule } from "./loader.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/Capsule.toml`, '[package]\nname = "docs"\nversion = "1"\n');
 * const loaded = await loadCapsule(dir, { requireHash: true });
 * equal(loaded.wasm, null);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadCapsule(dir: string, opts: LoadOptions): Promise<LoadedCapsule> {
  const root = await Deno.realPath(dir).catch(() => {
    throw new CapsuleError(
      "NOT_FOUND",
      `Cannot load capsule: current value ${dir} is not a folder`,
    );
  });
  const { manifest, warnings } = await readManifest(root);
  const name = manifest.package.name;
  if (!manifest.component) return { dir: root, manifest, warnings, wasm: null };
  const path = `${root}/${manifest.component.entrypoint}`;
  if (opts.pinnedWasm === null) {
    throw new CapsuleError(
      "INTEGRITY",
      `Cannot load capsule ${name}: its manifest now has a [component], but its install record ` +
        "pins no wasm",
    );
  }
  const bytes = await readWasm(name, path, root);
  if (opts.pinnedWasm !== undefined) {
    const actual = `blake3:${blake3Hex(bytes)}`;
    if (actual !== opts.pinnedWasm) {
      throw new CapsuleError(
        "INTEGRITY",
        `Cannot load capsule ${name}: current wasm hash is ${actual}, its install record pins ` +
          `${opts.pinnedWasm} (the wasm changed since install)`,
      );
    }
  }
  const hash = verifyWasm(name, bytes, manifest.component.hash, opts.requireHash);
  let module: WebAssembly.Module;
  try {
    module = opts.cache ? opts.cache.get(hash, bytes) : new WebAssembly.Module(bytes);
  } catch (e) {
    throw new CapsuleError(
      "ENGINE",
      `Cannot compile capsule ${name}: ${path} is not valid wasm (${(e as Error).message})`,
    );
  }
  return { dir: root, manifest, warnings, wasm: { path, hash, bytes: bytes.length, module } };
}

async function readWasm(
  name: string,
  path: string,
  root: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const info = await Deno.lstat(path).catch(() => null);
  if (!info) throw new CapsuleError("NOT_FOUND", `Cannot load capsule ${name}: ${path} is missing`);
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
  using file = await openConfined(path, root, { read: true });
  const out = new Uint8Array(info.size);
  let at = 0;
  for (;;) {
    if (at === out.length) {
      // The file grew after lstat: refuse rather than hash a prefix.
      const extra = await file.read(new Uint8Array(1));
      if (extra !== null) {
        throw new CapsuleError(
          "INTEGRITY",
          `Cannot load capsule ${name}: ${path} changed while read`,
        );
      }
      break;
    }
    const n = await file.read(out.subarray(at));
    if (n === null) break;
    at += n;
  }
  return at === out.length ? out : out.slice(0, at);
}
