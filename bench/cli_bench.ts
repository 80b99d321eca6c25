/**
 * Whole-process cost of `astrid` commands against Deno's floor, `deno eval 1` (targets from issue
 * 15: `tools call read_file` ≤ 4×, `audit list` and `approvals list` ≤ 3×). Each command runs as a
 * user runs it: the launcher (runtime/cli/launch.ts), which re-executes the CLI under its
 * computed permission flags, in a fresh `$ASTRID_HOME` and an `astrid init`-ed workspace.
 *
 * Two ways to run it (the launcher started as `deno task astrid` starts it, with its V8 flags):
 * - `deno bench -A bench/cli_bench.ts`: one group per command, `deno eval 1` the baseline;
 * - `deno run -A bench/cli_bench.ts [ROUNDS] [--vs DIR]`: interleaved rounds (the floor, then
 *   each command, round after round, so a drift of the machine's speed hits all alike), printing
 *   each median wall and CPU time (user + system, from the kernel's account of waited-for
 *   children: 10 ms ticks, so read medians) and the median of the per-round ratios to the floor.
 *   `--vs DIR` also runs each command from another checkout at DIR (e.g. a copy of the tree
 *   before a change) in the same rounds, right after this one's, for a before/after table
 *   measured side by side. Each checkout has its own `$ASTRID_HOME` and workspace. `ASTRID_PROFILE=1` in the environment is passed on.
 *
 * The launcher caches its flags in `$ASTRID_HOME/cache/launch-flags.json` (_launch_cache.ts), so
 * after the warm-up every round measures a repeat run; `--cold` removes that file before each
 * run, to measure the first run after a change (the flags computed).
 *
 * `--installed` runs each command as the installed `astrid` instead (scripts/install.ts writes
 * it into a temporary folder for each checkout that has the script; a checkout without it runs
 * the launcher as above): after the warm-up, a repeat run starts the CLI straight under the
 * flags the launcher last used in the folder (runtime/cli/_launch_direct.ts).
 */
import { cliEnv } from "../tests/cli.ts";

const HERE = new URL("..", import.meta.url).pathname;
/** `--cold`: no cached launcher flags (see above). */
const COLD = Deno.args.includes("--cold");
/** `--installed`: through the installed `astrid` script (see above). */
const INSTALLED = Deno.args.includes("--installed");
/** The installed script of each checkout (by root), when it has one and `--installed` is given. */
const shims = new Map<string, string | null>();

async function shimOf(root: string): Promise<string | null> {
  if (!INSTALLED) return null;
  if (!shims.has(root)) {
    let path: string | null = null;
    try {
      const { installShim } = await import(`${root}scripts/install.ts`);
      path = await installShim(await Deno.makeTempDir({ prefix: "astrid-bench-bin-" }));
    } catch {
      path = null; // a checkout before the installed script: its launcher
    }
    shims.set(root, path);
  }
  return shims.get(root)!;
}

/**
 * A checkout's own `$ASTRID_HOME` and workspace: two checkouts sharing one would replace each
 * other's caches there (the config snapshot, the launcher's flags) on every run, and measure that.
 */
interface Place {
  readonly home: string;
  readonly ws: string;
}
const places = new Map<string, Place>();

async function placeOf(root: string): Promise<Place> {
  let place = places.get(root);
  if (place === undefined) {
    const home = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-bench-home-" }));
    const ws = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-bench-ws-" }));
    await Deno.writeTextFile(`${ws}/small.txt`, "line\n".repeat(40));
    place = { home, ws };
    places.set(root, place);
    const init = await command(["init", "."], root, null, place).output();
    if (init.code !== 0) throw new Error(`astrid init exited with ${init.code} (${root})`);
  }
  return place;
}

function envOf({ home }: Place): Record<string, string> {
  return {
    ...cliEnv(home),
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME") ?? "/root"}/.cache/deno`,
  };
}

/** The commands measured, by label: `astrid` arguments, or null for the floor. */
const COMMANDS: readonly [label: string, args: readonly string[] | null][] = [
  ["deno eval 1", null],
  ["tools call read_file", [
    "tools",
    "call",
    "read_file",
    "--approve",
    "once",
    "--args",
    JSON.stringify({ file_path: "small.txt" }),
  ]],
  ["tools list", ["tools", "list"]],
  ["audit list", ["audit", "list"]],
  ["approvals list", ["approvals", "list"]],
  ["--help", ["--help"]],
];

/**
 * The V8 flags `deno task astrid` gives the launcher in the checkout at `root` (its deno.json):
 * the child's own, so that the two share one code cache (runtime/cli/launch.ts `CHILD_V8_FLAGS`).
 */
