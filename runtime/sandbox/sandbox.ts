/**
 * The wall as callers use it: probe once, compute what to hide once, then turn each process
 * (an argv, a working directory, a workspace, writable paths, network or not) into the bwrap
 * command that runs it walled.
 *
 * @module
 */
import type { Walls } from "../security/walls.ts";
import { hiddenPaths } from "./hide.ts";
import { probeSandbox } from "./probe.ts";
import { wallArgs } from "./wall.ts";

/** One process to wall. */
export interface WallOptions {
  /** The workspace (canonical): read-write, its `.astrid/` read-only. Null: none. */
  readonly workspace: string | null;
  /** Extra paths it may write (absolute; they must exist). */
  readonly writable?: readonly string[];
  /**
   * Paths shown read-only even where the wall would hide them (the private /tmp, or a folder
   * inside a hidden one such as a capsule's own folder). Each must exist and must not be a
   * hidden path itself; hidden paths inside one stay hidden.
   */
  readonly readOnly?: readonly string[];
  /** Whether it may use the network. */
  readonly network: boolean;
  /** Its working directory (absolute). */
  readonly cwd: string;
}

/** A command ready to spawn: `program` with `args` (the wall, then `--`, then the command). */
export interface WalledCommand {
  readonly program: string;
  readonly args: string[];
}

/** Why a process cannot be walled as asked. */
export class SandboxError extends Error {
  /** `UNAVAILABLE` (no bwrap or no namespaces) or `REFUSED` (the request breaks a wall). */
  readonly code: "UNAVAILABLE" | "REFUSED";
  /** Creates the error. */
  constructor(code: "UNAVAILABLE" | "REFUSED", message: string) {
    super(message);
    this.name = "SandboxError";
    this.code = code;
  }
}

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root === "/" ? "/" : `${root}/`);
}

/**
 * The wall of one runtime.
 *
 * @example Wall a command (where bubblewrap works)
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { Sandbox } from "./sandbox.ts";
 * import { NO_WALLS } from "../security/walls.ts";
 * const sandbox = await Sandbox.open(NO_WALLS);
 * if (sandbox instanceof Sandbox) {
 *   const cmd = await sandbox.command({ workspace: null, network: false, cwd: "/" }, ["/bin/true"]);
 *   ok(cmd.args.includes("--cap-drop"));
 * }
 * ```
 */
export class Sandbox {
  readonly #bwrap: string;
  readonly #userns: boolean;
  readonly #hide: readonly { path: string; isDir: boolean }[];

  private constructor(bwrap: string, userns: boolean, hide: { path: string; isDir: boolean }[]) {
    this.#bwrap = bwrap;
    this.#userns = userns;
    this.#hide = hide;
  }

  /**
   * Probes bubblewrap and computes what the wall hides for `walls`. Returns the reason as a
   * string when no wall can be built here. `uid` is the user the walled processes start as
   * (default: this process's), whose passwd home is the user's own.
   */
  static async open(
    walls: Walls,
    opts: { bwrap?: string; uid?: number } = {},
  ): Promise<Sandbox | string> {
    const support = await probeSandbox(opts.bwrap);
    if (!support.ok) return support.why;
    const paths = await hiddenPaths({
      extra: [...walls.hidden, ...walls.sandboxHide],
      userHome: walls.userHome,
      ...(opts.uid === undefined ? {} : { uid: opts.uid }),
    });
    const hide = [];
    for (const path of paths) {
      const info = await Deno.lstat(path).catch(() => null);
      if (info) hide.push({ path, isDir: info.isDirectory });
    }
    return new Sandbox(support.bwrap, support.userns, hide);
  }

  /** True when processes run as an unprivileged uid in their own user namespace. */
  get userns(): boolean {
    return this.#userns;
  }

  /** What the wall hides (canonical paths). */
  get hidden(): readonly string[] {
    return this.#hide.map((h) => h.path);
  }

  /**
   * The bwrap command that runs `command` walled. Throws {@link SandboxError} `REFUSED` when a
   * writable path lies in a hidden path or a `.astrid` folder, or is missing, or when the workspace's
   * `.astrid` is a symlink (it must not lead the read-only bind elsewhere).
   */
  async command(opts: WallOptions, command: readonly string[]): Promise<WalledCommand> {
    const writable: string[] = [];
    for (const raw of opts.writable ?? []) {
      const path = await Deno.realPath(raw).catch(() => null);
      if (path === null) {
        throw new SandboxError("REFUSED", `Cannot make ${raw} writable: it does not exist`);
      }
      // Hidden paths inside a writable folder stay hidden (they are applied after the binds).
      const hidden = this.#hide.find((h) => inside(path, h.path));
      if (hidden || path.split("/").includes(".astrid")) {
        throw new SandboxError(
          "REFUSED",
          `Cannot make ${raw} writable: it lies in ${hidden?.path ?? "a .astrid folder"}, ` +
            "which the wall keeps hidden or read-only",
        );
      }
      writable.push(path);
    }
    const readOnly: string[] = [];
    for (const raw of opts.readOnly ?? []) {
      const path = await Deno.realPath(raw).catch(() => null);
      if (path === null) {
        throw new SandboxError("REFUSED", `Cannot show ${raw}: it does not exist`);
      }
      // Hidden paths inside a shown folder stay hidden (they are applied after the binds).
      if (this.#hide.some((h) => h.path === path)) {
        throw new SandboxError("REFUSED", `Cannot show ${raw}: the wall keeps it hidden`);
      }
      readOnly.push(path);
    }
    let configDirExists = false;
    if (opts.workspace !== null) {
      const info = await Deno.lstat(`${opts.workspace}/.astrid`).catch(() => null);
      if (info?.isSymlink) {
        throw new SandboxError(
          "REFUSED",
          `Cannot start a walled process: ${opts.workspace}/.astrid is a symlink; ` +
            "replace it with a folder (`astrid init`)",
        );
      }
      configDirExists = info !== null;
    }
    const args = wallArgs({
      workspace: opts.workspace,
      configDirExists,
      hide: this.#hide,
      writable,
      readOnly,
      network: opts.network,
      userns: this.#userns,
      cwd: opts.cwd,
    });
    return { program: this.#bwrap, args: [...args, "--", ...command] };
  }
}
