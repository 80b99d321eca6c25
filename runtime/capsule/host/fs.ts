/**
 * The seven file host functions. Each is checked twice: {@link confinePath} (manifest capability,
 * canonical path inside the workspace) and then the interceptor as a `capsule_file_access`
 * action. Files are opened with `openConfined`, which re-checks the path at open time, so a
 * symlink swapped in after the checks is refused.
 *
 * `read-file` and `write-file` move UTF-8 text by default; with `encoding: "base64"` they move the
 * exact bytes as base64 (runtime/capsule/host/_encoding.ts), through the same checks, action
 * and audit.
 *
 * @module
 */
import { canonicalizePathSync, openConfined } from "../../security/workspace.ts";
import { type CapsuleFileAccessAction, describeAction } from "../../security/action.ts";
import { type CallState, gate, type HostEnv, HostError, refuse } from "./context.ts";
import { confinePath, type FileNeed } from "./confine.ts";
import { decodeContent, encodeResult, encodingArg } from "./_encoding.ts";

/**
 * The largest file read-file returns or write-file accepts, in bytes (decoded bytes for the
 * base64 form: 16 MiB is 22 369 624 base64 characters, inside the 24 MiB JSON argument limit).
 */
export const MAX_FILE_BYTES = 16 << 20;

type Capability = CapsuleFileAccessAction["capability"];
type FsFn = (env: HostEnv, state: CallState, args: Record<string, unknown>) => Promise<unknown>;

// What the manifest must grant follows the action's permission: reads need fs_read (or
// fs_write); writes and deletes need fs_write.
function needOf(capability: Capability): FileNeed {
  const info = describeAction({ kind: "capsule_file_access", capsule: "-", capability, path: "/" });
  return info.permission === "read" ? "read" : "write";
}

/**
 * Both checks, then `op` on the canonical path; the outcome is audited. Entries queue in the
 * call's audit batch; a write's entry (and those queued before it) is first written ahead to the
 * audit journal, so a crash before the batch's flush still leaves the record.
 */
async function checked<T>(
  env: HostEnv,
  state: CallState,
  capability: Capability,
  path: unknown,
  op: (canonical: string) => Promise<T>,
): Promise<T> {
  const fn = capability.replace("_", "-");
  const need = needOf(capability);
  const confined = confinePath(env.manifest, env.workspaceRoot, path, need, env.fileBases);
  if (typeof confined !== "string") {
    throw await refuse(env, state, fn, "CONFINED", confined.refused);
  }
  // A write is written ahead to the journal, or without one audited durably (after the entries
  // queued before it) before it runs: the interceptor decides which.
  const allowed = await gate(env, state, {
    kind: "capsule_file_access",
    capsule: env.capsule,
    capability,
    path: confined,
  }, { batched: true, writeAhead: need === "write" });
  try {
    // Re-resolve right before the operation: a symlink planted since the check is caught here
    // (file contents additionally go through openConfined).
    const again = canonicalizePathSync(confined, env.workspaceRoot);
    if (again !== confined) {
      throw new HostError("CONFINED", `Cannot use ${String(path)}: it changed during the check`);
    }
    const result = await op(confined);
    await allowed.complete({ ok: true });
    return result;
  } catch (e) {
    await allowed.complete({ ok: false, detail: (e as Error).message });
    if (e instanceof HostError) throw e;
    if (e instanceof Deno.errors.NotFound) {
      throw new HostError("NOT_FOUND", `Cannot ${fn} ${String(path)}: no such file or folder`);
    }
    throw new HostError("IO", `Cannot ${fn} ${String(path)}: ${(e as Error).message}`);
  }
}

async function readAll(file: Deno.FsFile): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(64 << 10);
  for (;;) {
    const n = await file.read(buf);
    if (n === null) break;
    total += n;
    if (total > MAX_FILE_BYTES) {
      throw new HostError("TOO_LARGE", `Cannot read the file: it exceeds ${MAX_FILE_BYTES} bytes`);
    }
    chunks.push(buf.slice(0, n));
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) out.set(c, (at += c.length) - c.length);
  return out;
}

