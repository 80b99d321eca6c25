/**
 * Private: the shape of a session's budget record in KV (`["budget", sessionId]`) and the
 * arithmetic on it. budget.ts reads the record, applies a batch of operations to a copy with
 * these functions, and writes it back with a versionstamp check.
 *
 * ```
 * { spentMicros, warned, updatedAt,
 *   leases: { <instance uuid>: { micros, owner, renewedAt, owed? } } }
 * ```
 *
 * `spentMicros` is money charged; a lease is the money one `SessionBudget` instance (one per
 * process per session) has set aside and not yet settled; the sum of the leases is the
 * reserved total. `owed` (present only when > 0) is the part of a lease's money that is charged,
 * not released, when the lease is swept (reservations made with `chargeIfAbandoned`). A record
 * without `leases` (written before leases existed) reads as having none. Values read back are
 * untrusted and parsed strictly.
 *
 * @module
 */
import { isLeaseOwner, type LeaseOwner } from "./_budget_owner.ts";

/** One instance's unsettled reservations. */
export interface Lease {
  /** Money held, in micro-dollars; always > 0 (an empty lease is removed). */
  micros: number;
  readonly owner: LeaseOwner;
  /** When the holder last wrote the lease, in ms since the epoch. */
  renewedAt: number;
  /** The part of `micros` charged when the lease is swept; 0..micros. */
  owed: number;
}

/** A parsed budget record. */
export interface BudgetRecord {
  spentMicros: number;
  warned: boolean;
  leases: Map<string, Lease>;
}

