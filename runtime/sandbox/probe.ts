/**
 * What the wall can be here: whether bubblewrap runs at all, and whether it can map the caller
 * to an unprivileged uid in a new user namespace. As root without user namespaces the wall
 * still drops every capability; as a normal user without them bwrap cannot build a sandbox,
 * and the caller refuses to run unwalled.
 *
 * @module
 */

/** What {@link probeSandbox} found. */
export type SandboxSupport =
  | { readonly ok: true; readonly bwrap: string; readonly userns: boolean }
  | { readonly ok: false; readonly why: string };

async function runs(bwrap: string, extra: string[]): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(bwrap, {
      args: ["--ro-bind", "/", "/", ...extra, "--", "/bin/true"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
      clearEnv: true,
    }).output();
    return success;
  } catch {
    return false;
  }
}

const probes = new Map<string, Promise<SandboxSupport>>();

/**
 * Probes `bwrap` once per path for the life of the process (the answer is a property of the
 * machine): first with a user namespace and every capability dropped, then without the user
 * namespace.
 *
 * @example A missing binary cannot sandbox
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { probeSandbox } from "./probe.ts";
 * equal((await probeSandbox("/nonexistent/bwrap")).ok, false);
 * ```
 */
export function probeSandbox(bwrap = "/usr/bin/bwrap"): Promise<SandboxSupport> {
  let probe = probes.get(bwrap);
  if (!probe) {
    probe = detect(bwrap);
    probes.set(bwrap, probe);
  }
  return probe;
}

async function detect(bwrap: string): Promise<SandboxSupport> {
  if (Deno.build.os !== "linux") return { ok: false, why: `the OS is ${Deno.build.os}` };
  const common = ["--cap-drop", "ALL", "--unshare-pid", "--unshare-net"];
  if (await runs(bwrap, ["--unshare-user", "--uid", "65534", "--gid", "65534", ...common])) {
    return { ok: true, bwrap, userns: true };
  }
  if (await runs(bwrap, common)) return { ok: true, bwrap, userns: false };
  const exists = await Deno.stat(bwrap).then(() => true, () => false);
  return {
    ok: false,
    why: exists
      ? `${bwrap} cannot create namespaces here (user namespaces may be disabled)`
      : `${bwrap} is not installed`,
  };
}
