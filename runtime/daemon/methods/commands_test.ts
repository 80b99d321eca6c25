import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { compileCapsule } from "../../../toolchain/compile.ts";
import { capsuleDirs } from "../../capsule/install.ts";
import { InstallRecords } from "../../capsule/install_record.ts";
import { testInstall } from "../../capsule/_testing.ts";
import { answeringFrontend, sessionRpc, sessionWorld } from "../_session_testing.ts";
import { RpcError, RpcErrorCode } from "../types.ts";
import { SESSIONS_SERVICE } from "../session_host.ts";
import { group } from "./commands.ts";

// A capsule with wasm commands (one named like the REPL's /help) and a prompt command.
const SOURCE = `
import { defineCapsule } from "@astrid/sdk";
export default defineCapsule({
  commands: {
    status: { description: "Status", run: (args) => ({ text: "status for " + args }) },
    secret: { description: "Secret", run: () => ({ text: "never shown" }) },
    help: { description: "Its own help", run: () => ({ text: "ops help" }) },
  },
});
`;
const MANIFEST = `[package]
name = "ops"
version = "0.1.0"
[[command]]
name = "status"
description = "Shows the status"
[[command]]
name = "secret"
[[command]]
name = "help"
[[command]]
name = "plan"
prompt = "Plan {{args}} carefully."
`;

let built: Promise<string> | undefined;
/** The ops capsule, compiled once per process by the real toolchain. */
function opsBuild(): Promise<string> {
  built ??= (async () => {
    const src = await Deno.makeTempDir({ prefix: "astrid-ops-src-" });
    await Deno.writeTextFile(`${src}/Capsule.toml`, MANIFEST);
    await Deno.writeTextFile(`${src}/mod.ts`, SOURCE);
    const out = await Deno.makeTempDir({ prefix: "astrid-ops-" });
    await compileCapsule(src, { out, typeCheck: false });
    await Deno.remove(src, { recursive: true });
    return out;
  })();
  return built;
}

/** A world with ops installed for the user and a live session opened after the install. */
async function opsSession(userConfig?: string) {
  const world = await sessionWorld([], userConfig === undefined ? {} : { userConfig });
  const records = new InstallRecords(world.rt.store, world.rt.key);
  await testInstall(capsuleDirs(world.home, world.ws), await opsBuild(), records);
  const host = world.host();
  world.ctx.services.set(SESSIONS_SERVICE, host);
  const { sessionId } = await host.create(world.ws);
  return { world, host, sessionId };
}

Deno.test("commands.list names a session's capsule commands, a built-in name only as capsule:name", async () => {
  const { world, host, sessionId } = await opsSession();
  try {
    const rows = await sessionRpc(world, group, "commands.list", { sessionId });
    deepEqual(rows, [
      {
        slash: "status",
        capsule: "ops",
        command: "status",
        description: "Shows the status",
        kind: "wasm",
      },
      { slash: "secret", capsule: "ops", command: "secret", description: "", kind: "wasm" },
      { slash: "ops:help", capsule: "ops", command: "help", description: "", kind: "wasm" },
      { slash: "plan", capsule: "ops", command: "plan", description: "", kind: "prompt" },
    ]);
    // A session that is not live is resumed to answer.
    await host.unload(sessionId);
    equal((await sessionRpc(world, group, "commands.list", { sessionId }) as unknown[]).length, 4);
  } finally {
    await world.close();
  }
});

