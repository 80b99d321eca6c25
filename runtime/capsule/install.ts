/**
 * Installing capsules: `$ASTRID_HOME/capsules/<name>/` (user) and
 * `<workspace>/.astrid/capsules/<name>/` (workspace; it shadows a user capsule of the same name).
 * Installing copies only the files the manifest names (manifest, wasm, static files), refuses
 * symlinks anywhere in the source, verifies the hash before and after the copy, lists the
 * capsule's tools, moves the finished folder into place and writes the signed install record
 * (install_record.ts) without which the folder is never used (installed.ts).
 *
 * Before any of that, {@link checkInstallSource} tells a compiled capsule from a source folder
 * (the CLI refuses the latter and says to compile first) and installs a capsule without wasm only
 * when its manifest is static by itself. A reinstall keeps the capsule's KV data unless the human
 * drops it ({@link resetCapsuleData}).
 *
 * @module
 */
import { CapsuleError } from "./errors.ts";
import { fileFingerprint, loadCapsule, type LoadedCapsule } from "./loader.ts";
import { assertPlainFile, manifestFiles } from "./_install_files.ts";
import { envFilePath } from "./env_store.ts";
import {
  type InstallRecord,
  type InstallRecords,
  manifestHash,
  type RecordedTool,
} from "./install_record.ts";
import { pinnedSpec } from "./record_diff.ts";
import { readManifest } from "./manifest.ts";
import { capsuleKvKey } from "./host/kv.ts";
import { listAll, MAX_MUTATIONS_PER_COMMIT, type Store } from "../storage/mod.ts";

/** Where a capsule is installed. */
export type InstallScope = "user" | "workspace";

/** The capsule folders of this user and workspace. */
export interface CapsuleDirs {
  readonly home: string;
  readonly user: string;
  readonly workspaceRoot: string | null;
  readonly workspace: string | null;
}

/**
 * The capsule folders for `$ASTRID_HOME` and (optionally) a workspace root.
 *
 * @example User and workspace folders
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { capsuleDirs } from "./install.ts";
 * const dirs = capsuleDirs("/h", "/ws");
 * equal(dirs.user, "/h/capsules");
 * equal(dirs.workspace, "/ws/.astrid/capsules");
 * ```
 */
export function capsuleDirs(home: string, workspaceRoot: string | null): CapsuleDirs {
  return {
    home,
    user: `${home}/capsules`,
    workspaceRoot,
    workspace: workspaceRoot === null ? null : `${workspaceRoot}/.astrid/capsules`,
  };
}

/** An installed capsule, verified against its install record, with its stored `[env]` values. */
export interface InstalledCapsule {
  readonly scope: InstallScope;
  readonly loaded: LoadedCapsule;
  /** What the human approved (its tools are the capsule's tools). */
  readonly record: InstallRecord;
  /**
   * Stored `[env]` values (secrets included: never print them). Listing reads them when first
   * used.
   *
   * @throws {Error} (listed capsules) when their file became unreadable since it was listed
   */
  readonly env: Readonly<Record<string, string>>;
  readonly envPath: string;
}

/**
 * Resolves an install source (a folder, or its `Capsule.toml`) to its folder, refusing symlinks.
 *
 * @example A symlinked source is refused
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { sourceDir } from "./install.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.symlink("/etc", `${dir}/link`);
 * await rejects(sourceDir(`${dir}/link`), /symlink/);
 * ```
 */
export async function sourceDir(source: string): Promise<string> {
  const info = await Deno.lstat(source).catch(() => null);
  if (!info) {
    throw new CapsuleError("NOT_FOUND", `Cannot install ${source}: no such file or folder`);
  }
  if (info.isSymlink) {
    throw new CapsuleError("INSTALL", `Cannot install ${source}: it is a symlink (refused)`);
  }
  const dir = info.isDirectory ? source : source.replace(/\/?[^/]*$/, "") || ".";
  if (!info.isDirectory && !source.endsWith("Capsule.toml")) {
    throw new CapsuleError(
      "INSTALL",
      `Cannot install ${source}: give a folder or its Capsule.toml`,
    );
  }
  return dir;
}

/** Options for {@link installCapsule}. */
export interface InstallOptions {
  readonly scope: InstallScope;
  readonly requireHash: boolean;
  /** Where the signed install record goes (the runtime key signs it). */
  readonly records: InstallRecords;
  /**
   * Lists the staged copy's tools for the record (the human's command: it may start the
   * capsule's MCP servers). See `discoverTools`.
   */
  readonly tools: (staged: LoadedCapsule) => Promise<RecordedTool[]>;
  /** The workspace id recorded with a workspace install. */
  readonly workspaceId?: string | null | undefined;
  /**
   * The pins of what the human was shown (the preview): the copy must match them, so a source
   * changed while the human was reading is refused.
   */
  readonly expect?: { readonly manifestHash: string; readonly wasmHash: string | null } | undefined;
  /** The clock for `installedAt` (a test seam). */
  readonly now?: (() => Date) | undefined;
}

