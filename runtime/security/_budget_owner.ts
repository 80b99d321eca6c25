/**
 * Private: who holds a budget lease, and whether that holder still runs (budget.ts sweeps the
 * leases of holders that died).
 *
 * A holder is a process, named by three facts read from procfs (proc(5)):
 * - `pid`;
 * - `start`: the kernel's start time of that pid, field 22 of `/proc/<pid>/stat`, in clock
 *   ticks since boot. A later process that reuses the number has a different start time;
 * - `ns`: the boot id (`/proc/sys/kernel/random/boot_id`) and the pid namespace
 *   (`/proc/self/ns/pid`). Pids only compare within one namespace of one boot, so a lease
 *   from another container, machine or boot is never judged by its pid.
 *
 * Liveness is decided only when both sides share `ns`: the pid is gone, is a zombie, or was
 * reused means `"dead"`; otherwise `"alive"`. Anything else (another namespace, no procfs,
 * no permission to read it) is `"unknown"`, and the caller falls back to a time-to-live.
 * Deno reads `/proc` only under `--allow-all` (whatever `--allow-read` says), so a runtime
 * launched with narrowed permissions always takes the time-to-live path.
 *
 * @module
 */

/** The process holding a lease. */
export interface LeaseOwner {
  /** `<boot id>/<pid namespace>`, or null where procfs cannot be read. */
  readonly ns: string | null;
  /** The holder's process id. */
  readonly pid: number;
  /** Kernel start time of `pid` in clock ticks since boot (decimal), or null when unknown. */
  readonly start: string | null;
}

/** What is known of a lease holder. */
export type Liveness = "alive" | "dead" | "unknown";

const NS = /^[0-9a-f-]{36}\/pid:\[\d{1,20}\]$/;
const TICKS = /^\d{1,20}$/;

/** True when `value` has the shape of a {@link LeaseOwner} (an untrusted record's field). */
export function isLeaseOwner(value: unknown): value is LeaseOwner {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const o = value as Record<string, unknown>;
  return Object.keys(o).length === 3 &&
    (o.ns === null || (typeof o.ns === "string" && NS.test(o.ns))) &&
    Number.isSafeInteger(o.pid) && (o.pid as number) > 0 &&
    (o.start === null || (typeof o.start === "string" && TICKS.test(o.start)));
}

/**
 * Reads `pid`'s state and start time from `/proc/<pid>/stat`: `"gone"` when there is no such
 * process, null when procfs cannot be read.
 */
export function readProcStat(pid: number): { state: string; start: string } | "gone" | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch (err) {
    return err instanceof Deno.errors.NotFound ? "gone" : null;
  }
  // `comm` (field 2) is in parentheses and may itself hold spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  const start = fields[19];
  if (state === undefined || start === undefined || !TICKS.test(start)) return null;
  return { state, start };
}

/** This process, once procfs described it: pid, boot, namespace and start never change. */
let described: LeaseOwner | null = null;

/** Describes this process as a lease holder (read from procfs once, when it can be). */
export function currentOwner(): LeaseOwner {
  if (described !== null) return described;
  const pid = Deno.pid;
  let ns: string | null = null;
  try {
    const boot = Deno.readTextFileSync("/proc/sys/kernel/random/boot_id").trim();
    const candidate = `${boot}/${Deno.readLinkSync("/proc/self/ns/pid")}`;
    if (NS.test(candidate)) ns = candidate;
  } catch {
    ns = null; // no procfs (not Linux) or no permission: leases fall back to their ttl
  }
  const stat = ns === null ? null : readProcStat(pid);
  const start = stat !== null && stat !== "gone" ? stat.start : null;
  const owner = { ns: start === null ? null : ns, pid, start };
  // Without procfs (or permission to read it yet) it is asked again next time.
  if (owner.ns !== null) described = Object.freeze(owner);
  return owner;
}

/**
 * Decides whether `owner` still runs, as seen from `self` (see the module doc).
 *
 * @example A pid that does not exist is dead; another namespace is unknown
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { currentOwner, ownerLiveness } from "./_budget_owner.ts";
 * const self = currentOwner();
 * equal(ownerLiveness(self, self), self.ns === null ? "unknown" : "alive");
 * if (self.ns !== null) equal(ownerLiveness({ ...self, pid: 2 ** 30 }, self), "dead");
 * equal(ownerLiveness({ ...self, ns: null }, self), "unknown");
 * ```
 */
export function ownerLiveness(owner: LeaseOwner, self: LeaseOwner): Liveness {
  if (owner.ns === null || owner.ns !== self.ns || owner.start === null) return "unknown";
  const stat = readProcStat(owner.pid);
  if (stat === "gone") return "dead";
  if (stat === null) return "unknown";
  if (stat.state === "Z" || stat.state === "X" || stat.start !== owner.start) return "dead";
  return "alive";
}
