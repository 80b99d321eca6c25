/**
 * Test fixtures (private): a probe capsule compiled by the real toolchain (engine + Wizer), a
 * real interceptor over an in-memory store and audit log, and install records for capsules a
 * test installs with `installCapsule()` (a folder without a record is never used).
 *
 * @module
 */
import { compileCapsule } from "../../toolchain/compile.ts";
import {
  type CapsuleDirs,
  installCapsule,
  type InstallResult,
  type InstallScope,
} from "./install.ts";
import { InstallRecords } from "./install_record.ts";
import { discoverTools } from "./discover.ts";
import type { Walls } from "../security/walls.ts";
import { openStore, type Store } from "../storage/mod.ts";
import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
import { AuditLog } from "../audit/mod.ts";
import { type AstridConfig, DEFAULT_CONFIG } from "../config/mod.ts";
import { openGate } from "../security/gate.ts";
import type { Frontend } from "../security/approval.ts";
import type { AuditSink, SecurityInterceptor } from "../security/interceptor.ts";

/** The probe capsule's source: one tool per host function, errors returned as values. */
export const PROBE_SOURCE = `
import { config, defineCapsule, fs, http, kv } from "@astrid/sdk";
const attempt = async (f) => {
  try { return { ok: await f() }; } catch (e) { return { error: e.code ?? "?", message: String(e.message) }; }
};
export default defineCapsule({
  tools: {
    echo: { description: "Echoes its arguments", run: (a) => a },
    read: { description: "Reads a file", run: (a) => attempt(() => fs.readFile(a.path)) },
    write: { description: "Writes a file", run: (a) => attempt(() => fs.writeFile(a.path, a.content)) },
    ls: { description: "Lists a folder", run: (a) => attempt(() => fs.readdir(a.path)) },
    exists: { description: "Tests a path", run: (a) => attempt(() => fs.exists(a.path)) },
    fetch: { description: "GETs a URL", run: (a) => attempt(() => http.request({ url: a.url })) },
    kvset: { description: "Sets a key", run: (a) => attempt(() => kv.set(a.key, a.value)) },
    kvget: { description: "Gets a key", run: (a) => attempt(() => kv.get(a.key)) },
    cfg: { description: "Reads config", run: (a) => attempt(() => config.get(a.key)) },
    say: { description: "Logs", run: (a) => { console.log(a.message); return null; } },
    spin: { description: "Never ends", run: () => { for (;;) {} } },
    copy: {
      description: "Reads and tests src, then writes its text to dst",
      run: async (a) => {
        const text = await attempt(() => fs.readFile(a.src));
        const there = await attempt(() => fs.exists(a.src));
        const wrote = await attempt(() => fs.writeFile(a.dst, String(text.ok ?? "")));
        return { text, there, wrote };
      },
    },
  },
});
`;

/** The probe capsule's manifest (before compile adds `[component]`). */
export const PROBE_MANIFEST = `[package]
name = "probe"
version = "0.1.0"
description = "Exercises every host function"

[capabilities]
fs_read = ["."]
fs_write = ["out"]
net = ["127.0.0.1"]
kv = true

[env.TOKEN]
type = "secret"
request = "API token"

[env.UNITS]
default = "metric"
`;

let compiled: Promise<string> | undefined;

/** Compiles the probe once per process; returns a folder with Capsule.toml and capsule.wasm. */
export function probeBuild(): Promise<string> {
  compiled ??= (async () => {
    const src = await Deno.makeTempDir({ prefix: "astrid-probe-src-" });
    await Deno.writeTextFile(`${src}/Capsule.toml`, PROBE_MANIFEST);
    await Deno.writeTextFile(`${src}/mod.ts`, PROBE_SOURCE);
    const out = await Deno.makeTempDir({ prefix: "astrid-probe-" });
    await compileCapsule(src, { out, typeCheck: false });
    return out;
  })();
  return compiled;
}

