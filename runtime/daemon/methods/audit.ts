/**
 * RPC methods `audit.list` and `audit.verify`: the same data as `astrid audit list --json` and
 * `astrid audit verify --json`, read from the daemon's open store. Verification is the audit
 * module's own (`verifyStore`, with the configured witness); a problem is reported in
 * `problems`, not thrown, so a client can show it.
 *
 * @module
 */
import type { MethodGroup } from "./mod.ts";
import type { JsonSchema, RpcMethod } from "../types.ts";
import { type AuditEntry, problemLabel, verifyStore } from "../../audit/mod.ts";
import { resolveWitnessPath } from "../../config/mod.ts";

const GENESIS = "0".repeat(64);

const text = (description: string) => ({ type: "string", description });

const ENTRY: JsonSchema = {
  type: "object",
  description: "One audit entry, as `astrid audit show --json` prints it",
  properties: {
    v: { const: 1, description: "format version" },
    seq: { type: "integer", description: "1-based, gap-free sequence number" },
    ts: { type: "number", description: "when (ms since the epoch)" },
    sessionId: text("the session the action belongs to"),
    action: {
      type: "object",
      description: "what was attempted",
      properties: {
        kind: text("the action kind"),
        resource: text("the resource URI"),
        permission: text("the permission asked for"),
        risk: text("low | medium | high | critical"),
        summary: text("one human-readable line"),
        detail: { description: "further detail" },
      },
      required: ["kind", "resource", "summary"],
    },
    decision: {
      enum: ["allowed", "denied", "deferred", "outcome", "event"],
      description: "what was decided",
    },
    proof: text("why: rule:<pattern>, token:<id>, human:once, …"),
    outcome: { description: "what happened (null when absent)" },
    prevHash: text("the previous entry's hash"),
    hash: text("this entry's BLAKE3 chain hash"),
  },
  required: ["v", "seq", "ts", "sessionId", "action", "decision", "proof", "prevHash", "hash"],
};

/** The params of `audit.list`. */
export interface AuditListParams {
  readonly limit?: number;
  readonly session?: string;
  readonly since?: number;
}

const list: RpcMethod = {
  name: "audit.list",
  summary: "The latest audit entries, oldest first (as `astrid audit list --json`)",
  params: {
    type: "object",
    additionalProperties: false,
    properties: {
      limit: {
        type: "integer",
        minimum: 1,
        maximum: 10_000,
        description: "how many entries (default 50)",
      },
      session: { type: "string", minLength: 1, description: "only this session's entries" },
      since: {
        type: "integer",
        minimum: 0,
        description: "only entries after this seq (the first `limit` of them); default: the " +
          "latest `limit`",
      },
    },
  },
  result: { type: "array", items: ENTRY, description: "entries, oldest first" },
  async handler(params: AuditListParams, call): Promise<AuditEntry[]> {
    const audit = call.daemon.rt.audit;
    const limit = params.limit ?? 50;
    const filter = params.session === undefined ? {} : { sessionId: params.session };
    if (params.since !== undefined) {
      return await audit.list({ ...filter, limit, fromSeq: params.since + 1 });
    }
    return (await audit.list({ ...filter, limit, reverse: true })).reverse();
  },
};

/** One problem `audit.verify` found. */
export interface AuditProblem {
  readonly code: string;
  readonly label: string;
  readonly seq: number;
  readonly position: number;
  readonly reason: string;
  readonly witnessLine?: number;
}

const verify: RpcMethod = {
  name: "audit.verify",
  summary:
    "Verify the chain, checkpoints, signed head and witness (as `astrid audit verify --json`)",
  params: { type: "object", additionalProperties: false, properties: {} },
  result: {
    type: "object",
    additionalProperties: false,
    properties: {
      ok: { type: "boolean", description: "true when nothing is wrong" },
      entries: { type: "integer", description: "entries examined" },
      checkpoints: { type: "integer", description: "checkpoints examined" },
      head: text("the head hash (64 zeros for an empty log)"),
      problems: {
        type: "array",
        description: "what is wrong (the first problem found); empty when ok",
        items: {
          type: "object",
          additionalProperties: false,
          properties: {
            code: text("EDITED, DELETED, REORDERED, TRUNCATED, ROLLED_BACK, BAD_CHECKPOINT, …"),
            label: text("the code as a human reads it"),
            seq: { type: "integer", description: "the seq expected at that position" },
            position: { type: "integer", description: "1-based position in the log" },
            reason: text("a sentence naming what is wrong"),
            witnessLine: { type: "integer", description: "the witness line involved" },
          },
          required: ["code", "label", "seq", "position", "reason"],
        },
      },
      notes: {
        type: "array",
        items: { type: "string" },
        description: "things a human should know that are not failures",
      },
      witness: { type: "object", description: "what the witness file held, when consulted" },
    },
    required: ["ok", "entries", "checkpoints", "head", "problems", "notes"],
  },
  async handler(_params: Record<string, never>, call) {
    const rt = call.daemon.rt;
    const home = rt.io.env.HOME?.startsWith("/") ? rt.io.env.HOME : undefined;
    const witnessPath = resolveWitnessPath(rt.config.audit.witness_path, rt.paths.home, home);
    const storeLocation = rt.config.storage.kv_url || rt.paths.stateKv;
    // Entries this process acknowledged may still be on their way to the store: reading the
    // log waits for them, so the verification covers everything acknowledged before the call.
    await rt.audit.list({ limit: 1, reverse: true });
    const report = await verifyStore(rt.store, rt.key.publicKey, { witnessPath, storeLocation });
    const head = (await rt.store.get<{ hash?: unknown }>(["audit", "head"])).value?.hash;
    const bad = report.firstBad;
    const problems: AuditProblem[] = bad
      ? [{
        code: bad.code,
        label: problemLabel(bad.code),
        seq: bad.seq,
        position: bad.position,
        reason: bad.reason,
        ...(bad.witnessLine === undefined ? {} : { witnessLine: bad.witnessLine }),
      }]
      : [];
    return {
      ok: report.ok,
      entries: report.entries,
      checkpoints: report.checkpoints,
      head: typeof head === "string" ? head : GENESIS,
      problems,
      notes: report.notes ?? [],
      ...(report.witness ? { witness: report.witness } : {}),
    };
  },
};

/** The audit methods. */
export const group: MethodGroup = { methods: [list, verify] };