/** What {@link installCapsule} did. */
export interface InstallResult {
  readonly loaded: LoadedCapsule;
  readonly record: InstallRecord;
  /** An earlier folder of the same name and scope was replaced (an upgrade). */
  readonly replaced: boolean;
}

/**
 * Copies the capsule in `source` (a folder) into the scope's capsule folder, lists its tools,
 * signs and stores its install record, and returns it loaded from there. The source is
 * verified first, the staged copy again (against `expect` too); an existing install of the same
 * name and scope is replaced (the upgrade path), including from the installed folder itself.
 *
 * @throws {CapsuleError} `INSTALL` (symlink, tools not listed), `INTEGRITY`, `MANIFEST`
 *
 * @example Install a static capsule for the user
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { capsuleDirs, installCapsule } from "./install.ts";
 * import { testRecords } from "./_testing.ts";
 * using records = await testRecords();
 * const src = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${src}/Capsule.toml`, '[package]\nname = "docs"\nversion = "1"\n');
 * const dirs = capsuleDirs(await Deno.makeTempDir(), null);
 * const { loaded, record } = await installCapsule(dirs, src, {
 *   scope: "user", requireHash: true, records, tools: () => Promise.resolve([]),
 * });
 * equal(loaded.dir, `${await Deno.realPath(dirs.user)}/docs`);
 * equal(record.dir, loaded.dir);
 * ```
 */
export async function installCapsule(
  dirs: CapsuleDirs,
  source: string,
  opts: InstallOptions,
): Promise<InstallResult> {
  const src = await Deno.realPath(source);
  const files = await manifestFiles(src);
  for (const rel of files) await assertPlainFile(src, rel);
  const checked = await loadCapsule(src, { requireHash: opts.requireHash });
  const name = checked.manifest.package.name;
  const root = opts.scope === "user" ? dirs.user : dirs.workspace;
  if (root === null) {
    throw new CapsuleError("INSTALL", `Cannot install ${name} into the workspace: no workspace`);
  }
  await Deno.mkdir(root, { recursive: true, mode: 0o700 });
  const realRoot = await Deno.realPath(root);
  const target = `${realRoot}/${name}`;
  const staging = `${realRoot}/.${name}.${crypto.randomUUID()}.tmp`;
  const old = `${realRoot}/.${name}.${crypto.randomUUID()}.old`;
  let replaced = false;
  try {
    for (const rel of files) {
      const to = `${staging}/${rel}`;
      await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
      await Deno.copyFile(`${src}/${rel}`, to);
    }
    // The copy must verify too, and be what the human was shown.
    const staged = await loadCapsule(staging, { requireHash: opts.requireHash });
    const pins = {
      manifestHash: manifestHash(staged.manifest),
      wasmHash: staged.wasm?.hash ?? null,
    };
    const expect = opts.expect ?? {
      manifestHash: manifestHash(checked.manifest),
      wasmHash: checked.wasm?.hash ?? null,
    };
    if (pins.manifestHash !== expect.manifestHash || pins.wasmHash !== expect.wasmHash) {
      throw new CapsuleError(
        "INTEGRITY",
        `Cannot install ${name}: the source changed while it was being installed ` +
          `(manifest ${pins.manifestHash}, wasm ${pins.wasmHash ?? "none"}); run the install again`,
      );
    }
    const tools = await opts.tools(staged);
    // Listing may have started its servers: the copy must still be what gets recorded.
    const after = await loadCapsule(staging, { requireHash: opts.requireHash });
    if (
      manifestHash(after.manifest) !== pins.manifestHash ||
      (after.wasm?.hash ?? null) !== pins.wasmHash
    ) {
      throw new CapsuleError(
        "INTEGRITY",
        `Cannot install ${name}: its files changed while its tools were listed`,
      );
    }
    const workspace = opts.scope === "workspace"
      ? { root: dirs.workspaceRoot ?? "", id: opts.workspaceId ?? null }
      : null;
    const record: InstallRecord = {
      v: 1,
      name,
      version: staged.manifest.package.version,
      scope: opts.scope,
      workspace,
      dir: target,
      ...pinnedSpec(staged.manifest, pins.wasmHash),
      manifestHash: pins.manifestHash,
      tools,
      installedAt: (opts.now?.() ?? new Date()).toISOString(),
      publisher: null,
    };
    // Swap the folders (two renames: Deno has no atomic exchange), then record the install;
    // if recording fails, the earlier folder goes back.
    if (await Deno.lstat(target).catch(() => null)) {
      await Deno.rename(target, old);
      replaced = true;
    }
    await Deno.rename(staging, target);
    try {
      if (staged.wasm) {
        const info = await Deno.lstat(`${target}/${staged.manifest.component!.entrypoint}`);
        record.wasmFingerprint = fileFingerprint(info);
      }
      await opts.records.write(record);
    } catch (e) {
      await Deno.remove(target, { recursive: true }).catch(() => {});
      if (replaced) await Deno.rename(old, target).catch(() => {});
      replaced = false;
      throw e;
    }
    const loaded = await loadCapsule(target, {
      requireHash: opts.requireHash,
      pinnedWasm: record.wasmHash,
      defer: { fingerprint: record.wasmFingerprint },
    });
    return { loaded, record, replaced };
  } catch (e) {
    if (replaced && !(await Deno.lstat(target).catch(() => null))) {
      await Deno.rename(old, target).catch(() => {});
    }
    throw e;
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    await Deno.remove(old, { recursive: true }).catch(() => {});
  }
}