Deno.test("commands.run runs a wasm command through the session's interceptor: approved through the hub, audited", async () => {
  const { world, host, sessionId } = await opsSession();
  try {
    const { offered, detach } = answeringFrontend(world, "once");
    const run = await sessionRpc(world, group, "commands.run", {
      sessionId,
      slash: "/status",
      args: "prod",
    });
    equal(offered.length, 1, "the approval is offered to the attached frontend");
    const outcome = run as {
      kind: string;
      outcome: { status: string; result: { output: string } };
    };
    equal(outcome.kind, "outcome");
    equal(outcome.outcome.status, "ok");
    equal(outcome.outcome.result.output, "status for prod");
    const entries = await world.rt.audit.list({ sessionId });
    ok(entries.some((e) => e.action.resource === "capsule://ops/command_status"));

    // capsule:name always works; a prompt command comes back expanded, not run as a turn.
    const help = await sessionRpc(world, group, "commands.run", {
      sessionId,
      slash: "ops:help",
    }) as {
      outcome: { status: string; result: { output: string } };
    };
    detach();
    equal(help.outcome.result?.output, "ops help");
    deepEqual(
      await sessionRpc(world, group, "commands.run", {
        sessionId,
        slash: "plan",
        args: "the release",
      }),
      {
        kind: "prompt",
        prompt: "Plan the release carefully.",
      },
    );
    equal((await host.show(sessionId)).turns.length, 0, "no turn ran");
  } finally {
    await world.close();
  }
});

Deno.test("commands.run defers when nobody is attached to answer", async () => {
  const { world, sessionId } = await opsSession();
  try {
    const run = await sessionRpc(world, group, "commands.run", { sessionId, slash: "status" }) as {
      kind: string;
      outcome: { status: string; id: string };
    };
    equal(run.kind, "outcome");
    equal(run.outcome.status, "deferred");
    ok(run.outcome.id.length > 0);
  } finally {
    await world.close();
  }
});

Deno.test("commands.run is denied by the session's policy before the capsule runs", async () => {
  const { world, sessionId } = await opsSession(
    '[permissions]\ndeny = ["capsule://ops/command_secret"]\n',
  );
  try {
    const { offered, detach } = answeringFrontend(world, "once");
    const run = await sessionRpc(world, group, "commands.run", { sessionId, slash: "secret" }) as {
      outcome: { status: string; reason: string };
    };
    detach();
    equal(run.outcome.status, "denied");
    deepEqual(offered, [], "a denied call is never offered for approval");
    const entries = await world.rt.audit.list({ sessionId });
    ok(
      entries.some((e) =>
        e.action.resource === "capsule://ops/command_secret" && e.decision === "denied"
      ),
    );
  } finally {
    await world.close();
  }
});

Deno.test("commands.* answer an unknown session, an unknown command and bad params with errors", async () => {
  const world = await sessionWorld([]);
  try {
    const host = world.host();
    world.ctx.services.set(SESSIONS_SERVICE, host);
    const missing = crypto.randomUUID();
    await rejects(
      sessionRpc(world, group, "commands.list", { sessionId: missing }),
      (e: RpcError) => e.code === RpcErrorCode.NotFound && /no such session/.test(e.message),
    );
    await rejects(
      sessionRpc(world, group, "commands.run", { sessionId: missing, slash: "status" }),
      (e: RpcError) => e.code === RpcErrorCode.NotFound,
    );
    const { sessionId } = await host.create(world.ws);
    deepEqual(
      await sessionRpc(world, group, "commands.list", { sessionId }),
      [],
      "no capsules, no commands",
    );
    await rejects(
      sessionRpc(world, group, "commands.run", { sessionId, slash: "nope", args: "x" }),
      (e: RpcError) =>
        e.code === RpcErrorCode.InvalidParams &&
        (e.data as { code: string }).code === "UNKNOWN_COMMAND" && /\/nope/.test(e.message),
    );
    // Malformed input never reaches the handler.
    for (
      const params of [
        {},
        { sessionId },
        { sessionId, slash: "" },
        { sessionId, slash: "a".repeat(201) },
        { sessionId, slash: "x", args: 1 },
        { sessionId, slash: "x", extra: true },
        { sessionId, slash: "x", args: "a".repeat(65_537) },
      ]
    ) {
      await rejects(
        sessionRpc(world, group, "commands.run", params),
        (e: RpcError) => e.code === RpcErrorCode.InvalidParams,
        JSON.stringify(params).slice(0, 80),
      );
    }
    await host.end(sessionId);
    await rejects(
      sessionRpc(world, group, "commands.list", { sessionId }),
      (e: RpcError) => e.code === RpcErrorCode.Conflict,
    );
  } finally {
    await world.close();
  }
});
