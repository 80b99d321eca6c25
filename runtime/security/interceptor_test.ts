import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { openStore, type Store } from "../storage/mod.ts";
import { generateSeed, signerFromSeed } from "../crypto/mod.ts";
import { AuditLog, verifyStore } from "../audit/mod.ts";
import { type AstridConfig, DEFAULT_CONFIG } from "../config/mod.ts";
import { openGate } from "./gate.ts";
import type { Action } from "./action.ts";
import type { ApprovalAnswer, ApprovalRequest, Frontend } from "./approval.ts";
import { DeferredQueue } from "./approval.ts";
import type { AuditSink, Decision } from "./interceptor.ts";

/** A frontend that answers from a script and records what it was asked. */
class ScriptedFrontend implements Frontend {
  asked: ApprovalRequest[] = [];
  #answers: ApprovalAnswer[];
  constructor(...answers: ApprovalAnswer[]) {
    this.#answers = answers;
  }
  canAsk() {
    return true;
  }
  ask(request: ApprovalRequest): Promise<ApprovalAnswer> {
    this.asked.push(request);
    const next = this.#answers.shift();
    if (!next) throw new Error(`unexpected prompt: ${request.info.summary}`);
    return Promise.resolve(next);
  }
}

interface Harness {
  store: Store;
  signer: ReturnType<typeof signerFromSeed>;
  audit: AuditLog;
  ws: string;
  outside: string;
  gate: (
    frontend: Frontend | null,
    patch?: (c: AstridConfig) => void,
    sessionId?: string,
  ) => ReturnType<typeof openGate>;
  close: () => Promise<void>;
}

async function harness(location = ":memory:"): Promise<Harness> {
  const store = await openStore(location);
  const signer = signerFromSeed(generateSeed());
  const audit = await AuditLog.open(store, signer, { checkpointSeconds: 3600 });
  const ws = await Deno.realPath(await Deno.makeTempDir());
  const outside = await Deno.realPath(await Deno.makeTempDir());
  return {
    store,
    signer,
    audit,
    ws,
    outside,
    gate: (frontend, patch, sessionId = "s1") => {
      const config = structuredClone(DEFAULT_CONFIG);
      patch?.(config);
      return openGate({
        store,
        signer,
        audit,
        config,
        workspaceRoot: ws,
        workspaceId: "ws-test",
        sessionId,
        frontend,
      });
    },
    close: async () => {
      await audit.close();
      store.close();
    },
  };
}

function read(path: string): Action {
  return { kind: "file_read", path };
}
function write(path: string): Action {
  return { kind: "file_write", path };
}

Deno.test("intercept() denies a blocked command at the policy step and audits it", async () => {
  const h = await harness();
  const { interceptor } = await h.gate(new ScriptedFrontend({ choice: "once" }));
  const d = await interceptor.intercept({
    kind: "execute_command",
    argv: ["echo", "ok"],
    line: "echo ok && sudo ls",
  });
  equal(d.outcome, "denied");
  equal((d as { code: string }).code, "POLICY");
  const entry = await h.audit.get(d.auditSeq!);
  equal(entry?.decision, "denied");
  match(entry!.proof, /^policy:/);
  await h.close();
});

Deno.test("intercept() treats the three modes differently on the same actions", async () => {
  const h = await harness();
  const inside = [read(join(h.ws, "a.txt")), write(join(h.ws, "b.txt")), {
    kind: "execute_command" as const,
    argv: ["ls"],
    cwd: h.ws,
  }];
  const results: Record<string, string[]> = {};
  for (const mode of ["safe", "guided", "autonomous"] as const) {
    const { interceptor } = await h.gate(null, (c) => (c.workspace.mode = mode), `s-${mode}`);
    results[mode] = [];
    for (const action of inside) {
      results[mode].push((await interceptor.intercept(action)).outcome);
    }
  }
  equal(results.safe!.join(), "deferred,deferred,deferred");
  equal(results.guided!.join(), "allowed,deferred,deferred");
  equal(results.autonomous!.join(), "allowed,allowed,allowed");
  await h.close();
});