/**
 * Removes an installed capsule (the workspace one when both exist): its folder, its install
 * record and its stored env values. A record whose folder is gone, or a folder without a
 * record, is removed too.
 *
 * @throws {CapsuleError} `NOT_FOUND`
 *
 * @example Removing a missing capsule fails
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { capsuleDirs, removeCapsule } from "./install.ts";
 * import { testRecords } from "./_testing.ts";
 * using records = await testRecords();
 * const dirs = capsuleDirs(await Deno.makeTempDir(), null);
 * await rejects(removeCapsule(dirs, "nope", records), /no capsule/);
 * ```
 */
export async function removeCapsule(
  dirs: CapsuleDirs,
  name: string,
  records: InstallRecords,
): Promise<InstallScope> {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) {
    throw new CapsuleError(
      "NOT_FOUND",
      `Cannot remove ${JSON.stringify(name)}: no capsule has that name`,
    );
  }
  const candidates: [InstallScope, string | null][] = [["workspace", dirs.workspace], [
    "user",
    dirs.user,
  ]];
  for (const [scope, root] of candidates) {
    if (root === null) continue;
    const dir = `${root}/${name}`;
    const info = await Deno.lstat(dir).catch(() => null);
    const recorded = await records.remove(scope, dirs.workspaceRoot, name);
    if (!info && !recorded) continue;
    if (info) await Deno.remove(dir, { recursive: true });
    const envPath = envFilePath(dirs.home, scope === "user" ? null : dirs.workspaceRoot, name);
    await Deno.remove(envPath).catch(() => {});
    return scope;
  }
  throw new CapsuleError("NOT_FOUND", `Cannot remove ${name}: no capsule has that name`);
}

/** What {@link checkInstallSource} found: installable (with or without wasm), or why not. */
export type SourceCheck =
  | { readonly ok: true; readonly kind: "wasm" | "static" }
  | { readonly ok: false; readonly reason: string; readonly hint: string };

/** Files that only a capsule's sources have (a compiled capsule is Capsule.toml + its wasm). */
const SOURCE_FILES = new Set([
  "package.json",
  "openclaw.plugin.json",
  "deno.json",
  "deno.jsonc",
  "tsconfig.json",
]);
const CODE = /\.(?:[cm]?[jt]s|[jt]sx)$/;

/** The source-only files at the top of `dir` and in its `src/`, sorted (at most 4 named). */
async function sourceMarkers(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const [sub, prefix] of [[dir, ""], [`${dir}/src`, "src/"]] as const) {
    try {
      for await (const e of Deno.readDir(sub)) {
        if (!e.isFile) continue;
        if ((prefix === "" && SOURCE_FILES.has(e.name)) || CODE.test(e.name)) {
          found.push(`${prefix}${e.name}`);
        }
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) throw e;
    }
  }
  return found.sort().slice(0, 4);
}

/**
 * Tells whether the folder `dir` can be installed as it is, before anything is copied:
 * - a manifest with `[component]` needs the wasm it names next to it;
 * - a folder of sources (package.json, openclaw.plugin.json, deno.json, `*.ts`, … at the top or
 *   in `src/`) without a wasm is refused: it must be compiled first (`astrid capsule compile`),
 *   unless its manifest runs `[[mcp_server]]`s, whose code may sit beside it;
 * - a manifest with `[[tool]]`s and no `[[mcp_server]]` expects a wasm: without one it is refused;
 * - otherwise a capsule without wasm is static, installed only when its manifest says so with at
 *   least one `[[skill]]`, `[[context_file]]`, `[[command]]` (a prompt or a path) or
 *   `[[mcp_server]]`.
 *
 * @throws {CapsuleError} `MANIFEST` when `Capsule.toml` does not parse
 *
 * @example A source folder is refused with the compile hint
 * ```ts
 * import { equal, match } from "node:assert/strict";
 * import { checkInstallSource } from "./install.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/Capsule.toml`, '[package]\nname = "n"\nversion = "1"\n');
 * await Deno.writeTextFile(`${dir}/mod.ts`, "export default {};\n");
 * const check = await checkInstallSource(dir);
 * equal(check.ok, false);
 * if (!check.ok) match(check.hint, /astrid capsule compile/);
 * ```
 */
