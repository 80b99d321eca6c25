import { equal, ok } from "node:assert/strict";
import { Ajv } from "ajv";
import { renderFormattedRpcDocs, RPC_DOCS_PATH } from "../../scripts/rpc_docs.ts";
import { GROUPS } from "./methods/mod.ts";
import { DAEMON_EVENT_SCHEMA } from "./event_schema.ts";
import type { DaemonEvent } from "./types.ts";

Deno.test("docs/rpc.md is up to date (regenerate: deno run -A scripts/rpc_docs.ts)", async () => {
  const current = await Deno.readTextFile(RPC_DOCS_PATH).catch(() => "");
  equal(
    current,
    await renderFormattedRpcDocs(),
    "docs/rpc.md is stale: run `deno run -A scripts/rpc_docs.ts`",
  );
});

Deno.test("every method's params schema is closed and every property described", () => {
  const walk = (schema: unknown, where: string) => {
    const s = schema as Record<string, unknown>;
    const props = s.properties as Record<string, Record<string, unknown>> | undefined;
    for (const [name, prop] of Object.entries(props ?? {})) {
      ok(typeof prop.description === "string", `${where}.${name} has a description`);
    }
  };
  for (const m of GROUPS.flatMap((g) => g.methods)) {
    equal(m.params.additionalProperties, false, `${m.name} params are closed`);
    walk(m.params, `${m.name} params`);
    ok(m.summary.length > 0, `${m.name} has a summary`);
  }
});

Deno.test("DAEMON_EVENT_SCHEMA accepts each event and refuses a malformed one", () => {
  const validate = new Ajv({ strict: false }).compile(DAEMON_EVENT_SCHEMA);
  const events: DaemonEvent[] = [
    { type: "session.started", sessionId: "s", workspace: "/ws" },
    { type: "text", sessionId: "s", text: "hi" },
    {
      type: "approval.requested",
      approval: {
        id: "a",
        kind: "live",
        sessionId: "s",
        action: "file_write",
        summary: "write /x",
        resource: "file:///x",
        risk: "medium",
        reason: "escape",
        provenance: { trust: "untrusted", source: "read_file /ws/README.md" },
        suggestions: ["file:///x"],
        createdAt: 1,
      },
    },
    { type: "approval.resolved", id: "a", answer: "once", by: "web:1", status: "answered" },
    { type: "server.status", name: "gh", state: "running" },
    { type: "cron.run", capsule: "c", name: "n", sessionId: null, status: "missed" },
  ];
  for (const e of events) ok(validate(e), `${e.type}: ${JSON.stringify(validate.errors)}`);
  ok(!validate({ type: "text", sessionId: "s" }));
  ok(!validate({ type: "nope" }));
});
