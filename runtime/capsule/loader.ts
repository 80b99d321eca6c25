/**
 * Loads a capsule folder: its manifest, then its wasm, pinned by BLAKE3. The bytes that are
 * hashed are the bytes that are compiled (no re-read in between), a mismatch refuses to load
 * with `INTEGRITY`, and with `require_hash` (the default) a manifest without a hash is refused
 * too. Compiled modules are cached by hash, so a second instance costs only instantiation.
 *
 * Deferred loads (`defer`, what installed capsules use): the wasm is not read when the capsule
 * is loaded, only `lstat`ed. Its fingerprint (device, inode, size, mtime, ctime) must match the
 * one the install record pins, else it is read and hashed at once (a changed file is refused
 * then, as before). The first {@link LoadedWasm.module} call in a process reads, hashes and
 * compiles the file in full (a full re-hash at least once per process and capsule); later calls
 * in the same process (a daemon, a chat session) reuse the module compiled for that hash while
 * the fingerprint still matches. Deno 2.9 exposes no `WebAssembly.Module` serialisation, so
 * compiled modules are not kept across processes.
 *
 * The file system calls here are synchronous (issue 15): each is a few microseconds, where an
 * async one waits for Deno's blocking-I/O thread (50–500 µs each, measured in a cold-start loop),
 * and the hash and compile that follow block the thread far longer anyway.
 *
 * Cold from bytes (issue 15): the bytes are hashed and checked against the pins first, and only
 * verified bytes are compiled, by V8's streaming compiler, which measured 2.4× faster than a
 * synchronous `new WebAssembly.Module` here. Starting the compile before the hash, to overlap
 * the two, measured no faster, so it is not done: unverified bytes are never compiled
 * (bench/capsule_bench.ts, group "cold parts").
 *
 * @module
 */
import { blake3Hex, loadFastBlake3, sha256Tagged } from "../crypto/mod.ts";
import { CapsuleError } from "./errors.ts";
import type { CapsuleManifest, ParsedManifest } from "./manifest.ts";
import {
  checkPins,
  fileFingerprint,
  manifestFingerprint,
  MAX_WASM_BYTES,
  plainFile,
} from "./_file_print.ts";

export { fileFingerprint, MAX_WASM_BYTES, STABLE_MS } from "./_file_print.ts";

/**
 * The manifest parser (zod and the TOML parser: about 25 ms to load), imported by a computed
 * specifier when a manifest is actually parsed: a listing whose manifests the signed listing
 * cache holds never loads it.
 */
const manifestLib = () =>
  import(new URL("./manifest.ts", import.meta.url).href) as Promise<
    typeof import("./manifest.ts")
  >;

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
  /** The module for `hash` when cached (counts as a use), else undefined. */
  peek(hash: string): WebAssembly.Module | undefined {
    const hit = this.#modules.get(hash);
    if (hit) {
      this.#modules.delete(hash);
      this.#modules.set(hash, hit);
    }
    return hit;
  }
  /** The module for `hash`, compiling `bytes` on a miss. The caller has verified the hash. */
  get(hash: string, bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module {
    return this.peek(hash) ?? this.put(hash, new WebAssembly.Module(bytes));
  }
  /**
   * Keeps `module` as the one compiled for `hash` (the most recent use) and returns it. The
   * caller has verified that the bytes it was compiled from hash to `hash`.
   */
  put(hash: string, module: WebAssembly.Module): WebAssembly.Module {
    this.#modules.delete(hash);
    this.#modules.set(hash, module);
    if (this.#modules.size > this.#limit) {
      this.#modules.delete(this.#modules.keys().next().value!);
    }
    return module;
  }
}

/** Modules this process verified in full (the warm path), by wasm path. */
const verified = new Map<string, { fingerprint: string; hash: string }>();
/** The process's compiled modules, by hash (a daemon's in-process cache). */
const sessionModules = new ModuleCache();

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
  /**
   * Defer reading the wasm to the first {@link LoadedWasm.module} call (needs `pinnedWasm`):
   * `fingerprint` is the one the install record pins (undefined in older records: the wasm is
   * then read and hashed at once).
   */
  readonly defer?: { readonly fingerprint: string | undefined } | undefined;
  /**
   * A manifest parse the signed listing cache holds (_list_cache.ts): used instead of reading
   * and parsing `Capsule.toml` while the file's fingerprint is `manifestStat`, else instead of
   * parsing when its text still hashes to `manifestText`.
   */
  readonly known?: {
    readonly manifestText: string;
    readonly manifestStat: string | null;
    readonly parsed: ParsedManifest;
  } | undefined;
  /** `dir` is already canonical (the caller resolved it): it is not resolved again. */
  readonly canonical?: boolean | undefined;
  /**
   * Return the `Capsule.toml` text's digest ({@link LoadedCapsule.manifestText}), as listing
   * does to fill its cache (also when `known` is given). Otherwise none is computed: loading one
   * capsule hashes no manifest.
   */
  readonly manifestDigest?: boolean | undefined;
}