export async function checkInstallSource(dir: string): Promise<SourceCheck> {
  const markers = await sourceMarkers(dir);
  const hint = `compile it first: \`astrid capsule compile ${dir}\`, then install the compiled ` +
    `folder (${dir}/dist)`;
  const sources = markers.length ? ` (it has ${markers.join(", ")})` : "";
  const toml = await Deno.lstat(`${dir}/Capsule.toml`).catch(() => null);
  if (!toml?.isFile) {
    return {
      ok: false,
      reason: markers.length
        ? `Cannot install ${dir}: it is a source folder${sources} without Capsule.toml or capsule.wasm`
        : `Cannot install ${dir}: it has no Capsule.toml`,
      hint: markers.length
        ? hint
        : "give a compiled capsule folder (Capsule.toml and capsule.wasm)",
    };
  }
  const { manifest } = await readManifest(dir);
  if (manifest.component) {
    const entry = manifest.component.entrypoint;
    if (await Deno.lstat(`${dir}/${entry}`).catch(() => null)) return { ok: true, kind: "wasm" };
    return {
      ok: false,
      reason: `Cannot install ${dir}: its [component] names ${entry}, which is missing${sources}`,
      hint,
    };
  }
  const servers = manifest.mcp_server.length > 0;
  if (manifest.tool.length > 0 && !servers) {
    const names = manifest.tool.map((t) => t.name).join(", ");
    return {
      ok: false,
      reason: `Cannot install ${dir}: its manifest declares [[tool]]s (${names}) that no ` +
        `[[mcp_server]] serves, and it has no capsule.wasm to run them${sources}`,
      hint,
    };
  }
  if (markers.length && !servers) {
    return {
      ok: false,
      reason: `Cannot install ${dir}: it is a source folder${sources} without capsule.wasm ` +
        "(a static capsule carries no code)",
      hint,
    };
  }
  const parts = manifest.skill.length + manifest.context_file.length + manifest.command.length +
    manifest.mcp_server.length;
  if (parts === 0) {
    return {
      ok: false,
      reason: `Cannot install ${dir}: it has no capsule.wasm and its manifest declares nothing ` +
        "a static capsule offers",
      hint: "add a [[skill]], [[context_file]], [[command]] (prompt or path) or [[mcp_server]], " +
        `or compile the capsule (\`astrid capsule compile ${dir}\`)`,
    };
  }
  return { ok: true, kind: "static" };
}

/** The KV prefix of capsule `name`'s own data (what its kv-set writes). */
function dataPrefix(name: string): Deno.KvKey {
  return capsuleKvKey(name, "-").slice(0, -1);
}

/**
 * How many KV entries capsule `name` has stored (its `kv-set` data). Data is keyed by the
 * capsule's name, so a user and a workspace install of the same name share it.
 *
 * @example A fresh store holds nothing
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { countCapsuleData } from "./install.ts";
 * using store = await openStore(":memory:");
 * await store.set(["capsule_kv", "notesx", "k"], 1);
 * equal(await countCapsuleData(store, "notes"), 0);
 * equal(await countCapsuleData(store, "notesx"), 1);
 * ```
 */
export async function countCapsuleData(store: Store, name: string): Promise<number> {
  let n = 0;
  for await (const _ of store.list({ prefix: dataPrefix(name) })) n++;
  return n;
}

/**
 * Deletes capsule `name`'s KV data (and nothing else: other capsules' keys stay), in commits of
 * at most {@link MAX_MUTATIONS_PER_COMMIT} deletions; returns how many entries went.
 *
 * @example Only that capsule's keys go
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { resetCapsuleData } from "./install.ts";
 * using store = await openStore(":memory:");
 * await store.set(["capsule_kv", "a", "k"], 1);
 * await store.set(["capsule_kv", "ab", "k"], 2);
 * equal(await resetCapsuleData(store, "a"), 1);
 * equal((await store.get(["capsule_kv", "ab", "k"])).value, 2);
 * ```
 */
export async function resetCapsuleData(store: Store, name: string): Promise<number> {
  const entries = await listAll(store, dataPrefix(name));
  for (let at = 0; at < entries.length; at += MAX_MUTATIONS_PER_COMMIT) {
    const op = store.atomic();
    for (const e of entries.slice(at, at + MAX_MUTATIONS_PER_COMMIT)) op.delete(e.key);
    const res = await op.commit();
    if (!res.ok) {
      throw new CapsuleError("INSTALL", `Cannot reset the data of ${name}: the store refused`);
    }
  }
  return entries.length;
}
