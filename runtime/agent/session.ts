/**
 * Agent sessions persisted in Deno KV: a header, one record per turn, and the transcript
 * chunked one message per key (a KV value holds at most 64 KiB, so a large message is further
 * split into parts). A save writes only the new messages, the turn record and the header,
 * in one atomic commit when it fits; otherwise the message parts go first and the header,
 * which alone makes them visible (`messageCount`), goes last.
 *
 * A save can also ride in another component's commit ({@link AgentSession.prepareSave}): the
 * agent loop hands it to the session budget, so a round's messages and the next model call's
 * reservation (or a call's charge and the turn's end) are durable together, after one fsync.
 *
 * Key layout:
 * - `["agent_sessions", id]` → {@link SessionHeader}
 * - `["agent_turns", id, n]` → {@link TurnRecord}
 * - `["agent_messages", id, index, part]` → a slice of the message's JSON text
 *
 * @module
 */
import type { LlmMessage } from "../llm/mod.ts";
import type { Store } from "../storage/mod.ts";
import { listAll, MAX_MUTATIONS_PER_COMMIT } from "../storage/mod.ts";
import type { Rider } from "../storage/store.ts";

/** The input-classification label of a transcript item. */
export type Trust = "trusted" | "pre_authorized" | "untrusted";

/** One transcript message with its classification. */
export interface SessionMessage {
  /** What the model sees (untrusted tool output is already wrapped and marked). */
  readonly message: LlmMessage;
  /** Where the content came from. */
  readonly trust: Trust;
  /** For untrusted content: where it came from, e.g. `read_file /ws/notes.md`. */
  readonly source?: string;
  /** The turn the message belongs to. */
  readonly turn: number;
}

/** The state of a session. `running` means a turn is in progress (or the process died in one). */
export type SessionStatus = "idle" | "running" | "ended";

/** How a turn ended. */
export type TurnStatus =
  | "running"
  | "completed"
  | "interrupted"
  | "cancelled"
  | "failed"
  | "max_turns"
  | "budget_exceeded";

/** One user turn. */
export interface TurnRecord {
  readonly n: number;
  readonly status: TurnStatus;
  /** The user's prompt (first 200 characters). */
  readonly prompt: string;
  readonly startedAt: number;
  readonly endedAt: number | null;
  /** Index of the turn's first message. */
  readonly firstMessage: number;
  /** Why the turn did not complete. */
  readonly error: string | null;
  readonly costUsd: number;
}

/** What is stored about a session besides its messages. */
export interface SessionHeader {
  readonly v: 1;
  readonly id: string;
  readonly parentId: string | null;
  /** 0 for a top-level session, 1 for its sub-agents, … */
  readonly depth: number;
  readonly provider: string;
  readonly model: string;
  readonly workspaceRoot: string;
  readonly workspaceId: string;
  readonly status: SessionStatus;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly messageCount: number;
  readonly turnCount: number;
  /** The `bash` working directory to resume from. */
  readonly cwd: string | null;
  /** The first prompt, shortened, for listings. */
  readonly title: string;
  /** The process running the current turn (to tell a live turn from a killed one), or null. */
  readonly ownerPid: number | null;
}

/**
 * Raised when a session cannot be found, is malformed, or belongs to another workspace.
 *
 * @example Match on the code
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { SessionError } from "./session.ts";
 * equal(new SessionError("NOT_FOUND", "Cannot load session: x does not exist").code, "NOT_FOUND");
 * ```
 */
export class SessionError extends Error {
  /** `NOT_FOUND` or `MALFORMED` or `WORKSPACE_MISMATCH`. */
  readonly code: "NOT_FOUND" | "MALFORMED" | "WORKSPACE_MISMATCH";
  /** Creates the error. */
  constructor(code: SessionError["code"], message: string) {
    super(message);
    this.name = "SessionError";
    this.code = code;
  }
}

/** Characters of JSON per KV value: at most 2 bytes each in V8's serialisation, ≤ 64 KiB. */
const PART_CHARS = 16_000;
/** Stay well under Deno KV's 800 KiB per atomic commit. */
const COMMIT_BYTES = 400_000;
/** Mutations of the last commit of a save: room is left for a carrier's own (≤ 900 in all). */
const LAST_MUTATIONS = 800;

/** A save prepared by {@link AgentSession.prepareSave}, to be written by some commit. */
export interface SessionSave extends Rider {
  /** True once a commit that carried it succeeded. */
  readonly done: boolean;
}

