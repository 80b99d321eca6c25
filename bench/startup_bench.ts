/**
 * What each piece of the CLI child's module graph adds to a fresh process's start-up (issue 15):
 * a `deno run` that imports one module (and, for the CLI's own modules, nothing else), against a
 * `deno run` of an empty module, in interleaved rounds on this machine.
 *
 * - `deno run -A bench/startup_bench.ts [ROUNDS]`: prints, per module, the median wall time and
 *   the median of the per-round differences to the empty module, in milliseconds.
 * - `deno bench -A bench/startup_bench.ts`: one group, the empty module the baseline.
 *
 * The npm packages are the ones the start-up path used or uses; `node:*` modules initialise
 * Deno's Node compatibility layer, which CommonJS packages and commander also pull in.
 */
const ROOT = new URL("..", import.meta.url);

/** What is measured, by label: a specifier the probe imports (null: the empty module). */
const MODULES: readonly [label: string, specifier: string | null][] = [
  ["(empty module)", null],
  ["commander", "commander"],
  ["zod", "zod"],
  ["smol-toml", "smol-toml"],
  ["hash-wasm (its UMD main)", "hash-wasm"],
  ["blake3-jit", "blake3-jit"],
  ["node:crypto", "node:crypto"],
  ["node:path", "node:path"],
  ["runtime/cli/main.ts", new URL("runtime/cli/main.ts", ROOT).href],
  [
    "runtime/cli/commands/_audit_list.ts",
    new URL("runtime/cli/commands/_audit_list.ts", ROOT).href,
  ],
  ["runtime/config/mod.ts", new URL("runtime/config/mod.ts", ROOT).href],
  ["runtime/crypto/mod.ts", new URL("runtime/crypto/mod.ts", ROOT).href],
  ["runtime/audit/mod.ts", new URL("runtime/audit/mod.ts", ROOT).href],
  ["runtime/storage/mod.ts", new URL("runtime/storage/mod.ts", ROOT).href],
];

const dir = await Deno.makeTempDir({ prefix: "astrid-startup-bench-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

/** One probe file per module: it imports the module and does nothing else. */
const probes = await Promise.all(MODULES.map(async ([, specifier], i) => {
  const path = `${dir}/probe_${i}.ts`;
  await Deno.writeTextFile(
    path,
    specifier === null ? "" : `import ${JSON.stringify(specifier)};\n`,
  );
  return path;
}));

/** One fresh process running `probe`: its wall time in ms. */
async function runOnce(probe: string): Promise<number> {
  const start = performance.now();
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "--config", new URL("deno.json", ROOT).pathname, probe],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`${probe} failed: ${new TextDecoder().decode(stderr)}`);
  return performance.now() - start;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

if (import.meta.main) {
  const rounds = Number(Deno.args[0] ?? 10);
  for (const probe of probes) await runOnce(probe); // warm Deno's caches
  const walls = probes.map(() => [] as number[]);
  const added = probes.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    const floor = await runOnce(probes[0]!);
    walls[0]!.push(floor);
    added[0]!.push(0);
    for (let i = 1; i < probes.length; i++) {
      const wall = await runOnce(probes[i]!);
      walls[i]!.push(wall);
      added[i]!.push(wall - floor);
    }
  }
  console.log(`Medians of ${rounds} interleaved rounds (ms).`);
  console.log("| module | wall | added to the empty module |\n|---|---|---|");
  for (const [i, [label]] of MODULES.entries()) {
    console.log(`| ${label} | ${median(walls[i]!).toFixed(1)} | ${median(added[i]!).toFixed(1)} |`);
  }
} else {
  for (const [i, [label]] of MODULES.entries()) {
    Deno.bench(label, { group: "start-up", baseline: i === 0 }, async () => {
      await runOnce(probes[i]!);
    });
  }
}
