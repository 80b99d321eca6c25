/**
 * RPC methods `cron.list` and `services.list`, and the daemon's cron service: at start it reads
 * the `[[cron]]` entries of the installed capsules (user and the daemon's workspace; only
 * capsules with a verified install record) and schedules them (../cron.ts). While the daemon
 * runs, {@link CapsuleWatch} keeps the schedule and the services in line with the install
 * records: it looks every {@link CAPSULE_POLL_MS} and when told (`capsules.sync`, which the CLI
 * calls after `capsule install`, `remove` and `upgrade`).
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
import { capsuleHost } from "../../cli/commands/_tools_host.ts";
import { workspaceId } from "../../cli/context.ts";
import { openGate } from "../../security/gate.ts";
import { DeferredQueue } from "../../security/approval.ts";
import type { CapsuleHost } from "../../capsule/registry.ts";
import type { SecurityInterceptor } from "../../security/interceptor.ts";
import { Gateway, gatewayCapsules } from "../gateway.ts";

/** The name the scheduler is registered under in {@link DaemonContext.services}. */
export const CRON_SERVICE = "cron";

/** What `services.list` says about what a service is here. */
export const SERVICES_NOTE =
  "OpenClaw services (api.registerService) start in gateway_start when " +
  "the daemon starts (or the capsule is installed) and stop in gateway_stop when it stops (or the " +
  "capsule is removed), in one long-lived instance per capsule whose timers keep firing in real " +
  "time (at most once a second) between them";

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
              description:
                "running: gateway_start ran; failed: it threw, or its instance hit the CPU deadline or memory limit; stopped: after shutdown or removal.",
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

/** The name the {@link CapsuleWatch} is registered under in {@link DaemonContext.services}. */
export const CAPSULE_WATCH_SERVICE = "capsule_watch";

/** How often the daemon looks for capsules installed, upgraded or removed by another process. */
export const CAPSULE_POLL_MS = 2000;

/** What one {@link CapsuleWatch.sync} changed, by capsule name (sorted). */
export interface CapsuleSync {
  readonly added: string[];
  readonly removed: string[];
  readonly upgraded: string[];
}

/** What identifies one install of a capsule: a reinstall or upgrade changes it. */
function pinOf(c: CapsuleHost["capsules"][number]): string {
  const r = c.record;
  return [c.scope, r.dir, r.version, r.installedAt, r.manifestHash, r.wasmHash ?? "-"].join("|");
}

/**
 * The installed capsules as the daemon runs them: their `[[cron]]` entries in the scheduler
 * and their services in the gateway. {@link CapsuleWatch.sync} re-reads the install records
 * (verified as every load verifies them: a refused record is ignored with a warning in the
 * daemon's log) and brings both in line: a removed capsule's entries leave the schedule and its
 * `gateway_stop` runs, an added one's entries are scheduled and its `gateway_start` runs, an
 * upgraded one does both. {@link CapsuleWatch.poll} runs `sync` when the records' KV entries
 * changed since the last look (their keys and versionstamps: one KV list, no signature check),
 * so an install by another process takes effect within {@link CAPSULE_POLL_MS}.
 */
export class CapsuleWatch {
  #ctx: DaemonContext;
  #host: CapsuleHost | null = null;
  #pins = new Map<string, string>();
  #seen = "";
  #queue: Promise<unknown> = Promise.resolve();
  #gate: Promise<SecurityInterceptor> | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  readonly scheduler: CronScheduler;
  readonly gateway: Gateway = new Gateway();

  /** A watch over the daemon's runtime; nothing is read until {@link CapsuleWatch.sync}. */
  constructor(ctx: DaemonContext) {
    this.#ctx = ctx;
    this.scheduler = new CronScheduler({
      store: ctx.rt.store,
      audit: ctx.rt.audit,
      events: ctx.events,
      run: (job, sessionId, signal) => runCronJob(ctx, this.host(), job, sessionId, signal),
    });
  }

