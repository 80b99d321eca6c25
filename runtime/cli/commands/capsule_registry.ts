/**
 * The registry side of `astrid capsule`: `publish DIR REF`, `search REGISTRY [QUERY]`, and the
 * `oci://` branches of `install REF [--trust-publisher FP] [--locked]` and `info REF`
 * (runtime/registry/). References are `oci://HOST[:PORT]/REPO:TAG`; loopback registries are
 * reached over plain HTTP, every other host over HTTPS only. Basic credentials come from
 * `ASTRID_REGISTRY_USER` and `ASTRID_REGISTRY_PASSWORD` (also sent to a Bearer token realm).
 *
 * Install from a registry pulls into a temporary folder and verifies the manifest and every
 * blob's SHA-256 digest, the publisher's signature and the BLAKE3 pin, checks the publisher
 * against the key pinned for that capsule name (trust on first use), then installs through the
 * folder install (capabilities, env questions, confirmation, signed record), records the
 * publisher in the install record, pins the key, and updates `astrid.lock` when run in a
 * workspace. A digest, signature, hash or publisher mismatch exits 5.
 *
 * @module
 */
import { Command } from "commander";
import type { RegistryAuth } from "../../registry/mod.ts";
import {
  type CliIo,
  globalOptions,
  loadCliConfig,
  printJson,
  type Runtime,
  wantsJson,
} from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";

const lib = () =>
  import(new URL("../../registry/mod.ts", import.meta.url).href) as Promise<
    typeof import("../../registry/mod.ts")
  >;

/** Installs a verified capsule folder through the CLI's folder install (capsule.ts). */
export type InstallFolder = (dir: string) => Promise<void>;

/** The options of `capsule install` that matter for a registry reference. */
export interface RegistryInstallOpts {
  readonly scope?: "user" | "workspace";
  readonly trustPublisher?: string;
  readonly locked?: boolean;
}

/**
 * True when `source` names a registry artifact rather than a folder.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { isRegistryRef } from "./capsule_registry.ts";
 * equal(isRegistryRef("oci://127.0.0.1:5000/hello:1"), true);
 * equal(isRegistryRef("./dist"), false);
 * ```
 */
export function isRegistryRef(source: string): boolean {
  return /^(oci|https?):\/\//.test(source);
}

/** Basic credentials from the environment, or null for a token-less registry. */
function registryAuth(env: Record<string, string | undefined>): RegistryAuth | null {
  const username = env.ASTRID_REGISTRY_USER;
  const password = env.ASTRID_REGISTRY_PASSWORD;
  return username ? { username, password: password ?? "" } : null;
}

/** Maps registry errors to exit codes: INTEGRITY and PUBLISHER → 5, REF and INSECURE → 2. */
async function registryGuard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const { RegistryError } = await lib();
    if (e instanceof RegistryError) {
      const code = e.code === "INTEGRITY" || e.code === "PUBLISHER"
        ? ExitCode.Integrity
        : e.code === "REF" || e.code === "INSECURE"
        ? ExitCode.Usage
        : ExitCode.Error;
      throw new CliError(e.message, code);
    }
    if (e instanceof Error && e.name === "KeyError") throw new CliError(e.message, ExitCode.Error);
    throw e;
  }
}

function resolve(cwd: string, path: string): string {
  return path.startsWith("/") ? path : `${cwd.replace(/\/+$/, "")}/${path}`;
}

/**
 * Adds `publish` and `search` to the `capsule` command tree.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { Command } from "commander";
 * import { registerRegistryCommands } from "./capsule_registry.ts";
 * const io = { env: {}, cwd: "/", isTty: false, stdout: () => {}, stderr: () => {} };
 * const capsule = new Command("capsule");
 * registerRegistryCommands(capsule, io);
 * deepEqual(capsule.commands.map((c) => c.name()), ["publish", "search"]);
 * ```
 */
export function registerRegistryCommands(capsule: Command, io: CliIo): void {
  capsule.command("publish")
    .description("Sign and push a capsule to an OCI registry (a source folder is compiled first)")
    .argument("<dir>", "a compiled capsule (Capsule.toml + capsule.wasm) or its source folder")
    .argument("<ref>", "oci://HOST[:PORT]/REPO:TAG")
    .option("--no-check", "skip type-checking when compiling")
    .option("--json", "machine-readable output")
    .action((dir: string, ref: string, opts: { check: boolean }, cmd: Command) =>
      registryGuard(() => publish(io, cmd, resolve(io.cwd, dir), ref, opts.check))
    );

  capsule.command("search")
    .description("List a registry's capsule repositories and their tags")
    .argument("<registry>", "oci://HOST[:PORT]")
    .argument("[query]", "only repositories whose name contains this")
    .option("--json", "machine-readable output")
    .action((registry: string, query: string | undefined, _opts: unknown, cmd: Command) =>
      registryGuard(() => search(io, cmd, registry, query ?? ""))
    );
}

