/**
 * `astrid capsule compile DIR [-o OUT]`, `install PATH|DIR [--workspace] [--yes]`,
 * `list [--json]`, `info NAME [--json]` and `remove NAME`. Install shows the requested
 * capabilities (and, over an earlier install, what changed since the human approved it), asks
 * before copying (unless `--yes`), asks for `[env]` values (secrets without echo), refuses
 * symlinks, lists the capsule's tools (starting its MCP servers: this is the human's command)
 * and writes the signed install record without which the folder is never used. Installing
 * over an existing install of the same name and scope is the upgrade path, also from the
 * installed folder itself after an edit in place. A hash mismatch anywhere exits 5.
 *
 * `info NAME` also shows the capsule's `[[cron]]` jobs (schedule, action; they run while the
 * daemon runs), interceptors (event, priority), commands, skills, context files and LLM
 * providers. `run NAME COMMAND [ARGS...]` runs one of its `[[command]]`s as the REPL's slash
 * command does: a wasm command prints the text its `command:<name>` hook returns (gated like a
 * tool call: `--approve`, else the terminal asks, else it is deferred, exit 4); a prompt
 * command prints the expanded prompt (send it with `astrid chat -p`).
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
  InstallRecords,
  LoadedCapsule,
} from "../../capsule/mod.ts";
import type { AstridConfig } from "../../config/mod.ts";
import type { ApprovalChoice } from "../../security/approval.ts";
import {
  type CliIo,
  globalOptions,
  printJson,
  requireWorkspace,
  type Runtime,
  wantsJson,
  withRuntime,
  workspaceId,
} from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import { registerAuthorCommands } from "./capsule_author.ts";
import {
  isRegistryRef,
  registerRegistryCommands,
  registryInfo,
  registryInstall,
} from "./capsule_registry.ts";
import {
  applyData,
  decideData,
  refuseOtherName,
  refuseUncompiled,
  registerUpgrade,
  reviewEnv,
  type UpgradeInstallOpts,
} from "./capsule_upgrade.ts";

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

type InstallOpts = UpgradeInstallOpts;

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

/** The capsule folders and the signed install records (in the runtime's user state). */
async function installState(rt: Runtime): Promise<{ dirs: CapsuleDirs; records: InstallRecords }> {
  const { capsuleDirs, InstallRecords } = await lib();
  return {
    dirs: capsuleDirs(rt.paths.home, rt.paths.workspaceRoot),
    records: new InstallRecords(rt.store, rt.key),
  };
}