Deno.test("intercept() applies escape_policy in every mode, even autonomous", async () => {
  const h = await harness();
  const target = write(join(h.outside, "x.txt"));
  const deny = await h.gate(null, (c) => {
    c.workspace.mode = "autonomous";
    c.workspace.escape_policy = "deny";
  });
  const d1 = await deny.interceptor.intercept(target);
  equal((d1 as { code?: string }).code, "ESCAPE_DENIED");
  const ask = await h.gate(new ScriptedFrontend({ choice: "deny" }), (c) => {
    c.workspace.mode = "autonomous";
  });
  const d2 = await ask.interceptor.intercept(target);
  equal((d2 as { code?: string }).code, "HUMAN_DENIED");
  await h.close();
});

Deno.test("Allow Always mints a token linked to its audit entry; the next identical action is not asked", async () => {
  const h = await harness();
  const frontend = new ScriptedFrontend({ choice: "always" });
  const gate = await h.gate(frontend);
  const action: Action = { kind: "execute_command", argv: ["npm", "run", "test"], cwd: h.ws };
  const first = await gate.interceptor.intercept(action);
  equal(first.outcome, "allowed");
  const tokenId = (first as { proof: string }).proof.split("token:")[1]!;
  const token = gate.tokens.get(tokenId);
  equal(token?.auditId, (first as { auditSeq: number }).auditSeq);
  equal(token?.resource, "exec://npm run test");
  const second = await gate.interceptor.intercept(action);
  equal(second.outcome, "allowed");
  equal((second as { proof: string }).proof, `token:${tokenId}`);
  equal(frontend.asked.length, 1);
  // A different command is not covered: git status never covers git push.
  const other = await gate.interceptor.intercept({
    kind: "execute_command",
    argv: ["npm", "publish"],
  });
  equal(other.outcome, "deferred");
  // A new session in the same workspace is covered too (persistent scope).
  const later = await h.gate(null, undefined, "s2");
  equal((await later.interceptor.intercept(action)).outcome, "allowed");
  await h.close();
});

Deno.test("Allow Session stores an allowance that untrusted provenance cannot ride in safe mode", async () => {
  const h = await harness();
  const frontend = new ScriptedFrontend({ choice: "session" }, { choice: "deny" });
  const gate = await h.gate(frontend);
  const action = write(join(h.ws, "notes.md"));
  equal((await gate.interceptor.intercept(action)).outcome, "allowed");
  const again = await gate.interceptor.intercept(action);
  match((again as { proof: string }).proof, /^allowance:/);
  const untrusted = await gate.interceptor.intercept(action, {
    provenance: { trust: "untrusted", source: "read_file README.md" },
  });
  equal(untrusted.outcome, "denied");
  equal(frontend.asked.length, 2);
  match(frontend.asked[1]!.reason, /untrusted content \(read_file README.md\)/);
  await h.close();
});

Deno.test("[permissions] allow is a standing grant audited as rule:<pattern>; ask forces a prompt", async () => {
  const h = await harness();
  const gate = await h.gate(null, (c) => {
    c.workspace.mode = "autonomous";
    c.permissions.allow = ["exec://git status"];
    c.permissions.ask = [`file://${h.ws}/secrets/**`];
  });
  const allowed = await gate.interceptor.intercept({
    kind: "execute_command",
    argv: ["git", "status"],
  });
  equal((allowed as { proof: string }).proof, "rule:exec://git status");
  const entry = await h.audit.get((allowed as { auditSeq: number }).auditSeq);
  equal(entry?.proof, "rule:exec://git status");
  const asked = await gate.interceptor.intercept(read(join(h.ws, "secrets", "k")));
  equal(asked.outcome, "deferred");
  await h.close();
});

Deno.test("[permissions] deny joins the policy and beats every grant", async () => {
  const h = await harness();
  const gate = await h.gate(new ScriptedFrontend(), (c) => {
    c.workspace.mode = "autonomous";
    c.permissions.allow = [`file://${h.ws}/**`];
    c.permissions.deny = [`file://${h.ws}/.env`];
  });
  const d = await gate.interceptor.intercept(read(join(h.ws, ".env")));
  equal((d as { code?: string }).code, "POLICY");
  await h.close();
});