const HEADER = "agent_sessions";
const TURNS = "agent_turns";
const MESSAGES = "agent_messages";

function isHeader(v: unknown): v is SessionHeader {
  const h = v as Partial<SessionHeader> | null;
  return typeof h === "object" && h !== null && h.v === 1 && typeof h.id === "string" &&
    Number.isSafeInteger(h.messageCount) && Number.isSafeInteger(h.turnCount) &&
    typeof h.status === "string";
}

/**
 * A session being worked on: its header, turns and messages in memory, and what is not yet
 * saved. Create with {@link SessionStore.create} or {@link SessionStore.load}.
 *
 * @example A turn from start to end
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { SessionStore } from "./session.ts";
 * using store = await openStore(":memory:");
 * const s = new SessionStore(store).create({
 *   provider: "anthropic", model: "m", workspaceRoot: "/ws", workspaceId: "w",
 * });
 * s.beginTurn("hi");
 * equal(s.header.status, "running");
 * s.updateTurn({ status: "completed", endedAt: Date.now() });
 * await s.save();
 * equal(s.header.status, "idle");
 * ```
 */
export class AgentSession {
  #store: Store;
  #header: SessionHeader;
  #messages: SessionMessage[];
  #turns: TurnRecord[];
  #saved: number;
  #dirtyTurns = new Set<number>();

  /** @internal Use {@link SessionStore}. */
  constructor(
    store: Store,
    header: SessionHeader,
    messages: SessionMessage[],
    turns: TurnRecord[],
  ) {
    this.#store = store;
    this.#header = header;
    this.#messages = messages;
    this.#turns = turns;
    this.#saved = messages.length;
  }

  /** The header as last updated in memory. */
  get header(): SessionHeader {
    return this.#header;
  }
  /** The session id. */
  get id(): string {
    return this.#header.id;
  }
  /** Every message, oldest first. */
  get messages(): readonly SessionMessage[] {
    return this.#messages;
  }
  /** Every turn, oldest first. */
  get turns(): readonly TurnRecord[] {
    return this.#turns;
  }

  /** Appends a message (saved by the next {@link AgentSession.save}). */
  push(message: SessionMessage): void {
    this.#messages.push(message);
  }

