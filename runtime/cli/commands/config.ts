/**
 * `astrid config show|validate|paths`: inspect the layered config.
 *
 * @module
 */
import { Command, Option } from "commander";
import { resolve } from "node:path";
import { stringify } from "smol-toml";
import {
  type AstridPaths,
  ConfigError,
  loadConfig,
  type LoadedConfig,
  redactConfig,
  resolvePaths,
  validateConfigFile,
} from "../../config/mod.ts";
import { type CliIo, globalOptions, printJson, wantsJson } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";

type FileLayer = "system" | "user" | "workspace";

/** Runs `fn`, turning a ConfigError into the CLI's one error type (exit 1). */
async function configErrorsToCli<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, ExitCode.Error);
    throw err;
  }
}

async function pathsFor(cmd: Command, io: CliIo): Promise<AstridPaths> {
  return await resolvePaths({
    env: io.env,
    cwd: io.cwd,
    workspace: globalOptions(cmd).workspace,
    systemConfig: io.env.ASTRID_SYSTEM_CONFIG,
  });
}

function describeLayers(loaded: LoadedConfig): string[] {
  return loaded.layers.map((l) => {
    const where = l.path === null ? "" : ` ${l.path}`;
    return `${l.name}${where} (${l.present ? "loaded" : "absent"})`;
  });
}

/** Which layer a file given to `config validate` is checked as, unless `--layer` says. */
function guessLayer(file: string, paths: AstridPaths): FileLayer {
  if (file === resolve(paths.systemConfig)) return "system";
  if (file === resolve(paths.userConfig)) return "user";
  return "workspace"; // the strictest reading for anything else
}

/**
 * Builds the `config` command tree.
 *
 * @example Print the resolved paths as JSON
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { configCommand } from "./config.ts";
 * let out = "";
 * const io = {
 *   env: { ASTRID_HOME: "/nonexistent/astrid" }, cwd: "/", isTty: false,
 *   stdout: (t: string) => { out += t; }, stderr: () => {},
 * };
 * await configCommand(io).exitOverride().parseAsync(["paths", "--json"], { from: "user" });
 * equal(JSON.parse(out).userConfig, "/nonexistent/astrid/config.toml");
 * ```
 */
export function configCommand(io: CliIo): Command {
  const config = new Command("config")
    .description(
      "Inspect the layered config (defaults → /etc/astrid → $ASTRID_HOME → ASTRID_* env → workspace)",
    )
    // Set before the subcommands are made so they inherit it (addCommand does not propagate it).
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });

  config.command("show")
    .description("Print the merged config (API keys redacted), the layers loaded and any warnings")
    .option("--json", "machine-readable output")
    .action(async (_opts: unknown, cmd: Command) => {
      const loaded = await configErrorsToCli(async () =>
        await loadConfig(await pathsFor(cmd, io), io.env)
      );
      const shown = redactConfig(loaded.config);
      if (wantsJson(cmd, io)) {
        printJson(io, { config: shown, layers: loaded.layers, warnings: loaded.warnings });
        return;
      }
      const header = describeLayers(loaded).map((l) => `# layer: ${l}`);
      const warnings = loaded.warnings.map((w) => `# warning: ${w}`);
      io.stdout([...header, ...warnings, "", stringify(shown), ""].join("\n"));
    });

  config.command("validate")
    .description("Check one config file, or (without FILE) every layer; prints ok or the error")
    .argument("[file]", "a config file to check")
    .addOption(
      new Option("--layer <layer>", "check FILE as this layer (default: from its location)")
        .choices(["system", "user", "workspace"]),
    )
    .option("--json", "machine-readable output")
    .action(async (file: string | undefined, opts: { layer?: FileLayer }, cmd: Command) => {
      const json = wantsJson(cmd, io);
      if (file !== undefined) {
        const path = resolve(io.cwd, file);
        const { layer, warnings } = await configErrorsToCli(async () => {
          const layer = opts.layer ?? guessLayer(path, await pathsFor(cmd, io));
          return { layer, warnings: await validateConfigFile(path, layer) };
        });
        if (json) printJson(io, { ok: true, file: path, layer, warnings });
        else {io.stdout(`ok ${path} (as ${layer} config)\n${
            warnings.map((w) => `warning: ${w}\n`).join("")
          }`);}
        return;
      }
      const loaded = await configErrorsToCli(async () =>
        await loadConfig(await pathsFor(cmd, io), io.env)
      );
      if (json) {
        printJson(io, { ok: true, layers: loaded.layers, warnings: loaded.warnings });
        return;
      }
      const lines = ["ok", ...describeLayers(loaded).map((l) => `  ${l}`)];
      for (const w of loaded.warnings) lines.push(`warning: ${w}`);
      io.stdout(lines.join("\n") + "\n");
    });

  config.command("paths")
    .description("Print ASTRID_HOME, the config files, the state store and the keys folder")
    .option("--json", "machine-readable output")
    .action(async (_opts: unknown, cmd: Command) => {
      const paths = await configErrorsToCli(async () => await pathsFor(cmd, io));
      if (wantsJson(cmd, io)) {
        printJson(io, paths);
        return;
      }
      const rows: [string, string | null][] = [
        ["home", paths.home],
        ["system config", paths.systemConfig],
        ["user config", paths.userConfig],
        ["workspace", paths.workspaceRoot],
        ["workspace config", paths.workspaceConfig],
        ["state", paths.stateKv],
        ["keys", paths.keysDir],
      ];
      io.stdout(rows.map(([k, v]) => `${k.padEnd(17)}${v ?? "(none)"}`).join("\n") + "\n");
    });

  return config;
}
