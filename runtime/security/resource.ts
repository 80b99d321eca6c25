/**
 * Resource URIs and the glob patterns that tokens, rules and policy match against them.
 *
 * Pattern syntax (one compiler for the whole runtime, so every check agrees):
 * - `exec://` patterns: `*` matches any run of characters, `?` one character. A command
 *   resource is the whole argv joined by spaces, so `exec://git status` never covers `git push`.
 * - every other scheme: `*` matches within one `/`-separated segment, `**` matches across
 *   segments (dotfiles included), a trailing `/**` also matches the folder itself, `?` matches
 *   one character other than `/`.
 *
 * Resources are normalised before matching: file paths must be absolute, free of `.`/`..`
 * segments and NUL bytes; URLs go through `new URL()`.
 *
 * @module
 */

/** A compiled resource pattern. */
export interface ResourcePattern {
  /** The pattern as written. */
  readonly source: string;
  /** True when `resource` (already normalised) matches. */
  test(resource: string): boolean;
}

const compiled = new Map<string, ResourcePattern>();

/**
 * Compiles (and caches) a resource glob.
 *
 * @example A folder pattern covers dotfiles but not siblings
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { compileResourcePattern } from "./resource.ts";
 * const p = compileResourcePattern("file:///ws/**");
 * ok(p.test("file:///ws/.env"));
 * ok(!p.test("file:///ws2/a"));
 * ```
 */
export function compileResourcePattern(source: string): ResourcePattern {
  let pattern = compiled.get(source);
  if (pattern) return pattern;
  if (source.includes("\0")) throw new TypeError("Cannot compile pattern: it holds a NUL byte");
  const isExec = source.startsWith("exec://");
  let re = "^";
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === "*") {
      if (isExec) {
        re += "[\\s\\S]*";
        while (source[i + 1] === "*") i++;
      } else if (source[i + 1] === "*") {
        i++;
        while (source[i + 1] === "*") i++;
        const prevSlash = re.endsWith("/");
        if (prevSlash && i === source.length - 1) {
          re = re.slice(0, -1) + "(?:/[\\s\\S]*)?";
        } else if (prevSlash && source[i + 1] === "/") {
          re += "(?:[\\s\\S]*/)?";
          i++;
        } else {
          re += "[\\s\\S]*";
        }
      } else {
        re += "[^/]*";
      }
    } else if (c === "?") {
      re += isExec ? "[\\s\\S]" : "[^/]";
    } else {
      re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
  }
  const regex = new RegExp(re + "$", "u");
  pattern = { source, test: (resource) => regex.test(resource) };
  if (compiled.size > 4096) compiled.clear();
  compiled.set(source, pattern);
  return pattern;
}

/**
 * True when `resource` matches the glob `pattern`.
 *
 * @example Commands match whole
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { matchResource } from "./resource.ts";
 * ok(matchResource("exec://npm run test*", "exec://npm run test:unit"));
 * ok(!matchResource("exec://git status", "exec://git push --force"));
 * ```
 */
export function matchResource(pattern: string, resource: string): boolean {
  return compileResourcePattern(pattern).test(resource);
}

/**
 * Returns the `file://` resource for an absolute path. Rejects relative paths, `.`/`..`
 * segments and NUL bytes with a `TypeError`; canonicalise the path first (workspace.ts).
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { fileResource } from "./resource.ts";
 * deepEqual(fileResource("/ws/a.txt"), "file:///ws/a.txt");
 * ```
 */
export function fileResource(path: string): string {
  if (path.includes("\0")) throw new TypeError("Cannot name a file resource: path holds NUL");
  if (!path.startsWith("/")) {
    throw new TypeError(`Cannot name a file resource: path "${path}" is not absolute`);
  }
  if (path.split("/").some((s) => s === ".." || s === ".")) {
    throw new TypeError(`Cannot name a file resource: path "${path}" has . or .. segments`);
  }
  return `file://${path.replace(/\/+/g, "/")}`;
}

/**
 * Returns the `exec://` resource of one command's argv.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { execResource } from "./resource.ts";
 * deepEqual(execResource(["npm", "run", "test"]), "exec://npm run test");
 * ```
 */
export function execResource(argv: readonly string[]): string {
  if (argv.length === 0) throw new TypeError("Cannot name a command resource: argv is empty");
  if (argv.some((a) => a.includes("\0"))) {
    throw new TypeError("Cannot name a command resource: an argument holds NUL");
  }
  return `exec://${argv.join(" ")}`;
}

/**
 * Normalises an http(s) URL (lowercase host, default port dropped, dot segments resolved).
 * Throws `TypeError` for anything that is not http or https.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { urlResource } from "./resource.ts";
 * deepEqual(urlResource("HTTPS://API.example.com:443/a/../b"), "https://api.example.com/b");
 * ```
 */
export function urlResource(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`Cannot name a URL resource: "${url}" does not parse as a URL`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new TypeError(`Cannot name a URL resource: scheme ${parsed.protocol} is not http(s)`);
  }
  parsed.hash = "";
  return parsed.href;
}

/**
 * Returns `net://host:port` for a URL, with the scheme's default port filled in.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { netResource } from "./resource.ts";
 * deepEqual(netResource("https://api.github.com/x"), "net://api.github.com:443");
 * ```
 */
export function netResource(url: string): string {
  const parsed = new URL(urlResource(url));
  const port = parsed.port || (parsed.protocol === "https:" ? "443" : "80");
  return `net://${parsed.hostname}:${port}`;
}