Deno.test("intercept() refuses over budget and refunds reservations on deny and defer", async () => {
  const h = await harness();
  const gate = await h.gate(new ScriptedFrontend({ choice: "deny" }), (c) => {
    c.budget.session_usd = 1;
    c.budget.per_action_usd = 0.5;
  });
  const costly = await gate.interceptor.intercept(read(join(h.ws, "a")), { costUsd: 0.6 });
  equal((costly as { code?: string }).code, "BUDGET_EXCEEDED");
  const denied = await gate.interceptor.intercept(read(join(h.ws, "a")), { costUsd: 0.4 });
  equal((denied as { code?: string }).code, "HUMAN_DENIED");
  equal(gate.budget.state().spentUsd, 0);
  equal(gate.budget.state().reservedUsd, 0);
  await h.close();
});

Deno.test("allowed actions commit their cost on success and refund it on failure", async () => {
  const h = await harness();
  const gate = await h.gate(null, (c) => (c.workspace.mode = "autonomous"));
  const a = await gate.interceptor.intercept(read(join(h.ws, "a")), { costUsd: 0.25 });
  ok(a.outcome === "allowed");
  await a.complete({ ok: true });
  const b = await gate.interceptor.intercept(read(join(h.ws, "b")), { costUsd: 0.25 });
  ok(b.outcome === "allowed");
  await b.complete({ ok: false, detail: "tool crashed" });
  equal(gate.budget.state().spentUsd, 0.25);
  const outcomes = (await h.audit.list()).filter((e) => e.decision === "outcome");
  equal(outcomes.length, 2);
  await h.close();
});

Deno.test("a deferred action waits in a queue that survives reopening the store", async () => {
  const dir = await Deno.makeTempDir();
  const h = await harness(join(dir, "state.kv"));
  const gate = await h.gate(null);
  const d = await gate.interceptor.intercept(write(join(h.ws, "later.txt")), {
    execution: { executor: "tool", payload: { tool: "write_file" } },
  });
  equal(d.outcome, "deferred");
  await h.close();
  using store = await openStore(join(dir, "state.kv"));
  const record = await new DeferredQueue(store).get((d as { id: string }).id);
  equal(record?.status, "pending");
  equal(record?.execution?.executor, "tool");
  equal(record?.action.kind, "file_write");
});

Deno.test("a frontend that does not answer in time defers instead of hanging", async () => {
  const h = await harness();
  const silent: Frontend = {
    canAsk: () => true,
    ask: (_r, signal) =>
      new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error("gone")))),
  };
  const gate = await h.gate(silent, (c) => (c.approval.timeout_seconds = 0.05));
  const d = await gate.interceptor.intercept(read(join(h.ws, "a")));
  equal(d.outcome, "deferred");
  match((d as { reason: string }).reason, /no answer within/);
  await h.close();
});

Deno.test("intercept() fails closed when the audit write fails", async () => {
  const h = await harness();
  const gate = await openGate({
    store: h.store,
    signer: signerFromSeed(generateSeed()),
    audit: { append: () => Promise.reject(new Error("disk full")) },
    config: {
      ...structuredClone(DEFAULT_CONFIG),
      workspace: { mode: "autonomous", escape_policy: "ask" },
    },
    workspaceRoot: h.ws,
    workspaceId: "w",
    sessionId: "s",
    frontend: null,
  });
  const d = await gate.interceptor.intercept(read(join(h.ws, "a")), { costUsd: 0.1 });
  equal((d as { code?: string }).code, "AUDIT_FAILED");
  match((d as { reason: string }).reason, /disk full/);
  equal(gate.budget.state().reservedUsd, 0);
  await h.close();
});

Deno.test("intercept() denies a malformed action and audits it", async () => {
  const h = await harness();
  const gate = await h.gate(null);
  const d = await gate.interceptor.intercept(
    { kind: "file_read", path: "relative/../x" } as Action,
  );
  equal((d as { code?: string }).code, "MALFORMED");
  ok((d as Decision).auditSeq !== null);
  await h.close();
});