function capabilityLines(loaded: LoadedCapsule): string[] {
  const c = loaded.manifest.capabilities;
  const lines: string[] = [];
  if (c.net.length) lines.push(`network: ${c.net.join(", ")}`);
  if (c.fs_read.length) lines.push(`read files under: ${c.fs_read.join(", ")}`);
  if (c.fs_write.length) lines.push(`write files under: ${c.fs_write.join(", ")}`);
  if (c.kv) lines.push("its own key-value store");
  if (c.host_process.length) {
    lines.push(`run: ${c.host_process.join(", ")} (as its [[mcp_server]]s, walled)`);
  }
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
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(loaded.manifest.env, key)) {
      io.stderr(
        `warning: --env ${key} ignored: ${loaded.manifest.package.name} declares no such [env] ` +
          `entry (it declares ${Object.keys(loaded.manifest.env).join(", ") || "none"})\n`,
      );
    }
  }
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
  records: InstallRecords,
  config: AstridConfig,
  name: string,
): Promise<InstalledCapsule> {
  const { listInstalled, CapsuleError } = await lib();
  const { capsules, broken, ignored } = await listInstalled(dirs, {
    requireHash: config.capsules.require_hash,
    records,
  });
  const hit = capsules.find((c) => c.record.name === name);
  if (hit) return hit;
  const bad = broken.find((b) => b.name === name);
  if (bad) throw bad.error;
  const skipped = ignored.find((i) => i.name === name && i.dir !== null);
  if (skipped) {
    throw new CapsuleError(
      "NOT_FOUND",
      `Cannot find capsule ${name}: the folder ${skipped.dir} was not installed with ` +
        `\`astrid capsule install\` (${skipped.reason})`,
    );
  }
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
 *   "compile", "install", "list", "info", "run", "remove", "verify", "upgrade", "new", "call",
 *   "publish", "search",
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
    .option("--watch", "recompile on every change, one line per build, until Ctrl-C")
    .action(async (dir: string, opts: CompileOpts, cmd: Command) => {
      const { compileCapsule, CompileError, formatTypeErrors } = await import(
        "../../../toolchain/compile.ts"
      );
      if (opts.watch) {
        const { watchCompile } = await import("./capsule_author.ts");
        const out = opts.out ? resolve(io.cwd, opts.out) : undefined;
        return watchCompile(io, resolve(io.cwd, dir), { out, check: opts.check });
      }
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
          const at = e.file ? `${e.file}${e.line ? `:${e.line}` : ""}` : "";
          const loc = at && !e.message.includes(at) ? ` (${at})` : "";
          const all = formatTypeErrors(e.errors).map((l) => `\n  ${l}`).join("");
          throw new CliError(`${e.message}${loc}${all}`, ExitCode.Error);
        }
        throw e;
      }
    });

  capsule.command("install")
    .description(
      "Install a capsule after showing what it may do (again: review and approve its changes)",
    )
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
    .option("--keep-data", "over an earlier install: keep the capsule's KV data without asking")
    .option("--reset-data", "over an earlier install: delete the capsule's KV data")
    .option("--trust-publisher <fingerprint>", "oci:// only: accept this new publisher key")
    .option("--locked", "oci:// only: install exactly what astrid.lock pins for this reference")
    .option("--json", "print the result as JSON")
    .action((source: string, opts: InstallOpts, cmd: Command) =>
      guarded(() =>
        withRuntime(cmd, io, async (rt) => {
          await (isRegistryRef(source) // capsule_registry.ts: pull, verify, then this folder install
            ? registryInstall(
              rt,
              cmd,
              source,
              opts,
              (dir) => install(rt, cmd, dir, opts, readSecret),
            )
            : install(rt, cmd, source, opts, readSecret));
          await notifyDaemon(rt); // a running daemon schedules it now (best effort)
        })
      )
    );

  capsule.command("list")
    .description("List installed capsules")
    .option("--json", "machine-readable output")
    .action((_opts: unknown, cmd: Command) =>
      guarded(() =>
        withRuntime(cmd, io, async (rt) => {
          const { dirs, records } = await installState(rt);
          const { listInstalled, installWarnings } = await lib();
          const list = await listInstalled(dirs, {
            requireHash: rt.config.capsules.require_hash,
            records,
          });
          const rows = list.capsules.map((c) => ({
            name: c.record.name,
            version: c.loaded.manifest.package.version,
            scope: c.scope,
            hash: c.loaded.wasm?.hash ?? null,
            manifestHash: c.record.manifestHash,
            installedAt: c.record.installedAt,
            tools: c.record.tools.map((t) => t.name),
          }));
          const bad = list.broken.map((b) => ({
            name: b.name,
            scope: b.scope,
            dir: b.dir,
            code: (b.error as { code?: string }).code ?? "ERROR",
            error: b.error.message,
          }));
          if (wantsJson(cmd, io)) {
            printJson(io, {
              capsules: rows,
              broken: bad,
              ignored: list.ignored,
              missing: list.missing,
            });
          } else {
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
          for (const w of installWarnings(list)) io.stderr(`warning: ${w}\n`);
          if (bad.some((b) => b.code === "INTEGRITY")) {
            throw new CliError(
              "Cannot trust every capsule: an integrity check failed",
              ExitCode.Integrity,
            );
          }
        })
      )
    );

  capsule.command("info")
    .description("Show a capsule's capabilities, tools, hashes, install record and wasm path")
    .argument("<name>", "the capsule's name")
    .option("--json", "machine-readable output")
    .action((name: string, _opts: unknown, cmd: Command) =>
      registryInfo(io, cmd, name) ?? guarded(() =>
        withRuntime(cmd, io, async (rt) => {
          const { dirs, records } = await installState(rt);
          const installed = await find(dirs, records, rt.config, name);
          const { loaded, record } = installed;
          const m = loaded.manifest;
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
            manifestHash: record.manifestHash,
            capabilities: m.capabilities,
            env: Object.fromEntries(
              Object.entries(m.env).map((
                [k, v],
              ) => [k, { type: v.type, set: k in installed.env }]),
            ),
            tools: record.tools.map((t) => ({
              name: `${m.package.name}__${t.name}`,
              description: t.description,
              ...(t.server === undefined ? {} : { server: t.server }),
            })),
            skills: m.skill.map((s) => ({
              name: s.name,
              tool: `${m.package.name}__skill_${s.name}`,
              description: s.description,
              path: s.path,
            })),
            commands: offer.commands.map((c) => ({
              name: c.name,
              kind: c.kind,
              description: c.description,
            })),
            context_files: offer.contextFiles.map((c) => ({ name: c.name, path: c.path })),
            cron: m.cron.map((c) => ({
              name: c.name,
              schedule: c.schedule,
              action: c.action ?? null,
              description: c.description ?? null,
              runs: "when the daemon is running",
            })),
            interceptors: m.interceptor.map((i) => ({
              event: i.event,
              priority: i.priority,
              action: i.action ?? null,
            })),
            llm_providers: m.llm_provider.map((p) => ({
              id: p.id,
              description: p.description ?? null,
              models: p.models,
              capabilities: p.capabilities,
            })),
            warnings: loaded.warnings,
            record,
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
          io.stdout(`  manifest: ${info.manifestHash}\n  installed: ${record.installedAt}\n`);
          io.stdout("  capabilities:\n");
          for (const line of capabilityLines(loaded)) io.stdout(`    - ${line}\n`);
          for (const t of info.tools) io.stdout(`  tool: ${t.name}  ${t.description}\n`);
          for (const [k, v] of Object.entries(info.env)) {
            io.stdout(`  env:  ${k} (${v.type}, ${v.set ? "set" : "not set"})\n`);
          }
          for (const line of sectionLines(info)) io.stdout(`  ${line}\n`);
        })
      )
    );

  capsule.command("run")
    .description("Run a capsule's [[command]] (a prompt command prints its expanded prompt)")
    .argument("<name>", "the capsule's name")
    .argument("<command>", "the command's name")
    .argument("[args...]", "the command's arguments")
    .addOption(
      new Option("--approve <answer>", "the human's answer given up front (wasm commands)")
        .choices(["once", "session", "always", "deny"]),
    )
    .option("--json", "print the result as JSON")
    .action((name: string, command: string, args: string[], opts: RunOpts, cmd: Command) =>
      guarded(() =>
        withRuntime(cmd, io, (rt) => runCommand(rt, cmd, name, command, args.join(" "), opts))
      )
    );

  capsule.command("remove")
    .description("Remove an installed capsule, its install record and its stored [env] values")
    .argument("<name>", "the capsule's name")
    .action((name: string, _opts: unknown, cmd: Command) =>
      guarded(() =>
        withRuntime(cmd, io, async (rt) => {
          const { dirs, records } = await installState(rt);
          const scope = await (await lib()).removeCapsule(dirs, name, records);
          io.stdout(`removed ${name} (${scope})\n`);
          await notifyDaemon(rt); // a running daemon stops its cron entries and services now
        })
      )
    );
  // Issue 15: listing trusts wasm fingerprints; this re-hashes every installed file.
  capsule.command("verify")
    .description("Re-read and re-hash every installed capsule's files (exit 5 on a mismatch)")
    .option("--json", "machine-readable output")
    .action((_opts: unknown, cmd: Command) =>
      guarded(() =>
        withRuntime(cmd, io, async (rt) => {
          const { dirs, records } = await installState(rt);
          const { verifyInstalled, installWarnings } = await lib();
          const { capsules, list } = await verifyInstalled(dirs, {
            requireHash: rt.config.capsules.require_hash,
            records,
          });
          const rows = capsules.map((c) => ({
            name: c.name,
            scope: c.scope,
            dir: c.dir,
            ok: c.error === null,
            code: c.error === null ? null : (c.error as { code?: string }).code ?? "ERROR",
            error: c.error?.message ?? null,
          }));
          if (wantsJson(cmd, io)) printJson(io, { capsules: rows });
          else {
            if (!rows.length) io.stdout("no capsules installed\n");
            for (const r of rows) {
              if (r.ok) io.stdout(`ok       ${r.name} (${r.scope})\n`);
              else io.stderr(`error: ${r.name} (${r.scope}): ${r.error}\n`);
            }
          }
          for (const w of installWarnings(list)) io.stderr(`warning: ${w}\n`);
          if (rows.some((r) => !r.ok)) {
            throw new CliError(
              "Cannot trust every capsule: an integrity check failed",
              ExitCode.Integrity,
            );
          }
        })
      )
    );
  registerUpgrade(capsule, io, {
    install: (r, c, s, o) => install(r, c, s, o, readSecret),
    guarded,
  });
  registerAuthorCommands(capsule, io); // capsule_author.ts: new, call
  registerRegistryCommands(capsule, io); // capsule_registry.ts: publish, search
  return capsule;
}