  /** Starts turn `n + 1`: records it as running. */
  beginTurn(prompt: string, now = Date.now()): TurnRecord {
    const turn: TurnRecord = {
      n: this.#turns.length + 1,
      status: "running",
      prompt: prompt.slice(0, 200),
      startedAt: now,
      endedAt: null,
      firstMessage: this.#messages.length,
      error: null,
      costUsd: 0,
    };
    this.#turns.push(turn);
    this.#dirtyTurns.add(turn.n);
    this.#header = {
      ...this.#header,
      status: "running",
      turnCount: this.#turns.length,
      title: this.#header.title || prompt.replace(/\s+/g, " ").slice(0, 60),
      ownerPid: Deno.pid,
    };
    return turn;
  }

  /** Updates the current turn (cost so far, or its end). */
  updateTurn(patch: Partial<Pick<TurnRecord, "status" | "error" | "costUsd" | "endedAt">>): void {
    const last = this.#turns.at(-1);
    if (!last) throw new RangeError("Cannot update a turn: current value is no turn");
    this.#turns[this.#turns.length - 1] = { ...last, ...patch };
    this.#dirtyTurns.add(last.n);
    if (patch.status && patch.status !== "running") {
      this.#header = { ...this.#header, status: "idle", ownerPid: null };
    }
  }

  /** Records the `bash` working directory. */
  setCwd(cwd: string): void {
    this.#header = { ...this.#header, cwd };
  }

  /** Marks the session ended (it may still be shown, not resumed by default). */
  end(): void {
    this.#header = { ...this.#header, status: "ended" };
  }

  /**
   * A turn left `running` by a process that died is marked `interrupted`; its saved messages
   * (always whole tool rounds) stay. Returns true when something changed.
   */
  recoverInterrupted(now = Date.now()): boolean {
    let changed = false;
    this.#turns = this.#turns.map((t) => {
      if (t.status !== "running") return t;
      changed = true;
      this.#dirtyTurns.add(t.n);
      return { ...t, status: "interrupted", endedAt: now, error: "the process ended mid-turn" };
    });
    if (this.#header.status === "running") {
      this.#header = { ...this.#header, status: "idle", ownerPid: null };
      changed = true;
    }
    return changed;
  }

  /** Writes the new messages, the changed turns and the header. */
  async save(now = Date.now()): Promise<void> {
    const pending = await this.prepareSave(now);
    const op = this.#store.atomic();
    pending.apply(op);
    await commit(op, this.#header.id);
    pending.committed();
  }

  /**
   * Prepares a save for another commit to carry (a `Rider`): what {@link AgentSession.save}
   * writes, with the header last. Parts of large messages that do not fit one commit are
   * written here first (invisible until a header counts them). Nothing counts as saved until
   * the carrier reports the commit; a save that is never committed is simply redone by the
   * next one.
   *
   * @example The budget carries the save with a reservation
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { openStore } from "../storage/mod.ts";
   * import { SessionBudget } from "../security/budget.ts";
   * import { SessionStore } from "./session.ts";
   * using store = await openStore(":memory:");
   * const sessions = new SessionStore(store);
   * const s = sessions.create({ provider: "p", model: "m", workspaceRoot: "/ws", workspaceId: "w" });
   * s.beginTurn("hi");
   * const budget = await SessionBudget.load(store, s.id, { sessionUsd: 1, perActionUsd: 1, warnAt: 1 });
   * const pending = await s.prepareSave();
   * await budget.reserve(0.1, pending);
   * equal(pending.done, true);
   * equal((await sessions.load(s.id)).turns[0]?.status, "running");
   * ```
   */
  async prepareSave(now = Date.now()): Promise<SessionSave> {
    const id = this.#header.id;
    const header: SessionHeader = {
      ...this.#header,
      messageCount: this.#messages.length,
      updatedAt: now,
    };
    const mutations: { key: Deno.KvKey; value: unknown; bytes: number }[] = [];
    for (let i = this.#saved; i < this.#messages.length; i++) {
      const json = JSON.stringify(this.#messages[i]);
      const parts = Math.max(1, Math.ceil(json.length / PART_CHARS));
      for (let p = 0; p < parts; p++) {
        const slice = json.slice(p * PART_CHARS, (p + 1) * PART_CHARS);
        mutations.push({ key: [MESSAGES, id, i, p], value: slice, bytes: slice.length * 2 });
      }
    }
    for (const n of this.#dirtyTurns) {
      const turn = this.#turns[n - 1]!;
      mutations.push({ key: [TURNS, id, n], value: turn, bytes: 600 });
    }
    // Message parts beyond the header's count are invisible, so earlier batches are safe.
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < mutations.length; i++) {
      const m = mutations[i]!;
      if (i - start + 2 > LAST_MUTATIONS || bytes + m.bytes > COMMIT_BYTES) {
        const op = this.#store.atomic();
        for (const early of mutations.slice(start, i)) op.set(early.key, early.value);
        await commit(op, id);
        start = i;
        bytes = 0;
      }
      bytes += m.bytes;
    }
    const last = mutations.slice(start);
    last.push({ key: [HEADER, id], value: header, bytes: 1000 });
    const saved = this.#messages.length;
    const turns = new Map([...this.#dirtyTurns].map((n) => [n, this.#turns[n - 1]]));
    let done = false;
    return {
      get done() {
        return done;
      },
      store: this.#store,
      mutations: last.length,
      bytes: bytes + 1000,
      apply(op) {
        for (const m of last) op.set(m.key, m.value);
      },
      committed: () => {
        if (done) return;
        done = true;
        // Only what was written counts: later changes stay pending for the next save.
        this.#header = { ...this.#header, messageCount: saved, updatedAt: now };
        this.#saved = Math.max(this.#saved, saved);
        for (const [n, turn] of turns) {
          if (this.#turns[n - 1] === turn) this.#dirtyTurns.delete(n);
        }
      },
    };
  }
}

async function commit(op: Deno.AtomicOperation, id: string): Promise<void> {
  const res = await op.commit();
  if (!res.ok) throw new Error(`Cannot save session ${id}: the KV commit was rejected`);
}

/** What a new session records. */
export interface NewSession {
  readonly id?: string;
  readonly parentId?: string | null;
  readonly depth?: number;
  readonly provider: string;
  readonly model: string;
  readonly workspaceRoot: string;
  readonly workspaceId: string;
  readonly cwd?: string | null;
}

/**
 * Creates, loads, lists and deletes persisted agent sessions.
 *
 * @example Save a message and load it back
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { openStore } from "../storage/mod.ts";
 * import { SessionStore } from "./session.ts";
 * using store = await openStore(":memory:");
 * const sessions = new SessionStore(store);
 * const s = sessions.create({ provider: "anthropic", model: "m", workspaceRoot: "/ws", workspaceId: "w" });
 * s.beginTurn("hello");
 * s.push({ message: { role: "user", content: [{ type: "text", text: "hello" }] }, trust: "trusted", turn: 1 });
 * await s.save();
 * const back = await sessions.load(s.id);
 * equal(back.messages.length, 1);
 * equal(back.turns[0]?.status, "running");
 * ```
 */
export class SessionStore {
  #store: Store;
  /** Wraps an open store. */
  constructor(store: Store) {
    this.#store = store;
  }

  /** A new, unsaved session. */
  create(opts: NewSession, now = Date.now()): AgentSession {
    const header: SessionHeader = {
      v: 1,
      id: opts.id ?? crypto.randomUUID(),
      parentId: opts.parentId ?? null,
      depth: opts.depth ?? 0,
      provider: opts.provider,
      model: opts.model,
      workspaceRoot: opts.workspaceRoot,
      workspaceId: opts.workspaceId,
      status: "idle",
      createdAt: now,
      updatedAt: now,
      messageCount: 0,
      turnCount: 0,
      cwd: opts.cwd ?? null,
      title: "",
      ownerPid: null,
    };
    return new AgentSession(this.#store, header, [], []);
  }

  /** The header of session `id`, or null. Throws `SessionError` MALFORMED on a bad record. */
  async header(id: string): Promise<SessionHeader | null> {
    const entry = await this.#store.get([HEADER, id]);
    if (entry.versionstamp === null) return null;
    if (!isHeader(entry.value)) {
      throw new SessionError("MALFORMED", `Cannot read session ${id}: its header is malformed`);
    }
    return entry.value;
  }

  /** Loads a whole session. Throws `SessionError` when it does not exist or is malformed. */
  async load(id: string): Promise<AgentSession> {
    const header = await this.header(id);
    if (!header) throw new SessionError("NOT_FOUND", `Cannot load session: ${id} does not exist`);
    const parts = await listAll<string>(this.#store, [MESSAGES, id], {
      batchSize: 500,
    });
    const texts: string[] = [];
    for (const e of parts) {
      const index = e.key[2];
      if (typeof index !== "number" || index >= header.messageCount) continue;
      texts[index] = (texts[index] ?? "") + e.value;
    }
    const messages: SessionMessage[] = [];
    for (let i = 0; i < header.messageCount; i++) {
      const text = texts[i];
      if (text === undefined) {
        throw new SessionError("MALFORMED", `Cannot load session ${id}: message ${i} is missing`);
      }
      try {
        messages.push(JSON.parse(text) as SessionMessage);
      } catch {
        throw new SessionError("MALFORMED", `Cannot load session ${id}: message ${i} is corrupt`);
      }
    }
    const turns = (await listAll<TurnRecord>(this.#store, [TURNS, id]))
      .map((e) => e.value)
      .filter((t) => t.n <= header.turnCount)
      .sort((a, b) => a.n - b.n);
    return new AgentSession(this.#store, header, messages, turns);
  }

  /** The turns of session `id`, oldest first. */
  async turns(id: string): Promise<TurnRecord[]> {
    return (await listAll<TurnRecord>(this.#store, [TURNS, id])).map((e) => e.value);
  }

  /** Every session header, most recently updated first. */
  async list(): Promise<SessionHeader[]> {
    const out: SessionHeader[] = [];
    for await (const e of this.#store.list({ prefix: [HEADER] })) {
      if (isHeader(e.value)) out.push(e.value);
    }
    return out.sort((a, b) => b.updatedAt - a.updatedAt);
  }

  /** Deletes a session's header, turns and messages. Returns false when it did not exist. */
  async delete(id: string): Promise<boolean> {
    const existed = (await this.#store.get([HEADER, id])).versionstamp !== null;
    const keys: Deno.KvKey[] = [];
    for (const prefix of [[MESSAGES, id], [TURNS, id]]) {
      for await (const e of this.#store.list({ prefix })) keys.push(e.key);
    }
    // The header goes first: a half-finished delete leaves no visible session.
    await this.#store.delete([HEADER, id]);
    for (let i = 0; i < keys.length; i += MAX_MUTATIONS_PER_COMMIT) {
      const op = this.#store.atomic();
      for (const k of keys.slice(i, i + MAX_MUTATIONS_PER_COMMIT)) op.delete(k);
      await commit(op, id);
    }
    return existed;
  }
}
