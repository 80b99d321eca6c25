/**
 * Idempotent setup for a fresh machine that has only Node/npm: caches the npm dependencies,
 * installs the Debian packages the runtime and its tests need (bubblewrap for the bash sandbox,
 * docker-registry for the publishing tests, chromium for the web inbox's browser tests), and
 * builds the capsule engine (Debian's clang-19 and QuickJS source package; cached by input hash)
 * and the CLI bundle (scripts/build_cli.ts; skipped while it matches the sources).
 * Prints one progress line per step. Run by `deno task test`, `deno task demo` and `deno task bench`.
 *
 * @module
 */

const steps: { name: string; run: () => Promise<string> }[] = [
  { name: "npm dependencies", run: cacheDependencies },
  { name: "bubblewrap (bash sandbox)", run: () => ensureApt("bwrap", ["bubblewrap"]) },
  {
    name: "docker-registry (OCI registry for the publishing tests)",
    run: () => ensureApt("docker-registry", ["docker-registry"]),
  },
  {
    name: "chromium (real-browser tests of the web inbox, via playwright-core)",
    run: () => ensureApt("chromium", ["chromium"]),
  },
  { name: "capsule engine (QuickJS → wasm32)", run: buildCapsuleEngine },
  { name: "CLI bundle (runtime/cli/_bundle.ts)", run: buildCliBundle },
  { name: "OpenClaw test fixtures' npm dependencies", run: () => npmCi("testdata/openclaw") },
  { name: "first-party capsules' npm dependencies", run: () => npmCi("capsules") },
];

/**
 * `npm ci` in `folder` (a folder of this repository with its own package-lock.json), skipped
 * when its node_modules was installed from the same lock file (a SHA-256 stamp inside it).
 * Used for the OpenClaw fixtures (testdata/openclaw: typebox, axios, …) and the first-party
 * capsules (capsules/: htmlparser2, yaml, jsonpath-plus, acorn, a workspace per capsule).
 */
async function npmCi(folder: string): Promise<string> {
  const dir = new URL(`../${folder}/`, import.meta.url);
  const lock = await Deno.readTextFile(new URL("package-lock.json", dir));
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(lock)),
  );
  const stamp = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  const stampFile = new URL("node_modules/.astrid-lock-sha256", dir);
  const seen = await Deno.readTextFile(stampFile).catch(() => "");
  if (seen.trim() === stamp) return "cached";
  const out = await new Deno.Command("npm", {
    args: ["ci", "--no-audit", "--no-fund", "--loglevel=error"],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`npm ci in ${folder} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  await Deno.writeTextFile(stampFile, `${stamp}\n`);
  return "installed with npm ci";
}

async function buildCapsuleEngine(): Promise<string> {
  const { buildEngine } = await import("../toolchain/engine/build.ts");
  const built = await buildEngine({ log: (line) => console.error(`setup:   ${line}`) });
  return `${built.cached ? "cached" : "built"} ${built.path} (${built.bytes} bytes)`;
}

async function buildCliBundle(): Promise<string> {
  const { buildCli } = await import("./build_cli.ts");
  const built = await buildCli();
  return built.cached
    ? `up to date (${built.dir})`
    : `built ${built.dir} (${built.modules} modules, ${built.chunks} files)`;
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
  // Some packages ship files without the world-read bit (qrcode@1.5.4: 0640). Deno then treats
  // the package as missing for any other user (the tests that run as `nobody`, a shared
  // checkout) and tries to download it again. Everything here is public code: open it up.
  const chmod = await new Deno.Command("chmod", {
    args: ["-R", "a+rX", new URL("../node_modules", import.meta.url).pathname],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!chmod.success) {
    throw new Error(`chmod of node_modules failed:\n${new TextDecoder().decode(chmod.stderr)}`);
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
  // A download can take a minute or more (chromium): say so before it starts.
  console.error(`setup: installing ${packages.join(" ")} with apt-get…`);
  let out = await apt(["install", "-y", "--no-install-recommends", ...packages]);
  if (!out.success) {
    await apt(["update"]);
    out = await apt(["install", "-y", "--no-install-recommends", ...packages]);
  }
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n").pop();
    return `NOT installed (${why}); what needs it refuses to run until it is`;
  }
  return "installed with apt";
}

for (const step of steps) {
  const started = performance.now();
  const result = await step.run();
  const ms = Math.round(performance.now() - started);
  console.error(`setup: ${step.name}: ${result} (${ms} ms)`);
}