/** A capsule's wasm: where, which hash, how big, and its compiled module. */
export interface LoadedWasm {
  readonly path: string;
  /** `blake3:<hex>` of the bytes that were (or, deferred, will be) compiled. */
  readonly hash: string;
  readonly bytes: number;
  /**
   * The compiled module. Deferred, the first call reads, hashes and compiles the file.
   *
   * @throws {CapsuleError} `INTEGRITY` or `NOT_FOUND` when the file changed, `ENGINE` when it
   *   does not compile
   */
  readonly module: () => Promise<WebAssembly.Module>;
}

/** A loaded capsule. `wasm` is null for a static-only capsule (no `[component]`). */
export interface LoadedCapsule {
  /** The capsule folder (canonical). */
  readonly dir: string;
  readonly manifest: CapsuleManifest;
  readonly warnings: readonly string[];
  readonly wasm: LoadedWasm | null;
  /**
   * `sha256:<hex>` of the `Capsule.toml` text the manifest was parsed from (only with
   * {@link LoadOptions.manifestDigest} or `known`).
   */
  readonly manifestText?: string | undefined;
  /**
   * With {@link manifestText}: the `Capsule.toml` fingerprint ({@link fileFingerprint}) taken
   * before its text was read, or null while its ctime is under 2 s old (_list_cache.ts).
   */
  readonly manifestStat?: string | null | undefined;
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
  let root = dir;
  try {
    if (!opts.canonical) root = Deno.realPathSync(dir);
  } catch {
    throw new CapsuleError(
      "NOT_FOUND",
      `Cannot load capsule: current value ${dir} is not a folder`,
    );
  }
  const { parsed: { manifest, warnings }, manifestText, manifestStat } = await manifestOf(
    root,
    opts.known,
    opts.manifestDigest === true,
  );
  const name = manifest.package.name;
  const text = manifestText === undefined ? {} : { manifestText, manifestStat };
  if (!manifest.component) return { dir: root, manifest, warnings, wasm: null, ...text };
  const path = `${root}/${manifest.component.entrypoint}`;
  if (opts.pinnedWasm === null) {
    throw new CapsuleError(
      "INTEGRITY",
      `Cannot load capsule ${name}: its manifest now has a [component], but its install record ` +
        "pins no wasm",
    );
  }
  if (opts.defer && opts.pinnedWasm) {
    const wasm = deferredWasm(manifest, path, root, opts.pinnedWasm, opts);
    return { dir: root, manifest, warnings, wasm, ...text };
  }
  const bytes = readWasm(name, path, root);
  const size = bytes.length;
  const verify = () => checkPinned(manifest, bytes, opts);
  const { hash, module } = await verifiedModule(name, path, bytes, verify, opts.cache);
  return {
    dir: root,
    manifest,
    warnings,
    wasm: { path, hash, bytes: size, module: () => Promise.resolve(module) },
    ...text,
  };
}

/** Hashes `bytes` and checks them against the record's pin, then the manifest's hash. */
function checkPinned(
  manifest: CapsuleManifest,
  bytes: Uint8Array,
  opts: LoadOptions,
): string {
  const name = manifest.package.name;
  const actual = `blake3:${blake3Hex(bytes)}`;
  if (opts.pinnedWasm !== undefined && opts.pinnedWasm !== null && actual !== opts.pinnedWasm) {
    throw new CapsuleError(
      "INTEGRITY",
      `Cannot load capsule ${name}: current wasm hash is ${actual}, its install record pins ` +
        `${opts.pinnedWasm} (the wasm changed since install)`,
    );
  }
  if (manifest.component?.hash === undefined) {
    if (opts.requireHash) {
      throw new CapsuleError(
        "INTEGRITY",
        `Cannot load capsule ${name}: [component] hash is missing and [capsules] require_hash ` +
          `is true (the wasm hashes to ${actual})`,
      );
    }
  } else if (actual !== manifest.component.hash) {
    throw new CapsuleError(
      "INTEGRITY",
      `Cannot load capsule ${name}: current wasm hash is ${actual}, the manifest pins ` +
        manifest.component.hash,
    );
  }
  return actual;
}