/** True when `dir` holds a compiled capsule: its manifest has a `[component]`, or no sources. */
async function needsCompile(dir: string): Promise<boolean> {
  const { readManifest } = await import("../../capsule/mod.ts");
  const manifest = await readManifest(dir).then((m) => m.manifest, () => null);
  if (manifest?.component) return false;
  for (const probe of ["package.json", "src", "mod.ts", "index.ts", "main.ts"]) {
    if (await Deno.lstat(`${dir}/${probe}`).catch(() => null)) return true;
  }
  return false;
}

/**
 * Compiles `dir` into `out` with `astrid capsule compile`, in its own process: the launcher
 * gives the toolchain its own permission set (ffi for the native bundler, Wizer), which the
 * runtime's set, this process's, does not have.
 */
async function compileFirst(io: CliIo, dir: string, out: string, typeCheck: boolean) {
  const launcher = decodeURIComponent(new URL("../launch.ts", import.meta.url).pathname);
  const config = decodeURIComponent(new URL("../../../deno.json", import.meta.url).pathname);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      "--config",
      config,
      launcher,
      "capsule",
      "compile",
      dir,
      "-o",
      out,
      ...(typeCheck ? [] : ["--no-check"]),
    ],
    cwd: io.cwd,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const { code, stderr } = await child.output();
  const text = new TextDecoder().decode(stderr);
  io.stderr(text);
  if (code !== 0) {
    throw new CliError(`Cannot publish ${dir}: it does not compile (exit ${code})`, ExitCode.Error);
  }
}

async function publish(
  io: CliIo,
  cmd: Command,
  dir: string,
  ref: string,
  typeCheck: boolean,
): Promise<void> {
  const R = await lib();
  const target = R.parseRef(ref);
  const { paths } = await loadCliConfig(cmd, io);
  let source = dir;
  let built: string | null = null;
  try {
    if (await needsCompile(dir)) {
      built = await Deno.makeTempDir({ prefix: "astrid-publish-" });
      io.stderr(`compiling ${dir} first\n`);
      await compileFirst(io, dir, built, typeCheck);
      source = built;
    }
    const { key, created } = await R.ensurePublisherKey(paths.keysDir);
    if (created) {
      io.stderr(`created publisher key ${key.path}\n  fingerprint ${key.fingerprint}\n`);
    }
    const meter = { sent: 0, received: 0 };
    const started = performance.now();
    const done = await R.publishCapsule(source, target.text, {
      key,
      auth: registryAuth(io.env),
      meter,
    });
    const ms = Math.round(performance.now() - started);
    const out = {
      ref: done.ref,
      digest: done.digest,
      publisher: key.fingerprint,
      signatureTag: done.signatureTag,
      name: done.metadata.name,
      version: done.metadata.version,
      hash: done.metadata.hash,
      layers: done.layers,
      bytesSent: meter.sent,
      ms,
    };
    if (wantsJson(cmd, io)) return printJson(io, out);
    io.stdout(
      `published ${out.name} ${out.version} to ${out.ref}\n  digest:    ${out.digest}\n` +
        `  publisher: ${out.publisher} (signature tag ${out.signatureTag})\n` +
        `  sent ${out.bytesSent} bytes in ${ms} ms\n`,
    );
  } finally {
    if (built) await Deno.remove(built, { recursive: true }).catch(() => {});
  }
}

async function search(io: CliIo, cmd: Command, registry: string, query: string): Promise<void> {
  const R = await lib();
  const client = new R.RegistryClient(R.parseRegistry(registry), { auth: registryAuth(io.env) });
  const needle = query.toLowerCase();
  const repos = (await client.catalog()).filter((r) => r.toLowerCase().includes(needle));
  const rows = [];
  for (const repository of repos) {
    const tags = (await client.tags(repository)).filter((t) =>
      !/^sha256-[0-9a-f]{64}\.sig$/.test(t)
    );
    rows.push({ repository, tags: tags.sort() });
  }
  if (wantsJson(cmd, io)) return printJson(io, { registry, query, repositories: rows });
  if (!rows.length) {
    io.stdout(`no repositories${query ? ` matching ${JSON.stringify(query)}` : ""}\n`);
  }
  for (const r of rows) {
    io.stdout(`${r.repository.padEnd(32)} ${r.tags.join(", ") || "(no tags)"}\n`);
  }
}

/**
 * `capsule info oci://…`: the artifact's digest, metadata, layers and signature status, without
 * installing; an unsigned or badly signed artifact is shown, then exits 5. Null when `ref` is
 * not a registry reference (an installed capsule's name).
 */