/**
 * `mkdir` (`-p` when `recursive`) that cannot create outside the workspace: through the walled
 * creator when there is one; else in-process, checking afterwards that the folder made is
 * inside (a folder that turns out outside is removed again and the call fails).
 */
async function makeDir(env: HostEnv, path: string, recursive: boolean): Promise<void> {
  if (!recursive) {
    if (await Deno.lstat(path).catch(() => null)) {
      throw new HostError("EXISTS", `Cannot create folder ${path}: it already exists`);
    }
    await Deno.lstat(path.slice(0, path.lastIndexOf("/")) || "/"); // NotFound when no parent
  }
  if (env.creator) {
    await env.creator.mkdir(path).catch((e: Error) => {
      throw new HostError("CONFINED", `Cannot create folder ${path}: ${e.message}`);
    });
    return;
  }
  await Deno.mkdir(path, { recursive });
  const real = await Deno.realPath(path);
  if (real !== env.workspaceRoot && !real.startsWith(`${env.workspaceRoot}/`)) {
    await Deno.remove(real).catch(() => {});
    throw new HostError("CONFINED", `Cannot create folder ${path}: it was swapped to ${real}`);
  }
}

/** The file host functions by their import name. */
export const FS_FUNCTIONS: Readonly<Record<string, FsFn>> = {
  "read-file": (env, state, args) => {
    const encoding = encodingArg(args.encoding, "encoding", "read a file");
    return checked(env, state, "read_file", args.path, async (p) => {
      using file = await openConfined(p, env.workspaceRoot, { read: true });
      return encodeResult(await readAll(file), encoding).text;
    });
  },
  "write-file": (env, state, args) => {
    if (typeof args.content !== "string") {
      throw new HostError("BAD_ARGS", "Cannot write a file: content is not a string");
    }
    const encoding = encodingArg(args.encoding, "encoding", "write a file");
    const bytes = decodeContent(args.content, encoding, MAX_FILE_BYTES, "write a file");
    return checked(env, state, "write_file", args.path, async (p) => {
      using file = await openConfined(p, env.workspaceRoot, {
        write: true,
        create: true,
        truncate: true,
      }, env.creator);
      let at = 0;
      while (at < bytes.length) at += await file.write(bytes.subarray(at));
      return null;
    });
  },
  "fs-exists": (env, state, args) =>
    checked(env, state, "fs_exists", args.path, (p) => {
      // One lstat: synchronous, as an async op costs far more than the syscall.
      try {
        Deno.lstatSync(p);
        return Promise.resolve(true);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return Promise.resolve(false);
        throw e;
      }
    }),
  "fs-mkdir": (env, state, args) =>
    checked(env, state, "fs_mkdir", args.path, async (p) => {
      await makeDir(env, p, args.recursive === true);
      return null;
    }),
  "fs-readdir": (env, state, args) =>
    checked(env, state, "fs_readdir", args.path, async (p) => {
      const out: { name: string; isFile: boolean; isDirectory: boolean }[] = [];
      for await (const e of Deno.readDir(p)) {
        out.push({ name: e.name, isFile: e.isFile, isDirectory: e.isDirectory });
        if (out.length >= 10_000) break;
      }
      return out.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    }),
  "fs-stat": (env, state, args) =>
    checked(env, state, "fs_stat", args.path, (p) => {
      const s = Deno.lstatSync(p);
      return Promise.resolve({
        size: s.size,
        isFile: s.isFile,
        isDirectory: s.isDirectory,
        mtime: s.mtime?.getTime() ?? null,
      });
    }),
  "fs-unlink": (env, state, args) =>
    checked(env, state, "fs_unlink", args.path, async (p) => {
      if (p === env.workspaceRoot) {
        throw new HostError("DENIED", "Cannot unlink the workspace root");
      }
      const s = await Deno.lstat(p);
      if (s.isDirectory) throw new HostError("BAD_ARGS", `Cannot unlink ${p}: it is a folder`);
      await Deno.remove(p);
      return null;
    }),
};
