/**
 * What the wall hides. Inside the sandbox the whole filesystem is readable except:
 * - the runtime's own state (`Walls.hidden`: `$ASTRID_HOME`, the audit witness, a local store);
 * - the credential locations of the user's home ({@link CREDENTIAL_PATHS});
 * - other users' homes (every `/home/*` and passwd home other than the user's own, and `/root`
 *   unless it is the user's own); the user's own homes are `$HOME` and the passwd home of the
 *   process's uid (so root's `/root` is root's own, whatever `$HOME` says);
 * - `/run` (service sockets such as the Docker daemon's, which would hand out root);
 * - paths listed in `[sandbox] hide`.
 *
 * Build caches (`~/.cache`, `~/.npm`, `~/.cargo/registry`, `~/.rustup`, `~/.m2/repository`,
 * system folders) stay readable, so builds and tests that need no network still run.
 *
 * @module
 */

/**
 * Where credentials live in a home folder (relative to it). Folders are hidden whole; files are
 * replaced by an empty one. The list is documented in docs/sandbox.md; add to it with
 * `[sandbox] hide`.
 *
 * @example The usual suspects are listed
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { CREDENTIAL_PATHS } from "./hide.ts";
 * for (const p of [".ssh", ".aws", ".gnupg", ".netrc", ".docker", ".kube", ".npmrc"]) {
 *   ok(CREDENTIAL_PATHS.includes(p));
 * }
 * ```
 */
export const CREDENTIAL_PATHS: readonly string[] = Object.freeze([
  // Keys and agents
  ".ssh",
  ".gnupg",
  ".password-store",
  ".local/share/keyrings",
  ".pki",
  // Cloud and cluster credentials
  ".aws",
  ".azure",
  ".config/gcloud",
  ".oci",
  ".kube",
  ".docker",
  ".config/doctl",
  ".config/hcloud",
  ".config/rclone",
  ".s3cfg",
  ".boto",
  ".fly",
  ".vault-token",
  ".terraform.d/credentials.tfrc.json",
  // Forges and package registries
  ".netrc",
  ".git-credentials",
  ".config/git/credentials",
  ".config/gh",
  ".config/hub",
  ".config/glab-cli",
  ".npmrc",
  ".yarnrc",
  ".yarnrc.yml",
  ".config/configstore",
  ".pypirc",
  ".config/pip",
  ".gem/credentials",
  ".cargo/credentials",
  ".cargo/credentials.toml",
  ".m2/settings.xml",
  ".m2/settings-security.xml",
  ".gradle/gradle.properties",
  ".ivy2/.credentials",
  ".nuget/NuGet/NuGet.Config",
  ".composer/auth.json",
  ".config/composer/auth.json",
  // Databases
  ".pgpass",
  ".my.cnf",
  ".mongorc.js",
  // Agents and their API keys
  ".claude",
  ".claude.json",
  ".codex",
  ".config/anthropic",
  ".config/openai",
  // Browsers and mail (cookies, saved passwords)
  ".mozilla",
  ".thunderbird",
  ".config/google-chrome",
  ".config/chromium",
  ".config/BraveSoftware",
  // Shell histories (commands typed with secrets in them)
  ".bash_history",
  ".zsh_history",
  ".local/share/fish/fish_history",
  ".python_history",
  ".node_repl_history",
  ".psql_history",
  ".mysql_history",
]);

/** Folders that hold service sockets, hidden as a whole. */
export const SOCKET_DIRS: readonly string[] = Object.freeze(["/run"]);

/** What {@link hiddenPaths} reads, passed in (tests give their own). */
export interface HideInputs {
  /** Paths the runtime hides besides (`Walls.hidden` and `[sandbox] hide`). */
  readonly extra: readonly string[];
  /** The user's home (`$HOME`, canonical), whose credential locations are hidden; null: none. */
  readonly userHome: string | null;
  /** The process's uid, whose passwd home is the user's own too (default `Deno.uid()`). */
  readonly uid?: number | null;
  /** The text of /etc/passwd (default: read it; missing means no passwd homes). */
  readonly passwd?: string;
  /** The folder holding users' homes (default `/home`). */
  readonly homesDir?: string;
}

function within(path: string, root: string): boolean {
  return root === "/" ? true : path === root || path.startsWith(`${root}/`);
}

async function real(path: string): Promise<string | null> {
  try {
    return await Deno.realPath(path);
  } catch {
    return null;
  }
}

/** Homes in passwd: `[uid, home]` of every entry with an absolute home other than `/`. */
function passwdHomes(passwd: string): [number, string][] {
  const homes: [number, string][] = [];
  for (const line of passwd.split("\n")) {
    const f = line.split(":");
    const uid = Number(f[2]);
    const home = f[5];
    if (!home || !home.startsWith("/") || home === "/" || !Number.isInteger(uid)) continue;
    homes.push([uid, home]);
  }
  return homes;
}

/** Human users' accounts: root and uids from 1000 up, except `nobody`. */
const isHuman = (uid: number) => uid === 0 || (uid >= 1000 && uid !== 65534);

/**
 * Every existing path the wall hides, canonical, without duplicates or paths already inside
 * another hidden path. A missing path is skipped (there is nothing to read).
 *
 * @example Another user's home and the user's keys are hidden, the user's caches are not
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { hiddenPaths } from "./hide.ts";
 * const root = await Deno.realPath(await Deno.makeTempDir());
 * for (const d of ["home/me/.ssh", "home/me/.cache", "home/other"]) {
 *   await Deno.mkdir(`${root}/${d}`, { recursive: true });
 * }
 * const hidden = await hiddenPaths({
 *   extra: [], userHome: `${root}/home/me`, passwd: "", homesDir: `${root}/home`,
 * });
 * ok(hidden.includes(`${root}/home/me/.ssh`) && hidden.includes(`${root}/home/other`));
 * ok(!hidden.includes(`${root}/home/me/.cache`) && !hidden.includes(`${root}/home/me`));
 * ```
 */
export async function hiddenPaths(inputs: HideInputs): Promise<string[]> {
  const candidates: string[] = [...inputs.extra, ...SOCKET_DIRS];
  let passwd = inputs.passwd;
  if (passwd === undefined) passwd = await Deno.readTextFile("/etc/passwd").catch(() => "");
  const entries = passwdHomes(passwd);
  const uid = inputs.uid === undefined ? Deno.uid() : inputs.uid;
  const own = new Set<string>();
  for (const home of [inputs.userHome, ...entries.filter(([u]) => u === uid).map(([, h]) => h)]) {
    const canonical = home === null ? null : await real(home);
    if (canonical !== null && canonical !== "/") own.add(canonical);
  }
  for (const home of own) for (const rel of CREDENTIAL_PATHS) candidates.push(`${home}/${rel}`);
  const homes = new Set(entries.filter(([u]) => isHuman(u)).map(([, h]) => h));
  const homesDir = inputs.homesDir ?? "/home";
  try {
    for await (const e of Deno.readDir(homesDir)) homes.add(`${homesDir}/${e.name}`);
  } catch {
    // no such folder
  }
  homes.add("/root");
  for (const other of homes) {
    const canonical = await real(other);
    // The user's own homes stay (only their credentials go); a folder holding one is not a home.
    if (canonical !== null && ![...own].some((h) => within(h, canonical))) {
      candidates.push(other);
    }
  }
  const found: string[] = [];
  for (const path of candidates) {
    const canonical = await real(path);
    if (canonical !== null && canonical !== "/") found.push(canonical);
  }
  const unique = [...new Set(found)].sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
  return unique.filter((p, i) => !unique.slice(0, i).some((q) => within(p, q)));
}