Deno.test("1,000 concurrent intercepts leave a valid, gap-free audit chain", async () => {
  const h = await harness();
  const gate = await h.gate(null, (c) => (c.workspace.mode = "autonomous"));
  const decisions = await Promise.all(
    Array.from({ length: 1000 }, (_, i) => gate.interceptor.intercept(read(join(h.ws, `f${i}`)))),
  );
  ok(decisions.every((d) => d.outcome === "allowed"));
  const seqs = decisions.map((d) => d.auditSeq!).sort((a, b) => a - b);
  equal(new Set(seqs).size, 1000);
  await h.audit.checkpoint();
  const report = await verifyStore(h.store, h.signer.publicKey);
  ok(report.ok, JSON.stringify(report.firstBad));
  equal(report.entries, 1000);
  await h.close();
});

/** The harness's real audit log behind a switch: while `failing`, appends fail like a full disk. */
function switchable(audit: AuditLog): AuditSink & { failing: boolean } {
  return {
    failing: false,
    append(input) {
      if (this.failing) return Promise.reject(new Error("disk full"));
      return audit.append(input);
    },
  };
}

async function batchGate(
  h: Harness,
  sink: AuditSink,
  frontend: Frontend | null = null,
  allow = [`file://${h.ws}/**`],
) {
  const config = structuredClone(DEFAULT_CONFIG);
  config.permissions.allow = allow;
  return await openGate({
    store: h.store,
    signer: h.signer,
    audit: sink,
    config,
    workspaceRoot: h.ws,
    workspaceId: "ws-test",
    sessionId: "s1",
    frontend,
  });
}

Deno.test("intercept() with an auditBatch queues covered reads and flush() appends them in order", async () => {
  const h = await harness();
  const { interceptor } = await batchGate(h, h.audit);
  const batch = interceptor.openBatch();
  for (const name of ["a", "b", "c"]) {
    const d = await interceptor.intercept(read(join(h.ws, name)), { auditBatch: batch });
    equal(d.outcome, "allowed");
    equal(d.auditSeq, null);
    if (d.outcome === "allowed") await d.complete({ ok: name !== "b", detail: name });
  }
  equal((await h.audit.list()).length, 0, "nothing is written before the flush");
  equal(batch.pending, 3);
  await batch.flush();
  const entries = await h.audit.list();
  deepEqual(entries.map((e) => [e.action.resource, e.decision]), [
    [`file://${h.ws}/a`, "allowed"],
    [`file://${h.ws}/b`, "allowed"],
    [`file://${h.ws}/c`, "allowed"],
  ]);
  deepEqual(entries.map((e) => e.outcome), [
    { ok: true, detail: "a" },
    { ok: false, detail: "b" },
    { ok: true, detail: "c" },
  ]);
  match(entries[0]!.proof, /^rule:/);
  await h.audit.checkpoint();
  ok((await verifyStore(h.store, h.signer.publicKey)).ok);
  await h.close();
});

Deno.test("intercept() never batches a fresh approval (once or Allow Always)", async () => {
  const h = await harness();
  const frontend = new ScriptedFrontend({ choice: "once" }, { choice: "always" });
  const { interceptor } = await batchGate(h, h.audit, frontend, []);
  const batch = interceptor.openBatch();
  const once = await interceptor.intercept(write(join(h.ws, "x")), { auditBatch: batch });
  const always = await interceptor.intercept(write(join(h.ws, "y")), { auditBatch: batch });
  equal(batch.pending, 0);
  for (const d of [once, always]) {
    equal(d.outcome, "allowed");
    equal((await h.audit.get(d.auditSeq!))?.decision, "allowed");
  }
  await h.close();
});

Deno.test("a denial with an auditBatch is appended at once, after the reads queued before it", async () => {
  const h = await harness();
  const { interceptor } = await batchGate(h, h.audit);
  const batch = interceptor.openBatch();
  const r = await interceptor.intercept(read(join(h.ws, "a")), { auditBatch: batch });
  if (r.outcome === "allowed") await r.complete({ ok: true });
  const d = await interceptor.intercept({ kind: "execute_command", argv: ["sudo", "id"] }, {
    auditBatch: batch,
  });
  equal(d.outcome, "denied");
  ok(d.auditSeq !== null);
  equal(batch.pending, 0);
  deepEqual((await h.audit.list()).map((e) => e.decision), ["allowed", "denied"]);
  await h.close();
});

