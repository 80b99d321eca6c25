/**
 * RPC methods `cron.list` and `services.list`, and the daemon's cron service: at start it reads
 * the `[[cron]]` entries of the installed capsules (user and the daemon's workspace; only
 * capsules with a verified install record) and schedules them (../cron.ts).
 *
 * Each run is an agent-free session `cron:<capsule>:<name>:<ms>` with its own gate: the
 * entry's `action` (else its `name`) must be a tool of the capsule, called with `{}` as
 * `astrid tools call <capsule>__<tool>` would call it (policy, the capsule's hooks, token,
 * budget, approval, audit). The session's budget is its own `["budget", sessionId]` record
 * under `[budget] session_usd`, so runs never share spend. Approvals go to the frontends
 * attached to the daemon; with none attached, what needs a human is deferred (the run fails with
 * the deferral's id) and, while that deferral is pending, later runs of the entry fail without
 * asking again (KV `["daemon", "cron_deferred", capsule, name]`). A standing rule
 * (`[permissions] allow = ["capsule://<capsule>/<tool>"]`) or an Allow Always lets runs proceed. An entry naming a `cron` handler that is not a tool fails: the capsule
 * engine has no `on_cron` call yet.
 *
 * The same start runs the capsules' `gateway_start` handlers (OpenClaw services start there,
 * ../gateway.ts) in the daemon's session `daemon:gateway:<startedAt>`, and the closer their
 * `gateway_stop`; `services.list` shows which capsules ran them.
 *
 * @module
 */
import type { MethodGroup } from "./mod.ts";
import type { DaemonContext, JsonSchema, RpcMethod } from "../types.ts";
import { type CronEntryStatus, type CronJob, type CronRunResult, CronScheduler } from "../cron.ts";
import { capsuleHost } from "../../cli/commands/tools.ts";
import { workspaceId } from "../../cli/context.ts";
import { openGate } from "../../security/gate.ts";
import { DeferredQueue } from "../../security/approval.ts";
import type { CapsuleHost } from "../../capsule/registry.ts";
import { Gateway, gatewayCapsules } from "../gateway.ts";

/** The name the scheduler is registered under in {@link DaemonContext.services}. */
export const CRON_SERVICE = "cron";

/** What `services.list` says about what a service is here. */
export const SERVICES_NOTE =
  "OpenClaw services (api.registerService) start in gateway_start when " +
  "the daemon starts and stop in gateway_stop when it stops; between them a capsule's timers do " +
  "not run, so a service works in start/stop and through what they leave (capsule KV, files)";

/** The name the gateway is registered under in {@link DaemonContext.services}. */
export const GATEWAY_SERVICE = "gateway";

const NO_PARAMS: JsonSchema = { type: "object", additionalProperties: false, properties: {} };

const ENTRY: JsonSchema = {
  type: "object",
  additionalProperties: false,
  required: ["capsule", "name", "schedule", "nextRunAt", "lastRunAt", "lastStatus", "missed"],
  properties: {
    capsule: { type: "string", description: "The capsule's name." },
    name: { type: "string", description: "The [[cron]] entry's name." },
    schedule: { type: "string", description: "Its schedule (UTC), as in Capsule.toml." },
    action: {
      type: ["string", "null"],
      description: "The tool it runs; null: the tool named like the entry.",
    },
    nextRunAt: {
      type: ["number", "null"],
      description: "Next run, ms since the epoch; null when it never fires.",
    },
    lastRunAt: {
      type: ["number", "null"],
      description: "Start of the last run, ms since the epoch.",
    },
    lastStatus: {
      type: ["string", "null"],
      description: "completed, failed or missed; null before the first run.",
    },
    missed: { type: "integer", description: "Runs missed since the entry was first scheduled." },
    lastSessionId: { type: ["string", "null"], description: "The session of the last run." },
    running: { type: "boolean", description: "A run is in progress." },
  },
};

const list: RpcMethod = {
  name: "cron.list",
  summary: "The installed capsules' [[cron]] entries with their next and last runs",
  params: NO_PARAMS,
  result: { type: "array", items: ENTRY, description: "One row per scheduled entry." },
  handler(_params: unknown, call): Promise<CronEntryStatus[]> {
    const scheduler = call.daemon.services.get<CronScheduler>(CRON_SERVICE);
    return Promise.resolve(scheduler?.list() ?? []);
  },
};

const services: RpcMethod = {
  name: "services.list",
  summary: "The installed capsules' long-lived services (OpenClaw api.registerService)",
  params: NO_PARAMS,
  result: {
    type: "object",
    additionalProperties: false,
    required: ["services", "note"],
    properties: {
      services: {
        type: "array",
        description: "The capsules whose gateway_start ran when the daemon started.",
        items: {
          type: "object",
          additionalProperties: false,
          required: ["capsule", "state", "startedAt"],
          properties: {
            capsule: { type: "string", description: "The capsule." },
            state: {
              enum: ["running", "failed", "stopped"],
              description: "running: gateway_start ran; failed: it threw; stopped: after shutdown.",
            },
            startedAt: { type: "number", description: "When it started, ms since the epoch." },
            detail: { type: "string", description: "Why it failed." },
          },
        },
      },
      note: { type: "string", description: "What a service is in a capsule." },
    },
  },
  handler(_params: unknown, call): Promise<unknown> {
    const gateway = call.daemon.services.get<Gateway>(GATEWAY_SERVICE);
    return Promise.resolve({ services: gateway?.list() ?? [], note: SERVICES_NOTE });
  },
};

