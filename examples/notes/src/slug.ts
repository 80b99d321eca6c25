/**
 * File names for notes: a title becomes a lowercase ASCII slug, so a title can never name a
 * path outside `notes/` (no dots, no slashes).
 *
 * @module
 */

/**
 * Turns a title into a file-name-safe slug (`[a-z0-9-]`, at most 64 characters).
 *
 * @example Punctuation and slashes disappear
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { slugOf } from "./slug.ts";
 * equal(slugOf("Shopping list: Monday!"), "shopping-list-monday");
 * equal(slugOf("../../etc/passwd"), "etc-passwd");
 * ```
 */
export function slugOf(title: string): string {
  const slug = title.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "").slice(0, 64).replace(/-+$/, "");
  return slug === "" ? "untitled" : slug;
}
