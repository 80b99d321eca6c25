/**
 * Fetching the pinned QuickJS source with apt (Debian's `quickjs` package from trixie) and
 * verifying it.
 *
 * @module
 */
import { EngineBuildError, exists, run, sha256Hex } from "./_util.ts";

/** The QuickJS release the engine is built from. */
export const QUICKJS_VERSION = "2025.04.26";
/** SHA-256 of Debian's `quickjs_2025.04.26.orig.tar.xz`. */
export const QUICKJS_SHA256 = "ec81da5b3249ed648dbc7df4a1654988910e66a118d9b71cb63534216efcfbbe";
/** The upstream tarball's file name. */
export const TARBALL = `quickjs_${QUICKJS_VERSION}.orig.tar.xz`;

/**
 * Picks the Debian archive URI (not the security archive) from apt sources: deb822 `.sources`
 * texts first, then a one-line-style `sources.list`.
 *
 * @param deb822 the texts of `/etc/apt/sources.list.d/*.sources`
 * @param legacy the text of `/etc/apt/sources.list` ("" when absent)
 * @returns the URI without a trailing slash
 *
 * @example A bookworm machine
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { archiveUriFrom } from "./_source.ts";
 * const text = "Types: deb\nURIs: http://deb.example.org/debian\nSuites: bookworm\n";
 * equal(archiveUriFrom([text], ""), "http://deb.example.org/debian");
 * ```
 */
export function archiveUriFrom(deb822: string[], legacy: string): string {
  const uris: string[] = [];
  for (const text of deb822) {
    for (const m of text.matchAll(/^URIs:[ \t]*(.+)$/gm)) uris.push(...m[1]!.trim().split(/\s+/));
  }
  for (const m of legacy.matchAll(/^deb(?:-src)?[ \t]+(?:\[[^\]\n]*\][ \t]+)?(\S+)/gm)) {
    uris.push(m[1]!);
  }
  const uri = uris.find((u) =>
    /^https?:\/\/[A-Za-z0-9.-]+(?::\d+)?(?:\/[\w.~-]+)*\/debian\/?$/.test(u)
  );
  if (!uri) {
    throw new EngineBuildError(
      "SOURCE",
      `Cannot find a Debian archive in apt's sources: current value is [${uris.join(", ")}]`,
    );
  }
  return uri.replace(/\/$/, "");
}

async function debianArchiveUri(aptDir: string): Promise<string> {
  const texts: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${aptDir}/sources.list.d`)) {
      if (entry.isFile && entry.name.endsWith(".sources")) {
        texts.push(await Deno.readTextFile(`${aptDir}/sources.list.d/${entry.name}`));
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  texts.sort();
  const legacy = (await exists(`${aptDir}/sources.list`))
    ? await Deno.readTextFile(`${aptDir}/sources.list`)
    : "";
  return archiveUriFrom(texts, legacy);
}

/**
 * Makes sure `<buildDir>/quickjs/<tarball>` exists with the pinned SHA-256: a cached copy that
 * does not match is deleted and fetched again. Fetching uses a temporary apt source list
 * (`deb-src <this machine's Debian archive> trixie main`) and never touches /etc.
 *
 * @param buildDir the `.build` directory
 * @param aptDir where apt's sources live (default `/etc/apt`)
 * @returns a one-line description of what happened
 *
 * @example Reuse a verified tarball
 * ```ts ignore
 * import { ensureSource } from "./_source.ts";
 * console.log(await ensureSource(".build"));
 * ```
 */
export async function ensureSource(buildDir: string, aptDir = "/etc/apt"): Promise<string> {
  const target = `${buildDir}/quickjs/${TARBALL}`;
  if (await exists(target)) {
    if ((await sha256Hex(await Deno.readFile(target))) === QUICKJS_SHA256) return "cached";
    await Deno.remove(target);
  }
  const tmp = await Deno.makeTempDir({ prefix: "astrid-quickjs-" });
  try {
    const uri = await debianArchiveUri(aptDir);
    const keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
    await Deno.writeTextFile(
      `${tmp}/sources.list`,
      `deb-src [signed-by=${keyring}] ${uri} trixie main\n`,
    );
    for (const d of ["lists/partial", "cache/archives/partial", "src"]) {
      await Deno.mkdir(`${tmp}/${d}`, { recursive: true });
    }
    const opts = [
      "-o",
      `Dir::Etc::SourceList=${tmp}/sources.list`,
      "-o",
      "Dir::Etc::SourceParts=/dev/null",
      "-o",
      `Dir::State::Lists=${tmp}/lists`,
      "-o",
      `Dir::Cache=${tmp}/cache`,
    ];
    const update = await run("apt-get", [...opts, "update"]);
    if (!update.ok) {
      throw new EngineBuildError(
        "SOURCE",
        `Cannot update the temporary apt list: current value is ${update.stderr.trim()}`,
      );
    }
    const fetched = await run("apt-get", [...opts, "source", "--download-only", "quickjs"], {
      cwd: `${tmp}/src`,
    });
    const got = `${tmp}/src/${TARBALL}`;
    if (!fetched.ok || !(await exists(got))) {
      throw new EngineBuildError(
        "SOURCE",
        `Cannot fetch ${TARBALL}: current value is ${fetched.stderr.trim()}`,
      );
    }
    const sum = await sha256Hex(await Deno.readFile(got));
    if (sum !== QUICKJS_SHA256) {
      throw new EngineBuildError(
        "SOURCE",
        `Cannot trust ${TARBALL}: current value is sha256 ${sum}`,
      );
    }
    await Deno.mkdir(`${buildDir}/quickjs`, { recursive: true });
    await Deno.copyFile(got, `${target}.${Deno.pid}.tmp`);
    await Deno.rename(`${target}.${Deno.pid}.tmp`, target);
    return `fetched from ${new URL(uri).host} (trixie), sha256 verified`;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