/**
 * The module for `bytes`, compiled only once `verify` (which hashes them and checks the pins,
 * throwing `INTEGRITY`) returned: bytes that fail the check are never compiled. A module cached
 * for the verified hash is reused.
 *
 * @throws {CapsuleError} what `verify` throws, or `ENGINE` when the verified bytes do not compile
 */
async function verifiedModule(
  name: string,
  path: string,
  bytes: Uint8Array<ArrayBuffer>,
  verify: () => string,
  cache: ModuleCache | undefined,
): Promise<{ hash: string; module: WebAssembly.Module }> {
  await loadFastBlake3(); // a capsule's wasm is large: BLAKE3 at 1.2 GB/s (crypto/blake3.ts)
  const hash = verify();
  const hit = cache?.peek(hash);
  if (hit) return { hash, module: hit };
  let module: WebAssembly.Module;
  try {
    module = await compileStreamed(bytes);
  } catch (e) {
    throw new CapsuleError(
      "ENGINE",
      `Cannot compile capsule ${name}: ${path} is not valid wasm (${(e as Error).message})`,
    );
  }
  return { hash, module: cache ? cache.put(hash, module) : module };
}

/**
 * Compiles `bytes` with V8's streaming compiler (`WebAssembly.compileStreaming`): 0.4 ms for an
 * 890 KB capsule where `new WebAssembly.Module` takes 1.0 ms (bench/capsule_bench.ts, "cold
 * parts"). The body streams `bytes` themselves, not a copy: the caller verified them, and
 * nothing else holds the buffer.
 */
function compileStreamed(bytes: Uint8Array<ArrayBuffer>): Promise<WebAssembly.Module> {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
  const headers = { "content-type": "application/wasm" };
  return WebAssembly.compileStreaming(new Response(body, { headers }));
}

/**
 * The wasm of an installed capsule, read only when its module is first needed: checked now by
 * its fingerprint (or, when that does not match the record's, read and hashed now).
 */
function deferredWasm(
  manifest: CapsuleManifest,
  path: string,
  root: string,
  pinned: string,
  opts: LoadOptions,
): LoadedWasm {
  const name = manifest.package.name;
  const info = plainFile(name, path);
  checkPins(manifest, pinned, opts.requireHash);
  if (fileFingerprint(info) !== opts.defer?.fingerprint) {
    // Changed since install (or an older record without a fingerprint): hash it now.
    const bytes = readWasm(name, path, root);
    checkPinned(manifest, bytes, { ...opts, pinnedWasm: pinned });
  }
  const module = deferredModule(manifest, root, { ...opts, pinnedWasm: pinned });
  return { path, hash: pinned, bytes: info.size, module };
}

/**
 * The module of an installed capsule's wasm whose fingerprint and pins were checked (listing
 * checks them itself for a capsule its signed cache holds: installed.ts): the first call reads,
 * hashes and compiles the file, unless this process already verified it at the same
 * fingerprint and still holds the module. One load per call site; a failure is not kept (the
 * next call checks again).
 *
 * @throws {CapsuleError} (from the function it returns) `INTEGRITY` or `NOT_FOUND` when the file
 *   changed, `ENGINE` when it does not compile
 */
export function deferredModule(
  manifest: CapsuleManifest,
  root: string,
  opts: LoadOptions & { readonly pinnedWasm: string },
): () => Promise<WebAssembly.Module> {
  const name = manifest.package.name;
  const path = `${root}/${manifest.component!.entrypoint}`;
  const pinned = opts.pinnedWasm;
  const cache = opts.cache ?? sessionModules;
  let module: Promise<WebAssembly.Module> | undefined;
  const load = async (): Promise<WebAssembly.Module> => {
    const now = plainFile(name, path);
    const seen = verified.get(path);
    const fingerprint = fileFingerprint(now);
    if (seen?.hash === pinned && seen.fingerprint === fingerprint) {
      const hit = cache.peek(pinned);
      if (hit) return hit;
    }
    const bytes = readWasm(name, path, root);
    const verify = () => checkPinned(manifest, bytes, opts);
    const { module } = await verifiedModule(name, path, bytes, verify, cache);
    verified.set(path, { fingerprint, hash: pinned });
    return module;
  };
  return () => {
    module ??= load().catch((e) => {
      module = undefined;
      throw e;
    });
    return module;
  };
}

