/**
 * Test fixtures (private) for the first-party capsules: each is compiled by the real toolchain
 * (type-check included) into a temporary folder, installed with a signed install record, and
 * called through `callCapsuleTool` behind a real gate (interceptor, audit log, in-memory store).
 * Nobody answers prompts: what runs does so because of a standing `[permissions] allow` rule.
 *
 * @module
 */
import { deepEqual, equal } from "node:assert/strict";
import { compileCapsule } from "../toolchain/compile.ts";
import { buildEngine } from "../toolchain/engine/build.ts";
import { type AstridConfig } from "../runtime/config/mod.ts";
import { testGate, testInstall, testRecords } from "../runtime/capsule/_testing.ts";
import {
  callCapsuleTool,
  capsuleDirs,
  type CapsuleHost,
  listInstalled,
} from "../runtime/capsule/mod.ts";

/** What a capsule tool call returns. */
export type Outcome = Awaited<ReturnType<typeof callCapsuleTool>>;

const CAPSULES = decodeURIComponent(new URL("./", import.meta.url).pathname);
const LIMITS = { timeoutMs: 30_000, memoryMb: 64 };

let engine: Promise<Uint8Array> | undefined;
const compiled = new Map<string, Promise<string>>();
const builds: string[] = [];
// The builds are shared by every test of a file: removed when the test process ends.
globalThis.addEventListener("unload", () => {
  for (const dir of builds) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // already gone
    }
  }
});

/** Compiles `capsules/<name>` (with its type-check) once per process; returns the build folder. */
export function compileFirstParty(name: string): Promise<string> {
  let built = compiled.get(name);
  if (!built) {
    built = (async () => {
      engine ??= buildEngine({ log: () => {} }).then((b) => Deno.readFile(b.path));
      const out = await Deno.makeTempDir({ prefix: `astrid-capsule-${name}-` });
      builds.push(out);
      await compileCapsule(`${CAPSULES}${name}`, {
        out,
        engine: await engine,
        typeCheck: true,
      });
      return out;
    })();
    compiled.set(name, built);
  }
  return built;
}

/** A capsule installed behind a real gate in a fresh workspace. */
export interface Installed extends AsyncDisposable {
  /** The workspace root. */
  readonly root: string;
  /** Calls `<capsule>__<tool>`. */
  call(tool: string, args: unknown): Promise<Outcome>;
  /** The audit log's entries, reduced to what tests compare. */
  entries(): Promise<{ resource: string; decision: string; proof: string }[]>;
}

/**
 * Installs the compiled capsule `name` (its built `Capsule.toml` optionally rewritten by `edit`,
 * as a user does before installing) in a fresh home, for a fresh workspace, with the given
 * per-call limits (default: 30 s CPU deadline, 64 MB).
 */
export async function installFirstParty(
  name: string,
  permissions: Partial<AstridConfig["permissions"]>,
  edit?: (toml: string) => string,
  limits: CapsuleHost["limits"] = LIMITS,
): Promise<Installed> {
  const built = await compileFirstParty(name);
  const source = await Deno.makeTempDir({
    prefix: `astrid-capsule-${name}-copy-`,
  });
  await Deno.copyFile(`${built}/capsule.wasm`, `${source}/capsule.wasm`);
  const toml = await Deno.readTextFile(`${built}/Capsule.toml`);
  await Deno.writeTextFile(`${source}/Capsule.toml`, edit ? edit(toml) : toml);
  const home = await Deno.makeTempDir({ prefix: "astrid-home-" });
  const gate = await testGate({
    frontend: null,
    config: { permissions: { allow: [], ask: [], deny: [], ...permissions } },
  });
  const dirs = capsuleDirs(home, null);
  using records = await testRecords(gate.store);
  await testInstall(dirs, source, records);
  const { capsules, broken } = await listInstalled(dirs, {
    requireHash: true,
    records,
  });
  deepEqual(broken, []);
  const host: CapsuleHost = {
    capsules,
    workspaceRoot: gate.root,
    store: gate.store,
    limits,
  };
  return {
    root: gate.root,
    call: (tool, args) => callCapsuleTool(gate.interceptor, host, `${name}__${tool}`, args),
    entries: async () =>
      (await gate.audit.list()).map((e) => ({
        resource: String(e.action.resource ?? ""),
        decision: e.decision,
        proof: e.proof,
      })),
    async [Symbol.asyncDispose]() {
      await gate[Symbol.asyncDispose]();
      await Deno.remove(home, { recursive: true }).catch(() => {});
      await Deno.remove(source, { recursive: true }).catch(() => {});
    },
  };
}

/** The parsed output of an `ok` outcome (fails the test otherwise). */
export function okOutput(outcome: Outcome): unknown {
  equal(outcome.status, "ok", JSON.stringify(outcome));
  if (outcome.status !== "ok") throw new Error("unreachable");
  equal(outcome.trust, "untrusted");
  return JSON.parse(outcome.result.output);
}

/** The message of an `error` outcome (fails the test otherwise). */
export function errorMessage(outcome: Outcome): string {
  equal(outcome.status, "error", JSON.stringify(outcome));
  return outcome.status === "error" ? outcome.message : "";
}
