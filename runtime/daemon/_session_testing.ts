/**
 * Test and bench plumbing for daemon sessions: a real runtime (disk KV, runtime key, audit log,
 * walls) over a temporary `ASTRID_HOME` and an initialised workspace, the daemon's real event
 * bus and approval hub, and the loopback fake Anthropic server the workspace's model points at.
 *
 * @module
 */
import { join } from "node:path";
import { AuditLog } from "../audit/mod.ts";
import { ensureRuntimeKey } from "../crypto/mod.ts";
import { loadConfig, resolvePaths } from "../config/mod.ts";
import { openStore } from "../storage/mod.ts";
import { createProvider, type ModelConfig } from "../llm/mod.ts";
import { type FakeServer, type FakeTurn, startFakeAnthropic } from "../llm/replay_anthropic.ts";
import type { FakeServerOptions } from "../llm/_replay_sse.ts";
import { type Runtime, runtimeWalls } from "../cli/context.ts";
import { EventLog } from "./events.ts";
import { Hub } from "./hub.ts";
import {
  type DaemonContext,
  type DaemonEvent,
  type DaemonServices,
  type Frontend,
  type RpcCall,
  RpcError,
} from "./types.ts";
import { Dispatcher } from "./rpc.ts";
import { checkSchema, methodOf } from "./methods/_methods_testing.ts";
import type { MethodGroup } from "./methods/mod.ts";
import { SessionHost } from "./session_host.ts";

/** One test's daemon world. */
export interface SessionWorld {
  readonly home: string;
  readonly ws: string;
  readonly fake: FakeServer;
  readonly rt: Runtime;
  readonly events: EventLog;
  readonly hub: Hub;
  readonly ctx: DaemonContext;
  /** Every event published, in order. */
  readonly seen: DaemonEvent[];
  /** What the runtime wrote to stderr. */
  readonly stderr: string[];
  /** A session host over this world (a fresh one per call: a "restarted daemon"). */
  host(): SessionHost;
  /** Resolves with the first event published from now on that `match`es. */
  next(match: (e: DaemonEvent) => boolean): Promise<DaemonEvent>;
  close(): Promise<void>;
}

/** Builds a world whose workspace model is the fake server playing `script`. */
export async function sessionWorld(
  script: readonly FakeTurn[],
  opts: {
    readonly workspaceConfig?: string;
    /** `$ASTRID_HOME/config.toml` (servers, modes: what a workspace may not set). */
    readonly userConfig?: string;
    readonly fake?: FakeServerOptions;
  } = {},
): Promise<SessionWorld> {
  const home = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-daemon-home-" }));
  const ws = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-daemon-ws-" }));
  await Deno.mkdir(join(ws, ".astrid"));
  if (opts.workspaceConfig) {
    await Deno.writeTextFile(join(ws, ".astrid", "config.toml"), opts.workspaceConfig);
  }
  if (opts.userConfig) await Deno.writeTextFile(join(home, "config.toml"), opts.userConfig);
  const fake = startFakeAnthropic(script, opts.fake ?? {});
  const env: Record<string, string> = {
    HOME: home,
    ASTRID_HOME: home,
    ASTRID_SYSTEM_CONFIG: join(home, "no-system-config.toml"),
    ANTHROPIC_API_KEY: "sk-test",
    ANTHROPIC_BASE_URL: fake.url,
    ASTRID_MODEL_MODEL: "claude-sonnet-4-6",
    ASTRID_MODEL_MAX_TOKENS: "1024",
  };
  const stderr: string[] = [];
  const io = {
    env,
    cwd: home,
    isTty: false,
    stdout: () => {},
    stderr: (s: string) => void stderr.push(s),
  };
  const paths = await resolvePaths({ env, cwd: home, systemConfig: env.ASTRID_SYSTEM_CONFIG });
  const { config, warnings } = await loadConfig(paths, env);
  const store = await openStore(paths.stateKv);
  const key = await ensureRuntimeKey(paths.keysDir);
  const audit = await AuditLog.open(store, key, { checkpointSeconds: 3600 });
  const walls = await runtimeWalls(paths, config, env);
  const rt: Runtime = { paths, config, warnings, store, key, audit, io, walls };
  const events = new EventLog();
  const hub = new Hub(events);
  const seen: DaemonEvent[] = [];
  const waiters = new Set<
    { match: (e: DaemonEvent) => boolean; resolve: (e: DaemonEvent) => void }
  >();
  events.subscribe((_seq, e) => {
    seen.push(e);
    for (const w of [...waiters]) {
      if (w.match(e)) {
        waiters.delete(w);
        w.resolve(e);
      }
    }
  });
  const table = new Map<string, unknown>();
  const services: DaemonServices = {
    get: <T>(name: string) => table.get(name) as T | undefined,
    set: (name, service) => void table.set(name, service),
  };
  const ctx: DaemonContext = {
    rt,
    events,
    approvals: hub,
    links: {
      mint: () => Promise.reject(new Error("no links in this world")),
      login: () => Promise.reject(new Error("no links in this world")),
    },
    url: "http://127.0.0.1:0",
    startedAt: Date.now(),
    clients: () => [],
    services,
    shutdown: () => {},
  };
  const makeProvider = (cfg: ModelConfig) => createProvider(cfg, { retry: { maxAttempts: 1 } });
  const hosts: SessionHost[] = [];
  return {
    home,
    ws,
    fake,
    rt,
    events,
    hub,
    ctx,
    seen,
    stderr,
    host() {
      const host = new SessionHost(ctx, { makeProvider });
      hosts.push(host);
      return host;
    },
    next: (match) => new Promise((resolve) => waiters.add({ match, resolve })),
    async close() {
      for (const h of hosts) await h.close();
      await fake.close();
      await audit.close();
      store.close();
      await Deno.remove(home, { recursive: true }).catch(() => {});
      await Deno.remove(ws, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Calls method `name` of `group` through the real dispatcher (its params validated), as client
 * `c1`, and checks its result against the method's schema.
 */
export async function sessionRpc(
  world: SessionWorld,
  group: MethodGroup,
  name: string,
  params: unknown,
): Promise<unknown> {
  const dispatcher = new Dispatcher(group.methods);
  const call: RpcCall = {
    daemon: world.ctx,
    client: { id: "c1", kind: "cli", name: "test" },
    signal: new AbortController().signal,
    notify: () => {},
  };
  const frame = JSON.stringify({ jsonrpc: "2.0", id: 1, method: name, params });
  const reply = JSON.parse((await dispatcher.handle(frame, call))!);
  if (reply.error) throw new RpcError(reply.error.code, reply.error.message, reply.error.data);
  checkSchema(methodOf(group, name).result, reply.result, `${name} result`);
  return reply.result;
}

/** Attaches a frontend that answers every approval offered to it with `choice`. */
export function answeringFrontend(
  world: SessionWorld,
  choice: "once" | "deny",
): { offered: string[]; detach: () => void } {
  const offered: string[] = [];
  const frontend: Frontend = {
    id: "test:1",
    onEvent() {},
    offerApproval(a) {
      offered.push(a.id);
      queueMicrotask(() => world.hub.answer(a.id, { choice }, "test:1"));
    },
    approvalSettled() {},
  };
  return { offered, detach: world.hub.attach(frontend) };
}