interface CompileOpts {
  readonly out?: string;
  readonly check: boolean;
  readonly watch?: boolean;
}

/** The human-readable lines of `capsule info` for the static and declarative sections. */
function sectionLines(info: {
  skills: { name: string; tool: string; description: string }[];
  commands: { name: string; kind: string; description: string }[];
  context_files: { name: string; path: string }[];
  cron: { name: string; schedule: string; action: string | null }[];
  interceptors: { event: string; priority: number; action: string | null }[];
  llm_providers: { id: string; description: string | null; capabilities: string[] }[];
}): string[] {
  const lines: string[] = [];
  for (const c of info.context_files) {
    lines.push(`context file: ${c.name}${c.name === c.path ? "" : ` (${c.path})`}`);
  }
  for (const s of info.skills) {
    lines.push(`skill: ${s.name}  ${s.description}  (tool ${s.tool})`.trimEnd());
  }
  for (const c of info.commands) {
    lines.push(`command: /${c.name} (${c.kind})  ${c.description}`.trimEnd());
  }
  for (const c of info.cron) {
    lines.push(
      `cron: ${c.name}  schedule "${c.schedule}"  action ${c.action ?? "(its cron handler)"}` +
        "  (runs when the daemon is running)",
    );
  }
  for (const i of info.interceptors) {
    lines.push(
      `interceptor: ${i.event}  priority ${i.priority}${i.action ? `  action ${i.action}` : ""}`,
    );
  }
  for (const p of info.llm_providers) {
    const caps = p.capabilities.length ? `  [${p.capabilities.join(", ")}]` : "";
    lines.push(`llm provider: ${p.id}${p.description ? `  ${p.description}` : ""}${caps}`);
  }
  return lines;
}

