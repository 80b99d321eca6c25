/**
 * `astrid capsule compile DIR [-o OUT]`, `install PATH|DIR [--workspace] [--yes]`,
 * `list [--json]`, `info NAME [--json]` and `remove NAME`. Install shows the requested
 * capabilities and asks before copying (unless `--yes`), asks for `[env]` values (secrets
 * without echo) and refuses symlinks. A hash mismatch anywhere exits 5.
 *
 * `--workspace` is the root's global option (its folder is optional): given at all, install
 * goes into the workspace, else it is for the user. `--scope user|workspace` says it explicitly.
 *
 * @module
 */
import { Command, Option } from "commander";
import type {
  CapsuleDirs,
  InstalledCapsule,
  InstallScope,
  LoadedCapsule,
} from "../../capsule/mod.ts";
import type { AstridConfig } from "../../config/mod.ts";
import { type CliIo, globalOptions, loadCliConfig, printJson, wantsJson } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";

/**
 * The capsule runtime, loaded on first use by a computed specifier (kept out of the start-up
 * module graph): `compile` needs none of it.
 */
const lib = () =>
  import(new URL("../../capsule/mod.ts", import.meta.url).href) as Promise<
    typeof import("../../capsule/mod.ts")
  >;

/**
 * Reads a secret without echoing it; null when no terminal can.
 *
 * @example A fake reader for tests
 * ```ts
 * import { equal } from "node:assert/strict";
 * import type { SecretReader } from "./capsule.ts";
 * const read: SecretReader = () => Promise.resolve("s3cret");
 * equal(await read("API token: "), "s3cret");
 * ```
 */
export type SecretReader = (prompt: string) => Promise<string | null>;

/**
 * Reads a line with echo off on a real terminal (raw mode), or null when stdin is not one.
 *
 * @example Without a terminal there is nothing to read
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { readHiddenLine } from "./capsule.ts";
 * if (!Deno.stdin.isTerminal()) equal(await readHiddenLine("secret: "), null);
 * ```
 */
export async function readHiddenLine(prompt: string): Promise<string | null> {
  if (!Deno.stdin.isTerminal()) return null;
  const enc = new TextEncoder();
  Deno.stderr.writeSync(enc.encode(prompt));
  Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  try {
    const buf = new Uint8Array(1);
    for (;;) {
      const n = await Deno.stdin.read(buf);
      if (n === null || buf[0] === 4) {
        return bytes.length ? new TextDecoder().decode(new Uint8Array(bytes)) : null;
      }
      const b = buf[0]!;
      if (b === 3) throw new CliError("Cannot read the secret: interrupted", ExitCode.Error);
      if (b === 13 || b === 10) break;
      if (b === 127 || b === 8) bytes.pop();
      else bytes.push(b);
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(enc.encode("\n"));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

interface InstallOpts {
  readonly yes?: boolean;
  readonly scope?: InstallScope;
  readonly env?: string[];
}

/** Maps capsule errors to the CLI's exit codes (INTEGRITY → 5). */
async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof (await lib()).CapsuleError) {
      const code = e.code === "INTEGRITY" ? ExitCode.Integrity : ExitCode.Error;
      throw new CliError(e.message, code);
    }
    throw e;
  }
}

async function context(
  cmd: Command,
  io: CliIo,
): Promise<{ dirs: CapsuleDirs; config: AstridConfig }> {
  const { paths, config, warnings } = await loadCliConfig(cmd, io);
  for (const w of warnings) io.stderr(`warning: ${w}\n`);
  return { dirs: (await lib()).capsuleDirs(paths.home, paths.workspaceRoot), config };
}

function capabilityLines(loaded: LoadedCapsule): string[] {
  const c = loaded.manifest.capabilities;
  const lines: string[] = [];
  if (c.net.length) lines.push(`network: ${c.net.join(", ")}`);
  if (c.fs_read.length) lines.push(`read files under: ${c.fs_read.join(", ")}`);
  if (c.fs_write.length) lines.push(`write files under: ${c.fs_write.join(", ")}`);
  if (c.kv) lines.push("its own key-value store");
  if (c.host_process.length) lines.push(`run: ${c.host_process.join(", ")} (not yet supported)`);
  return lines.length ? lines : ["nothing (no capabilities requested)"];
}