/**
 * A fresh copy of the probe in its own folder, renamed to `name` (the hash covers only the
 * wasm, so renaming keeps it valid). `edit` may rewrite the manifest text.
 */
export async function probeCopy(name = "probe", edit?: (toml: string) => string): Promise<string> {
  const build = await probeBuild();
  const dir = await Deno.makeTempDir({ prefix: `astrid-${name}-` });
  await Deno.copyFile(`${build}/capsule.wasm`, `${dir}/capsule.wasm`);
  let toml = (await Deno.readTextFile(`${build}/Capsule.toml`))
    .replace('name = "probe"', `name = "${name}"`);
  if (edit) toml = edit(toml);
  await Deno.writeTextFile(`${dir}/Capsule.toml`, toml);
  return dir;
}

/** A real gate over an in-memory store; close it at the end. */
export interface TestGate extends AsyncDisposable {
  readonly interceptor: SecurityInterceptor;
  readonly audit: AuditLog;
  readonly store: Store;
  readonly root: string;
  /** Verifies the audit log's checkpoints. */
  readonly publicKey: Uint8Array;
}

/** Opens a gate for a fresh temporary workspace (mode and frontend as given). */
export async function testGate(
  opts: {
    frontend: Frontend | null;
    config?: Partial<AstridConfig>;
    /** Wraps the real audit log as the interceptor's sink (a seam for failing appends). */
    sink?: (log: AuditLog) => AuditSink;
    /** Give the audit log a write-ahead journal, as the CLI does (default true). */
    journal?: boolean;
  },
): Promise<TestGate> {
  const store = await openStore(":memory:");
  const signer = signerFromSeed(generateSeed());
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-ws-" }));
  const state = await Deno.makeTempDir({ prefix: "astrid-state-" });
  const audit = await AuditLog.open(
    store,
    signer,
    opts.journal === false ? {} : { journalDir: `${state}/audit-journal` },
  );
  const config = { ...DEFAULT_CONFIG, ...opts.config } as AstridConfig;
  const { interceptor } = await openGate({
    store,
    signer,
    audit: opts.sink ? opts.sink(audit) : audit,
    config,
    workspaceRoot: root,
    workspaceId: "ws-test",
    sessionId: "s-test",
    frontend: opts.frontend,
  });
  return {
    interceptor,
    audit,
    store,
    root,
    publicKey: signer.publicKey,
    async [Symbol.asyncDispose]() {
      await audit.close();
      store.close();
      await Deno.remove(root, { recursive: true }).catch(() => {});
      await Deno.remove(state, { recursive: true }).catch(() => {});
    },
  };
}

/** Install records over their own in-memory store (and key); dispose them to close it. */
export async function testRecords(store?: Store): Promise<InstallRecords & Disposable> {
  const own = store ?? await openStore(":memory:");
  const records = new InstallRecords(own, signerFromSeed(generateSeed()));
  return Object.assign(records, {
    [Symbol.dispose]: () => {
      if (!store) own.close();
    },
  });
}

/**
 * Installs `source` as `astrid capsule install --yes` does: tools discovered (an MCP capsule's
 * servers started with `parentEnv`), the record signed into `records`.
 */
export async function testInstall(
  dirs: CapsuleDirs,
  source: string,
  records: InstallRecords,
  opts: {
    scope?: InstallScope;
    env?: Record<string, string>;
    parentEnv?: Record<string, string | undefined>;
    walls?: Walls;
  } = {},
): Promise<InstallResult> {
  return await installCapsule(dirs, source, {
    scope: opts.scope ?? "user",
    requireHash: true,
    records,
    tools: async (loaded) =>
      (await discoverTools({ loaded, env: opts.env ?? {} }, { timeoutMs: 30_000, memoryMb: 64 }, {
        parentEnv: opts.parentEnv ?? { PATH: Deno.env.get("PATH"), HOME: Deno.env.get("HOME") },
        workspaceRoot: dirs.workspaceRoot,
        walls: opts.walls,
      })).tools,
  });
}