  /** The capsules as last read. */
  host(): CapsuleHost {
    if (this.#host === null) throw new Error("Cannot use the capsules: they were not read yet");
    return this.#host;
  }

  /** Re-reads the install records and applies what changed (one sync at a time). */
  sync(): Promise<CapsuleSync> {
    const next = this.#queue.then(() => this.#sync());
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Syncs when the install records changed since the last look; null when they did not. */
  async poll(): Promise<CapsuleSync | null> {
    if (this.#closed) return null;
    const now = await this.#recordsFingerprint();
    if (now === this.#seen) return null;
    return await this.sync();
  }

  /** Polls every `ms` until {@link CapsuleWatch.close}; failures are logged, never thrown. */
  watch(ms: number = CAPSULE_POLL_MS): void {
    let busy = false;
    this.#timer = setInterval(() => {
      if (busy) return;
      busy = true;
      this.poll().catch((err) => this.#log(`capsule check failed: ${(err as Error).message}`))
        .finally(() => busy = false);
    }, ms);
  }

  /** Stops polling, the schedule and the services. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#queue;
    await this.scheduler.close();
    await this.gateway.close();
  }

  async #sync(): Promise<CapsuleSync> {
    const empty = { added: [], removed: [], upgraded: [] };
    if (this.#closed) return empty;
    const seen = await this.#recordsFingerprint();
    const host = await capsuleHost(this.#ctx.rt, this.#ctx.rt.paths.workspaceRoot);
    const pins = new Map(host.capsules.map((c) => [c.record.name, pinOf(c)]));
    const removed = [...this.#pins.keys()].filter((n) => !pins.has(n));
    const upgraded = [...this.#pins].filter(([n, p]) => pins.has(n) && pins.get(n) !== p)
      .map(([n]) => n);
    const added = [...pins.keys()].filter((n) => !this.#pins.has(n));
    const first = this.#host === null;
    for (const name of [...removed, ...upgraded]) {
      const why = removed.includes(name) ? "removed" : "upgraded";
      await this.scheduler.remove(name);
      await this.gateway.stop(name, `capsule ${name} was ${why}`);
    }
    this.#host = host;
    this.#pins = pins;
    this.#seen = seen;
    const starting = [...added, ...upgraded];
    await this.scheduler.start(cronJobs(host).filter((j) => starting.includes(j.capsule)));
    const services = gatewayCapsules(host).filter((n) => starting.includes(n));
    if (services.length > 0) {
      await this.gateway.start(
        host,
        await this.#interceptor(),
        { port: Number(new URL(this.#ctx.url).port), url: this.#ctx.url },
        (line) => this.#log(line),
        services,
      );
    }
    const out = { added: added.sort(), removed: removed.sort(), upgraded: upgraded.sort() };
    if (!first && out.added.length + out.removed.length + out.upgraded.length > 0) {
      this.#log(
        `capsules changed: added [${out.added.join(", ")}], removed [${
          out.removed.join(", ")
        }], upgraded [${out.upgraded.join(", ")}]`,
      );
    }
    return out;
  }

  /** The gate of the daemon's gateway session `daemon:gateway:<startedAt>` (opened once). */
  #interceptor(): Promise<SecurityInterceptor> {
    this.#gate ??= (async () => {
      const ctx = this.#ctx;
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
      return gate.interceptor;
    })();
    return this.#gate;
  }

  /** The keys and versionstamps of every install record: changes when one is written or removed. */
  async #recordsFingerprint(): Promise<string> {
    const parts: string[] = [];
    for await (const e of this.#ctx.rt.store.list({ prefix: ["capsule_install"] })) {
      parts.push(`${JSON.stringify(e.key)}@${e.versionstamp}`);
    }
    return parts.join("\n");
  }

  #log(line: string): void {
    this.#ctx.rt.io.stderr(`astridd: ${line}\n`);
  }
}

/** The capsule watch of a daemon, or null before the cron group started. */
export function capsuleWatch(ctx: DaemonContext): CapsuleWatch | null {
  return ctx.services.get<CapsuleWatch>(CAPSULE_WATCH_SERVICE) ?? null;
}

/** Reads the installed capsules, schedules them and watches for changes; the closer stops. */
async function start(ctx: DaemonContext): Promise<() => Promise<void>> {
  const watch = new CapsuleWatch(ctx);
  await watch.sync();
  ctx.services.set(CRON_SERVICE, watch.scheduler);
  ctx.services.set(GATEWAY_SERVICE, watch.gateway);
  ctx.services.set(CAPSULE_WATCH_SERVICE, watch);
  watch.watch();
  return async () => await watch.close();
}

/** The cron methods. */
export const group: MethodGroup = { methods: [list, services], start };
