/**
 * `astrid capsule upgrade NAME [REF]`, and what every reinstall over an existing install does
 * besides the capability diff of `capsule install`:
 * - the source must be a compiled capsule: a folder of sources without `capsule.wasm` is refused
 *   (usage, exit 2) with the compile hint, and a capsule without wasm only installs when its
 *   manifest is static by itself (`checkInstallSource`, runtime/capsule/install.ts);
 * - the `[env]` diff (keys added, removed, changed type) is shown next to the capability diff;
 *   stored values are kept for keys still declared with the same type (a secret stays a secret),
 *   the others are deleted, and new required keys are asked or taken from `--env`;
 * - the capsule's KV data is kept unless the human drops it: `--reset-data` drops it,
 *   `--keep-data` keeps it, a terminal asks, and with neither (`--yes`, or no terminal) it is
 *   kept (data the old version wrote may not suit the new one, but deleting user data silently
 *   is worse). It is dropped only after the new version installed.
 *
 * `upgrade NAME [REF]` reinstalls the capsule installed as NAME (the workspace's first, as for
 * `remove`) from REF: a compiled capsule folder or `oci://HOST[:PORT]/REPO:TAG`. Without REF it
 * uses the reference the install record names, else the installed folder itself (after an edit
 * in place). The source must be a capsule called NAME; asking, `--yes` and the exit codes are
 * those of `capsule install` (no terminal and no `--yes`: exit 2; declined: exit 3).
 *
 * @module
 */
import type { Command } from "commander";
import type {
  CapsuleDirs,
  CapsuleManifest,
  InstallRecord,
  InstallRecords,
  InstallScope,
  RecordRead,
} from "../../capsule/mod.ts";
import type { Store } from "../../storage/mod.ts";
import { type CliIo, type Runtime, withRuntime } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { isRegistryRef, registryInstall } from "./capsule_registry.ts";

/** The capsule runtime, loaded on first use (kept out of the start-up module graph). */
const lib = () =>
  import(new URL("../../capsule/mod.ts", import.meta.url).href) as Promise<
    typeof import("../../capsule/mod.ts")
  >;
const installLib = () =>
  import(new URL("../../capsule/install.ts", import.meta.url).href) as Promise<
    typeof import("../../capsule/install.ts")
  >;
const envLib = () =>
  import(new URL("../../capsule/env_store.ts", import.meta.url).href) as Promise<
    typeof import("../../capsule/env_store.ts")
  >;
const diffLib = () =>
  import(new URL("../../capsule/record_diff.ts", import.meta.url).href) as Promise<
    typeof import("../../capsule/record_diff.ts")
  >;

/** What a reinstall does with the capsule's data; `--keep-data` / `--reset-data`. */
export interface DataFlags {
  readonly keepData?: boolean;
  readonly resetData?: boolean;
}

/** What `upgrade` passes to the install action on top of its own flags. */
export interface UpgradeInstallOpts extends DataFlags {
  readonly yes?: boolean;
  readonly env?: string[];
  readonly scope?: InstallScope;
  /** The name the source must have (`upgrade NAME`). */
  readonly expectName?: string;
}

/** The install action of `capsule install`, which `upgrade` reuses. */
export type InstallAction = (
  rt: Runtime,
  cmd: Command,
  source: string,
  opts: UpgradeInstallOpts,
) => Promise<void>;

/** What {@link registerUpgrade} needs from the `capsule` command tree. */
export interface UpgradeDeps {
  readonly install: InstallAction;
  /** Maps capsule errors to exit codes, as the other capsule commands do. */
  readonly guarded: <T>(fn: () => Promise<T>) => Promise<T>;
}

/**
 * Refuses a source that is not installable as it is (a source folder, a missing wasm, a
 * manifest that is not static by itself): usage, exit 2, with the hint.
 *
 * @example A compiled-looking static capsule passes
 * ```ts
 * import { refuseUncompiled } from "./capsule_upgrade.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(
 *   `${dir}/Capsule.toml`,
 *   '[package]\nname = "n"\nversion = "1"\n[[command]]\nname = "c"\nprompt = "hi"\n',
 * );
 * await refuseUncompiled(dir);
 * ```
 */
export async function refuseUncompiled(dir: string): Promise<void> {
  const check = await (await installLib()).checkInstallSource(dir);
  if (!check.ok) throw new CliError(`${check.reason}; ${check.hint}`, ExitCode.Usage);
}

