/**
 * The workspace boundary: which actions stay inside the workspace folder, which escape it,
 * and what each mode (`safe`, `guided`, `autonomous`) approves without asking. Escapes are
 * never auto-approved; the interceptor applies `escape_policy` (deny, or ask the human).
 *
 * @module
 */
import { type Action, actionPath } from "./action.ts";
import { parseArgv, parseCommandLine } from "./shell.ts";
import { normalizePath, SAFE_DEVICES } from "./_policy_match.ts";
import { canonicalizePath, isWithin, PathError } from "./_paths.ts";

export { canonicalizePath, canonicalizePathSync, PathError } from "./_paths.ts";
export { createInside, openConfined } from "./_open_confined.ts";

/**
 * How much runs without a prompt: `safe` nothing, `guided` reads inside the workspace,
 * `autonomous` reads, writes, deletes and commands inside the workspace.
 *
 * @example A mode is a plain string
 * ```ts
 * import { equal } from "node:assert/strict";
 * import type { WorkspaceMode } from "./workspace.ts";
 * const mode: WorkspaceMode = "guided";
 * equal(mode, "guided");
 * ```
 */
export type WorkspaceMode = "safe" | "guided" | "autonomous";
/**
 * What happens to an action that leaves the workspace: `deny`, or `ask` the human.
 *
 * @example Read back from the boundary
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { WorkspaceBoundary } from "./workspace.ts";
 * const ws = await WorkspaceBoundary.create(Deno.cwd(), "autonomous", "deny");
 * equal(ws.escapePolicy, "deny");
 * ```
 */
export type EscapePolicy = "ask" | "deny";

/**
 * Where an action stands relative to the workspace.
 *
 * @example An escape is never auto-approved
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { type BoundaryDecision, WorkspaceBoundary } from "./workspace.ts";
 * const ws = await WorkspaceBoundary.create(Deno.cwd(), "autonomous", "ask");
 * const d: BoundaryDecision = ws.classify({ kind: "file_write", path: "/etc/hosts" });
 * deepEqual([d.inside, d.escape, d.autoApprove, d.outside], [false, true, false, ["/etc/hosts"]]);
 * ```
 */
export interface BoundaryDecision {
  /** Every path the action touches is provably inside the workspace. */
  inside: boolean;
  /** Some path the action touches is outside the workspace. */
  escape: boolean;
  /** The mode approves the action without asking (never for an escape). */
  autoApprove: boolean;
  /** One line saying why. */
  reason: string;
  /**
   * The paths outside the workspace the action itself names (canonical or lexically normalised;
   * a home-relative one keeps its `~`): a file action's path, or the words of a command's own
   * argv (and of any script it hands to a shell with `-c`). A redirect elsewhere on the line is
   * not among them: it is an action of its own. A pattern that covers an escape must name these.
   */
  outside: readonly string[];
}

const MODES: readonly WorkspaceMode[] = ["safe", "guided", "autonomous"];
const ESCAPES: readonly EscapePolicy[] = ["ask", "deny"];
const READ_CAPABILITIES = new Set(["read_file", "fs_exists", "fs_readdir", "fs_stat"]);
const NON_FILE_REDIRECTS = new Set(["<<", "<<-", "<<<"]);