/** Most leases a record may hold: concurrent instances (processes) on one session. */
export const MAX_LEASES = 256;
/** Largest amount of one lease or of the spend: one billion USD in micro-dollars. */
export const MAX_MICROS = 1e15;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TOP = new Set(["spentMicros", "warned", "updatedAt", "leases"]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const isMicros = (n: unknown): n is number =>
  typeof n === "number" && Number.isSafeInteger(n) && n >= 0 && n <= MAX_MICROS;

/** A record with nothing spent and nothing held. */
export function emptyRecord(): BudgetRecord {
  return { spentMicros: 0, warned: false, leases: new Map() };
}

/** Parses an untrusted stored value; null when it is malformed. */
export function parseRecord(value: unknown): BudgetRecord | null {
  if (!isPlainObject(value)) return null;
  if (Object.keys(value).some((k) => !TOP.has(k))) return null;
  const { spentMicros, warned, updatedAt, leases } = value;
  if (spentMicros === undefined || !Number.isSafeInteger(spentMicros)) return null;
  if ((spentMicros as number) < 0 || typeof warned !== "boolean") return null;
  if (updatedAt !== undefined && typeof updatedAt !== "number") return null;
  const record: BudgetRecord = { spentMicros: spentMicros as number, warned, leases: new Map() };
  if (leases === undefined) return record;
  if (!isPlainObject(leases)) return null;
  const ids = Object.keys(leases);
  if (ids.length > MAX_LEASES) return null;
  let total = 0;
  for (const id of ids) {
    const lease = leases[id];
    if (!UUID.test(id) || !isPlainObject(lease)) return null;
    const { micros, owner, renewedAt, owed = 0 } = lease;
    if (Object.keys(lease).length !== ("owed" in lease ? 4 : 3)) return null;
    if (!isMicros(micros) || micros === 0 || !isLeaseOwner(owner)) return null;
    if (!Number.isSafeInteger(renewedAt) || (renewedAt as number) < 0) return null;
    if (!isMicros(owed) || owed > micros || ("owed" in lease && owed === 0)) return null;
    total += micros;
    record.leases.set(id, {
      micros,
      owner: { ns: owner.ns, pid: owner.pid, start: owner.start },
      renewedAt: renewedAt as number,
      owed,
    });
  }
  return Number.isSafeInteger(total) ? record : null;
}

/** The plain value written to KV. */
export function encodeRecord(record: BudgetRecord, now: number): Record<string, unknown> {
  const leases: Record<string, unknown> = {};
  for (const [id, l] of record.leases) {
    leases[id] = l.owed > 0
      ? { micros: l.micros, owner: { ...l.owner }, renewedAt: l.renewedAt, owed: l.owed }
      : { micros: l.micros, owner: { ...l.owner }, renewedAt: l.renewedAt };
  }
  return { spentMicros: record.spentMicros, warned: record.warned, leases, updatedAt: now };
}

/** A deep copy, so a batch can be applied and thrown away when its commit loses a race. */
export function cloneRecord(record: BudgetRecord): BudgetRecord {
  const leases = new Map<string, Lease>();
  for (const [id, l] of record.leases) leases.set(id, { ...l });
  return { spentMicros: record.spentMicros, warned: record.warned, leases };
}

/** The reserved total: the sum of all leases. */
export function reservedOf(record: BudgetRecord): number {
  let total = 0;
  for (const l of record.leases.values()) total += l.micros;
  return total;
}

/**
 * Adds `micros` to `instance`'s lease (creating it), stamping `now`; all of it is owed (charged
 * if the lease is swept) when `owed`.
 */
export function hold(
  record: BudgetRecord,
  instance: string,
  owner: LeaseOwner,
  micros: number,
  now: number,
  owed = false,
): void {
  const lease = record.leases.get(instance);
  if (lease) {
    lease.micros += micros;
    lease.renewedAt = now;
    if (owed) lease.owed += micros;
  } else {
    record.leases.set(instance, { micros, owner, renewedAt: now, owed: owed ? micros : 0 });
  }
}

/**
 * Takes `micros` off `instance`'s lease (removing it when empty), and off its owed part when
 * `owed`. Returns false when the lease was swept (then nothing changes).
 */
export function release(
  record: BudgetRecord,
  instance: string,
  micros: number,
  now: number,
  owed = false,
): boolean {
  const lease = record.leases.get(instance);
  if (!lease) return false;
  lease.micros -= micros;
  lease.renewedAt = now;
  if (owed) lease.owed = Math.max(0, lease.owed - micros);
  lease.owed = Math.min(lease.owed, Math.max(0, lease.micros));
  if (lease.micros <= 0) record.leases.delete(instance);
  return true;
}

/**
 * Removes every lease but `instance`'s for which `stale` is true, charging each one's owed
 * part; returns how many.
 */
export function sweep(
  record: BudgetRecord,
  instance: string,
  stale: (lease: Lease) => boolean,
): number {
  let removed = 0;
  for (const [id, lease] of record.leases) {
    if (id !== instance && stale(lease)) {
      record.leases.delete(id);
      record.spentMicros = Math.min(Number.MAX_SAFE_INTEGER, record.spentMicros + lease.owed);
      removed++;
    }
  }
  return removed;
}

/** What the reservation and settlement rules need to know about the instance applying them. */
export interface Terms {
  /** The session limit, in micro-dollars. */
  readonly limit: number;
  /** The spend at which the one-time warning fires, in micro-dollars. */
  readonly warnAt: number;
  /** The instance's lease id. */
  readonly instance: string;
  readonly owner: LeaseOwner;
  /** True when another instance's lease may be swept (its process is gone). */
  stale(lease: Lease): boolean;
}

/** Micro-dollars not yet spent or held, never below 0. */
export function headroom(record: BudgetRecord, limit: number): number {
  return Math.max(0, limit - record.spentMicros - reservedOf(record));
}

/**
 * Holds `amount` for `t.instance` when it fits under the limit, sweeping stale leases first
 * when it does not (once per batch: `mark.swept`). Sets `mark.changed` when the record changed.
 */
export function tryReserve(
  record: BudgetRecord,
  t: Terms,
  amount: number,
  now: number,
  mark: { changed: boolean; swept: boolean },
  owed = false,
): "held" | "full" | "crowded" {
  const fits = () => record.spentMicros + reservedOf(record) + amount <= t.limit;
  if (!fits() && !mark.swept) {
    mark.swept = true;
    if (sweep(record, t.instance, t.stale) > 0) mark.changed = true;
  }
  if (!fits()) return "full";
  if (!record.leases.has(t.instance) && record.leases.size >= MAX_LEASES) return "crowded";
  hold(record, t.instance, t.owner, amount, now, owed);
  mark.changed = true;
  return "held";
}

/**
 * Releases `reserved` from `t.instance`'s lease and charges `actual`. `overrun` is true when
 * the excess over the reservation did not fit in the headroom left once the reservation was
 * released (the charge is recorded all the same); `crossed` when this charge crossed `warnAt`.
 * An `owed` reservation whose lease was swept was charged in full by the sweep: only what
 * `actual` exceeds it by is charged now.
 */
export function settle(
  record: BudgetRecord,
  t: Terms,
  reserved: number,
  actual: number,
  now: number,
  owed = false,
): { overrun: boolean; crossed: boolean } {
  if (!release(record, t.instance, reserved, now, owed) && owed) {
    actual = Math.max(0, actual - reserved);
  }
  if (actual === 0) return { overrun: false, crossed: false };
  const overrun = actual > reserved && record.spentMicros + reservedOf(record) + actual > t.limit;
  record.spentMicros = Math.min(Number.MAX_SAFE_INTEGER, record.spentMicros + actual);
  const crossed = !record.warned && record.spentMicros >= t.warnAt;
  if (crossed) record.warned = true;
  return { overrun, crossed };
}
