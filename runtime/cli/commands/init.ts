/**
 * `astrid init [DIR]`: make DIR a workspace (`DIR/.astrid/` with `workspace.json` and a commented
 * `config.toml`). Idempotent: an existing id and an existing config are kept.
 *
 * @module
 */
import { Command } from "commander";
import { join, resolve } from "node:path";
import { ConfigError, resolvePaths, workspaceConfigTemplate } from "../../config/mod.ts";
import { type CliIo, printJson, wantsJson } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";

/** What `astrid init` did. */
interface InitResult {
  root: string;
  id: string;
  created: string[];
  kept: string[];
}

async function lstatOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/** Writes `text` to a new file; false when the file already exists (never overwrites). */
async function writeNew(path: string, text: string): Promise<boolean> {
  try {
    await Deno.writeTextFile(path, text, { createNew: true });
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return false;
    throw err;
  }
}

async function readWorkspaceId(path: string): Promise<string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    throw new CliError(`Cannot read ${path}: ${(err as Error).message} (fix or remove it)`);
  }
  const id = (parsed as { id?: unknown } | null)?.id;
  if (typeof id !== "string" || id === "") {
    throw new CliError(`Cannot read ${path}: current value has no string "id" (fix or remove it)`);
  }
  return id;
}

async function initWorkspace(io: CliIo, dir: string | undefined): Promise<InitResult> {
  const target = resolve(io.cwd, dir ?? ".");
  const created: string[] = [];
  const kept: string[] = [];
  await Deno.mkdir(target, { recursive: true });
  const root = await Deno.realPath(target);
  const astridDir = join(root, ".astrid");

  let home: string;
  try {
    home = (await resolvePaths({ env: io.env, cwd: io.cwd })).home;
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, ExitCode.Error);
    throw err;
  }
  const realHome = await Deno.realPath(home).catch(() => resolve(home));
  if (realHome === astridDir) {
    throw new CliError(
      `Cannot init ${root}: its .astrid/ is ASTRID_HOME (${home}); choose another folder`,
      ExitCode.Usage,
    );
  }

  const info = await lstatOrNull(astridDir);
  if (info === null) {
    await Deno.mkdir(astridDir);
    created.push(astridDir + "/");
  } else if (info.isSymlink || !info.isDirectory) {
    throw new CliError(
      `Cannot init ${root}: ${astridDir} exists and is not a plain directory (current value is a ${
        info.isSymlink ? "symlink" : "file"
      })`,
    );
  } else {
    kept.push(astridDir + "/");
  }

  const metaPath = join(astridDir, "workspace.json");
  const fresh = { id: crypto.randomUUID(), createdAt: new Date().toISOString() };
  let id: string;
  if (await writeNew(metaPath, JSON.stringify(fresh, null, 2) + "\n")) {
    id = fresh.id;
    created.push(metaPath);
  } else {
    id = await readWorkspaceId(metaPath);
    kept.push(metaPath);
  }

  const configPath = join(astridDir, "config.toml");
  if (await writeNew(configPath, workspaceConfigTemplate())) created.push(configPath);
  else kept.push(configPath);
  return { root, id, created, kept };
}

/**
 * Builds the `init` command.
 *
 * @example Initialise a temporary folder twice: the id is kept
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { initCommand } from "./init.ts";
 * const dir = await Deno.makeTempDir();
 * let out = "";
 * const io = {
 *   env: { ASTRID_HOME: `${dir}/home` }, cwd: dir, isTty: false,
 *   stdout: (t: string) => { out += t; }, stderr: () => {},
 * };
 * await initCommand(io).exitOverride().parseAsync(["--json"], { from: "user" });
 * const first = JSON.parse(out).id;
 * out = "";
 * await initCommand(io).exitOverride().parseAsync(["--json"], { from: "user" });
 * equal(JSON.parse(out).id, first);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function initCommand(io: CliIo): Command {
  return new Command("init")
    .description("Make DIR (default: the current folder) an Astrid workspace: DIR/.astrid/")
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .argument("[dir]", "the workspace folder (created if missing)")
    .option("--json", "machine-readable output")
    .action(async (dir: string | undefined, _opts: unknown, cmd: Command) => {
      const result = await initWorkspace(io, dir);
      if (wantsJson(cmd, io)) {
        printJson(io, result);
        return;
      }
      const lines = [
        ...result.created.map((p) => `created ${p}`),
        ...result.kept.map((p) => `kept    ${p}`),
        `workspace ${result.root} (id ${result.id})`,
      ];
      io.stdout(lines.join("\n") + "\n");
    });
}