/**
 * The workspace root (canonical), its mode and its escape policy.
 *
 * @example The three modes differ on the same action
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { WorkspaceBoundary } from "./workspace.ts";
 * const dir = await Deno.makeTempDir();
 * const write = { kind: "file_write", path: "" } as const;
 * for (const [mode, expected] of [["safe", false], ["guided", false], ["autonomous", true]] as const) {
 *   const ws = await WorkspaceBoundary.create(dir, mode, "ask");
 *   equal(ws.classify({ ...write, path: `${ws.root}/a.txt` }).autoApprove, expected);
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class WorkspaceBoundary {
  readonly root: string;
  readonly mode: WorkspaceMode;
  readonly escapePolicy: EscapePolicy;

  private constructor(root: string, mode: WorkspaceMode, escapePolicy: EscapePolicy) {
    this.root = root;
    this.mode = mode;
    this.escapePolicy = escapePolicy;
  }

  /**
   * Canonicalises `root` (which must be an existing folder) and builds the boundary.
   *
   * @example A symlinked or relative root is made canonical
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { WorkspaceBoundary } from "./workspace.ts";
   * const ws = await WorkspaceBoundary.create(".", "safe", "ask");
   * equal(ws.root, await Deno.realPath("."));
   * ```
   */
  static async create(
    root: string,
    mode: WorkspaceMode,
    escapePolicy: EscapePolicy,
  ): Promise<WorkspaceBoundary> {
    if (!MODES.includes(mode)) {
      throw new TypeError(`Cannot use workspace mode: current value is ${String(mode)}`);
    }
    if (!ESCAPES.includes(escapePolicy)) {
      throw new TypeError(`Cannot use escape policy: current value is ${String(escapePolicy)}`);
    }
    const real = await canonicalizePath(root, Deno.cwd());
    const info = await Deno.stat(real).catch(() => undefined);
    if (!info?.isDirectory) {
      throw new PathError(`Cannot use workspace root: ${real} is not an existing folder`);
    }
    return new WorkspaceBoundary(real, mode, escapePolicy);
  }

  /**
   * True when the canonical `canonicalPath` is the root or below it.
   *
   * @example Prefix tricks are outside
   * ```ts
   * import { ok } from "node:assert/strict";
   * import { WorkspaceBoundary } from "./workspace.ts";
   * const ws = await WorkspaceBoundary.create(".", "safe", "ask");
   * ok(ws.contains(`${ws.root}/a`));
   * ok(!ws.contains(`${ws.root}-evil/a`));
   * ```
   */
  contains(canonicalPath: string): boolean {
    return typeof canonicalPath === "string" && isWithin(canonicalPath, this.root);
  }

  /**
   * Canonicalises `path` relative to `cwd` (default: the root).
   *
   * @example Relative to the root by default
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { WorkspaceBoundary } from "./workspace.ts";
   * const ws = await WorkspaceBoundary.create(".", "safe", "ask");
   * equal(await ws.resolve("a/../b.txt"), `${ws.root}/b.txt`);
   * ```
   */
  resolve(path: string, cwd?: string): Promise<string> {
    return canonicalizePath(path, cwd ?? this.root);
  }

  /**
   * Classifies an action (pure: its paths are already canonical).
   *
   * @example A command naming /etc escapes
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { WorkspaceBoundary } from "./workspace.ts";
   * const ws = await WorkspaceBoundary.create(".", "autonomous", "ask");
   * equal(ws.classify({ kind: "execute_command", argv: ["cat", "/etc/passwd"] }).escape, true);
   * ```
   */
  classify(action: Action): BoundaryDecision {
    let paths: string[];
    let own: string[] | undefined;
    if (action.kind === "execute_command") {
      const found = this.#commandPaths(action.argv, action.line, action.cwd ?? this.root);
      if (typeof found === "string") return this.#decide(action, false, false, found);
      if (found.dynamic && !found.paths.some((p) => !this.contains(p))) {
        return this.#decide(
          action,
          false,
          false,
          "the command expands words at run time, so its paths cannot be checked",
        );
      }
      paths = found.paths;
      own = found.own;
    } else {
      const path = actionPath(action);
      if (path === undefined) {
        return this.#decide(action, false, false, `${action.kind} touches no workspace path`);
      }
      paths = [path];
    }
    const outside = [...new Set(paths.filter((p) => !this.contains(p)))];
    if (outside.length > 0) {
      return this.#decide(
        action,
        false,
        true,
        `${outside.join(", ")} ${
          outside.length > 1 ? "are" : "is"
        } outside the workspace ${this.root}`,
        own === undefined ? outside : [...new Set(own.filter((p) => !this.contains(p)))],
      );
    }
    return this.#decide(action, true, false, `every path is inside the workspace ${this.root}`);
  }

  #decide(
    action: Action,
    inside: boolean,
    escape: boolean,
    why: string,
    outside: readonly string[] = [],
  ): BoundaryDecision {
    const autoApprove = inside && !escape && this.#modeApproves(action);
    const verdict = autoApprove
      ? `auto-approved in ${this.mode} mode`
      : escape
      ? `escape: escape_policy is ${this.escapePolicy}`
      : `needs approval in ${this.mode} mode`;
    return { inside, escape, autoApprove, reason: `${action.kind}: ${why}; ${verdict}`, outside };
  }

  #modeApproves(action: Action): boolean {
    if (this.mode === "safe") return false;
    const isRead = action.kind === "file_read" ||
      (action.kind === "capsule_file_access" && READ_CAPABILITIES.has(action.capability));
    if (this.mode === "guided") return isRead;
    return isRead || action.kind === "file_write" || action.kind === "file_delete" ||
      action.kind === "execute_command" || action.kind === "capsule_file_access";
  }

  /** Paths a command names (lexically normalised), or a string saying why they are unknown. */
  #commandPaths(
    argv: readonly string[],
    line: string | undefined,
    cwd: string,
  ): { paths: string[]; own: string[]; dynamic: boolean } | string {
    const paths = [cwd];
    const commands = [argv];
    const own: string[] = [];
    let dynamic = false;
    if (line !== undefined) {
      try {
        const parsed = parseCommandLine(line);
        commands.push(...parsed.commands);
        dynamic = parsed.dynamic;
        for (const { op, target } of parsed.redirects) {
          if (NON_FILE_REDIRECTS.has(op) || /^(\d+-?|-)?$/.test(target)) continue;
          this.#addPath(paths, target, cwd, true);
        }
      } catch (e) {
        return `the command line does not parse (${(e as Error).message})`;
      }
    }
    const addArgs = (to: string[], command: readonly string[]) => {
      // argv0 is the program; running /usr/bin/git does not touch /usr/bin.
      for (const arg of command.slice(1)) {
        const eq = arg.indexOf("=");
        this.#addPath(to, arg, cwd, false);
        if (eq !== -1) this.#addPath(to, arg.slice(eq + 1), cwd, false);
      }
    };
    for (const command of commands) addArgs(paths, command);
    try {
      for (const command of parseArgv(argv).commands) addArgs(own, command);
    } catch (e) {
      return `the command does not parse (${(e as Error).message})`;
    }
    return { paths, own, dynamic };
  }

  #addPath(paths: string[], arg: string, cwd: string, anyRelative: boolean): void {
    if (arg.startsWith("~")) {
      paths.push(`~${arg.slice(1)}`); // the home folder: treated as outside
      return;
    }
    let path: string | undefined;
    if (arg.startsWith("/")) path = arg;
    else if (anyRelative || /(^|\/)\.\.(\/|$)/.test(arg)) path = `${cwd}/${arg}`;
    if (path === undefined) return;
    const normal = normalizePath(path);
    if (!SAFE_DEVICES.has(normal)) paths.push(normal);
  }
}
