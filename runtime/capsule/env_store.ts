/**
 * `[env]` values of installed capsules. They live outside the capsule folder (which may sit in
 * a workspace under version control), in `$ASTRID_HOME/capsule_env/<scope>/<name>.json`, a file
 * created with mode 0600 in a 0700 folder. Values are never logged; secrets are redacted from
 * capsule log lines by the host.
 *
 * @module
 */
import { blake3Hex } from "../crypto/mod.ts";
import type { CapsuleManifest } from "./manifest.ts";

/**
 * The env file of capsule `name`, for a user install (`workspaceRoot` null) or a workspace one.
 *
 * @example Workspace installs get their own folder
 * ```ts
 * import { match } from "node:assert/strict";
 * import { envFilePath } from "./env_store.ts";
 * match(envFilePath("/h", null, "hello"), /^\/h\/capsule_env\/user\/hello\.json$/);
 * match(envFilePath("/h", "/ws", "hello"), /^\/h\/capsule_env\/ws-[0-9a-f]{16}\/hello\.json$/);
 * ```
 */
export function envFilePath(home: string, workspaceRoot: string | null, name: string): string {
  return `${envFolder(home, workspaceRoot)}/${name}.json`;
}

/** The folder of a scope's env files (see {@link envFilePath}). */
export function envFolder(home: string, workspaceRoot: string | null): string {
  const scope = workspaceRoot === null ? "user" : `ws-${blake3Hex(workspaceRoot).slice(0, 16)}`;
  return `${home}/capsule_env/${scope}`;
}

/**
 * The names in the env folder `dir`, read at once (empty when it does not exist), or null when it
 * cannot be listed (each file is then checked on its own). Listing checks only the files it
 * names: an `lstat` of a capsule's missing env file (most capsules have none) raises and catches
 * an error, 20–100 µs each, which cost a listing of 50 such capsules about 3 ms.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { envFolderNames } from "./env_store.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.json`, "{}");
 * deepEqual(envFolderNames(dir), new Set(["a.json"]));
 * deepEqual(envFolderNames(`${dir}/missing`), new Set());
 * ```
 */
export function envFolderNames(dir: string): Set<string> | null {
  try {
    return new Set(Array.from(Deno.readDirSync(dir), (e) => e.name));
  } catch (e) {
    return e instanceof Deno.errors.NotFound ? new Set() : null;
  }
}

/**
 * Writes `values` to `path` with mode 0600 (the folder gets 0700).
 *
 * @example Round trip
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { readEnvFile, writeEnvFile } from "./env_store.ts";
 * const path = `${await Deno.makeTempDir()}/env/x.json`;
 * await writeEnvFile(path, { TOKEN: "s3cret" });
 * deepEqual(await readEnvFile(path), { TOKEN: "s3cret" });
 * equal((await Deno.stat(path)).mode! & 0o777, 0o600);
 * ```
 */
export async function writeEnvFile(path: string, values: Record<string, string>): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/"));
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
  try {
    const bytes = new TextEncoder().encode(JSON.stringify(values));
    let at = 0;
    while (at < bytes.length) at += await file.write(bytes.subarray(at));
  } finally {
    file.close();
  }
  await Deno.chmod(tmp, 0o600);
  await Deno.rename(tmp, path);
}

/**
 * Reads an env file; a missing file is empty. A file readable by others is refused.
 *
 * @example Missing means empty
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { readEnvFile } from "./env_store.ts";
 * deepEqual(await readEnvFile("/nonexistent/x.json"), {});
 * ```
 */
