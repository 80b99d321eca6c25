/**
 * Installs the `astrid` command: a POSIX shell script in `$DENO_INSTALL_ROOT/bin` (default
 * `~/.deno/bin`, or `--root DIR`), run as `deno task install [--root DIR]`.
 *
 * The script runs this checkout with this Deno (`Deno.execPath()`). In a folder where the
 * launcher has run before, it starts the CLI straight under the permission flags the launcher
 * last used there (runtime/cli/_launch_direct.ts), which the CLI checks against the launcher's
 * trusted cache before anything else; otherwise it starts the launcher (runtime/cli/launch.ts),
 * as `deno install -A … launch.ts` would. Paths are written into the script single-quoted.
 *
 * Both run the checkout's CLI bundle (runtime/cli/_bundle.ts) when it has one, as it was last
 * built: installing builds it (scripts/build_cli.ts), and so do `deno task setup`, `test` and
 * `demo`. Without one, the script runs the sources.
 *
 * @module
 */

import { buildCli } from "./build_cli.ts";
import { CHILD_V8_FLAGS } from "../runtime/cli/launch.ts";

const REPO = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

/** `value` as one single-quoted shell word. */
function quote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * The script's text for the Deno at `deno` and the checkout at `repo`.
 *
 * @example It starts the launcher unless the cached flags apply
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { shimScript } from "./install.ts";
 * const text = shimScript("/opt/deno", "/src/astrid");
 * ok(text.startsWith("#!/bin/sh\n"));
 * ok(text.includes("sources='/src/astrid/runtime/cli/'"));
 * ok(text.includes("bundle='/src/astrid/.build/cli/'"));
 * ```
 */
export function shimScript(deno: string, repo: string): string {
  const config = quote(`${repo}/deno.json`);
  return `#!/bin/sh
# astrid: written by \`deno task install\` (scripts/install.ts) for the checkout at ${repo}.
# A repeat run in a folder starts the CLI straight under the permission flags the launcher last
# used there; the CLI checks them against the launcher's trusted cache before anything else and
# does the launcher's work itself when they do not hold (runtime/cli/_launch_direct.ts).
# Both run the checkout's current CLI bundle when there is one (runtime/cli/_bundle.ts).
sources=${quote(`${repo}/runtime/cli/`)}
bundle=${quote(`${repo}/.build/cli/`)}
entry=
if [ -f "\${bundle}current" ] && [ ! -L "\${bundle}current" ] && [ ! -L "\${bundle%/}" ] &&
  IFS= read -r id 2>/dev/null < "\${bundle}current"; then
  case $id in
    *[!0-9a-f]* | '') ;;
    *) [ -f "$bundle$id/entry.js" ] && [ ! -L "$bundle$id" ] && entry=$bundle$id/entry.js ;;
  esac
fi
launch() {
  exec ${
    quote(deno)
  } run -A --quiet ${CHILD_V8_FLAGS} --config ${config} "\${entry:-\${sources}launch.ts}" "$@"
}
[ -z "\${INIT_CWD:-}" ] || launch "$@"
home=\${ASTRID_HOME:-\${HOME:-}/.astrid}
case $home in /*) ;; *) launch "$@" ;; esac
file=$home/cache/launch-direct
{ [ -f "$file" ] && [ ! -L "$file" ] && [ -O "$file" ]; } || launch "$@"
cd -P . 2>/dev/null || launch "$@"
nl='
'
state=look
flags=
env=no
{
  IFS= read -r magic || magic=
  [ "$magic" = "astrid-direct 1" ] || state=bad
  while [ "$state" = look ] || [ "$state" = take ]; do
    IFS= read -r line || { state=bad; break; }
    if [ "$state" = look ]; then
      [ "$line" = "dir $PWD" ] && state=take
      continue
    fi
    case $line in
      end) state=found ;;
      --allow-env) env=yes; flags=$flags$line$nl ;;
      --no-prompt | --allow-read | --allow-read=?* | --allow-write=?* | \\
        --allow-run=?* | --allow-net=?* | --allow-sys=?*)
        flags=$flags$line$nl ;;
      *) state=bad ;;
    esac
  done
} < "$file"
# Without --allow-env the CLI could not read ASTRID_DIRECT_FLAGS, and so could not check them.
[ "$state" = found ] && [ "$env" = yes ] || launch "$@"
set -f
IFS=$nl
# shellcheck disable=SC2086 # split on line breaks only, no globbing: one word per flag
set -- $flags "\${entry:-\${sources}main.ts}" "$@"
unset IFS
ASTRID_DIRECT_FLAGS=\${flags%"$nl"}
export ASTRID_DIRECT_FLAGS
exec ${quote(deno)} run --quiet ${CHILD_V8_FLAGS} --config ${config} "$@"
`;
}

/** Writes the script as `DIR/bin/astrid` (mode 0755) and returns its path. */
export async function installShim(root: string, deno = Deno.execPath()): Promise<string> {
  await buildCli();
  const bin = `${root}/bin`;
  await Deno.mkdir(bin, { recursive: true });
  const path = `${bin}/astrid`;
  const temp = `${path}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(temp, shimScript(deno, REPO), { mode: 0o755 });
  await Deno.chmod(temp, 0o755);
  await Deno.rename(temp, path);
  return path;
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--root");
  const home = Deno.env.get("HOME");
  const root = at >= 0
    ? Deno.args[at + 1]
    : Deno.env.get("DENO_INSTALL_ROOT") ?? (home ? `${home}/.deno` : undefined);
  if (!root) {
    console.error("error: Cannot install: pass --root DIR (no HOME or DENO_INSTALL_ROOT)");
    Deno.exit(2);
  }
  const path = await installShim(root);
  console.log(`installed ${path}`);
  if (!(Deno.env.get("PATH") ?? "").split(":").includes(`${root}/bin`)) {
    console.log(`add ${root}/bin to PATH to run \`astrid\``);
  }
}
