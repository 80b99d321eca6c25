/**
 * The Deno permission flags of `capsule compile` and `capsule new`: the toolchain, not the
 * runtime (launch_flags.ts has the runtime's set and the flag syntax). The toolchain writes only
 * the project, the output folder, the repo's `.build/` cache and the temp folder; runs only
 * Wizer and Deno (`deno check`); has no network. It is the only set with ffi: rolldown and
 * oxc-transform are native napi addons, which Deno loads through its ffi permission, scoped
 * here to the repo's `node_modules/`. Building a missing engine (apt, clang) is not allowed
 * under it: `deno task engine` (or `deno task setup`) builds it.
 *
 * @module
 */
import { dedupe, type PathGrant, type PermissionSet } from "./launch_flags.ts";

/** Everything {@link toolchainPermissions} needs. */
export interface ToolchainInputs {
  readonly repo: string;
  readonly deno: string;
  readonly denoDir: string;
  readonly tempDirs: readonly string[];
  /** The capsule project folder (absolute). */
  readonly project: string;
  /** The output folder (absolute; `capsule compile` defaults to `<project>/dist`). */
  readonly out: string;
  /** The Wizer binary from the pinned npm package. */
  readonly wizer: string;
}

/**
 * `sys` names the toolchain queries: rolldown sizes its thread pool from the CPU count, and its
 * musl probe reads `process.report` (release, network interfaces, host name).
 */
const TOOLCHAIN_SYS: readonly string[] = Object.freeze([
  "cpus",
  "osRelease",
  "networkInterfaces",
  "hostname",
]);

/**
 * The permissions of `capsule compile` and `capsule new`: the toolchain, not the runtime.
 *
 * @example Wizer and Deno only; ffi scoped to node_modules
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { toolchainPermissions } from "./toolchain_flags.ts";
 * const set = toolchainPermissions({
 *   repo: "/repo", deno: "/usr/bin/deno", denoDir: "/h/.cache/deno", tempDirs: ["/tmp"],
 *   project: "/h/cap", out: "/h/cap/dist", wizer: "/repo/node_modules/wizer",
 * });
 * deepEqual(set.run, ["/repo/node_modules/wizer", "/usr/bin/deno"]);
 * deepEqual(set.ffi, ["/repo/node_modules"]);
 * deepEqual(set.net, []);
 * ```
 */
export function toolchainPermissions(inputs: ToolchainInputs): PermissionSet {
  const write: PathGrant[] = [
    { path: inputs.project, why: "the capsule project" },
    { path: inputs.out, why: "the output folder" },
    { path: `${inputs.repo}/.build`, why: "the engine cache (.build/)" },
    ...inputs.tempDirs.map((path) => ({ path, why: "the temp folder (Wizer's scratch files)" })),
  ];
  const read: PathGrant[] = [
    ...write,
    { path: inputs.repo, why: "the repo: toolchain sources, the shim, node_modules" },
    { path: inputs.denoDir, why: "Deno's cache (npm packages the capsule imports)" },
  ];
  return {
    read: dedupe(read),
    write: dedupe(write),
    run: [inputs.wizer, inputs.deno],
    net: [],
    env: true,
    sys: TOOLCHAIN_SYS,
    ffi: [`${inputs.repo}/node_modules`],
  };
}
