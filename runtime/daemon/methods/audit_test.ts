import { deepEqual, equal, ok } from "node:assert/strict";
import type { AuditEntry } from "../../audit/mod.ts";
import { group } from "./audit.ts";
import { withTestDaemon } from "./_methods_testing.ts";

async function appendSome(
  audit: {
    append(
      i: { sessionId: string; action: AuditEntry["action"]; decision: "event"; proof: string },
    ): Promise<AuditEntry>;
  },
  n: number,
): Promise<void> {
  for (let i = 0; i < n; i++) {
    await audit.append({
      sessionId: i % 2 === 0 ? "even" : "odd",
      action: { kind: "note", resource: `note://${i}`, summary: `note ${i}` },
      decision: "event",
      proof: "test",
    });
  }
}

Deno.test("audit.list returns the latest entries oldest first, by session and after a seq", async () => {
  await withTestDaemon(async (t) => {
    await appendSome(t.rt.audit, 10);
    const latest = await t.invoke(group, "audit.list", { limit: 3 }) as AuditEntry[];
    deepEqual(latest.map((e) => e.seq), [8, 9, 10]);
    const odd = await t.invoke(group, "audit.list", { session: "odd" }) as AuditEntry[];
    deepEqual(odd.map((e) => e.seq), [2, 4, 6, 8, 10]);
    const after = await t.invoke(group, "audit.list", { since: 4, limit: 2 }) as AuditEntry[];
    deepEqual(after.map((e) => e.seq), [5, 6]);
    const none = await t.invoke(group, "audit.list", { since: 10 }) as AuditEntry[];
    deepEqual(none, []);
  });
});

Deno.test("audit.verify is ok on an intact log", async () => {
  await withTestDaemon(async (t) => {
    await appendSome(t.rt.audit, 5);
    const r = await t.invoke(group, "audit.verify", {}) as {
      ok: boolean;
      entries: number;
      problems: unknown[];
      head: string;
    };
    equal(r.ok, true);
    equal(r.entries, 5);
    deepEqual(r.problems, []);
    equal(r.head.length, 64);
  });
});

Deno.test("audit.verify reports an edited entry as a problem instead of throwing", async () => {
  await withTestDaemon(async (t) => {
    await appendSome(t.rt.audit, 5);
    await t.rt.audit.list({ limit: 1 }); // the appends reach the store
    const key = ["audit", "e", 3];
    const stored = (await t.rt.store.get<{ hash: string; body: string }>(key)).value!;
    await t.rt.store.set(key, { ...stored, body: stored.body.replace("note 2", "forged") });
    const r = await t.invoke(group, "audit.verify", {}) as {
      ok: boolean;
      problems: { code: string; seq: number }[];
    };
    equal(r.ok, false);
    equal(r.problems.length, 1);
    equal(r.problems[0]?.code, "EDITED");
    ok(r.problems[0]!.seq <= 3);
  });
});
