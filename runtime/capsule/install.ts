/**
 * Installed capsules: `$ASTRID_HOME/capsules/<name>/` (user) and
 * `<workspace>/.astrid/capsules/<name>/` (workspace; it shadows a user capsule of the same name).
 * Installing copies only the files the manifest names (manifest, wasm, static files), refuses
 * symlinks anywhere in the source, verifies the hash before and after the copy, and moves the
 * finished folder into place in one rename.
 *
 * @module
 */
import { CapsuleError } from "./errors.ts";
import { loadCapsule, type LoadedCapsule, type ModuleCache } from "./loader.ts";
import { readManifest } from "./manifest.ts";
import { envFilePath, readEnvFile } from "./env_store.ts";

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

/** An installed, verified capsule with its stored `[env]` values. */
export interface InstalledCapsule {
  readonly scope: InstallScope;
  readonly loaded: LoadedCapsule;
  /** Stored `[env]` values (secrets included: never print them). */
  readonly env: Readonly<Record<string, string>>;
  readonly envPath: string;
}

/** The folder's files a manifest names, relative to the capsule folder. */
async function manifestFiles(dir: string): Promise<string[]> {
  const { manifest } = await readManifest(dir);
  const files = new Set(["Capsule.toml"]);
  if (manifest.component) files.add(manifest.component.entrypoint);
  for (const c of manifest.context_file) files.add(c.path);
  for (const s of manifest.skill) files.add(s.path);
  for (const c of manifest.command) if (c.path) files.add(c.path);
  return [...files];
}

/** Refuses `rel` when it or any folder on its way inside `dir` is a symlink or not a file. */
async function assertPlainFile(dir: string, rel: string): Promise<void> {
  const parts = rel.split("/").filter((p) => p !== "" && p !== ".");
  let at = dir;
  for (const [i, part] of parts.entries()) {
    at = `${at}/${part}`;
    const info = await Deno.lstat(at).catch(() => null);
    if (!info) throw new CapsuleError("NOT_FOUND", `Cannot install: ${at} is missing`);
    if (info.isSymlink) {
      throw new CapsuleError(
        "INSTALL",
        `Cannot install: ${at} is a symlink (symlinks are refused)`,
      );
    }
    if (i === parts.length - 1 ? !info.isFile : !info.isDirectory) {
      throw new CapsuleError("INSTALL", `Cannot install: ${at} is not a regular file or folder`);
    }
  }
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
}

/**
 * Copies the capsule in `source` (a folder) into the scope's capsule folder and returns it
 * loaded from there. The source is verified first; the copy is verified again.
 *
 * @throws {CapsuleError} `INSTALL` (symlink, already installed), `INTEGRITY`, `MANIFEST`
 *
 * @example Install a static capsule for the user
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { capsuleDirs, installCapsule } from "./install.ts";
 * const src = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${src}/Capsule.toml`, '[package]\nname = "docs"\nversion = "1"\n');
 * const dirs = capsuleDirs(await Deno.makeTempDir(), null);
 * const installed = await installCapsule(dirs, src, { scope: "user", requireHash: true });
 * equal(installed.dir, `${await Deno.realPath(dirs.user)}/docs`);
 * ```
 */
export async function installCapsule(
  dirs: CapsuleDirs,
  source: string,
  opts: InstallOptions,
): Promise<LoadedCapsule> {
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
  const target = `${root}/${name}`;
  if (await Deno.lstat(target).catch(() => null)) {
    throw new CapsuleError(
      "INSTALL",
      `Cannot install ${name}: ${target} already exists (run \`astrid capsule remove ${name}\` first)`,
    );
  }
  const staging = `${root}/.${name}.${crypto.randomUUID()}.tmp`;
  try {
    for (const rel of files) {
      const to = `${staging}/${rel}`;
      await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
      await Deno.copyFile(`${src}/${rel}`, to);
    }
    await loadCapsule(staging, { requireHash: opts.requireHash }); // the copy must verify too
    await Deno.rename(staging, target);
  } catch (e) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw e;
  }
  return await loadCapsule(target, { requireHash: opts.requireHash });
}

/** Options for {@link listInstalled}. */
export interface ListOptions {
  readonly requireHash: boolean;
  readonly cache?: ModuleCache | undefined;
}

/** A capsule folder that did not load (tampered, malformed). */
export interface BrokenCapsule {
  readonly scope: InstallScope;
  readonly dir: string;
  readonly error: CapsuleError | Error;
}

/**
 * Loads every installed capsule; workspace capsules shadow user ones of the same name.
 * Capsules that fail to load (a swapped wasm, a bad manifest) are returned in `broken`.
 *
 * @example Nothing installed
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { capsuleDirs, listInstalled } from "./install.ts";
 * const { capsules } = await listInstalled(capsuleDirs(await Deno.makeTempDir(), null), {
 *   requireHash: true,
 * });
 * equal(capsules.length, 0);
 * ```
 */
export async function listInstalled(
  dirs: CapsuleDirs,
  opts: ListOptions,
): Promise<{ capsules: InstalledCapsule[]; broken: BrokenCapsule[] }> {
  const byName = new Map<string, InstalledCapsule>();
  const broken: BrokenCapsule[] = [];
  const scopes: [InstallScope, string | null][] = [["user", dirs.user], [
    "workspace",
    dirs.workspace,
  ]];
  for (const [scope, root] of scopes) {
    if (root === null) continue;
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(root)) {
        if (e.isDirectory && !e.name.startsWith(".")) names.push(e.name);
      }
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      throw e;
    }
    for (const name of names.sort()) {
      const dir = `${root}/${name}`;
      try {
        const loaded = await loadCapsule(dir, opts);
        if (loaded.manifest.package.name !== name) {
          throw new CapsuleError(
            "INTEGRITY",
            `Cannot load ${dir}: its manifest names ${loaded.manifest.package.name}`,
          );
        }
        const envPath = envFilePath(dirs.home, scope === "user" ? null : dirs.workspaceRoot, name);
        byName.set(name, { scope, loaded, env: await readEnvFile(envPath), envPath });
      } catch (error) {
        broken.push({ scope, dir, error: error as Error });
      }
    }
  }
  return { capsules: [...byName.values()], broken };
}

/**
 * Removes an installed capsule (the workspace one when both exist) and its stored env values.
 *
 * @throws {CapsuleError} `NOT_FOUND`
 *
 * @example Removing a missing capsule fails
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { capsuleDirs, removeCapsule } from "./install.ts";
 * await rejects(removeCapsule(capsuleDirs(await Deno.makeTempDir(), null), "nope"), /no capsule/);
 * ```
 */
export async function removeCapsule(dirs: CapsuleDirs, name: string): Promise<InstallScope> {
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
    if (!info) continue;
    await Deno.remove(dir, { recursive: true });
    const envPath = envFilePath(dirs.home, scope === "user" ? null : dirs.workspaceRoot, name);
    await Deno.remove(envPath).catch(() => {});
    return scope;
  }
  throw new CapsuleError("NOT_FOUND", `Cannot remove ${name}: no capsule has that name`);
}
