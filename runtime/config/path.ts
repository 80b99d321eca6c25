/**
 * POSIX path helpers with the results of `node:path`'s `join`, `resolve`, `dirname` and
 * `isAbsolute` (path_test.ts compares them on generated paths), without `node:path`: loading it
 * costs a few milliseconds at start-up, which every CLI command paid for these four functions.
 *
 * @module
 */

/** `path` with `.` and `..` segments resolved and repeated slashes collapsed. */
function normalized(path: string, absolute: boolean): string {
  const kept: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment !== "..") kept.push(segment);
    else if (kept.length > 0 && kept.at(-1) !== "..") kept.pop();
    else if (!absolute) kept.push(".."); // above the root is the root
  }
  return kept.join("/");
}

/**
 * Joins `parts` with `/` and normalises the result (a trailing slash is kept), as `node:path`.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { join } from "./path.ts";
 * equal(join("/a/b", "../c", "d/"), "/a/c/d/");
 * equal(join("", ""), ".");
 * ```
 */
export function join(...parts: string[]): string {
  const path = parts.filter((p) => p !== "").join("/");
  if (path === "") return ".";
  const absolute = path.startsWith("/");
  const trailing = path.endsWith("/");
  const body = normalized(path, absolute);
  if (absolute) return body === "" ? "/" : `/${body}${trailing ? "/" : ""}`;
  if (body === "") return trailing ? "./" : ".";
  return trailing ? `${body}/` : body;
}

/**
 * The absolute path `parts` name, read right to left from the current directory, normalised
 * and without a trailing slash, as `node:path`'s `resolve`.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { resolve } from "./path.ts";
 * equal(resolve("/a", "b/", "../c/"), "/a/c");
 * equal(resolve("/x", "/y"), "/y");
 * ```
 */
export function resolve(...parts: string[]): string {
  let path = "";
  for (let i = parts.length - 1; i >= -1 && !path.startsWith("/"); i--) {
    const part = i >= 0 ? parts[i]! : Deno.cwd();
    if (part !== "") path = path === "" ? part : `${part}/${path}`;
  }
  return `/${normalized(path, true)}`;
}

/**
 * The folder part of `path` (trailing slashes ignored), as `node:path`'s `dirname`.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { dirname } from "./path.ts";
 * equal(dirname("/a/b/c/"), "/a/b");
 * equal(dirname("file"), ".");
 * ```
 */
export function dirname(path: string): string {
  if (path === "") return ".";
  let end = path.length;
  while (end > 1 && path[end - 1] === "/") end--;
  const cut = path.lastIndexOf("/", end - 1);
  if (cut === -1) return ".";
  if (cut === 0) return "/";
  if (cut === 1 && path[0] === "/") return "//";
  return path.slice(0, cut);
}

/**
 * True when `path` starts at the root.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { isAbsolute } from "./path.ts";
 * equal(isAbsolute("/etc"), true);
 * equal(isAbsolute("etc"), false);
 * ```
 */
export function isAbsolute(path: string): boolean {
  return path.startsWith("/");
}