interface RunOpts {
  readonly approve?: ApprovalChoice;
}

/**
 * `capsule run NAME COMMAND [ARGS...]`: a prompt command prints its expansion; a wasm command
 * runs its hook through the interceptor of a fresh session and prints its text.
 */
async function runCommand(
  rt: Runtime,
  cmd: Command,
  name: string,
  command: string,
  args: string,
  opts: RunOpts,
): Promise<void> {
  const io = rt.io;
  const L = await lib();
  const { dirs, records } = await installState(rt);
  const installed = await find(dirs, records, rt.config, name);
  const { commands } = await L.slashCommands([installed], []);
  const found = commands.find((c) => c.name === command);
  if (!found) {
    const known = commands.map((c) => c.name).join(", ") || "none";
    throw new CliError(
      `Cannot run ${name} ${command}: capsule ${name} has no such command (it has: ${known})`,
      ExitCode.Usage,
    );
  }
  if (found.kind === "prompt") {
    const prompt = L.expandCommandPrompt(found.prompt, args);
    if (wantsJson(cmd, io)) return printJson(io, { kind: "prompt", prompt });
    io.stdout(prompt.endsWith("\n") ? prompt : `${prompt}\n`);
    return;
  }
  const ws = await requireWorkspace(rt.paths);
  const { capsuleHost, commandGate } = await import("./_tools_run.ts");
  const gate = await commandGate(rt, ws, opts.approve);
  const host = await capsuleHost(rt, ws.root, { warnBroken: false });
  const run = await L.runCapsuleCommand(gate.interceptor, host, found, args);
  if (run.kind !== "outcome") return; // a wasm command always has an outcome
  const o = run.outcome;
  if (wantsJson(cmd, io)) printJson(io, o);
  switch (o.status) {
    case "ok":
      if (!wantsJson(cmd, io)) {
        const text = o.result.output;
        io.stdout(text.endsWith("\n") || text === "" ? text : `${text}\n`);
      }
      return;
    case "denied":
      throw new CliError(`denied (${o.code}): ${o.summary}: ${o.reason}`, ExitCode.Denied);
    case "deferred":
      if (!wantsJson(cmd, io)) io.stdout(`${o.id}\n`);
      throw new CliError(
        `deferred: ${o.summary} is waiting for approval (approve it, then run it again)`,
        ExitCode.Deferred,
      );
    case "error":
      throw new CliError(
        `${o.code}: ${o.message}`,
        o.code === "INTEGRITY" ? ExitCode.Integrity : ExitCode.Error,
      );
  }
}

