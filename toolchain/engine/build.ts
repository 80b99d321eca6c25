/**
 * Builds the capsule engine (`.build/engine/engine.wasm`): QuickJS 2025-04-26 plus our C shim
 * (engine.c), compiled with Debian's clang-19 for wasm32-wasi at -Oz. Idempotent, one progress
 * line per step:
 *
 * 1. installs `clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32` with apt when missing;
 * 2. fetches Debian's `quickjs` source package from trixie with a temporary apt source list built
 *    from this machine's own Debian archive URI, and verifies its pinned SHA-256;
 * 3. hashes every input (tarball, engine.c, patches, flags, compiler version) with BLAKE3 and
 *    reuses `.build/engine/engine-<hash>.wasm` when it exists;
 * 4. otherwise unpacks, patches and compiles, then writes the cache entry and `engine.wasm`.
 *
 * Run it with `deno run -A toolchain/engine/build.ts`.
 *
 * @module
 */
import { blake3Hex, loadFastBlake3 } from "../../runtime/crypto/blake3.ts";
import { ensureSource, QUICKJS_SHA256, QUICKJS_VERSION, TARBALL } from "./_source.ts";
import { EngineBuildError, exists, run } from "./_util.ts";

export { EngineBuildError } from "./_util.ts";
export { QUICKJS_SHA256, QUICKJS_VERSION } from "./_source.ts";

/** The Debian packages the build needs. */
export const TOOLCHAIN_PACKAGES = ["clang-19", "lld-19", "wasi-libc", "libclang-rt-19-dev-wasm32"];

const SOURCE_DIR = `quickjs-${QUICKJS_VERSION}`;
const QUICKJS_FILES = ["quickjs.c", "dtoa.c", "libregexp.c", "libunicode.c", "cutils.c"];
const TOOLCHAIN_FILES = [
  "/usr/lib/wasm32-wasi/libc.a",
  "/usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a",
];

/** Source patches applied to QuickJS: each `find` must occur exactly once. */
export const PATCHES: readonly { file: string; find: string; replace: string; why: string }[] = [
  {
    file: "quickjs.c",
    find: "#if !defined(EMSCRIPTEN)\n#define CONFIG_ATOMICS",
    replace: "#if !defined(EMSCRIPTEN) && !defined(__wasi__)\n#define CONFIG_ATOMICS",
    why: "Atomics need OS threads, which wasm32-wasi does not have",
  },
  {
    file: "quickjs.c",
    find: "#elif defined(__FreeBSD__)\n#include <malloc_np.h>\n#endif",
    replace:
      "#elif defined(__FreeBSD__)\n#include <malloc_np.h>\n#elif defined(__wasi__)\n#include <malloc.h>\n#endif",
    why: "declare wasi-libc's malloc_usable_size so the memory limit counts real sizes",
  },
  {
    file: "quickjs.c",
    find: "BOOL JS_IsJobPending(JSRuntime *rt)\n{",
    replace: [
      "/* Astrid: drop every queued job, so work left by an interrupted call cannot run on. */",
      "void JS_AstridDropPendingJobs(JSRuntime *rt)",
      "{",
      "    struct list_head *el, *el1;",
      "    int i;",
      "    list_for_each_safe(el, el1, &rt->job_list) {",
      "        JSJobEntry *e = list_entry(el, JSJobEntry, link);",
      "        list_del(&e->link);",
      "        for(i = 0; i < e->argc; i++)",
      "            JS_FreeValue(e->ctx, e->argv[i]);",
      "        js_free(e->ctx, e);",
      "    }",
      "}",
      "",
      "BOOL JS_IsJobPending(JSRuntime *rt)",
      "{",
    ].join("\n"),
    why: "QuickJS cannot otherwise discard the promise jobs an interrupted call left queued",
  },
];

/** Headers added to the include path: dtoa.c includes setjmp.h, which wasi-libc lacks. */
const EXTRA_HEADERS: Record<string, string> = {
  "setjmp.h": "/* empty: dtoa.c does not use it */\n",
};

/** Linear-memory stack (bytes); QuickJS's own limit in engine.c stays well below it. */
const STACK_SIZE = 1 << 20;
/** The module's memory maximum: a hard backstop above the 64 MiB JS heap limit. */
const MAX_MEMORY = 128 << 20;

const COMMON_FLAGS = [
  "--target=wasm32-wasi",
  "--sysroot=/usr",
  "-Oz",
  "-funsigned-char",
  "-D_GNU_SOURCE",
  `-DCONFIG_VERSION="${QUICKJS_VERSION.replaceAll(".", "-")}"`,
  "-Iinclude",
];
const QUICKJS_FLAGS = ["-I.", "-w"];
/** engine.c is ours: strict warnings (it silences QuickJS's header itself). */
const ENGINE_FLAGS = ["-I.", "-Wall", "-Wextra", "-Werror"];
const LINK_FLAGS = [
  "-nostartfiles",
  "-Wl,--no-entry",
  "-Wl,--stack-first",
  `-Wl,-z,stack-size=${STACK_SIZE}`,
  `-Wl,--max-memory=${MAX_MEMORY}`,
  "-Wl,--strip-all",
];

