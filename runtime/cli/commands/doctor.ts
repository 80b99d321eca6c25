/**
 * `astrid doctor [--json]`: checks what the runtime needs, one line per check, each failure
 * with a fix. Exit 1 when any check fails; warnings (offline, no user namespaces as root) do
 * not fail.
 *
 * @module
 */
import { Command } from "commander";
import { join } from "node:path";
import type { AstridConfig, AstridPaths } from "../../config/mod.ts";
import { type CliIo, loadCliConfig, printJson, wantsJson } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { describeCode, freshBuild } from "../_bundle.ts";

/** The outcome of one check. */
export interface DoctorCheck {
  /**
   * Short name: `deno`, `sandbox`, `engine`, `bundle`, `keys`, `config`, `provider`, `kv`,
   * `audit`.
   */
  readonly name: string;
  readonly status: "ok" | "warn" | "fail";
  /** What was found. */
  readonly detail: string;
  /** How to fix a warning or failure. */
  readonly fix?: string;
}

const ok = (name: string, detail: string): DoctorCheck => ({ name, status: "ok", detail });
const bad = (
  name: string,
  status: "warn" | "fail",
  detail: string,
  fix: string,
): DoctorCheck => ({ name, status, detail, fix });

/** The repository's engine build (toolchain/engine/build.ts writes it). */
const ENGINE = new URL("../../../.build/engine/engine.wasm", import.meta.url).pathname;

/**
 * The Deno check: Astrid needs Deno 2.
 *
 * @example This Deno passes
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { checkDeno } from "./doctor.ts";
 * equal(checkDeno(Deno.version.deno).status, "ok");
 * equal(checkDeno("1.46.3").status, "fail");
 * ```
 */
export function checkDeno(version: string): DoctorCheck {
  const major = Number(version.split(".")[0]);
  return major >= 2
    ? ok("deno", `Deno ${version} (${Deno.execPath()})`)
    : bad("deno", "fail", `Deno ${version}`, "install Deno 2 or newer: `deno upgrade`");
}

async function checkSandbox(): Promise<DoctorCheck> {
  const { probeSandbox } = await import("../../sandbox/mod.ts");
  const found = await probeSandbox();
  const root = Deno.uid() === 0;
  if (!found.ok) {
    return bad(
      "sandbox",
      "fail",
      `bubblewrap cannot build a sandbox: ${found.why}`,
      "install bubblewrap (`apt-get install bubblewrap`) and allow unprivileged user namespaces " +
        "(`sysctl kernel.unprivileged_userns_clone=1`, or on Ubuntu " +
        "`sysctl kernel.apparmor_restrict_unprivileged_userns=0`)",
    );
  }
  if (found.userns) {
    return ok("sandbox", `${found.bwrap} with user namespaces${root ? " (running as root)" : ""}`);
  }
  return bad(
    "sandbox",
    "warn",
    `${found.bwrap} runs without user namespaces${
      root ? " (as root: capabilities are still dropped)" : ""
    }`,
    "allow user namespaces so sandboxed processes run as an unprivileged uid " +
      "(`sysctl user.max_user_namespaces=15000`)",
  );
}

async function checkEngine(path: string): Promise<DoctorCheck> {
  try {
    const info = await Deno.stat(path);
    const head = new Uint8Array(4);
    using file = await Deno.open(path);
    await file.read(head);
    const magic = head[0] === 0 && head[1] === 0x61 && head[2] === 0x73 && head[3] === 0x6d;
    if (!magic) {
      return bad("engine", "fail", `${path} is not a WebAssembly module`, "run `deno task setup`");
    }
    return ok("engine", `${path} (${info.size} bytes)`);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    return bad(
      "engine",
      "warn",
      `no capsule engine build at ${path} (needed to compile capsules)`,
      "run `deno task setup`",
    );
  }
}

/** The CLI bundle check: a build made from the sources as they are (runtime/cli/_bundle.ts). */
function checkBundle(): DoctorCheck {
  return freshBuild() !== null
    ? ok("bundle", describeCode())
    : bad("bundle", "warn", describeCode(), "run `deno task setup` (or `deno task install`)");
}

/**
 * The keys check: every file in the keys folder is private to its owner (mode 0600).
 *
 * @example A missing folder is a warning, not a failure
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { checkKeys } from "./doctor.ts";
 * equal((await checkKeys("/nonexistent/keys")).status, "warn");
 * ```
 */
