/**
 * The first check of a gated host call: the manifest's `[capabilities]`. A path is canonicalised
 * (symlinks resolved) against the workspace root, must stay inside it, and must fall under one
 * of the capability's folders (`fs_read`, `fs_write`, themselves workspace-relative). A URL must
 * be http(s) to a host listed in `net`.
 *
 * @module
 */
import { canonicalizePathSync, PathError } from "../../security/workspace.ts";
import type { CapsuleManifest } from "../manifest.ts";

/** Whether a file capability reads or writes. */
export type FileNeed = "read" | "write";

/** The manifest's `fs_read`/`fs_write` folders, canonicalised once against the workspace. */
export interface FileBases {
  /** Canonical folders a capsule may read (`fs_read` and `fs_write`). */
  readonly read: readonly string[];
  /** Canonical folders a capsule may write (`fs_write`). */
  readonly write: readonly string[];
}

function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root === "/" ? "/" : `${root}/`);
}

function canonicalBases(entries: readonly string[], workspaceRoot: string): string[] {
  const out: string[] = [];
  for (const entry of entries) {
    try {
      const base = canonicalizePathSync(entry, workspaceRoot);
      if (within(base, workspaceRoot)) out.push(base);
    } catch {
      // An entry that cannot be resolved grants nothing.
    }
  }
  return out;
}

/**
 * Canonicalises the manifest's file capability folders (symlinks resolved, as they are now).
 * An entry that cannot be resolved or that resolves outside the workspace grants nothing.
 * Compute it once per instance and pass it to {@link confinePath}.
 *
 * @example An entry that is a symlink out of the workspace is dropped
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { fileBases } from "./confine.ts";
 * import { parseManifest } from "../manifest.ts";
 * const { manifest } = parseManifest(
 *   '[package]\nname = "n"\nversion = "1"\n[capabilities]\nfs_read = [".", "up"]\nfs_write = ["out"]\n',
 * );
 * const root = await Deno.realPath(await Deno.makeTempDir());
 * await Deno.symlink("/etc", `${root}/up`);
 * deepEqual(fileBases(manifest, root), { read: [root, `${root}/out`], write: [`${root}/out`] });
 * ```
 */
export function fileBases(manifest: CapsuleManifest, workspaceRoot: string): FileBases {
  const caps = manifest.capabilities;
  return {
    read: canonicalBases([...caps.fs_read, ...caps.fs_write], workspaceRoot),
    write: canonicalBases(caps.fs_write, workspaceRoot),
  };
}

/**
 * Resolves `path` for a capsule (synchronously) and returns the canonical path, or a sentence
 * saying why not. Reads are allowed under `fs_read` or `fs_write`; writes only under `fs_write`.
 * `bases` defaults to {@link fileBases} computed now.
 *
 * @example Traversal and absolute paths outside the workspace are refused
 * ```ts
 * import { equal, match } from "node:assert/strict";
 * import { confinePath } from "./confine.ts";
 * import { parseManifest } from "../manifest.ts";
 * const { manifest } = parseManifest(
 *   '[package]\nname = "n"\nversion = "1"\n[capabilities]\nfs_read = ["."]\n',
 * );
 * const root = await Deno.realPath(await Deno.makeTempDir());
 * equal(confinePath(manifest, root, "a.txt", "read"), `${root}/a.txt`);
 * const why = (p: string, need: "read" | "write") =>
 *   (confinePath(manifest, root, p, need) as { refused: string }).refused;
 * match(why("../../etc/passwd", "read"), /outside the workspace/);
 * match(why("/etc/passwd", "read"), /outside the workspace/);
 * match(why("a.txt", "write"), /fs_write/);
 * ```
 */
export function confinePath(
  manifest: CapsuleManifest,
  workspaceRoot: string,
  path: unknown,
  need: FileNeed,
  bases: FileBases = fileBases(manifest, workspaceRoot),
): string | { refused: string } {
  const caps = manifest.capabilities;
  const entries = need === "read" ? [...caps.fs_read, ...caps.fs_write] : caps.fs_write;
  const capName = need === "read" ? "fs_read" : "fs_write";
  if (typeof path !== "string" || path === "") {
    return refused(`Cannot use path: current value is ${JSON.stringify(path)}`);
  }
  if (entries.length === 0) {
    return refused(`Cannot ${need} ${path}: the manifest grants no ${capName} capability`);
  }
  let canonical: string;
  try {
    canonical = canonicalizePathSync(path, workspaceRoot);
  } catch (e) {
    if (e instanceof PathError) return refused(`Cannot ${need} ${path}: ${e.message}`);
    throw e;
  }
  if (!within(canonical, workspaceRoot)) {
    return refused(
      `Cannot ${need} ${path}: it resolves to ${canonical}, outside the workspace ${workspaceRoot}`,
    );
  }
  if (need === "write" && canonical.split("/").includes(".astrid")) {
    return refused(
      `Cannot write ${path}: ${canonical} is configuration (.astrid), which only the human's ` +
        "own astrid commands change",
    );
  }
  for (const base of need === "read" ? bases.read : bases.write) {
    if (within(canonical, base)) return canonical;
  }
  return refused(
    `Cannot ${need} ${path}: ${canonical} is not under ${capName} (${entries.join(", ")})`,
  );
}

function refused(reason: string): { refused: string } {
  return { refused: reason };
}

/**
 * Checks a URL against the manifest's `net` hosts and returns the parsed URL, or why not.
 * An entry without a port allows any port of that host; `*.example.com` allows subdomains.
 *
 * @example Only listed hosts
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { confineUrl } from "./confine.ts";
 * import { parseManifest } from "../manifest.ts";
 * const { manifest } = parseManifest(
 *   '[package]\nname = "n"\nversion = "1"\n[capabilities]\nnet = ["127.0.0.1"]\n',
 * );
 * ok(confineUrl(manifest, "http://127.0.0.1:8080/x") instanceof URL);
 * ok(!(confineUrl(manifest, "https://evil.example/") instanceof URL));
 * ok(!(confineUrl(manifest, "file:///etc/passwd") instanceof URL));
 * ```
 */
export function confineUrl(manifest: CapsuleManifest, raw: unknown): URL | { refused: string } {
  if (typeof raw !== "string") {
    return refused(`Cannot request url: current value is ${JSON.stringify(raw)}`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refused(`Cannot request url: current value ${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return refused(`Cannot request ${raw}: only http and https are allowed`);
  }
  if (url.username || url.password) {
    return refused(`Cannot request ${raw}: credentials in the URL are refused`);
  }
  const host = url.hostname.toLowerCase();
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  for (const entry of manifest.capabilities.net) {
    const m = /^(.*?)(?::(\d+))?$/.exec(entry)!;
    const name = m[1]!;
    if (m[2] !== undefined && m[2] !== port) continue;
    if (name.startsWith("*.") ? host.endsWith(name.slice(1)) : host === name) return url;
  }
  const allowed = manifest.capabilities.net.join(", ") || "none";
  return refused(`Cannot request ${raw}: host ${url.host} is not in net (${allowed})`);
}
