import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import type { Grant } from "../../agent/grants.ts";
import { SessionBudget } from "../../security/budget.ts";
import { DeferredQueue } from "../../security/approval.ts";
import { RpcError, RpcErrorCode } from "../types.ts";
import { group } from "./grants.ts";
import { group as approvals } from "./approvals.ts";
import { deferWrite, methodOf, withTestDaemon } from "./_methods_testing.ts";
import type { BudgetReport } from "./grants.ts";

const rpcCode = (code: number) => (err: unknown) => err instanceof RpcError && err.code === code;

Deno.test("grants.list shows an Allow Always token, an Allow Session allowance and a rule", async () => {
  await withTestDaemon(async (t) => {
    const always = await deferWrite(t, "a.txt", "a");
    const session = await deferWrite(t, "b.txt", "b");
    await t.invoke(approvals, "approvals.respond", { id: always, answer: "always" });
    await t.invoke(approvals, "approvals.respond", { id: session, answer: "session" });
    const grants = await t.invoke(group, "grants.list", {}) as Grant[];
    deepEqual(grants.map((g) => g.kind), ["token", "allowance", "rule"]);
    equal(grants[2]?.resource, "exec://ls");
    ok(grants[0]?.auditSeq !== null);
    const sessionId = (await new DeferredQueue(t.rt.store).get(session))!.sessionId;
    const mine = await t.invoke(group, "allowances.list", { sessionId }) as Grant[];
    deepEqual(mine.map((g) => g.id), [grants[1]!.id]);
    deepEqual(await t.invoke(group, "allowances.list", { sessionId: "other" }), []);
  }, { config: '[permissions]\nallow = ["exec://ls"]\n' });
});

Deno.test("grants.revoke revokes a token (audited) and refuses rules and unknown ids", async () => {
  await withTestDaemon(async (t) => {
    const id = await deferWrite(t, "a.txt", "a");
    await t.invoke(approvals, "approvals.respond", { id, answer: "always" });
    const [token, rule] = await t.invoke(group, "grants.list", {}) as Grant[];
    const r = await t.invoke(group, "grants.revoke", { id: token!.id.slice(0, 8) }) as {
      grant: Grant;
      auditSeq: number;
    };
    equal(r.grant.id, token!.id);
    equal(
      (await t.rt.audit.list()).find((e) => e.seq === r.auditSeq)?.action.kind,
      "grant_revoked",
    );
    const left = await t.invoke(group, "grants.list", {}) as Grant[];
    deepEqual(left.map((g) => g.kind), ["rule"]);
    const revoke = methodOf(group, "grants.revoke");
    await rejects(revoke.handler({ id: rule!.id }, t.call()), rpcCode(RpcErrorCode.Denied));
    await rejects(revoke.handler({ id: "nope-nope" }, t.call()), rpcCode(RpcErrorCode.NotFound));
  }, { config: '[permissions]\nallow = ["exec://ls"]\n' });
});

Deno.test("budget.get reports a session's spend and the total of all sessions", async () => {
  await withTestDaemon(async (t) => {
    const limits = { sessionUsd: 2, perActionUsd: 1, warnAt: 0.8 };
    await (await (await SessionBudget.load(t.rt.store, "s1", limits)).reserve(0.5)).commit(0.25);
    await (await (await SessionBudget.load(t.rt.store, "s2", limits)).reserve(0.5)).commit(0.5);
    const r = await t.invoke(group, "budget.get", { sessionId: "s1" }) as BudgetReport;
    equal(r.session?.spentUsd, 0.25);
    equal(r.session?.limitUsd, 2);
    equal(r.session?.remainingUsd, 1.75);
    deepEqual(r.total, { sessions: 2, spentUsd: 0.75, reservedUsd: 0 });
    deepEqual(r.limits, { sessionUsd: 2, perActionUsd: 1, warnAt: 0.8 });
    const none = await t.invoke(group, "budget.get", {}) as BudgetReport;
    equal(none.session, null);
  }, { config: "[budget]\nsession_usd = 2\nper_action_usd = 1\nwarn_at = 0.8\n" });
});
