/**
 * Builds the CLI bundle (runtime/cli/_bundle.ts says what it is and who runs it): rolldown
 * bundles runtime/cli/launch.ts and main.ts, with every module they can load, into chunks under
 * `.build/cli/ID/`, then points `.build/cli/current` at it. Run by `deno task setup` (so by
 * `deno task test` and `deno task demo`) and `deno task install`; skipped when the current build
 * was made from the sources as they are. `deno run -A scripts/build_cli.ts [--force]`.
 *
 * The CLI loads most of its modules on demand, by computed specifiers (a literal `import()` makes
 * Deno prepare the whole graph behind it at start-up). The build turns each into a literal one so
 * that rolldown bundles its target, and each chunk's `import()` of another back into a computed
 * one. What it rewrites, in each source module:
 * - `import(new URL("./x.ts", import.meta.url).href)`, and a lazy-loading helper's call
 *   `name<typeof import("./x.ts")>("./x.ts")`, become `import("./x.ts")`;
 * - main.ts's command modules, imported by a name from its tables, go through a generated
 *   `switch` over every `./commands/*.ts` the file names;
 * - any other computed import of a source module (a helper's own body) rejects, naming the
 *   module: a bundled CLI never loads a second copy of a module from the sources;
 * - `import.meta.url` becomes the source module's own URL (its paths to deno.json, the Worker's
 *   module, the repo's folders stay what they are), `import.meta.main` false (the entry starts).
 *
 * npm, `node:` and other bare specifiers stay imports, resolved by Deno through deno.json as
 * before. The build fails when a chunk still imports a `.ts` file, or when a source changed while
 * it ran. The Worker of the file tools still loads its own modules from the sources.
 *
 * @module
 */
import {
  BUNDLE_ROOT,
  type BundleManifest,
  currentBuild,
  freshBuild,
  MANIFEST_FORMAT,
  type SourceStamp,
  stampOf,
} from "../runtime/cli/_bundle.ts";

const REPO = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
/** The build's inputs, by the chunk names the entry imports. */
const INPUTS = {
  launch: `${REPO}/runtime/cli/launch.ts`,
  main: `${REPO}/runtime/cli/main.ts`,
  _bundle: `${REPO}/runtime/cli/_bundle.ts`,
} as const;
/** Files outside the module graph that change what the build would be. */
const ALSO_STAMPED = ["deno.json", "deno.lock", "scripts/build_cli.ts"];