/** What `buildEngine` produced. */
export interface EngineBuild {
  /** Absolute path of `engine.wasm`. */
  path: string;
  /** BLAKE3 (hex) of every build input: the cache key. */
  inputsHash: string;
  /** True when the cached build was reused. */
  cached: boolean;
  /** Size of the engine in bytes. */
  bytes: number;
}

/** Options for `buildEngine`. */
export interface BuildOptions {
  /** Repository root (default: two levels above this file). */
  root?: string;
  /** Receives one progress line per step (default: stderr). */
  log?: (line: string) => void;
}

/**
 * Returns where the engine lives under `root`.
 *
 * @param root the repository root
 * @returns the absolute path of `.build/engine/engine.wasm`
 *
 * @example Locate the engine
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { enginePath } from "./build.ts";
 * equal(enginePath("/repo"), "/repo/.build/engine/engine.wasm");
 * ```
 */
export function enginePath(root: string = defaultRoot()): string {
  return `${root}/.build/engine/engine.wasm`;
}

function defaultRoot(): string {
  return decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(/\/$/, "");
}

async function toolchainPresent(): Promise<boolean> {
  for (const bin of ["clang-19", "wasm-ld-19"]) {
    if (!(await run("sh", ["-c", `command -v ${bin}`])).ok) return false;
  }
  for (const file of TOOLCHAIN_FILES) if (!(await exists(file))) return false;
  return true;
}

async function ensureToolchain(): Promise<string> {
  if (await toolchainPresent()) return "already installed";
  if (Deno.build.os !== "linux" || !(await run("sh", ["-c", "command -v apt-get"])).ok) {
    throw new EngineBuildError(
      "TOOLCHAIN",
      `Cannot install ${
        TOOLCHAIN_PACKAGES.join(" ")
      }: current value is no apt-get on ${Deno.build.os}`,
    );
  }
  const sudo = Deno.uid() === 0 ? [] : ["sudo", "-n"];
  const apt = (args: string[]) => {
    const [cmd, ...rest] = [...sudo, "apt-get", ...args];
    return run(cmd!, rest, { env: { DEBIAN_FRONTEND: "noninteractive" } });
  };
  const install = [
    "-o",
    "DPkg::Lock::Timeout=120",
    "install",
    "-y",
    "--no-install-recommends",
    ...TOOLCHAIN_PACKAGES,
  ];
  let out = await apt(install);
  if (!out.ok) {
    await apt(["update"]);
    out = await apt(install);
  }
  if (!out.ok || !(await toolchainPresent())) {
    const why = out.stderr.trim().split("\n").pop() ?? "unknown";
    throw new EngineBuildError(
      "TOOLCHAIN",
      `Cannot install ${TOOLCHAIN_PACKAGES.join(" ")}: current value is "${why}"`,
    );
  }
  return "installed with apt";
}

async function inputsHash(buildDir: string, engineC: Uint8Array): Promise<string> {
  const clang = await run("clang-19", ["--version"]);
  const version = clang.stdout.split("\n")[0] ?? "";
  const recipe = JSON.stringify({
    tarball: QUICKJS_SHA256,
    patches: PATCHES,
    headers: EXTRA_HEADERS,
    files: QUICKJS_FILES,
    flags: [COMMON_FLAGS, QUICKJS_FLAGS, ENGINE_FLAGS, LINK_FLAGS],
    clang: version,
  });
  await Deno.mkdir(`${buildDir}/engine`, { recursive: true });
  return blake3Hex(recipe, engineC);
}