export function readEnvFile(path: string): Promise<Record<string, string>> {
  try {
    return Promise.resolve(readEnvFileSync(path));
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * True when the env file at `path` exists and is one {@link readEnvFile} reads; false when it
 * does not exist.
 *
 * @throws {Error} when it is not a regular file with mode 0600
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { envFileExists } from "./env_store.ts";
 * equal(envFileExists("/nonexistent/x.json"), false);
 * ```
 */
export function envFileExists(path: string): boolean {
  let info: Deno.FileInfo;
  try {
    // Synchronous: a few microseconds, where an async lstat of a missing file costs a trip to
    // Deno's I/O thread and back for every installed capsule a command lists (issue 15).
    info = Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
  if (!info.isFile || (info.mode !== null && (info.mode & 0o077) !== 0)) {
    throw new Error(
      `Cannot read ${path}: it must be a regular file with mode 0600, current mode is ` +
        `${info.mode === null ? "unknown" : (info.mode & 0o777).toString(8)}`,
    );
  }
  return true;
}

/** {@link readEnvFile}, synchronously. */
export function readEnvFileSync(path: string): Record<string, string> {
  let text: string;
  try {
    if (!envFileExists(path)) return {};
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return {};
    throw e;
  }
  const parsed: unknown = JSON.parse(text);
  const out: Record<string, string> = {};
  if (parsed && typeof parsed === "object") {
    for (const [k, v] of Object.entries(parsed)) if (typeof v === "string") out[k] = v;
  }
  return out;
}

/**
 * The values get-config sees: each `[env]` key's stored value, else its default.
 *
 * @example Defaults fill the gaps
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { parseManifest } from "./manifest.ts";
 * import { capsuleConfig } from "./env_store.ts";
 * const { manifest } = parseManifest(
 *   '[package]\nname = "n"\nversion = "1"\n[env.UNITS]\ndefault = "metric"\n[env.KEY]\ntype = "secret"\n',
 * );
 * deepEqual(capsuleConfig(manifest, { KEY: "k", OTHER: "x" }).values, { UNITS: "metric", KEY: "k" });
 * ```
 */
export function capsuleConfig(
  manifest: CapsuleManifest,
  stored: Readonly<Record<string, string>>,
): { values: Record<string, string>; secretKeys: Set<string> } {
  const values: Record<string, string> = {};
  const secretKeys = new Set<string>();
  for (const [key, spec] of Object.entries(manifest.env)) {
    const v = Object.hasOwn(stored, key) ? stored[key] : spec.default;
    if (v !== undefined) values[key] = v;
    if (spec.type === "secret") secretKeys.add(key);
  }
  return { values, secretKeys };
}

/** The `[env]` spec of one key, as an install record pins it. */
export interface EnvKeySpec {
  readonly type: "secret" | "string";
  readonly required: boolean;
}

/** What a reinstall does with the stored `[env]` values. */
export interface CarriedEnv {
  /** Values kept: the key is still declared, with the same type (a secret stays a secret). */
  readonly kept: Record<string, string>;
  /** Stored keys whose value is not kept (the key is gone, or its type changed), sorted. */
  readonly dropped: string[];
}

/**
 * The stored values a reinstall keeps: a key the new manifest still declares with the type the
 * human's earlier install recorded. A key that is gone is dropped (the new version never sees
 * it); a key whose type changed is dropped too, so a value typed as plain text is never promoted
 * to a secret (or a secret shown as text) without the human entering it again. Without an
 * earlier record (`before` null) nothing is kept.
 *
 * @example One kept, one gone, one changed type
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { parseManifest } from "./manifest.ts";
 * import { carryEnv } from "./env_store.ts";
 * const { manifest } = parseManifest(
 *   '[package]\nname = "n"\nversion = "2"\n[env.KEY]\ntype = "secret"\n[env.HOST]\ntype = "secret"\n',
 * );
 * const before = {
 *   KEY: { type: "secret" as const, required: false },
 *   HOST: { type: "string" as const, required: false },
 *   OLD: { type: "string" as const, required: false },
 * };
 * deepEqual(carryEnv({ KEY: "k", HOST: "h", OLD: "o" }, before, manifest), {
 *   kept: { KEY: "k" },
 *   dropped: ["HOST", "OLD"],
 * });
 * ```
 */
export function carryEnv(
  stored: Readonly<Record<string, string>>,
  before: Readonly<Record<string, EnvKeySpec>> | null,
  manifest: CapsuleManifest,
): CarriedEnv {
  const kept: Record<string, string> = {};
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(stored)) {
    const now = Object.hasOwn(manifest.env, key) ? manifest.env[key] : undefined;
    const then = before !== null && Object.hasOwn(before, key) ? before[key] : undefined;
    if (now !== undefined && then !== undefined && now.type === then.type) kept[key] = value;
    else dropped.push(key);
  }
  return { kept, dropped: dropped.sort() };
}