Deno.test("a failed flush() is sticky and later decisions are appended at once", async () => {
  const h = await harness();
  const sink = switchable(h.audit);
  const { interceptor } = await batchGate(h, sink);
  const batch = interceptor.openBatch();
  const r = await interceptor.intercept(read(join(h.ws, "a")), { auditBatch: batch });
  equal(r.outcome, "allowed");
  sink.failing = true;
  const err = await batch.flush().then(() => null, (e: unknown) => e as { code?: string });
  equal(err?.code, "AUDIT_FAILED");
  sink.failing = false;
  await rejects(batch.flush(), /disk full/);
  const next = await interceptor.intercept(read(join(h.ws, "b")), { auditBatch: batch });
  ok(next.auditSeq !== null, "a broken batch is bypassed: the entry is durable at once");
  equal(batch.pending, 0);
  // The outcome of the read whose entry was lost is still recorded, pointing at the gap.
  if (r.outcome === "allowed") await r.complete({ ok: true });
  const proofs = (await h.audit.list()).map((e) => `${e.decision}:${e.proof}`);
  deepEqual(proofs, [`allowed:rule:file://${h.ws}/**`, "outcome:seq:unwritten"]);
  await h.close();
});

Deno.test("complete() after a flush appends a separate outcome entry that names the seq", async () => {
  const h = await harness();
  const { interceptor } = await batchGate(h, h.audit);
  const batch = interceptor.openBatch();
  const r = await interceptor.intercept(read(join(h.ws, "a")), { auditBatch: batch });
  await batch.flush();
  if (r.outcome === "allowed") await r.complete({ ok: true });
  const entries = await h.audit.list();
  deepEqual(entries.map((e) => e.decision), ["allowed", "outcome"]);
  equal(entries[1]!.proof, `seq:${entries[0]!.seq}`);
  await h.close();
});

Deno.test("a batch opened on another audit log is ignored: the entry is appended at once", async () => {
  const h = await harness();
  const { interceptor } = await batchGate(h, h.audit);
  const foreign = (await batchGate(h, switchable(h.audit))).interceptor.openBatch();
  const r = await interceptor.intercept(read(join(h.ws, "a")), { auditBatch: foreign });
  ok(r.auditSeq !== null);
  equal(foreign.pending, 0);
  await h.close();
});

Deno.test("screenCall() fails closed when the hooks seam throws, and scoped() carries the screen", async () => {
  using store = await openStore(":memory:");
  const signer = signerFromSeed(generateSeed());
  const audit = await AuditLog.open(store, signer);
  const gate = await openGate({
    store,
    signer,
    audit,
    config: { ...DEFAULT_CONFIG, workspace: { ...DEFAULT_CONFIG.workspace, mode: "guided" } },
    workspaceRoot: await Deno.realPath(await Deno.makeTempDir()),
    workspaceId: "ws",
    sessionId: "s1",
    frontend: null,
  });
  const calls: string[] = [];
  gate.interceptor.useHooks({
    beforeToolCall(call) {
      calls.push(call.toolName);
      if (call.toolName === "boom") return Promise.reject(new Error("seam broke"));
      return Promise.resolve({
        kind: "approve",
        capsule: "c",
        title: "T",
        description: "D",
        runs: [{ capsule: "c", hook: "before_tool_call", decision: "approve", ms: 1 }],
      });
    },
  });
  const build = (
    args: unknown,
  ) => [{ kind: "mcp_tool_call" as const, server: "s", tool: "t", args }];
  const failed = await gate.interceptor.screenCall({ tool: "boom", args: {}, build });
  equal(failed.outcome === "denied" && failed.code, "HOOK_FAILED");
  // Unscreened MCP entry actions are screened inline: an approval request defers with nobody to ask.
  const inline = await gate.interceptor.intercept(build({})[0]!, { tool: "mcp__s__t" });
  equal(inline.outcome, "deferred");
  if (inline.outcome === "deferred") match(inline.reason, /capsule c asks: T: D/);
  deepEqual(calls, ["boom", "mcp__s__t"]);
  // A capsule's own host call is never screened.
  await gate.interceptor.intercept(
    { kind: "capsule_http_request", capsule: "c", url: "http://127.0.0.1:1/" },
    { capsule: "c" },
  );
  equal(calls.length, 2);
  gate.interceptor.useHooks(null);
  await audit.close();
  await Deno.remove(gate.boundary.root, { recursive: true });
});
