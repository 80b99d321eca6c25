/**
 * `grep` inside the Worker: a JS regex over text files, respecting `.gitignore` files (the
 * `ignore` package) from the workspace root down.
 *
 * @module
 */
import ignore, { type Ignore } from "ignore";
import { absPath, argsObject, optBool, optInt, optString, reqString } from "../_args.ts";
import { insideRoots, openForRead, readAllFrom, type Roots, verifiedRealPath } from "./_safe_fs.ts";
import { looksText } from "./_text.ts";
import { checkPattern, findFiles } from "./glob.ts";

/** Files larger than this are skipped. */
export const MAX_GREP_FILE_BYTES = 5 * 1024 * 1024;
/** Most matching lines reported. */
export const MAX_GREP_MATCHES = 2000;

/** Loads the `.gitignore` rules that apply under `dir`: its ancestors' (within the roots) and its own tree's. */
async function loadIgnores(
  dir: string,
  files: string[],
  roots: Roots,
): Promise<Map<string, Ignore>> {
  const dirs = new Set<string>();
  for (let d = dir; insideRoots(d, roots.read); d = d.slice(0, d.lastIndexOf("/")) || "/") {
    dirs.add(d);
    if (d === "/") break;
  }
  for (const f of files) if (f.endsWith("/.gitignore")) dirs.add(f.slice(0, -"/.gitignore".length));
  const map = new Map<string, Ignore>();
  for (const d of dirs) {
    try {
      using file = await openForRead(`${d}/.gitignore`, roots);
      const text = new TextDecoder().decode(await readAllFrom(file, d, 1024 * 1024));
      map.set(d, ignore().add(text));
    } catch {
      // No readable .gitignore here.
    }
  }
  return map;
}

function ignored(file: string, rules: Map<string, Ignore>): boolean {
  for (const [d, ig] of rules) {
    const prefix = d === "/" ? "/" : `${d}/`;
    if (file.startsWith(prefix) && ig.ignores(file.slice(prefix.length))) return true;
  }
  return false;
}

/** Searches files under `path` for the JS regex `pattern`; output is `file:line:text`. */
export async function grepOp(raw: unknown, roots: Roots): Promise<string> {
  const tool = "grep";
  const obj = argsObject(tool, raw, ["pattern", "path", "glob", "context", "case_insensitive"]);
  const source = reqString(tool, obj, "pattern");
  const path = absPath(tool, obj, "path");
  const globPattern = optString(tool, obj, "glob") ?? "**/*";
  checkPattern(tool, "glob", globPattern);
  const context = optInt(tool, obj, "context", 0, 50) ?? 0;
  const flags = optBool(tool, obj, "case_insensitive") ? "iu" : "u";
  let regex: RegExp;
  try {
    regex = new RegExp(source, flags);
  } catch (err) {
    throw new TypeError(`Cannot parse grep.pattern: ${(err as Error).message}`);
  }
  const real = await verifiedRealPath(path, roots, "read", "search");
  const isDir = (await Deno.stat(real)).isDirectory;
  const dir = isDir ? real : real.slice(0, real.lastIndexOf("/")) || "/";
  const candidates = isDir ? await findFiles(real, [globPattern], [".git/**"]) : [real];
  const gitignores = isDir ? await findFiles(real, ["**/.gitignore"], [".git/**"]) : [];
  const rules = await loadIgnores(dir, gitignores, roots);
  const targets = (isDir ? candidates.filter((f) => !ignored(f, rules)) : candidates).sort();
  const out: string[] = [];
  let matches = 0;
  let filesWithMatches = 0;
  const tooLarge: string[] = [];
  for (const file of targets) {
    if (matches >= MAX_GREP_MATCHES) break;
    let bytes: Uint8Array;
    try {
      using handle = await openForRead(file, roots, "search");
      bytes = await readAllFrom(handle, file, MAX_GREP_FILE_BYTES);
    } catch (err) {
      if (!isDir) throw err;
      if ((err as { code?: string }).code === "TOO_LARGE") tooLarge.push(file);
      continue; // unreadable, too large or outside the roots: skipped in a tree search
    }
    if (!looksText(bytes)) continue;
    const lines = new TextDecoder().decode(bytes).split("\n");
    if (lines.at(-1) === "") lines.pop();
    const hits: number[] = [];
    for (let i = 0; i < lines.length && matches + hits.length < MAX_GREP_MATCHES; i++) {
      if (regex.test(lines[i]!)) hits.push(i);
    }
    if (hits.length === 0) continue;
    filesWithMatches++;
    matches += hits.length;
    const hitSet = new Set(hits);
    let lastShown = -1;
    for (const i of hits) {
      const from = Math.max(i - context, lastShown + 1);
      if (context > 0 && lastShown !== -1 && from > lastShown + 1) out.push("--");
      for (let j = from; j <= Math.min(i + context, lines.length - 1); j++) {
        const sep = hitSet.has(j) ? ":" : "-";
        out.push(`${file}${sep}${j + 1}${sep}${lines[j]}`);
        lastShown = j;
      }
    }
  }
  const skipped = skippedNote(tooLarge);
  if (matches === 0) return `No matches for /${source}/ under ${path}${skipped}`;
  const capped = matches >= MAX_GREP_MATCHES ? ` (stopped at ${MAX_GREP_MATCHES})` : "";
  return `${
    out.join("\n")
  }\n(${matches} matching lines in ${filesWithMatches} files${capped})${skipped}`;
}

/**
 * What a tree search left out for size, and why: files over {@link MAX_GREP_FILE_BYTES} (named,
 * up to five; `read_file` with offset or tail reads them). Binary files are skipped silently.
 */
function skippedNote(tooLarge: readonly string[]): string {
  if (tooLarge.length === 0) return "";
  const named = tooLarge.slice(0, 5).join(", ") + (tooLarge.length > 5 ? ", …" : "");
  return `\n(skipped ${tooLarge.length} file(s) over the ${MAX_GREP_FILE_BYTES / 1024 / 1024} ` +
    `MiB grep limit: ${named}; read_file with offset or tail reads them)`;
}