async function compile(work: string, engineC: Uint8Array, output: string): Promise<void> {
  const tar = await run("tar", ["-xJf", `../../quickjs/${TARBALL}`], { cwd: work });
  if (!tar.ok) {
    throw new EngineBuildError(
      "COMPILE",
      `Cannot unpack ${TARBALL}: current value is ${tar.stderr}`,
    );
  }
  const src = `${work}/${SOURCE_DIR}`;
  for (const p of PATCHES) {
    const text = await Deno.readTextFile(`${src}/${p.file}`);
    if (text.split(p.find).length !== 2) {
      throw new EngineBuildError(
        "COMPILE",
        `Cannot apply the patch to ${p.file} (${p.why}): current value is not one match`,
      );
    }
    await Deno.writeTextFile(`${src}/${p.file}`, text.replace(p.find, p.replace));
  }
  await Deno.mkdir(`${src}/include`, { recursive: true });
  for (const [name, text] of Object.entries(EXTRA_HEADERS)) {
    await Deno.writeTextFile(`${src}/include/${name}`, text);
  }
  await Deno.writeFile(`${src}/engine.c`, engineC);
  const units = [
    ...QUICKJS_FILES.map((f) => ({ file: f, flags: QUICKJS_FLAGS })),
    { file: "engine.c", flags: ENGINE_FLAGS },
  ];
  // Two at a time: CI machines have two cores, and quickjs.c dominates anyway.
  const queue = [...units];
  const worker = async () => {
    for (let u = queue.shift(); u; u = queue.shift()) {
      const out = await run("clang-19", [
        ...COMMON_FLAGS,
        ...u.flags,
        "-c",
        u.file,
        "-o",
        `${u.file}.o`,
      ], {
        cwd: src,
      });
      if (!out.ok) {
        throw new EngineBuildError(
          "COMPILE",
          `Cannot compile ${u.file}: current value is\n${out.stderr}`,
        );
      }
    }
  };
  await Promise.all([worker(), worker()]);
  const link = await run("clang-19", [
    ...COMMON_FLAGS,
    ...LINK_FLAGS,
    "-o",
    "engine.wasm",
    ...units.map((u) => `${u.file}.o`),
  ], { cwd: src });
  if (!link.ok) {
    throw new EngineBuildError(
      "COMPILE",
      `Cannot link the engine: current value is\n${link.stderr}`,
    );
  }
  const wasm = await Deno.readFile(`${src}/engine.wasm`);
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(wasm));
  const foreign = imports.filter((i) => !i.module.startsWith("extism:host/"));
  if (foreign.length > 0) {
    throw new EngineBuildError(
      "COMPILE",
      `Cannot accept the engine: current value imports ${
        foreign.map((i) => `${i.module}.${i.name}`).join(", ")
      }`,
    );
  }
  await Deno.writeFile(`${output}.${Deno.pid}.tmp`, wasm);
  await Deno.rename(`${output}.${Deno.pid}.tmp`, output);
}

/**
 * Builds (or reuses) the engine and returns where it is.
 *
 * @param options the repository root and a progress sink
 * @returns the engine's path, inputs hash, size and whether the cache was used
 *
 * @example Build the engine (slow the first time; a no-op afterwards)
 * ```ts ignore
 * import { buildEngine } from "./build.ts";
 * const { path, bytes } = await buildEngine();
 * console.log(path, bytes);
 * ```
 */
export async function buildEngine(options: BuildOptions = {}): Promise<EngineBuild> {
  const root = options.root ?? defaultRoot();
  const log = options.log ?? ((line: string) => console.error(line));
  const buildDir = `${root}/.build`;
  const step = async <T>(name: string, fn: () => Promise<T>, describe: (v: T) => string) => {
    const started = performance.now();
    const value = await fn();
    log(`engine: ${name}: ${describe(value)} (${Math.round(performance.now() - started)} ms)`);
    return value;
  };
  await step(`toolchain (${TOOLCHAIN_PACKAGES.join(" ")})`, ensureToolchain, (s) => s);
  await step(`QuickJS ${QUICKJS_VERSION} source`, () => ensureSource(buildDir), (s) => s);
  const engineC = await Deno.readFile(new URL("./engine.c", import.meta.url));
  const hash = await step(
    "inputs hash",
    () => inputsHash(buildDir, engineC),
    (h) => `blake3:${h.slice(0, 16)}…`,
  );
  const cachedPath = `${buildDir}/engine/engine-${hash}.wasm`;
  const cached = await exists(cachedPath);
  await step("compile", async () => {
    if (cached) return "cached";
    // Per process, so parallel test runs that both find no cache do not share a tree.
    const work = `${buildDir}/engine/work-${hash}-${Deno.pid}`;
    await Deno.remove(work, { recursive: true }).catch(() => {});
    await Deno.mkdir(work, { recursive: true });
    try {
      await compile(work, engineC, cachedPath);
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
    return "clang-19 -Oz wasm32-wasi";
  }, (s) => s);
  const bytes = await Deno.readFile(cachedPath);
  const path = enginePath(root);
  const current = await Deno.readFile(path).catch(() => null);
  await loadFastBlake3(); // large inputs (runtime/crypto/blake3.ts)
  if (!current || blake3Hex(current) !== blake3Hex(bytes)) {
    await Deno.writeFile(`${path}.${Deno.pid}.tmp`, bytes);
    await Deno.rename(`${path}.${Deno.pid}.tmp`, path);
  }
  log(`engine: ${path}: ${bytes.length} bytes`);
  return { path, inputsHash: hash, cached, bytes: bytes.length };
}

if (import.meta.main) {
  try {
    await buildEngine();
  } catch (e) {
    console.error(`engine: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