export function registryInfo(io: CliIo, cmd: Command, ref: string): Promise<void> | null {
  if (!isRegistryRef(ref)) return null;
  return registryGuard(async () => {
    const R = await lib();
    const info = await R.inspectCapsule(ref, { auth: registryAuth(io.env) });
    if (wantsJson(cmd, io)) printJson(io, info);
    else {
      const m = info.metadata;
      io.stdout(`${m.name} ${m.version} (${info.ref})\n`);
      if (m.description) io.stdout(`  ${m.description}\n`);
      io.stdout(`  digest:    ${info.digest}\n  hash:      ${m.hash ?? "(static capsule)"}\n`);
      io.stdout(
        info.signature.ok
          ? `  signature: verified, publisher ${info.signature.publisher}\n`
          : `  signature: NOT VERIFIED: ${info.signature.reason}\n`,
      );
      io.stdout(`  capabilities: ${JSON.stringify(m.capabilities)}\n`);
      for (const l of info.layers) io.stdout(`  layer: ${l.path} (${l.size} bytes) ${l.digest}\n`);
    }
    if (!info.signature.ok) {
      throw new CliError(`Cannot trust ${info.ref}: ${info.signature.reason}`, ExitCode.Integrity);
    }
  });
}

/**
 * `capsule install oci://…`: pull and verify, check the publisher (trust on first use), install
 * through `installFolder`, then record the publisher, pin its key and update `astrid.lock`.
 */
export function registryInstall(
  rt: Runtime,
  cmd: Command,
  ref: string,
  opts: RegistryInstallOpts,
  installFolder: InstallFolder,
): Promise<void> {
  return registryGuard(async () => {
    const R = await lib();
    const io = rt.io;
    const source = R.parseRef(ref);
    const root = rt.paths.workspaceRoot;
    let locked: { name: string; entry: import("../../registry/mod.ts").LockEntry } | null = null;
    if (opts.locked) {
      if (!root) {
        throw new CliError(
          "Cannot install --locked: no workspace here (astrid.lock lives at its root)",
          ExitCode.Usage,
        );
      }
      locked = R.findLocked(await R.readLock(root), source.text);
      if (!locked) {
        throw new CliError(
          `Cannot install ${source.text} --locked: ${root}/${R.LOCK_FILE} has no entry for it`,
          ExitCode.Usage,
        );
      }
    }
    const meter = { sent: 0, received: 0 };
    const started = performance.now();
    const pulled = await R.pullCapsule(source.text, {
      auth: registryAuth(io.env),
      meter,
      expectDigest: locked?.entry.digest ?? null,
      preferPublisher: locked?.entry.publisher ?? null,
    });
    try {
      const name = pulled.manifest.package.name;
      const pins = new R.PublisherPins(rt.store, rt.key);
      const pinned = await pins.read(name);
      const pinnedFp = pinned.state === "ok" ? pinned.pin.fingerprint : null;
      const publisher = pulled.signers.find((s) => s.fingerprint === pinnedFp) ?? pulled.publisher;
      if (locked) {
        if (locked.name !== name) {
          throw new R.RegistryError(
            "INTEGRITY",
            `Cannot install ${source.text} as locked: it holds ${name}, astrid.lock says ${locked.name}`,
          );
        }
        if (publisher.fingerprint !== locked.entry.publisher) {
          throw new R.RegistryError(
            "INTEGRITY",
            `Cannot install ${source.text} as locked: the publisher changed ` +
              `(${publisher.fingerprint}, astrid.lock pins ${locked.entry.publisher})`,
          );
        }
      }
      const admitted = await pins.admit(name, publisher, source.text, opts.trustPublisher ?? null);
      io.stderr(
        `Pulled ${source.text} (${pulled.bytes} bytes in ${
          Math.round(performance.now() - started)
        } ms)\n  digest:    ${pulled.digest}\n  publisher: ${publisher.fingerprint} (${
          admitted.firstUse
            ? "first use: this key is pinned for " + name + " once installed"
            : admitted.changed
            ? `replaces ${admitted.previous ?? "a refused pin"}: trusted by --trust-publisher`
            : "the pinned publisher"
        })\n  verified:  blob digests, signature, BLAKE3 pin\n`,
      );
      await installFolder(pulled.dir);
      if (admitted.firstUse || admitted.changed) await pins.pin(name, publisher, source.text);
      const scope = opts.scope ?? (globalOptions(cmd).workspaceFlag ? "workspace" : "user");
      await recordPublisher(rt, scope, name, {
        fingerprint: publisher.fingerprint,
        ref: source.text,
        digest: pulled.digest,
      });
      if (root) {
        await R.writeLockEntry(root, name, {
          ref: source.text,
          digest: pulled.digest,
          publisher: publisher.fingerprint,
          scope,
        });
      }
    } finally {
      await pulled.cleanup();
    }
  });
}

/** Rewrites the fresh install record of `name` with its publisher (signed again). */
async function recordPublisher(
  rt: Runtime,
  scope: "user" | "workspace",
  name: string,
  publisher: { fingerprint: string; ref: string; digest: string },
): Promise<void> {
  const { InstallRecords } = await import("../../capsule/mod.ts");
  const records = new InstallRecords(rt.store, rt.key);
  const read = await records.read(scope, scope === "user" ? null : rt.paths.workspaceRoot, name);
  if (!read?.ok) {
    throw new CliError(
      `Cannot record the publisher of ${name}: its install record is ${
        read ? `refused (${read.reason})` : "missing"
      }`,
      ExitCode.Integrity,
    );
  }
  await records.write({ ...read.record, publisher });
}
