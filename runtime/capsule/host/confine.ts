/**
 * The first check of a gated host call: the manifest's `[capabilities]`. A path is canonicalised
 * (symlinks resolved) against the workspace root, must stay inside it, and must fall under one
 * of the capability's folders (`fs_read`, `fs_write`, themselves workspace-relative). A URL must
 * be http(s) to a host listed in `net`.
 *
 * @module
 */
import { canonicalizePath, PathError } from "../../security/workspace.ts";
import type { CapsuleManifest } from "../manifest.ts";

/** Whether a file capability reads or writes. */
export type FileNeed = "read" | "write";

function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root === "/" ? "/" : `${root}/`);
}

/**
 * Resolves `path` for a capsule and returns the canonical path, or a sentence saying why not.
 * Reads are allowed under `fs_read` or `fs_write`; writes only under `fs_write`.
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
 * equal(await confinePath(manifest, root, "a.txt", "read"), `${root}/a.txt`);
 * const why = async (p: string, need: "read" | "write") =>
 *   (await confinePath(manifest, root, p, need) as { refused: string }).refused;
 * match(await why("../../etc/passwd", "read"), /outside the workspace/);
 * match(await why("/etc/passwd", "read"), /outside the workspace/);
 * match(await why("a.txt", "write"), /fs_write/);
 * ```
 */
export async function confinePath(
  manifest: CapsuleManifest,
  workspaceRoot: string,
  path: unknown,
  need: FileNeed,
): Promise<string | { refused: string }> {
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
    canonical = await canonicalizePath(path, workspaceRoot);
  } catch (e) {
    if (e instanceof PathError) return refused(`Cannot ${need} ${path}: ${e.message}`);
    throw e;
  }
  if (!within(canonical, workspaceRoot)) {
    return refused(
      `Cannot ${need} ${path}: it resolves to ${canonical}, outside the workspace ${workspaceRoot}`,
    );
  }
  for (const entry of entries) {
    const base = await canonicalizePath(entry, workspaceRoot).catch(() => null);
    if (base !== null && within(base, workspaceRoot) && within(canonical, base)) return canonical;
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
