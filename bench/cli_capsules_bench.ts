/**
 * What installed capsules cost the CLI (issue 15), run as a user runs it (tests/cli.ts: a
 * subprocess through the launcher): `astrid tools list --json` with 0, 10 and 50 capsules
 * installed (and the text listing, a line per tool, with 0 and 50), and one capsule tool call
 * (`c0__echo`) with 1 and with 50 installed. It prints the median of interleaved rounds (every
 * case once per round, in a rotating order, so a busy machine slows them alike) and the ratios,
 * of the medians and per round (targets: 50 installed ≤ 1.1× none; a call with 50 ≤ 1.1× with
 * 1); the absolute times depend on the machine.
 *
 * Installing writes the audit log (each install is an audited action, checkpointed and
 * witnessed), and opening a log with entries costs more than opening an empty one (its witness
 * and signed head are checked). One more world, 50 capsules installed and then removed, has that
 * history without any capsule: `tools list` there against 50 installed is what the capsules
 * themselves cost. A plain script (`deno run -A
 * bench/cli_capsules_bench.ts [rounds]`): `Deno.bench` mis-times runs of child processes here.
 *
 * Every capsule is a renamed copy of the probe (runtime/capsule/_testing.ts), compiled once by
 * the real toolchain and installed with `astrid capsule install --yes`. The warm-up round (not
 * timed) is the first listing after the installs: it checks every capsule in full and writes the
 * signed listing cache (runtime/capsule/_list_cache.ts) that the timed rounds then use, as every
 * command after the first does.
 *
 * @module
 */
import { runCli, tempDirs } from "../tests/cli.ts";
import { probeCopy } from "../runtime/capsule/_testing.ts";

async function world(installed: number, removed = false): Promise<{ home: string; ws: string }> {
  const { home, ws } = await tempDirs();
  const init = await runCli(["init", ws], { home });
  if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
  const names = Array.from({ length: installed }, (_, i) => `c${i}`);
  // Four installs at a time: each is its own CLI process.
  for (let at = 0; at < names.length; at += 4) {
    await Promise.all(
      names.slice(at, at + 4).map(async (name) => {
        const run = await runCli(["capsule", "install", await probeCopy(name), "--yes"], {
          home,
          cwd: ws,
        });
        if (run.code !== 0) throw new Error(`install ${name} failed: ${run.stderr}`);
      }),
    );
  }
  for (const name of removed ? names : []) {
    const run = await runCli(["capsule", "remove", name], { home, cwd: ws });
    if (run.code !== 0) throw new Error(`remove ${name} failed: ${run.stderr}`);
  }
  return { home, ws };
}

const worlds = {
  none: await world(0),
  one: await world(1),
  ten: await world(10),
  fifty: await world(50),
  emptied: await world(50, true),
};

async function cli(w: { home: string; ws: string }, args: string[]): Promise<void> {
  const run = await runCli(args, { home: w.home, cwd: w.ws });
  if (run.code !== 0) throw new Error(`astrid ${args.join(" ")}: exit ${run.code}\n${run.stderr}`);
}

const list = ["tools", "list", "--json"];
/** The listing a user reads: a line per tool. */
const text = ["tools", "list"];
const call = ["tools", "call", "c0__echo", "--args", '{"x":1}', "--approve", "once"];
const cases: [string, { home: string; ws: string }, string[]][] = [
  ["tools list, 0 installed", worlds.none, list],
  ["tools list, 10 installed", worlds.ten, list],
  ["tools list, 50 installed", worlds.fifty, list],
  ["capsule tool call, 1 installed", worlds.one, call],
  ["capsule tool call, 50 installed", worlds.fifty, call],
  ["tools list, 50 installed and removed", worlds.emptied, list],
  ["tools list as text, 0 installed", worlds.none, text],
  ["tools list as text, 50 installed", worlds.fifty, text],
];
const rounds = Number(Deno.args[0] ?? 9);
const times = cases.map(() => [] as number[]);
for (const [, w, args] of cases) await cli(w, args); // warm Deno's caches
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < cases.length; k++) {
    const i = (k + r) % cases.length;
    const [, w, args] = cases[i]!;
    const start = performance.now();
    await cli(w, args);
    times[i]!.push(performance.now() - start);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const m = times.map(median);
for (const [i, [name]] of cases.entries()) console.log(`${name.padEnd(34)} ${m[i]!.toFixed(0)} ms`);
/**
 * Case `a` over case `b`: the ratio of their medians, and the median of the per-round ratios (the
 * two ran in the same round, so a drift of the machine's speed between rounds cancels out).
 */
const ratio = (a: number, b: number) => {
  const paired = median(times[a]!.map((t, r) => t / times[b]![r]!));
  return `${(m[a]! / m[b]!).toFixed(2)}× (per round: ${paired.toFixed(2)}×)`;
};
console.log(`tools list: 10 / none = ${ratio(1, 0)}, 50 / none = ${ratio(2, 0)} (target ≤ 1.1×)`);
console.log(`capsule call: 50 / 1 = ${ratio(4, 3)} (target ≤ 1.1×)`);
console.log(
  `tools list: 50 / none with the same audit history (50 installed and removed) = ${ratio(2, 5)}`,
);
console.log(`tools list as text: 50 / none = ${ratio(7, 6)} (target ≤ 1.1×)`);
for (const w of Object.values(worlds)) {
  for (const dir of [w.home, w.ws]) await Deno.remove(dir, { recursive: true }).catch(() => {});
}