export async function checkKeys(keysDir: string): Promise<DoctorCheck> {
  const loose: string[] = [];
  const files: string[] = [];
  try {
    for await (const entry of Deno.readDir(keysDir)) {
      if (!entry.isFile) continue;
      const path = join(keysDir, entry.name);
      files.push(entry.name);
      if (((await Deno.stat(path)).mode ?? 0) & 0o077) loose.push(path);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    return bad("keys", "warn", `no keys in ${keysDir} yet`, "run `astrid keys generate`");
  }
  if (loose.length > 0) {
    return bad(
      "keys",
      "fail",
      `readable by others: ${loose.join(", ")}`,
      `chmod 600 ${loose.join(" ")}`,
    );
  }
  if (!files.includes("runtime.key")) {
    return bad("keys", "warn", `no runtime key in ${keysDir}`, "run `astrid keys generate`");
  }
  return ok("keys", `${files.length} key file(s) in ${keysDir}, all mode 0600`);
}

/** The base URL the configured provider is called at (what the LLM modules default to). */
function providerUrl(model: AstridConfig["model"]): string | null {
  if (model.api_url) return model.api_url;
  if (model.provider === "anthropic") return "https://api.anthropic.com";
  if (model.provider === "openai") return "https://api.openai.com/v1";
  return null;
}

async function checkProvider(model: AstridConfig["model"], timeoutMs: number) {
  const url = providerUrl(model);
  if (url === null) return ok("provider", `${model.provider} (served by a capsule)`);
  try {
    const res = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return ok(
      "provider",
      `${model.provider} ${model.model} at ${url} answers (HTTP ${res.status})`,
    );
  } catch (err) {
    return bad(
      "provider",
      "warn",
      `${model.provider} at ${url} did not answer: ${(err as Error).message}`,
      "check the network, or set [model] api_url (or ANTHROPIC_BASE_URL / OPENAI_BASE_URL)",
    );
  }
}

async function checkStore(paths: AstridPaths, config: AstridConfig, io: CliIo) {
  const location = config.storage.kv_url || paths.stateKv;
  const [{ openStore }, { loadRuntimeKey }, { verifyStore }, { resolveWitnessPath }] = await Promise
    .all([
      import("../../storage/mod.ts"),
      import("../../crypto/mod.ts"),
      import("../../audit/mod.ts"),
      import("../../config/mod.ts"),
    ]);
  let store;
  try {
    store = await openStore(location);
    await store.get(["audit", "head"]);
  } catch (err) {
    return [
      bad(
        "kv",
        "fail",
        `cannot open ${location}: ${(err as Error).message}`,
        "check [storage] kv_url and the permissions of the state file",
      ),
      bad("audit", "fail", "not verified: the store did not open", "fix the kv check first"),
    ];
  }
  try {
    const checks = [ok("kv", `${location} opens and reads`)];
    const key = await loadRuntimeKey(paths.keysDir).catch(() => null);
    if (!key) {
      checks.push(
        bad("audit", "warn", "not verified: no runtime key", "run `astrid keys generate`"),
      );
      return checks;
    }
    const userHome = io.env.HOME?.startsWith("/") ? io.env.HOME : undefined;
    const report = await verifyStore(store, key.publicKey, {
      witnessPath: resolveWitnessPath(config.audit.witness_path, paths.home, userHome),
      storeLocation: location,
    });
    checks.push(
      report.ok ? ok("audit", `chain of ${report.entries} entries verifies`) : bad(
        "audit",
        "fail",
        `verification failed${report.firstBad ? ` at entry ${report.firstBad.seq}` : ""}`,
        "run `astrid audit verify` for the details, and keep a copy of the state before any repair",
      ),
    );
    return checks;
  } finally {
    store.close();
  }
}

/** Runs every check (the provider with `timeoutMs`). */
export async function runChecks(
  cmd: Command,
  io: CliIo,
  timeoutMs = 3000,
): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [checkDeno(Deno.version.deno)];
  const [sandbox, engine] = await Promise.all([checkSandbox(), checkEngine(ENGINE)]);
  checks.push(sandbox, engine, checkBundle());
  let loaded;
  try {
    loaded = await loadCliConfig(cmd, io);
  } catch (err) {
    checks.push(
      bad(
        "config",
        "fail",
        (err as Error).message,
        "fix the file named above (`astrid config validate`)",
      ),
    );
    return checks;
  }
  const { paths, config, warnings } = loaded;
  checks.push(await checkKeys(paths.keysDir));
  checks.push(
    warnings.length > 0
      ? bad("config", "warn", warnings.join("; "), "see `astrid config show`")
      : ok("config", `valid (${paths.userConfig})`),
  );
  checks.push(await checkProvider(config.model, timeoutMs));
  checks.push(...await checkStore(paths, config, io));
  return checks;
}

/**
 * Builds the `doctor` command.
 *
 * @example One command with --json
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { doctorCommand } from "./doctor.ts";
 * const io = { env: {}, cwd: "/", isTty: false, stdout() {}, stderr() {} };
 * equal(doctorCommand(io).name(), "doctor");
 * ```
 */
export function doctorCommand(io: CliIo): Command {
  return new Command("doctor")
    .description(
      "Check Deno, the sandbox, the engine build, keys, config, the provider, KV and the audit log",
    )
    .option("--json", "machine-readable output")
    .action(async (_opts: unknown, cmd: Command) => {
      const checks = await runChecks(cmd, io);
      if (wantsJson(cmd, io)) printJson(io, checks);
      else {
        for (const c of checks) {
          io.stdout(`${c.status.padEnd(4)}  ${c.name.padEnd(8)} ${c.detail}\n`);
          if (c.fix) io.stdout(`${" ".repeat(15)}fix: ${c.fix}\n`);
        }
      }
      const failed = checks.filter((c) => c.status === "fail").map((c) => c.name);
      if (failed.length > 0) {
        throw new CliError(`doctor: ${failed.join(", ")} failed`, ExitCode.Error);
      }
    });
}
