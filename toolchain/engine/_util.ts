/**
 * Helpers shared by the engine build: the build error, a shell-free command runner, and file
 * checks.
 *
 * @module
 */

/**
 * Raised when a build step fails; `code` names the step.
 *
 * @example Match on the step
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { EngineBuildError } from "./_util.ts";
 * equal(new EngineBuildError("SOURCE", "Cannot fetch").code, "SOURCE");
 * ```
 */
export class EngineBuildError extends Error {
  /** The failed step. */
  readonly code: "TOOLCHAIN" | "SOURCE" | "COMPILE";
  /**
   * @param code the failed step
   * @param message a "Cannot X: current value is Y" message
   */
  constructor(code: "TOOLCHAIN" | "SOURCE" | "COMPILE", message: string) {
    super(message);
    this.name = "EngineBuildError";
    this.code = code;
  }
}

/**
 * Runs a command without a shell; never throws (a missing binary is `ok: false`).
 *
 * @param cmd the executable
 * @param args its arguments
 * @param opts working directory and environment
 * @returns success and the decoded output
 *
 * @example Run true
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { run } from "./_util.ts";
 * ok((await run("true", [])).ok);
 * ok(!(await run("/nonexistent/binary", [])).ok);
 * ```
 */
export async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      ...(opts.env ? { env: opts.env } : {}),
    }).output();
    const dec = new TextDecoder();
    return { ok: out.success, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } catch (e) {
    return { ok: false, stdout: "", stderr: `${cmd}: ${e instanceof Error ? e.message : e}` };
  }
}

/**
 * Tells whether a path exists (other errors propagate).
 *
 * @param path the path
 * @returns true when `stat` succeeds
 *
 * @example A missing file
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { exists } from "./_util.ts";
 * equal(await exists("/nonexistent/astrid"), false);
 * ```
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Returns the SHA-256 of `bytes` as lowercase hex.
 *
 * @param bytes the data
 * @returns 64 hex characters
 *
 * @example Hash nothing
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { sha256Hex } from "./_util.ts";
 * equal(
 *   await sha256Hex(new Uint8Array()),
 *   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
 * );
 * ```
 */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