/** Parsed manifests by path, with the exact text parsed (reused only for the same text). */
const parsedManifests = new Map<string, { text: string; parsed: ParsedManifest | null }>();

/**
 * `readManifest`, re-parsing only when the text changed since this process last parsed it (a
 * copy of the earlier result otherwise: the file is read every time, the TOML and schema work is
 * what a daemon or a warm call skips).
 */
async function manifestOf(
  root: string,
  known: LoadOptions["known"],
  digest: boolean,
): Promise<
  { parsed: ParsedManifest; manifestText: string | undefined; manifestStat?: string | null }
> {
  const path = `${root}/Capsule.toml`;
  let text: string;
  let manifestStat: string | null = null;
  try {
    if (digest || known) {
      // Taken before the read: a write after it changes the file's fingerprint.
      manifestStat = manifestFingerprint(Deno.statSync(path));
      if (known && manifestStat !== null && known.manifestStat === manifestStat) {
        return { parsed: known.parsed, manifestText: known.manifestText, manifestStat };
      }
    }
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new CapsuleError("NOT_FOUND", `Cannot read ${path}: no such file`);
    }
    throw e;
  }
  // SHA-256 through WebCrypto: a listing hashes every capsule's manifest at once, natively,
  // where the start-up's TypeScript BLAKE3 paid about 70 µs a text before it was compiled.
  const manifestText = digest || known ? await sha256Tagged(text) : undefined;
  if (known && known.manifestText === manifestText) {
    return { parsed: known.parsed, manifestText, manifestStat };
  }
  const hit = parsedManifests.get(path);
  if (hit?.text === text && hit.parsed) {
    return { parsed: structuredClone(hit.parsed), manifestText, manifestStat };
  }
  const parsed = (await manifestLib()).parseManifest(text, path);
  if (parsedManifests.size >= 256) parsedManifests.clear();
  // Kept (a copy) from the second read of the same text on: a one-shot CLI process reads each
  // manifest once and pays no copy.
  parsedManifests.set(path, { text, parsed: hit?.text === text ? structuredClone(parsed) : null });
  return { parsed, manifestText, manifestStat };
}

/**
 * Reads the wasm at `path`, confined to the capsule folder `root` (canonical), as
 * security/workspace.ts `openConfined` confines a read, with synchronous calls: the path is
 * `lstat`ed (a regular file, not a symlink), opened, and the open file must be that very file
 * (same device and inode) and still resolve inside `root` (no symlinked folder on the way). The
 * bytes are then checked against the pinned hash, so whatever a race could slip in is refused.
 */
function readWasm(name: string, path: string, root: string): Uint8Array<ArrayBuffer> {
  const seen = plainFile(name, path);
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch {
    throw new CapsuleError("NOT_FOUND", `Cannot load capsule ${name}: ${path} is missing`);
  }
  using _ = file;
  const opened = file.statSync();
  let real = "";
  try {
    real = Deno.realPathSync(path);
  } catch { /* gone: refused below */ }
  if (!real.startsWith(`${root}/`)) {
    throw new CapsuleError(
      "INTEGRITY",
      `Cannot load capsule ${name}: ${path} resolves to ${real || "nothing"}, outside ${root}`,
    );
  }
  if (
    !opened.isFile || opened.ino === null || opened.ino !== seen.ino || opened.dev !== seen.dev
  ) {
    throw new CapsuleError(
      "INTEGRITY",
      `Cannot load capsule ${name}: ${path} changed while it was opened`,
    );
  }
  const out = new Uint8Array(Math.min(opened.size, MAX_WASM_BYTES));
  let at = 0;
  for (;;) {
    if (at === out.length) {
      // The file grew after the stat: refuse rather than hash a prefix.
      if (file.readSync(new Uint8Array(1)) !== null) {
        throw new CapsuleError(
          "INTEGRITY",
          `Cannot load capsule ${name}: ${path} changed while read`,
        );
      }
      break;
    }
    const n = file.readSync(out.subarray(at));
    if (n === null) break;
    at += n;
  }
  return at === out.length ? out : out.slice(0, at);
}