function launcherFlags(root: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${root}deno.json`));
  const task = String(config.tasks?.astrid?.command ?? "");
  return task.split(/\s+/).filter((word) => word.startsWith("--v8-flags="));
}

/**
 * `astrid …args` as run from the checkout at `root` (a folder ending in `/`) in its `place`, or
 * the floor.
 */
function command(
  args: readonly string[] | null,
  root: string,
  shim: string | null,
  place: Place,
): Deno.Command {
  return new Deno.Command(args !== null && shim !== null ? shim : Deno.execPath(), {
    args: args === null ? ["eval", "1"] : shim !== null ? [...args] : [
      "run",
      "-A",
      "--quiet",
      ...launcherFlags(root),
      "--config",
      `${root}deno.json`,
      `${root}runtime/cli/launch.ts`,
      ...args,
    ],
    cwd: place.ws,
    env: {
      ...envOf(place),
      ...(Deno.env.get("ASTRID_PROFILE") === "1" ? { ASTRID_PROFILE: "1" } : {}),
    },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: Deno.env.get("ASTRID_PROFILE") === "1" ? "inherit" : "null",
  });
}

/** CPU time (user + system, ms) of this process's waited-for children so far (Linux). */
function childrenCpuMs(): number {
  // /proc/self/stat: fields after the command's closing parenthesis; cutime and cstime are the
  // 14th and 15th of those (fields 16 and 17 of the whole line), in clock ticks of 10 ms.
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/** One run: its wall and CPU time in ms. */
async function runOnce(
  label: string,
  args: readonly string[] | null,
  root = HERE,
): Promise<{ wall: number; cpu: number }> {
  const place = await placeOf(root);
  if (COLD) {
    try {
      Deno.removeSync(`${place.home}/cache/launch-flags.json`);
    } catch {
      // not written yet (or `--help`, which never computes flags)
    }
  }
  const shim = await shimOf(root);
  const cpu = childrenCpuMs();
  const start = performance.now();
  const { code } = await command(args, root, shim, place).output();
  const wall = performance.now() - start;
  if (code !== 0) throw new Error(`${label} exited with ${code}`);
  return { wall, cpu: childrenCpuMs() - cpu };
}

globalThis.addEventListener("unload", () => {
  for (const { home, ws } of places.values()) {
    for (const dir of [home, ws]) Deno.removeSync(dir, { recursive: true });
  }
  for (const shim of shims.values()) {
    if (shim !== null) Deno.removeSync(shim.slice(0, -"/bin/astrid".length), { recursive: true });
  }
});

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Per-command samples of one checkout: wall ms, CPU ms, wall ratio to the round's floor. */
class Samples {
  readonly wall = new Map<string, number[]>();
  readonly cpu = new Map<string, number[]>();
  readonly ratio = new Map<string, number[]>();

  add(label: string, run: { wall: number; cpu: number }, floor: number): void {
    for (
      const [map, value] of [[this.wall, run.wall], [this.cpu, run.cpu], [
        this.ratio,
        run.wall / floor,
      ]] as const
    ) {
      map.set(label, [...(map.get(label) ?? []), value]);
    }
  }

  /** `median wall | median CPU | median ratio` cells for `label`. */
  cells(label: string): string {
    const m = (map: Map<string, number[]>) => median(map.get(label) ?? [NaN]);
    return `${m(this.wall).toFixed(0)} | ${m(this.cpu).toFixed(0)} | ${m(this.ratio).toFixed(1)}`;
  }
}

if (import.meta.main) {
  const vsAt = Deno.args.indexOf("--vs");
  const vs = vsAt === -1 ? null : (await Deno.realPath(Deno.args[vsAt + 1]!)).replace(/\/?$/, "/");
  const rest = (vsAt === -1 ? Deno.args : Deno.args.filter((_, i) => i !== vsAt && i !== vsAt + 1))
    .filter((a) => a !== "--cold" && a !== "--installed");
  const rounds = Number(rest[0] ?? 10);
  const roots = vs === null ? [HERE] : [HERE, vs];
  for (const root of roots) {
    for (const [label, args] of COMMANDS) await runOnce(label, args, root); // warm Deno's caches
  }
  const samples = roots.map(() => new Samples());
  for (let round = 0; round < rounds; round++) {
    const floor = await runOnce("deno eval 1", null);
    for (const s of samples) s.add("deno eval 1", floor, floor.wall);
    for (const [label, args] of COMMANDS.slice(1)) {
      for (const [i, root] of roots.entries()) {
        samples[i]!.add(label, await runOnce(label, args, root), floor.wall);
      }
    }
  }
  const head = "median ms | CPU ms | × deno eval 1";
  console.log(
    `Medians of ${rounds} interleaved rounds; ratios are per round, wall time` +
      (COLD ? "; launcher flags computed on every run (--cold)" : "") +
      (INSTALLED ? "; through the installed astrid script (--installed)." : "."),
  );
  if (vs === null) {
    console.log(`| command | ${head} |\n|---|---|---|---|`);
    for (const [label] of COMMANDS) console.log(`| ${label} | ${samples[0]!.cells(label)} |`);
  } else {
    console.log(`this checkout: ${HERE}; vs: ${vs}`);
    console.log(`| command | vs: ${head} | this: ${head} |\n|---|---|---|---|---|---|---|`);
    for (const [label] of COMMANDS) {
      console.log(`| ${label} | ${samples[1]!.cells(label)} | ${samples[0]!.cells(label)} |`);
    }
  }
} else {
  for (const [label, args] of COMMANDS.slice(1)) {
    Deno.bench("deno eval 1", { group: label, baseline: true }, async () => {
      await runOnce("deno eval 1", null);
    });
    Deno.bench(`astrid ${label}`, { group: label }, async () => {
      await runOnce(label, args);
    });
  }
}
