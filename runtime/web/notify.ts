/**
 * Desktop notifications for approvals nobody is there to answer. On each `approval.requested`
 * event while no frontend that can answer is attached (`!ctx.approvals.canAsk()`):
 * - `notify-send "Astrid: approval needed" "<summary>"` runs when it is on PATH;
 * - the `[daemon] notify_command` hook (an argv, no shell) runs with the approval as JSON on
 *   stdin and `ASTRID_APPROVAL_ID` / `ASTRID_APPROVAL_URL` (a fresh one-time link) in its
 *   environment, which is otherwise an allowlist of the daemon's (PATH, HOME, the display and
 *   session bus variables).
 *
 * A hook that fails or hangs is reported on the daemon's stderr and killed after
 * {@link HOOK_TIMEOUT_MS}; it never blocks the approval.
 *
 * @module
 */
import { delimiter, isAbsolute, join } from "node:path";
import type { DaemonContext, PendingApproval } from "../daemon/types.ts";

/** How long a notifier may run before it is killed. */
export const HOOK_TIMEOUT_MS = 10_000;

/** The daemon environment variables a notifier receives. */
export const NOTIFY_ENV_ALLOWLIST: readonly string[] = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "LANG",
  "LC_ALL",
  "DISPLAY",
  "WAYLAND_DISPLAY",
  "XDG_RUNTIME_DIR",
  "DBUS_SESSION_BUS_ADDRESS",
];

/**
 * `name` resolved on `path` (an executable file), or null.
 *
 * @example Nothing is found on an empty PATH
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { findOnPath } from "./notify.ts";
 * equal(await findOnPath("notify-send", ""), null);
 * ```
 */
export async function findOnPath(name: string, path: string | undefined): Promise<string | null> {
  if (isAbsolute(name)) return await isExecutable(name) ? name : null;
  for (const dir of (path ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && (info.mode === null || (info.mode & 0o111) !== 0);
  } catch {
    return false;
  }
}

/** Runs `argv` with `stdin`, killed after {@link HOOK_TIMEOUT_MS}; throws when it fails. */
async function runHook(
  argv: readonly string[],
  env: Record<string, string>,
  stdin: string,
): Promise<void> {
  const [command, ...args] = argv;
  if (!command) return;
  const child = new Deno.Command(command, {
    args,
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, HOOK_TIMEOUT_MS);
  try {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin)).catch(() => {});
    await writer.close().catch(() => {});
    const { code, stderr } = await child.output();
    if (code !== 0) {
      const why = new TextDecoder().decode(stderr).trim().split("\n")[0] ?? "";
      throw new Error(`${command} exited with ${code}${why ? `: ${why}` : ""}`);
    }
  } finally {
    clearTimeout(timer);
  }
}

/** What {@link startNotifier} runs, for tests to wait on. */
export interface Notifier {
  /** Settles when every notification started so far has finished. */
  idle(): Promise<void>;
  /** Stops listening. */
  close(): Promise<void>;
}

/**
 * Listens for approvals nobody can answer and runs the notifiers. `notifySend` overrides the
 * `notify-send` lookup (tests pass null to skip it).
 */
export function startNotifier(
  ctx: DaemonContext,
  opts: { readonly notifySend?: string | null } = {},
): Notifier {
  const env = ctx.rt.io.env;
  const hook = ctx.rt.config.daemon?.notify_command ?? [];
  const baseEnv: Record<string, string> = {};
  for (const name of NOTIFY_ENV_ALLOWLIST) {
    const value = env[name];
    if (value !== undefined) baseEnv[name] = value;
  }
  const notifySend = opts.notifySend !== undefined
    ? Promise.resolve(opts.notifySend)
    : findOnPath("notify-send", env.PATH);
  const running = new Set<Promise<void>>();
  const report = (what: string, err: unknown) =>
    ctx.rt.io.stderr(`warning: ${what}: ${(err as Error).message}\n`);

  const notify = async (approval: PendingApproval) => {
    const sender = await notifySend;
    const jobs: Promise<void>[] = [];
    if (sender) {
      jobs.push(
        runHook([sender, "Astrid: approval needed", approval.summary], baseEnv, "")
          .catch((err) => report("notify-send failed", err)),
      );
    }
    if (hook.length > 0) {
      const link = await ctx.links.mint(approval.id).catch(() => null);
      jobs.push(
        runHook(hook, {
          ...baseEnv,
          ASTRID_APPROVAL_ID: approval.id,
          ASTRID_APPROVAL_URL: link?.url ?? "",
        }, JSON.stringify(approval)).catch((err) => report("[daemon] notify_command failed", err)),
      );
    }
    await Promise.all(jobs);
  };

  const unsubscribe = ctx.events.subscribe((_seq, event) => {
    if (event.type !== "approval.requested" || ctx.approvals.canAsk()) return;
    const job = notify(event.approval).finally(() => running.delete(job));
    running.add(job);
  }, { types: ["approval.requested"] });

  return {
    async idle() {
      while (running.size > 0) await Promise.all([...running]);
    },
    async close() {
      unsubscribe();
      await this.idle();
    },
  };
}
