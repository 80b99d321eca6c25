/**
 * Idempotent setup for a fresh machine that has only Node/npm: caches the npm dependencies,
 * installs the Debian packages the runtime's walls need (bubblewrap for the bash sandbox), and
 * builds the capsule engine (Debian's clang-19 and QuickJS source package; cached by input hash).
 * Prints one progress line per step. Run by `deno task test`, `deno task demo` and `deno task bench`.
 *
 * @module
 */

const steps: { name: string; run: () => Promise<string> }[] = [
  { name: "npm dependencies", run: cacheDependencies },
  { name: "bubblewrap (bash sandbox)", run: () => ensureApt("bwrap", ["bubblewrap"]) },
  { name: "capsule engine (QuickJS → wasm32)", run: buildCapsuleEngine },
];

async function buildCapsuleEngine(): Promise<string> {
  const { buildEngine } = await import("../toolchain/engine/build.ts");
  const built = await buildEngine({ log: (line) => console.error(`setup:   ${line}`) });
  return `${built.cached ? "cached" : "built"} ${built.path} (${built.bytes} bytes)`;
}

async function cacheDependencies(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["install", "--quiet"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`deno install failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  return "cached";
}

async function which(bin: string): Promise<boolean> {
  const out = await new Deno.Command("sh", { args: ["-c", `command -v ${bin}`], stdout: "null" })
    .output();
  return out.success;
}

async function ensureApt(bin: string, packages: string[]): Promise<string> {
  if (await which(bin)) return "already installed";
  if (Deno.build.os !== "linux" || !(await which("apt-get"))) {
    return `not installed (no apt-get here); install ${packages.join(" ")} yourself`;
  }
  const isRoot = Deno.uid() === 0;
  const sudo = isRoot ? [] : ["sudo", "-n"];
  const apt = async (args: string[]) => {
    const [cmd, ...rest] = [...sudo, "apt-get", ...args];
    return await new Deno.Command(cmd!, {
      args: rest,
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdout: "null",
      stderr: "piped",
    }).output();
  };
  let out = await apt(["install", "-y", "--no-install-recommends", ...packages]);
  if (!out.success) {
    await apt(["update"]);
    out = await apt(["install", "-y", "--no-install-recommends", ...packages]);
  }
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n").pop();
    return `NOT installed (${why}); bash will refuse to run until it is`;
  }
  return "installed with apt";
}

for (const step of steps) {
  const started = performance.now();
  const result = await step.run();
  const ms = Math.round(performance.now() - started);
  console.error(`setup: ${step.name}: ${result} (${ms} ms)`);
}