/** `import(new URL("LITERAL", import.meta.url).href)`. */
const LITERAL_URL =
  /import\(\s*new URL\(\s*("[^"\\]+"|`[^`$\\]+`)\s*,\s*import\.meta\.url\s*\)\.href\s*,?\s*\)/g;
/** A lazy-loading helper's call, `name<typeof import("X")>("X")`. */
const HELPER_CALL = /\b[A-Za-z_$][\w$]*\s*<\s*typeof import\(("[^"\\]+")\)\s*>\(\s*\1\s*,?\s*\)/g;
/** Any other computed import of a path relative to the module. */
const COMPUTED_URL =
  /import\(\s*new URL\(\s*([A-Za-z_$][\w$.]*)\s*,\s*import\.meta\.url\s*\)\.href\s*\)/g;

/**
 * `replacement` with as many line breaks as `match` spans put before its last character (a
 * closing parenthesis), so later lines keep their numbers.
 */
function sameLines(match: string, replacement: string): string {
  const breaks = "\n".repeat(match.split("\n").length - 1);
  return replacement.slice(0, -1) + breaks + replacement.slice(-1);
}

/** A source module's code with its lazy imports made literal (see the module doc). */
export function rewriteSource(code: string, path: string): string {
  let out = code.replace(HELPER_CALL, (m, spec: string) => sameLines(m, `import(${spec})`));
  out = out.replace(LITERAL_URL, (m, spec: string) => sameLines(m, `import(${spec})`));
  if (path === INPUTS.main) {
    const modules = [...new Set([...out.matchAll(/"(\.\/commands\/\w+\.ts)"/g)].map((m) => m[1]))];
    out = out.replaceAll(
      "import(new URL(module, import.meta.url).href)",
      "__commandModule(module)",
    );
    out += "\nfunction __commandModule(module: string): Promise<unknown> {\n  switch (module) {\n" +
      modules.map((m) => `    case ${JSON.stringify(m)}: return import(${JSON.stringify(m)});\n`)
        .join("") +
      "  }\n  return Promise.reject(new Error(`Cannot load ${module}: not in the CLI bundle`));\n}\n";
  }
  out = out.replace(
    COMPUTED_URL,
    (m, name: string) =>
      sameLines(
        m,
        `Promise.reject(new Error(\`Cannot load \${${name}}: not in the CLI bundle (${
          path.slice(REPO.length + 1)
        })\`))`,
      ),
  );
  if (/import\(\s*new URL\(/.test(out)) {
    throw new Error(
      `${path}: a computed import the CLI bundle cannot resolve (scripts/build_cli.ts)`,
    );
  }
  if (/import\.meta\.(resolve|filename|dirname)\b/.test(out)) {
    throw new Error(`${path}: import.meta.resolve/filename/dirname cannot be bundled`);
  }
  return out.replaceAll("import.meta.main", "false")
    .replaceAll("import.meta.url", JSON.stringify(`file://${encodeURI(path)}`));
}

/** A chunk's `import("./x.js")` of another chunk, made computed again (see the module doc). */
export function rewriteChunk(code: string): string {
  return code.replace(
    /\bimport\(\s*("\.\/[\w.-]+\.js")\s*\)/g,
    (_m, spec: string) => `import(new URL(${spec}, import.meta.url).href)`,
  );
}

/** The entry's code: start the launcher (or the CLI in place) from this build. */
function entryCode(id: string, chunks: Record<keyof typeof INPUTS, string>): string {
  const here = (name: string) => `new URL(${JSON.stringify(`./${name}`)}, import.meta.url).href`;
  return `// The CLI bundle's entry, written by scripts/build_cli.ts (see runtime/cli/_bundle.ts).
let direct = false;
try {
  direct = Deno.env.get("ASTRID_DIRECT_FLAGS") !== undefined;
} catch {
  // no --allow-env: not the installed astrid's repeat run
}
// The installed astrid's repeat run runs the CLI in place: its modules load while the launcher
// checks the flags it was handed (nothing runs before that check holds).
const main = direct ? import(${here(chunks.main)}) : null;
// With the command's own modules and the runtime's (main.ts \`prefetch\`).
main?.then((m) => m.prefetch(Deno.args)).catch(() => {});
const [{ launch }, { runningBuild }] = await Promise.all([
  import(${here(chunks.launch)}),
  import(${here(chunks._bundle)}),
]);
runningBuild(${JSON.stringify(id)}, decodeURIComponent(new URL("./", import.meta.url).pathname));
const run = async (args) => (await (main ?? import(${here(chunks.main)}))).run(args);
Deno.exit(await launch(Deno.args, run, { main: decodeURIComponent(new URL(import.meta.url).pathname) }));
`;
}

/** What {@link buildCli} did. */
export interface BuildResult {
  /** True when the current build already matched the sources (nothing was built). */
  readonly cached: boolean;
  readonly id: string;
  readonly dir: string;
  readonly chunks: number;
  readonly modules: number;
}

async function sha256Hex(data: Uint8Array): Promise<string> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>))
    .toHex();
}

/**
 * Builds the CLI bundle into `root` (default `.build/cli/`) unless its current build matches the
 * sources (`force` builds anyway), and makes it the current one. Keeps the build it replaces
 * (a process may be starting it) and removes older ones.
 */
export async function buildCli(
  options: { root?: string; force?: boolean } = {},
): Promise<BuildResult> {
  const root = (options.root ?? BUNDLE_ROOT).replace(/\/?$/, "/");
  const existing = currentBuild(root);
  if (!options.force && existing !== null && freshBuild(root) !== null) {
    const { manifest } = existing;
    return {
      cached: true,
      id: manifest.id,
      dir: existing.dir,
      chunks: -1,
      modules: manifest.sources.length - ALSO_STAMPED.length,
    };
  }
  const { rolldown } = await import("rolldown");
  const bundle = await rolldown({
    input: INPUTS,
    cwd: REPO,
    platform: "neutral",
    // A bare specifier (npm, node:, a deno.json import) stays an import for Deno to resolve.
    external: (id: string) => !id.startsWith("/") && !id.startsWith("."),
    treeshake: false, // modules run as they do from the sources
    transform: { target: "esnext" },
    logLevel: "warn",
    // The rewrites keep every line where it was (sameLines), so the map stays close enough.
    onLog(level, log, handler) {
      if (log.code !== "SOURCEMAP_BROKEN") handler(level, log);
    },
    plugins: [{
      name: "astrid-cli-bundle",
      transform(code: string, id: string) {
        if (!id.startsWith(`${REPO}/`) || !id.endsWith(".ts")) return null;
        return { code: rewriteSource(code, id), moduleType: "ts" };
      },
    }],
  });
  const { output } = await bundle.generate({
    format: "esm",
    entryFileNames: "[name]-[hash].js",
    chunkFileNames: "[name]-[hash].js",
    sourcemap: true,
  });
  await bundle.close();
  const files = new Map<string, string | Uint8Array>();
  const modules = new Set<string>();
  const chunks: Partial<Record<keyof typeof INPUTS, string>> = {};
  for (const item of output) {
    if (item.type === "asset") {
      files.set(item.fileName, item.source);
      continue;
    }
    const ts = [...item.imports, ...item.dynamicImports].find((i) => /\.[mc]?tsx?$/.test(i));
    if (ts) throw new Error(`the CLI bundle's ${item.fileName} still imports ${ts}`);
    files.set(
      item.fileName,
      rewriteChunk(item.code) + (item.map ? `\n//# sourceMappingURL=${item.fileName}.map\n` : ""),
    );
    if (item.map) files.set(`${item.fileName}.map`, item.map.toString());
    for (const id of item.moduleIds) {
      if (id.startsWith(`${REPO}/`)) modules.add(id.slice(REPO.length + 1));
    }
    if (item.isEntry && item.name in INPUTS) {
      chunks[item.name as keyof typeof INPUTS] = item.fileName;
    }
  }
  for (const name of Object.keys(INPUTS) as (keyof typeof INPUTS)[]) {
    if (!chunks[name]) throw new Error(`the CLI bundle has no ${name} chunk`);
  }
  const sources: SourceStamp[] = [];
  for (const path of [...[...modules].sort(), ...ALSO_STAMPED]) {
    const stamp = stampOf(REPO, path);
    if (stamp === null) throw new Error(`Cannot build the CLI bundle: ${path} is not a file`);
    sources.push(stamp);
  }
  const enc = new TextEncoder();
  const names = [...files.keys()].sort();
  const digest = await sha256Hex(enc.encode(JSON.stringify([
    Deno.version.deno,
    sources,
    ...await Promise.all(names.map(async (n) => {
      const body = files.get(n)!;
      return [n, await sha256Hex(typeof body === "string" ? enc.encode(body) : body)];
    })),
  ])));
  const id = digest.slice(0, 16);
  const entry = "entry.js";
  files.set(entry, entryCode(id, chunks as Record<keyof typeof INPUTS, string>));
  const manifest: BundleManifest = {
    format: MANIFEST_FORMAT,
    id,
    deno: Deno.version.deno,
    entry,
    sources,
  };
  files.set("manifest.json", JSON.stringify(manifest) + "\n");
  // Into a new folder, renamed into place whole; then `current`, renamed over the old one.
  await Deno.mkdir(root, { recursive: true, mode: 0o755 });
  const dir = `${root}${id}/`;
  const temp = await Deno.makeTempDir({ dir: root, prefix: ".building-" });
  try {
    for (const [name, body] of files) {
      if (typeof body === "string") await Deno.writeTextFile(`${temp}/${name}`, body);
      else await Deno.writeFile(`${temp}/${name}`, body);
      await Deno.chmod(`${temp}/${name}`, 0o644);
    }
    await Deno.chmod(temp, 0o755);
    // A source edited while this ran: its stamp moved, and the build may hold either version.
    for (const stamp of sources) {
      const now = stampOf(REPO, stamp[0]);
      if (now === null || now.some((v, i) => v !== stamp[i])) {
        throw new Error(`Cannot build the CLI bundle: ${stamp[0]} changed while it was built`);
      }
    }
    try {
      await Deno.rename(temp, dir);
    } catch (err) {
      // The same build is there already (another process made it): keep that one.
      if (!(err instanceof Deno.errors.AlreadyExists) && !/not empty/i.test(String(err))) {
        throw err;
      }
    }
  } finally {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
  }
  const current = `${root}.current-${Deno.pid}-${crypto.randomUUID()}`;
  await Deno.writeTextFile(current, `${id}\n`, { mode: 0o644 });
  await Deno.chmod(current, 0o644);
  await Deno.rename(current, `${root}current`);
  // Keep this build and the one it replaces; remove the others (and leftovers of failed builds).
  const keep = new Set([id, existing?.manifest.id]);
  for await (const e of Deno.readDir(root)) {
    if (e.name === "current" || keep.has(e.name)) continue;
    // A `.building-` or `.current-` leftover of another build is removed once it is an hour old.
    const old = (e.name.startsWith(".building-") || e.name.startsWith(".current-")) &&
      Date.now() - ((await Deno.lstat(`${root}${e.name}`).catch(() => null))?.mtime?.getTime() ??
              Date.now()) > 3_600_000;
    if (/^[0-9a-f]{16}$/.test(e.name) || old) {
      await Deno.remove(`${root}${e.name}`, { recursive: true }).catch(() => {});
    }
  }
  return { cached: false, id, dir, chunks: names.length, modules: modules.size };
}

if (import.meta.main) {
  const start = performance.now();
  const built = await buildCli({ force: Deno.args.includes("--force") });
  console.log(
    built.cached
      ? `CLI bundle ${built.dir}: up to date`
      : `CLI bundle ${built.dir}: ${built.modules} modules in ${built.chunks} files, ${
        Math.round(performance.now() - start)
      } ms`,
  );
}
