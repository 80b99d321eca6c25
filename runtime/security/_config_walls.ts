/**
 * The configuration walls (walls.ts) as policy checks, for every kind of agent-side action:
 * - a file action, or a capsule host call, on a hidden path (`$ASTRID_HOME`, the witness), or
 *   one that writes or deletes in a `.astrid` folder;
 * - a command naming a hidden path or a `.astrid` folder anywhere in its words or redirects
 *   (literally, through `..`, `~`, or a glob that could match), or running from inside one;
 * - an MCP tool call whose arguments name such a path.
 *
 * Words only known at run time (`$X`, `$(…)`) cannot be checked here: the sandbox is the wall
 * for those (it hides `$ASTRID_HOME` and binds the workspace's `.astrid/` read-only). Private
 * to policy.ts.
 *
 * @module
 */
import { type Action, actionPath } from "./action.ts";
import { normalizePath } from "./_policy_match.ts";
import { CONFIG_DIR_NAME, hiddenRoot, type Walls, within } from "./walls.ts";

const WRITE_CAPABILITIES: ReadonlySet<string> = new Set(["write_file", "fs_mkdir", "fs_unlink"]);
const GLOB = /[*?[{]/;
/** How deep MCP arguments are searched for paths, and how many strings at most. */
const MAX_DEPTH = 8;
const MAX_STRINGS = 4096;

/** True when the action creates, changes or deletes the path it names. */
function writes(action: Action): boolean {
  return action.kind === "file_write" || action.kind === "file_delete" ||
    (action.kind === "capsule_file_access" && WRITE_CAPABILITIES.has(action.capability));
}

function globToRegExp(glob: string): RegExp {
  let re = "^";
  for (const c of glob) {
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[" || c === "]") re += c;
    else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  try {
    return new RegExp(`${re}$`);
  } catch {
    return /^$/;
  }
}

/**
 * True when a shell word could name a `.astrid` folder: a segment that is `.astrid`, holds it
 * (`{.astrid,x}`), or is a glob that matches it (`.ast*`, `.[a]strid`).
 */
export function namesConfigDir(word: string): boolean {
  for (const segment of word.split(/[/=,{}]/)) {
    if (segment === CONFIG_DIR_NAME) return true;
    if (GLOB.test(segment) && segment.startsWith(".") && globToRegExp(segment).test(".astrid")) {
      return true;
    }
  }
  return false;
}

/** The hidden root a word could name (absolute, `~`, or relative to `cwd`), if any. */
function namesHidden(word: string, walls: Walls, cwd: string | undefined): string | undefined {
  if (walls.hidden.length === 0) return undefined;
  const candidates: string[] = [];
  if (word.startsWith("/")) candidates.push(word);
  else if (word.startsWith("~") && walls.userHome) {
    candidates.push(
      `${walls.userHome}${word.slice(word.indexOf("/") === -1 ? word.length : word.indexOf("/"))}`,
    );
  } else if (cwd !== undefined && word !== "") candidates.push(`${cwd}/${word}`);
  for (const raw of candidates) {
    const glob = raw.search(GLOB);
    if (glob === -1) {
      const found = hiddenRoot(walls, normalizePath(raw));
      if (found) return found;
      continue;
    }
    // A glob could match anything below its literal prefix, or reach up to a hidden root.
    const prefix = normalizePath(raw.slice(0, glob).replace(/[^/]*$/, "") || "/");
    const found = walls.hidden.find((root) => within(root, prefix) || within(prefix, root));
    if (found && prefix !== "/") return found;
  }
  return undefined;
}

function deniedWord(word: string, walls: Walls, cwd: string | undefined): string | undefined {
  const candidates = [word];
  const eq = word.indexOf("=");
  if (eq !== -1) candidates.push(word.slice(eq + 1));
  for (const w of candidates) {
    const hidden = namesHidden(w, walls, cwd);
    if (hidden) return `it names ${w}, inside ${hidden}, the runtime's own state`;
    if (namesConfigDir(w)) {
      return `it names ${w}, a .astrid configuration folder, which only the human's own ` +
        "astrid commands change (read the workspace config with read_file)";
    }
  }
  return undefined;
}

/** The parsed command line of an `execute_command`: every simple command and redirect. */
type CommandLine = {
  readonly commands: readonly (readonly string[])[];
  readonly redirects: readonly { readonly op: string; readonly target: string }[];
};
const NO_LINE: CommandLine = { commands: [], redirects: [] };

function* strings(value: unknown, depth = 0): Generator<string> {
  if (typeof value === "string") yield value;
  else if (depth < MAX_DEPTH && value !== null && typeof value === "object") {
    for (const v of Object.values(value as Record<string, unknown>)) yield* strings(v, depth + 1);
  }
}

/**
 * Why `action` breaks a configuration wall ("Cannot write …: …"), or undefined. `parsed` is the
 * command line of an `execute_command` (every simple command, nested scripts included).
 *
 * @example A write into the workspace's .astrid/ is refused, a read is not
 * ```ts
 * import { equal, ok } from "node:assert/strict";
 * import { checkConfigWalls } from "./_config_walls.ts";
 * const walls = { hidden: ["/h/.astrid"], userHome: "/h", sandboxHide: [] };
 * ok(checkConfigWalls({ kind: "file_write", path: "/ws/.astrid/capsules/x/Capsule.toml" }, walls));
 * equal(checkConfigWalls({ kind: "file_read", path: "/ws/.astrid/config.toml" }, walls), undefined);
 * ok(checkConfigWalls({ kind: "file_read", path: "/h/.astrid/keys/runtime.key" }, walls));
 * ok(checkConfigWalls({ kind: "execute_command", argv: ["cp", "x", ".astrid/"] }, walls));
 * ```
 */
export function checkConfigWalls(
  action: Action,
  walls: Walls,
  parsed: CommandLine = NO_LINE,
): string | undefined {
  const why = whyWalled(action, walls, parsed);
  return why === undefined ? undefined : `Cannot ${wallVerb(action)}: ${why}`;
}

function whyWalled(
  action: Action,
  walls: Walls,
  parsed: CommandLine = NO_LINE,
): string | undefined {
  const path = actionPath(action);
  if (path !== undefined) {
    const hidden = hiddenRoot(walls, path);
    if (hidden) return `it is inside ${hidden}, the runtime's own state, which no agent touches`;
    if (writes(action) && path.split("/").includes(CONFIG_DIR_NAME)) {
      return "it is in a .astrid configuration folder, which only the human's own astrid " +
        "commands change (init, config, capsule install)";
    }
    return undefined;
  }
  if (action.kind === "execute_command") {
    const cwd = action.cwd;
    if (cwd !== undefined && (hiddenRoot(walls, cwd) || cwd.split("/").includes(CONFIG_DIR_NAME))) {
      return `its working directory ${cwd} is configuration or the runtime's own state`;
    }
    for (const argv of [action.argv, ...parsed.commands]) {
      for (const word of argv) {
        const why = deniedWord(word, walls, cwd);
        if (why) return why;
      }
    }
    for (const { op, target } of parsed.redirects) {
      // Heredocs and here-strings carry text, not a path.
      if (op.startsWith("<<") || target === "") continue;
      const why = deniedWord(target, walls, cwd);
      if (why) return why;
    }
    return undefined;
  }
  if (action.kind === "mcp_tool_call") {
    let n = 0;
    for (const s of strings(action.args)) {
      if (++n > MAX_STRINGS) return "its arguments are too many to check for paths (fail closed)";
      const why = deniedWord(s, walls, undefined);
      if (why) return why;
    }
  }
  return undefined;
}

/** What the action does, for a config-wall denial ("Cannot write /ws/.astrid/x: …"). */
function wallVerb(action: Action): string {
  switch (action.kind) {
    case "file_read":
      return `read ${action.path}`;
    case "file_write":
      return `write ${action.path}`;
    case "file_delete":
      return `delete ${action.path}`;
    case "capsule_file_access":
      return `${action.capability.replace("_", "-")} ${action.path}`;
    case "execute_command":
      return `run ${action.argv.join(" ").slice(0, 120)}`;
    case "mcp_tool_call":
      return `call ${action.server}/${action.tool}`;
    default:
      return action.kind;
  }
}
