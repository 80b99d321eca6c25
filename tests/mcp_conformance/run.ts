/**
 * Runs every client scenario of the official MCP conformance suite against our driver and
 * compares the outcome with expected_failures.json. Exits 1 on an unexpected failure, and on
 * an expected failure that now passes (so the list never goes stale). Loopback only: the
 * suite starts its own test servers on localhost.
 *
 * Usage: `deno run -A tests/mcp_conformance/run.ts [--scenario NAME] [--verbose]`
 * (wire as `deno task conformance`).
 *
 * @module
 */
const SUITE = "npm:@modelcontextprotocol/conformance@0.1.16";
const HERE = new URL(".", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;
const DRIVER = `${HERE}driver.ts`;

/** One scenario's result. */
interface ScenarioResult {
  readonly scenario: string;
  readonly passed: boolean;
  readonly checks: string;
  readonly detail: string;
}

async function deno(args: string[], cwd: string): Promise<{ code: number; out: string }> {
  const res = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  // deno-lint-ignore no-control-regex
  const plain = (b: Uint8Array) => dec.decode(b).replace(/\x1b\[[0-9;]*m/g, "");
  return { code: res.code, out: plain(res.stdout) + plain(res.stderr) };
}

/** The client scenarios the suite lists. */
async function listScenarios(cwd: string): Promise<string[]> {
  const { out } = await deno(["run", "-A", "--quiet", SUITE, "list"], cwd);
  const client = out.split("Client scenarios")[1] ?? "";
  return [...client.matchAll(/^\s+- (\S+)/gm)].map((m) => m[1] ?? "").filter(Boolean);
}

/** Runs one scenario in `cwd` (where the suite writes its results/ folder). */
async function runOne(scenario: string, cwd: string): Promise<ScenarioResult> {
  const command = `${Deno.execPath()} run -A --quiet --config ${CONFIG} ${DRIVER}`;
  const { code, out } = await deno(
    ["run", "-A", "--quiet", SUITE, "client", "--command", command, "--scenario", scenario],
    cwd,
  );
  const checks = /Passed: (\d+\/\d+, \d+ failed, \d+ warnings)/.exec(out)?.[1] ?? "no checks";
  const failures = out.split("\n").filter((l) => /\bFAILURE\b/.test(l)).map((l) =>
    l.replace(/^\S+\s+/, "").trim()
  );
  return { scenario, passed: code === 0, checks, detail: failures.join("; ") || out.slice(-500) };
}

if (import.meta.main) {
  const only = Deno.args.includes("--scenario")
    ? Deno.args[Deno.args.indexOf("--scenario") + 1]
    : undefined;
  const verbose = Deno.args.includes("--verbose");
  const expected: Record<string, string> = JSON.parse(
    await Deno.readTextFile(`${HERE}expected_failures.json`),
  ).client ?? {};
  const cwd = await Deno.makeTempDir({ prefix: "astrid-mcp-conformance-" });
  try {
    const scenarios = only ? [only] : await listScenarios(cwd);
    let passed = 0;
    let bad = 0;
    for (const scenario of scenarios) {
      const r = await runOne(scenario, cwd);
      if (r.passed) passed++;
      const known = Object.hasOwn(expected, scenario);
      const verdict = r.passed
        ? (known ? "STALE (passes but is listed as expected failure)" : "pass")
        : (known ? "expected failure" : "UNEXPECTED FAILURE");
      if ((r.passed && known) || (!r.passed && !known)) bad++;
      console.log(`${scenario.padEnd(45)} ${verdict.padEnd(18)} ${r.checks}`);
      if (verbose || (!r.passed && !known)) console.log(`    ${r.detail}`);
    }
    console.log(`\n${passed}/${scenarios.length} client scenarios pass`);
    if (bad > 0) {
      console.log(`${bad} scenario(s) differ from expected_failures.json`);
      Deno.exitCode = 1;
    }
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}