function resolve(cwd: string, path: string): string {
  return path.startsWith("/") ? path : `${cwd.replace(/\/+$/, "")}/${path}`;
}

/**
 * `capsule install`: preview, the diff against the earlier install (if any), the human's
 * confirmation, `[env]` values, then the install (tools listed, record signed).
 */
async function install(
  rt: Runtime,
  cmd: Command,
  source: string,
  opts: InstallOpts,
  readSecret: SecretReader,
): Promise<void> {
  const io = rt.io;
  const L = await lib();
  const { dirs, records } = await installState(rt);
  const scope = opts.scope ?? (globalOptions(cmd).workspaceFlag ? "workspace" : "user");
  if (scope === "workspace" && (dirs.workspace === null || dirs.workspaceRoot === null)) {
    throw new CliError(
      "Cannot install into the workspace: no .astrid/ folder here or above (run `astrid init`)",
      ExitCode.Usage,
    );
  }
  const src = await L.sourceDir(resolve(io.cwd, source));
  await refuseUncompiled(src);
  const requireHash = rt.config.capsules.require_hash;
  const preview = await L.loadCapsule(src, { requireHash });
  const m = preview.manifest;
  const name = m.package.name;
  refuseOtherName(opts.expectName, name, src);
  const before = await records.read(scope, dirs.workspaceRoot, name);
  const previous = before?.ok ? before.record : null;
  const target = `${scope === "user" ? dirs.user : dirs.workspace}/${name}`;
  io.stderr(
    `Capsule ${name} ${m.package.version}` +
      (m.package.description ? `: ${m.package.description}` : "") + "\n",
  );
  io.stderr(`  hash: ${preview.wasm?.hash ?? "(no wasm: static capsule)"}\n`);
  io.stderr("  It asks for:\n");
  for (const line of capabilityLines(preview)) io.stderr(`    - ${line}\n`);
  for (const w of preview.warnings) io.stderr(`  warning: ${w}\n`);
  const changes = L.specDiff(previous, L.pinnedSpec(m, preview.wasm?.hash ?? null));
  if (previous) {
    io.stderr(
      `  Changes since it was installed (${previous.version}, ${previous.installedAt}):\n`,
    );
    for (const c of changes) io.stderr(`    ${c.sign} ${c.what}\n`);
    if (changes.length === 0) io.stderr("    (no capability changes)\n");
  } else {
    if (before && !before.ok) {
      io.stderr(`  warning: its install record is refused (${before.reason}); reviewing it anew\n`);
    }
    if (await Deno.lstat(target).catch(() => null)) {
      io.stderr(
        `  warning: ${target} exists but was not installed with \`astrid capsule install\`: ` +
          "it will be replaced\n",
      );
    }
  }
  const envPath = L.envFilePath(dirs.home, scope === "user" ? null : dirs.workspaceRoot, name);
  // An upgrade keeps the stored values of keys still declared with the same type.
  const { kept, dropped: envDropped } = await reviewEnv(io, previous, m, envPath);
  const interactive = io.isTty && io.readLine !== undefined;
  if (!opts.yes) {
    if (!interactive) {
      throw new CliError(
        "Cannot install without confirmation: no terminal to ask (pass --yes to accept)",
        ExitCode.Usage,
      );
    }
    const verb = previous ? "Replace the install of" : "Install";
    const answer = await io.readLine!(`${verb} ${name} (${scope})? [y/N] `);
    if (!/^y(es)?$/i.test(answer?.trim() ?? "")) {
      throw new CliError(`Cannot install ${name}: declined`, ExitCode.Denied);
    }
  }
  const env = await collectEnv(
    io,
    preview,
    { ...kept, ...parseEnvFlags(opts.env ?? []) },
    interactive,
    readSecret,
  );
  const data = await decideData(io, rt.store, name, opts, interactive && !opts.yes);
  const limits = {
    timeoutMs: rt.config.capsules.timeout_seconds * 1000,
    memoryMb: rt.config.capsules.memory_mb,
  };
  let dropped: string[] = [];
  const done = await L.installCapsule(dirs, src, {
    scope,
    requireHash,
    records,
    workspaceId: scope === "workspace" ? await workspaceId(dirs.workspaceRoot!) : null,
    expect: { manifestHash: L.manifestHash(m), wasmHash: preview.wasm?.hash ?? null },
    tools: async (staged) => {
      const found = await L.discoverTools({ loaded: staged, env }, limits, {
        parentEnv: io.env,
        workspaceRoot: dirs.workspaceRoot,
        walls: rt.walls,
      });
      dropped = found.dropped;
      return found.tools;
    },
  });
  for (const d of dropped) io.stderr(`  warning: tool ${JSON.stringify(d)} dropped: bad name\n`);
  if (Object.keys(env).length || previous) await L.writeEnvFile(envPath, env);
  const deleted = await applyData(rt.store, name, data);
  const result = {
    name,
    version: m.package.version,
    scope,
    dir: done.loaded.dir,
    hash: done.loaded.wasm?.hash ?? null,
    manifestHash: done.record.manifestHash,
    replaced: done.replaced,
    changes: previous ? changes.map((c) => `${c.sign} ${c.what}`) : [],
    tools: done.record.tools.map((t) => t.name),
    env: Object.keys(env),
    envDropped,
    data: data === "reset" ? { reset: deleted } : data === "keep" ? "kept" : "none",
  };
  if (wantsJson(cmd, io)) return printJson(io, result);
  io.stdout(
    `${
      previous ? "reinstalled" : "installed"
    } ${name} ${result.version} (${scope}) in ${result.dir}` +
      ` with ${result.tools.length} tool${result.tools.length === 1 ? "" : "s"}\n`,
  );
}

/** Tells a running daemon that the installed capsules changed (never fails the command). */
async function notifyDaemon(rt: Runtime): Promise<void> {
  const { notifyCapsulesChanged } = await import("./daemon.ts");
  await notifyCapsulesChanged(rt.paths.home, (line) => rt.io.stderr(`${line}\n`));
}