/**
 * The `[[cron]]` entries of every installed capsule.
 *
 * @example No capsules, no jobs
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { cronJobs } from "./cron.ts";
 * deepEqual(cronJobs({ capsules: [], workspaceRoot: "/", store: {} as never, limits: { timeoutMs: 1, memoryMb: 1 } }), []);
 * ```
 */
export function cronJobs(host: CapsuleHost): CronJob[] {
  return host.capsules.flatMap((c) =>
    c.loaded.manifest.cron.map((e) => ({
      capsule: c.record.name,
      name: e.name,
      schedule: e.schedule,
      action: e.action ?? null,
    }))
  );
}

/**
 * Runs one job through a fresh gate of session `sessionId` in the daemon's workspace (else
 * `$ASTRID_HOME`, which the walls keep every file action out of).
 *
 * @example
 * ```ts ignore
 * const result = await runCronJob(ctx, host, job, `cron:${job.capsule}:${job.name}:${Date.now()}`, signal);
 * ```
 */
export async function runCronJob(
  ctx: DaemonContext,
  host: CapsuleHost,
  job: CronJob,
  sessionId: string,
  signal: AbortSignal,
): Promise<CronRunResult> {
  const rt = ctx.rt;
  const installed = host.capsules.find((c) => c.record.name === job.capsule);
  const tool = job.action ?? job.name;
  if (!installed?.record.tools.some((t) => t.name === tool)) {
    return {
      status: "failed",
      detail: `Cannot run ${job.capsule}/${job.name}: ${tool} is not a tool of the capsule ` +
        "(cron handlers without a tool are not run yet)",
    };
  }
  // One deferral per entry at a time: an `@every 1s` job nobody may approve must not fill the
  // queue. While the last run's deferral is pending, later runs fail without asking again.
  const key = ["daemon", "cron_deferred", job.capsule, job.name];
  const waiting = (await rt.store.get<string>(key)).value;
  if (typeof waiting === "string") {
    const record = await new DeferredQueue(rt.store).get(waiting);
    if (record?.status === "pending") {
      return {
        status: "failed",
        detail: `still waiting for approval of ${waiting} (astrid approvals approve ${waiting})`,
      };
    }
    await rt.store.delete(key);
  }
  const root = rt.paths.workspaceRoot ?? rt.paths.home;
  const gate = await openGate({
    store: rt.store,
    signer: rt.key,
    audit: rt.audit,
    config: rt.config,
    workspaceRoot: root,
    workspaceId: await workspaceId(root),
    sessionId,
    frontend: ctx.approvals,
    walls: rt.walls,
  });
  const [{ attachCapsuleHooks }, { callCapsuleTool }] = await Promise.all([
    import("../../capsule/hooks.ts"),
    import("../../capsule/registry.ts"),
  ]);
  attachCapsuleHooks({ host, interceptor: gate.interceptor });
  const outcome = await callCapsuleTool(
    gate.interceptor,
    host,
    `${job.capsule}__${tool}`,
    {},
    { signal },
  );
  const budget = gate.budget.state();
  const spend = `budget ${budget.spentUsd} of ${budget.limitUsd} USD`;
  switch (outcome.status) {
    case "ok":
      return {
        status: outcome.result.isError ? "failed" : "completed",
        detail: `${outcome.result.output.slice(0, 200)} (${spend})`,
      };
    case "denied":
      return { status: "failed", detail: `denied (${outcome.code}): ${outcome.reason}` };
    case "deferred":
      await rt.store.set(key, outcome.id);
      return {
        status: "failed",
        detail: `deferred ${outcome.id}: ${outcome.summary} waits for approval`,
      };
    case "error":
      return { status: "failed", detail: `${outcome.code}: ${outcome.message}` };
  }
}

/** Loads the installed capsules and starts the scheduler; the closer stops it. */
async function start(ctx: DaemonContext): Promise<() => Promise<void>> {
  const host = await capsuleHost(ctx.rt, ctx.rt.paths.workspaceRoot);
  const scheduler = new CronScheduler({
    store: ctx.rt.store,
    audit: ctx.rt.audit,
    events: ctx.events,
    run: (job, sessionId, signal) => runCronJob(ctx, host, job, sessionId, signal),
  });
  await scheduler.start(cronJobs(host));
  ctx.services.set(CRON_SERVICE, scheduler);
  const gateway = new Gateway();
  if (gatewayCapsules(host).length > 0) {
    const root = ctx.rt.paths.workspaceRoot ?? ctx.rt.paths.home;
    const gate = await openGate({
      store: ctx.rt.store,
      signer: ctx.rt.key,
      audit: ctx.rt.audit,
      config: ctx.rt.config,
      workspaceRoot: root,
      workspaceId: await workspaceId(root),
      sessionId: `daemon:gateway:${ctx.startedAt}`,
      frontend: ctx.approvals,
      walls: ctx.rt.walls,
    });
    const port = Number(new URL(ctx.url).port);
    await gateway.start(
      host,
      gate.interceptor,
      { port, url: ctx.url },
      (line) => ctx.rt.io.stderr(`${line}\n`),
    );
  }
  ctx.services.set(GATEWAY_SERVICE, gateway);
  return async () => {
    await scheduler.close();
    await gateway.close();
  };
}

/** The cron methods. */
export const group: MethodGroup = { methods: [list, services], start };