async function collectEnv(
  io: CliIo,
  loaded: LoadedCapsule,
  given: Record<string, string>,
  interactive: boolean,
  readSecret: SecretReader,
): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const [key, spec] of Object.entries(loaded.manifest.env)) {
    if (Object.hasOwn(given, key)) {
      values[key] = given[key]!;
      continue;
    }
    let value: string | null = null;
    if (interactive) {
      const ask = `${spec.request ?? key}${spec.default ? ` [${spec.default}]` : ""}: `;
      value = spec.type === "secret" ? await readSecret(ask) : await io.readLine!(ask);
    }
    if (value === null || value === "") value = spec.default ?? null;
    if (value === null) {
      if (spec.required) {
        throw new CliError(
          `Cannot install ${loaded.manifest.package.name}: [env] ${key} is required ` +
            `(pass --env ${key}=VALUE or install from a terminal)`,
          ExitCode.Usage,
        );
      }
      continue;
    }
    values[key] = value;
  }
  return values;
}

function parseEnvFlags(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf("=");
    if (eq <= 0) {
      throw new CliError(`Cannot parse --env: current value is ${item} (want KEY=VALUE)`, 2);
    }
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

async function find(
  dirs: CapsuleDirs,
  config: AstridConfig,
  name: string,
): Promise<InstalledCapsule> {
  const { listInstalled, CapsuleError } = await lib();
  const { capsules, broken } = await listInstalled(dirs, {
    requireHash: config.capsules.require_hash,
  });
  const hit = capsules.find((c) => c.loaded.manifest.package.name === name);
  if (hit) return hit;
  const bad = broken.find((b) => b.dir.endsWith(`/${name}`));
  if (bad) throw bad.error;
  throw new CapsuleError("NOT_FOUND", `Cannot find capsule ${name}: it is not installed`);
}

/**
 * Builds the `capsule` command tree. `readSecret` reads `[env]` secrets without echo.
 *
 * @example The subcommands
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { capsuleCommand } from "./capsule.ts";
 * const io = { env: {}, cwd: "/", isTty: false, stdout: () => {}, stderr: () => {} };
 * deepEqual(capsuleCommand(io).commands.map((c) => c.name()), [
 *   "compile", "install", "list", "info", "remove",
 * ]);
 * ```
 */
export function capsuleCommand(io: CliIo, readSecret: SecretReader = readHiddenLine): Command {
  const capsule = new Command("capsule").description(
    "Compile, install, inspect and remove capsules (WASM extensions)",
  );

  capsule.command("compile")
    .description("Compile a capsule project (TypeScript) to capsule.wasm + Capsule.toml")
    .argument("<dir>", "the project folder (with Capsule.toml or package.json)")
    .option("-o, --out <dir>", "output folder (default: <dir>/dist)")
    .option("--no-check", "skip type-checking")
    .action(async (dir: string, opts: { out?: string; check: boolean }, cmd: Command) => {
      const { compileCapsule, CompileError } = await import("../../../toolchain/compile.ts");
      try {
        const res = await compileCapsule(resolve(io.cwd, dir), {
          ...(opts.out ? { out: resolve(io.cwd, opts.out) } : {}),
          typeCheck: opts.check,
          log: (line) => io.stderr(`${line}\n`),
        });
        if (wantsJson(cmd, io)) return printJson(io, res);
        io.stdout(`${res.wasmPath} ${res.hash} ${res.bytes} bytes\n`);
      } catch (e) {
        if (e instanceof CompileError) {
          const loc = e.file ? ` (${e.file}${e.line ? `:${e.line}` : ""})` : "";
          throw new CliError(`${e.message}${loc}`, ExitCode.Error);
        }
        throw e;
      }
    });

  capsule.command("install")
    .description("Install a capsule after showing what it may do")
    .argument(
      "<source>",
      "a capsule folder (with Capsule.toml and capsule.wasm) or its Capsule.toml",
    )
    .addOption(
      new Option("--scope <scope>", "install for the user or into the workspace")
        .choices(["user", "workspace"]),
    )
    .option("-y, --yes", "accept the requested capabilities without asking")
    .option("--env <KEY=VALUE...>", "an [env] value (prefer the prompt for secrets)")
    .option("--json", "print the result as JSON")
    .action((source: string, opts: InstallOpts, cmd: Command) =>
      guarded(async () => {
        const { dirs, config } = await context(cmd, io);
        const scope = opts.scope ?? (globalOptions(cmd).workspaceFlag ? "workspace" : "user");
        if (scope === "workspace" && dirs.workspace === null) {
          throw new CliError(
            "Cannot install into the workspace: no .astrid/ folder here or above (run `astrid init`)",
            ExitCode.Usage,
          );
        }
        const { sourceDir, loadCapsule, installCapsule, envFilePath, writeEnvFile } = await lib();
        const src = await sourceDir(resolve(io.cwd, source));
        const requireHash = config.capsules.require_hash;
        const preview = await loadCapsule(src, { requireHash });
        const m = preview.manifest;
        io.stderr(
          `Capsule ${m.package.name} ${m.package.version}` +
            (m.package.description ? `: ${m.package.description}` : "") + "\n",
        );
        io.stderr(`  hash: ${preview.wasm?.hash ?? "(no wasm: static capsule)"}\n`);
        io.stderr("  It asks for:\n");
        for (const line of capabilityLines(preview)) io.stderr(`    - ${line}\n`);
        for (const w of preview.warnings) io.stderr(`  warning: ${w}\n`);
        const interactive = io.isTty && io.readLine !== undefined;
        if (!opts.yes) {
          if (!interactive) {
            throw new CliError(
              "Cannot install without confirmation: no terminal to ask (pass --yes to accept)",
              ExitCode.Usage,
            );
          }
          const answer = await io.readLine!(`Install ${m.package.name} (${scope})? [y/N] `);
          if (!/^y(es)?$/i.test(answer?.trim() ?? "")) {
            throw new CliError(`Cannot install ${m.package.name}: declined`, ExitCode.Denied);
          }
        }
        const env = await collectEnv(
          io,
          preview,
          parseEnvFlags(opts.env ?? []),
          interactive,
          readSecret,
        );
        const loaded = await installCapsule(dirs, src, { scope, requireHash });
        const envPath = envFilePath(
          dirs.home,
          scope === "user" ? null : dirs.workspaceRoot,
          m.package.name,
        );
        if (Object.keys(env).length) await writeEnvFile(envPath, env);
        const result = {
          name: m.package.name,
          version: m.package.version,
          scope,
          dir: loaded.dir,
          hash: loaded.wasm?.hash ?? null,
          env: Object.keys(env),
        };
        if (wantsJson(cmd, io)) return printJson(io, result);
        io.stdout(`installed ${result.name} ${result.version} (${scope}) in ${result.dir}\n`);
      })
    );

  capsule.command("list")
    .description("List installed capsules")
    .option("--json", "machine-readable output")
    .action((_opts: unknown, cmd: Command) =>
      guarded(async () => {
        const { dirs, config } = await context(cmd, io);
        const { capsules, broken } = await (await lib()).listInstalled(dirs, {
          requireHash: config.capsules.require_hash,
        });
        const rows = capsules.map((c) => ({
          name: c.loaded.manifest.package.name,
          version: c.loaded.manifest.package.version,
          scope: c.scope,
          hash: c.loaded.wasm?.hash ?? null,
          tools: c.loaded.manifest.tool.map((t) => t.name),
        }));
        const bad = broken.map((b) => ({
          scope: b.scope,
          dir: b.dir,
          code: (b.error as { code?: string }).code ?? "ERROR",
          error: b.error.message,
        }));
        if (wantsJson(cmd, io)) printJson(io, { capsules: rows, broken: bad });
        else {
          if (!rows.length && !bad.length) io.stdout("no capsules installed\n");
          for (const r of rows) {
            io.stdout(
              `${r.name.padEnd(20)} ${r.version.padEnd(10)} ${r.scope.padEnd(9)} ${
                r.hash ?? "static"
              }\n`,
            );
          }
          for (const b of bad) io.stderr(`error: ${b.dir}: ${b.error}\n`);
        }
        if (bad.some((b) => b.code === "INTEGRITY")) {
          throw new CliError(
            "Cannot trust every capsule: an integrity check failed",
            ExitCode.Integrity,
          );
        }
      })
    );

  capsule.command("info")
    .description("Show a capsule's capabilities, tools, hash, size and wasm path")
    .argument("<name>", "the capsule's name")
    .option("--json", "machine-readable output")
    .action((name: string, _opts: unknown, cmd: Command) =>
      guarded(async () => {
        const { dirs, config } = await context(cmd, io);
        const installed = await find(dirs, config, name);
        const loaded = installed.loaded;
        const m = loaded.manifest;
        let tools = m.tool.map((t) => ({ name: t.name, description: t.description }));
        if (!tools.length && loaded.wasm) {
          const instance = await (await lib()).CapsuleInstance.create(loaded, null, {
            timeoutMs: config.capsules.timeout_seconds * 1000,
            memoryMb: config.capsules.memory_mb,
          });
          try {
            tools = (await instance.describe()).tools.map((t) => ({
              name: t.name,
              description: t.description,
            }));
          } finally {
            await instance.close();
          }
        }
        const offer = await (await lib()).loadStatic(loaded);
        const info = {
          name: m.package.name,
          version: m.package.version,
          description: m.package.description ?? null,
          scope: installed.scope,
          dir: loaded.dir,
          wasm: loaded.wasm
            ? { path: loaded.wasm.path, hash: loaded.wasm.hash, size: loaded.wasm.bytes }
            : null,
          capabilities: m.capabilities,
          env: Object.fromEntries(
            Object.entries(m.env).map(([k, v]) => [k, { type: v.type, set: k in installed.env }]),
          ),
          tools: tools.map((t) => ({ ...t, name: `${m.package.name}__${t.name}` })),
          skills: offer.skills.map((s) => s.name),
          commands: offer.commands.map((c) => c.name),
          context_files: offer.contextFiles.map((c) => c.name),
          warnings: loaded.warnings,
        };
        if (wantsJson(cmd, io)) return printJson(io, info);
        io.stdout(`${info.name} ${info.version} (${info.scope})\n`);
        if (info.description) io.stdout(`  ${info.description}\n`);
        io.stdout(`  dir:  ${info.dir}\n`);
        if (info.wasm) {
          io.stdout(
            `  wasm: ${info.wasm.path} (${info.wasm.size} bytes)\n  hash: ${info.wasm.hash}\n`,
          );
        }
        io.stdout("  capabilities:\n");
        for (const line of capabilityLines(loaded)) io.stdout(`    - ${line}\n`);
        for (const t of info.tools) io.stdout(`  tool: ${t.name}  ${t.description}\n`);
        for (const [k, v] of Object.entries(info.env)) {
          io.stdout(`  env:  ${k} (${v.type}, ${v.set ? "set" : "not set"})\n`);
        }
      })
    );

  capsule.command("remove")
    .description("Remove an installed capsule and its stored [env] values")
    .argument("<name>", "the capsule's name")
    .action((name: string, _opts: unknown, cmd: Command) =>
      guarded(async () => {
        const { dirs } = await context(cmd, io);
        const scope = await (await lib()).removeCapsule(dirs, name);
        io.stdout(`removed ${name} (${scope})\n`);
      })
    );
  return capsule;
}

function resolve(cwd: string, path: string): string {
  return path.startsWith("/") ? path : `${cwd.replace(/\/+$/, "")}/${path}`;
}
