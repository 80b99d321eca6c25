/**
 * The audit log's shared types: what callers append, what is stored, and the log's options.
 * Their own module so that the chain helpers, the reader, the verifier and the log import them
 * without importing each other.
 *
 * @module
 */
/** What the interceptor decided, or what kind of record this is. */
export type AuditDecision = "allowed" | "denied" | "deferred" | "outcome" | "event";

/** The audited action, as summarised by the interceptor. */
export interface AuditAction {
  /** The action kind (`file_read`, `execute_command`, …, or `session_end`). */
  kind: string;
  /** The resource URI (`file:///…`, `exec://…`, `net://…`). */
  resource: string;
  /** The permission asked for, when there is one. */
  permission?: string;
  /** low | medium | high | critical. */
  risk?: string;
  /** One human-readable line. */
  summary: string;
  /** Any further ACE-1 encodable detail. */
  detail?: unknown;
}

/** What a caller hands to `AuditLog.append`. */
export interface AuditInput {
  /** The session the action belongs to (non-empty). */
  sessionId: string;
  /** What was attempted. */
  action: AuditAction;
  /** What was decided. */
  decision: AuditDecision;
  /** Why: `rule:<pattern>`, `token:<id>`, `policy:<rule>`, `human:once`, … */
  proof: string;
  /** What happened (stored as `null` when absent). */
  outcome?: unknown;
  /** Milliseconds since the epoch (default: the log's clock). */
  ts?: number;
}

/** One stored, chained entry. */
export interface AuditEntry {
  /** Format version, always 1. */
  v: 1;
  /** 1-based and gap-free. */
  seq: number;
  /** Milliseconds since the epoch. */
  ts: number;
  /** The session. */
  sessionId: string;
  /** What was attempted. */
  action: AuditAction;
  /** What was decided. */
  decision: AuditDecision;
  /** Why. */
  proof: string;
  /** `null` when absent. */
  outcome: unknown;
  /** The previous entry's hash (64 zeros for seq 1). */
  prevHash: string;
  /** hex(BLAKE3(bytes(prevHash) ‖ ACE-1("audit-entry", this entry without hash))). */
  hash: string;
}

/** Tuning for `AuditLog.open`. */
export interface AuditLogOptions {
  /** Checkpoint whenever a seq that is a multiple of this is appended (default 256). */
  checkpointEvery?: number;
  /**
   * Checkpoint uncovered entries at least this often, in seconds (default 5; 0 disables). The
   * timer starts with this log's first commit: a log that only reads is checkpointed on close.
   */
  checkpointSeconds?: number;
  /** Clock in ms (default `Date.now`). */
  now?: () => number;
  /**
   * Folder of the write-ahead journal (see journal.ts): batched entries of effectful actions are
   * written there first, and orphaned journals found there are appended when the log opens.
   * Default: no journal (batches then commit before any effect).
   */
  journalDir?: string;
  /**
   * The witness file (witness.ts): every checkpoint is appended there after its commit, and
   * opening checks the store against it. Default: no witness. The CLI passes
   * `resolveWitnessPath()` of `[audit] witness_path`.
   */
  witnessPath?: string;
  /**
   * Where the store lives (its KV path or URL), written into witness lines so that a store
   * deleted or replaced at that place is recognised (see witness.ts). Default: "" (unnamed).
   */
  storeLocation?: string;
}

/** Options of `AuditLog.list`. */
export interface AuditListOptions {
  /** Only this session's entries (a scan). */
  sessionId?: string;
  /** At most this many entries. */
  limit?: number;
  /** Start at this seq, inclusive (going down with `reverse`). */
  fromSeq?: number;
  /** Newest first. */
  reverse?: boolean;
}

/** What `AuditLog.stats` returns. */
export interface AuditStats {
  /** Stored entries. */
  entries: number;
  /** Stored checkpoints. */
  checkpoints: number;
  /** Distinct session ids. */
  sessions: number;
  /** Entries per decision. */
  byDecision: Record<string, number>;
  /** Hash of the last entry (64 zeros when empty). */
  head: string;
  /** Size of the newest checkpoint (0 when none). */
  lastCheckpointSize: number;
}
