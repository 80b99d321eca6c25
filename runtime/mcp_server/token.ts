/**
 * The bearer token of the Streamable HTTP transport: `--token-file FILE`, else the daemon's
 * `$ASTRID_HOME/daemon/token`, else `$ASTRID_HOME/mcp/token`, created (mode 0600, 32 random
 * bytes as hex) when absent. Presented tokens are compared in constant time over their
 * BLAKE3 digests, so neither the content nor the length of the secret leaks through timing
 * (as far as JavaScript allows: see crypto/encoding.ts `timingSafeEqual`).
 *
 * @module
 */
import { join } from "node:path";
import { blake3, timingSafeEqual, toHex } from "../crypto/mod.ts";

/** Where the token came from. */
export interface ServeToken {
  readonly token: string;
  readonly path: string;
  /** `flag`: `--token-file`; `daemon`: the daemon's; `mcp`: ours (`created` when new). */
  readonly source: "flag" | "daemon" | "mcp";
  readonly created: boolean;
}

/** Tokens shorter than this are refused: a bearer token must not be guessable. */
export const MIN_TOKEN_CHARS = 16;
const MAX_TOKEN_CHARS = 4096;

async function readToken(path: string): Promise<string> {
  const text = (await Deno.readTextFile(path)).trim();
  if (text.length < MIN_TOKEN_CHARS || text.length > MAX_TOKEN_CHARS || /\s/.test(text)) {
    throw new RangeError(
      `Cannot use the token in ${path}: it has ${text.length} characters or contains spaces, ` +
        `expected ${MIN_TOKEN_CHARS}-${MAX_TOKEN_CHARS} without spaces`,
    );
  }
  return text;
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * Finds or creates the token.
 *
 * @example A fresh home gets a new 0600 token under mcp/
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { resolveServeToken } from "./token.ts";
 * const home = await Deno.makeTempDir();
 * const t = await resolveServeToken({ home });
 * equal(t.source, "mcp");
 * equal(t.created, true);
 * equal((await resolveServeToken({ home })).token, t.token);
 * await Deno.remove(home, { recursive: true });
 * ```
 */
export async function resolveServeToken(
  opts: { readonly home: string; readonly tokenFile?: string | undefined },
): Promise<ServeToken> {
  if (opts.tokenFile !== undefined) {
    return {
      token: await readToken(opts.tokenFile),
      path: opts.tokenFile,
      source: "flag",
      created: false,
    };
  }
  const daemon = join(opts.home, "daemon", "token");
  if (await exists(daemon)) {
    return { token: await readToken(daemon), path: daemon, source: "daemon", created: false };
  }
  const path = join(opts.home, "mcp", "token");
  if (await exists(path)) {
    return { token: await readToken(path), path, source: "mcp", created: false };
  }
  await Deno.mkdir(join(opts.home, "mcp"), { recursive: true, mode: 0o700 });
  const token = toHex(crypto.getRandomValues(new Uint8Array(32)));
  try {
    await Deno.writeTextFile(path, `${token}\n`, { createNew: true, mode: 0o600 });
  } catch (err) {
    // Another server created it first: use theirs.
    if (err instanceof Deno.errors.AlreadyExists) {
      return { token: await readToken(path), path, source: "mcp", created: false };
    }
    throw err;
  }
  await Deno.chmod(path, 0o600);
  return { token, path, source: "mcp", created: true };
}

/**
 * True when `header` (an `Authorization` value) is `Bearer <token>`; compared in constant time.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { bearerMatches } from "./token.ts";
 * equal(bearerMatches("Bearer 0123456789abcdef", "0123456789abcdef"), true);
 * equal(bearerMatches("Bearer 0123456789abcdeX", "0123456789abcdef"), false);
 * equal(bearerMatches(null, "0123456789abcdef"), false);
 * ```
 */
export function bearerMatches(header: string | null, token: string): boolean {
  const m = header === null ? null : /^Bearer[ ]+(\S{1,4096})$/i.exec(header.trim());
  const presented = m?.[1] ?? "";
  // Both sides are hashed, so the comparison's time depends on neither secret nor its length.
  const same = timingSafeEqual(
    blake3("astrid-mcp-bearer", presented),
    blake3("astrid-mcp-bearer", token),
  );
  return m !== null && same;
}