/**
 * Refuses a source whose manifest names another capsule than the one being upgraded.
 *
 * @example
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { refuseOtherName } from "./capsule_upgrade.ts";
 * refuseOtherName(undefined, "any", "/src");
 * throws(() => refuseOtherName("notes", "evil", "/src"), /is capsule evil, not notes/);
 * ```
 */
export function refuseOtherName(expect: string | undefined, name: string, src: string): void {
  if (expect === undefined || expect === name) return;
  throw new CliError(
    `Cannot upgrade ${expect}: ${src} is capsule ${name}, not ${expect} ` +
      `(install it with \`astrid capsule install\` if you want both)`,
    ExitCode.Usage,
  );
}

/**
 * Shows the `[env]` changes since the earlier install and returns the stored values that still
 * apply (same key, same type). Without an earlier record nothing is kept or shown.
 */
export async function reviewEnv(
  io: CliIo,
  previous: InstallRecord | null,
  manifest: CapsuleManifest,
  envPath: string,
): Promise<{ kept: Record<string, string>; dropped: string[] }> {
  if (!previous) return { kept: {}, dropped: [] };
  const [{ carryEnv, readEnvFile }, { envDiff, pinnedSpec }] = await Promise.all([
    envLib(),
    diffLib(),
  ]);
  const stored = await readEnvFile(envPath);
  const carried = carryEnv(stored, previous.env, manifest);
  const changes = envDiff(previous.env, pinnedSpec(manifest, null).env, Object.keys(stored));
  io.stderr("  [env] changes:\n");
  for (const c of changes) io.stderr(`    ${c.sign} ${c.what}\n`);
  if (changes.length === 0) io.stderr("    (no [env] changes)\n");
  const kept = Object.keys(carried.kept);
  if (kept.length) io.stderr(`  [env] values kept: ${kept.join(", ")}\n`);
  return carried;
}

/** What happens to the capsule's KV data: nothing stored, kept, or dropped after install. */
export type DataFate = "none" | "keep" | "reset";

/**
 * Decides what happens to capsule `name`'s KV data: the flags, else the terminal's answer
 * (`[Y/n]`: keep unless the human says no), else keep. Both flags at once is a usage error.
 */
export async function decideData(
  io: CliIo,
  store: Store,
  name: string,
  flags: DataFlags,
  ask: boolean,
): Promise<DataFate> {
  if (flags.keepData && flags.resetData) {
    throw new CliError(
      "Cannot use --keep-data with --reset-data: choose one",
      ExitCode.Usage,
    );
  }
  const count = await (await installLib()).countCapsuleData(store, name);
  if (count === 0) return "none";
  const entries = `${count} KV entr${count === 1 ? "y" : "ies"}`;
  if (flags.resetData) {
    io.stderr(`  data: ${entries} to delete once installed (--reset-data)\n`);
    return "reset";
  }
  if (!flags.keepData && ask) {
    const answer = await io.readLine!(
      `Keep ${name}'s stored data (${entries})? The new version may not read what the old one ` +
        "wrote. [Y/n] ",
    );
    if (/^n(o)?$/i.test(answer?.trim() ?? "")) return "reset";
  }
  io.stderr(`  data: ${entries} kept (--reset-data drops them)\n`);
  return "keep";
}

/** Applies a {@link DataFate} once the install succeeded; returns the entries deleted. */
export async function applyData(store: Store, name: string, fate: DataFate): Promise<number> {
  if (fate !== "reset") return 0;
  return await (await installLib()).resetCapsuleData(store, name);
}

interface UpgradeOpts extends DataFlags {
  readonly yes?: boolean;
  readonly env?: string[];
  readonly trustPublisher?: string;
}

/**
 * Registers `capsule upgrade NAME [REF]` on the `capsule` command.
 *
 * @example The command is added
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { Command } from "commander";
 * import { registerUpgrade } from "./capsule_upgrade.ts";
 * const capsule = new Command("capsule");
 * const io = { env: {}, cwd: "/", isTty: false, stdout: () => {}, stderr: () => {} };
 * registerUpgrade(capsule, io, { install: () => Promise.resolve(), guarded: (fn) => fn() });
 * equal(capsule.commands[0]?.name(), "upgrade");
 * ```
 */
export function registerUpgrade(capsule: Command, io: CliIo, deps: UpgradeDeps): void {
  capsule.command("upgrade")
    .description(
      "Upgrade an installed capsule, showing its capability and [env] changes (keeps its data " +
        "unless --reset-data)",
    )
    .argument("<name>", "the installed capsule's name")
    .argument(
      "[ref]",
      "a compiled capsule folder or oci://HOST[:PORT]/REPO:TAG (default: the recorded " +
        "reference, else the installed folder)",
    )
    .option("-y, --yes", "accept the changes without asking (the data is kept)")
    .option("--env <KEY=VALUE...>", "an [env] value (prefer the prompt for secrets)")
    .option("--keep-data", "keep the capsule's KV data without asking")
    .option("--reset-data", "delete the capsule's KV data once the new version is installed")
    .option("--trust-publisher <fingerprint>", "accept a new publisher key (registry references)")
    .option("--json", "print the result as JSON")
    .action((name: string, ref: string | undefined, opts: UpgradeOpts, cmd: Command) =>
      deps.guarded(() =>
        withRuntime(cmd, io, async (rt) => {
          await upgrade(rt, cmd, name, ref, opts, deps);
          // A running daemon restarts the capsule's cron entries and services now (best effort).
          const { notifyCapsulesChanged } = await import("./daemon.ts");
          await notifyCapsulesChanged(rt.paths.home, (line) => rt.io.stderr(`${line}\n`));
        })
      )
    );
}

/** The install of `name`, the workspace's first (as `remove` finds it), or null. */
async function installedRecord(
  dirs: CapsuleDirs,
  records: InstallRecords,
  name: string,
): Promise<{ scope: InstallScope; read: RecordRead } | null> {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) return null;
  const scopes: InstallScope[] = dirs.workspaceRoot === null ? ["user"] : ["workspace", "user"];
  for (const scope of scopes) {
    const read = await records.read(scope, dirs.workspaceRoot, name);
    if (read) return { scope, read };
  }
  return null;
}

/** The reference a record names (`publisher.ref`, once registry installs record it). */
function recordedRef(record: InstallRecord): string | null {
  const publisher: unknown = record.publisher;
  if (publisher && typeof publisher === "object" && "ref" in publisher) {
    const ref = (publisher as { ref: unknown }).ref;
    if (typeof ref === "string" && isRegistryRef(ref)) return ref;
  }
  return null;
}

async function upgrade(
  rt: Runtime,
  cmd: Command,
  name: string,
  ref: string | undefined,
  opts: UpgradeOpts,
  deps: UpgradeDeps,
): Promise<void> {
  const { capsuleDirs, InstallRecords } = await lib();
  const dirs = capsuleDirs(rt.paths.home, rt.paths.workspaceRoot);
  const found = await installedRecord(dirs, new InstallRecords(rt.store, rt.key), name);
  if (!found) {
    throw new CliError(
      `Cannot upgrade ${JSON.stringify(name)}: no capsule of that name is installed ` +
        "(install it with `astrid capsule install DIR`)",
      ExitCode.Error,
    );
  }
  const record = found.read.ok ? found.read.record : null;
  const source = ref ?? (record ? recordedRef(record) ?? record.dir : null);
  if (source === null) {
    const why = found.read.ok ? "" : ` (its install record is refused: ${found.read.reason})`;
    throw new CliError(
      `Cannot upgrade ${name} without REF${why}: give the folder or oci:// reference to ` +
        "upgrade from",
      ExitCode.Usage,
    );
  }
  const install = (dir: string) =>
    deps.install(rt, cmd, dir, {
      scope: found.scope,
      expectName: name,
      ...(opts.yes ? { yes: true } : {}),
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.keepData ? { keepData: true } : {}),
      ...(opts.resetData ? { resetData: true } : {}),
    });
  if (!isRegistryRef(source)) {
    return await install(
      source.startsWith("/") ? source : `${rt.io.cwd.replace(/\/+$/, "")}/${source}`,
    );
  }
  // capsule_registry.ts: pull and verify, check the publisher against the key pinned for this
  // capsule (a different key is exit 5 without --trust-publisher), install, record, lock.
  await registryInstall(rt, cmd, source, {
    scope: found.scope,
    ...(opts.trustPublisher ? { trustPublisher: opts.trustPublisher } : {}),
  }, install);
}
