/**
 * Test helpers for the method groups: a {@link DaemonContext} over a real runtime (KV on disk in
 * a temp dir, the real audit log and runtime key, a workspace), a recording event bus, an
 * in-memory approval hub, and ajv checks of params and results against a method's schemas.
 *
 * @module
 */
import { Command } from "commander";
import { Ajv } from "ajv";
import { join } from "node:path";
import type { CliIo, Runtime } from "../../cli/context.ts";
import { withRuntime, workspaceId } from "../../cli/context.ts";
import type { ApprovalAnswer } from "../../security/approval.ts";
import { openGate } from "../../security/gate.ts";
import { createToolSession, invokeTool } from "../../tools/invoke.ts";
import type {
  ApprovalHub,
  ClientInfo,
  DaemonContext,
  DaemonEvent,
  EventBus,
  PendingApproval,
  RpcCall,
  RpcMethod,
} from "../types.ts";
import type { MethodGroup } from "./mod.ts";

/** A hub whose live requests tests add by hand; answers are recorded. */
export class TestHub implements ApprovalHub {
  readonly live = new Map<string, PendingApproval>();
  readonly answers: { id: string; answer: ApprovalAnswer; by: string }[] = [];
  canAsk(): boolean {
    return true;
  }
  ask(): Promise<ApprovalAnswer> {
    return Promise.reject(new Error("not used in method tests"));
  }
  pending(): readonly PendingApproval[] {
    return [...this.live.values()];
  }
  answer(id: string, answer: ApprovalAnswer, by: string): boolean {
    if (!this.live.delete(id)) return false;
    this.answers.push({ id, answer, by });
    return true;
  }
  attach(): () => void {
    return () => {};
  }
}

/** What a test gets. */
export interface TestDaemon {
  readonly ctx: DaemonContext;
  readonly rt: Runtime;
  readonly hub: TestHub;
  readonly events: DaemonEvent[];
  readonly home: string;
  readonly workspace: string;
  /** What the runtime printed to stderr. */
  readonly stderr: string[];
  /** An RPC call from a client of `kind`. */
  call(kind?: ClientInfo["kind"]): RpcCall;
  /** Calls `name` of `group` with `params` validated against its params schema, and checks the result against its result schema. */
  invoke(
    group: MethodGroup,
    name: string,
    params: unknown,
    kind?: ClientInfo["kind"],
  ): Promise<unknown>;
}

const ajv = new Ajv({ strict: false, allErrors: true });

/** Throws a `TypeError` naming the failures when `value` does not match `schema`. */
export function checkSchema(schema: object, value: unknown, what: string): void {
  const validate = ajv.compile(schema);
  if (!validate(value)) {
    throw new TypeError(`${what} does not match its schema: ${ajv.errorsText(validate.errors)}`);
  }
}

/** The method `name` of `group`. */
export function methodOf(group: MethodGroup, name: string): RpcMethod {
  const m = group.methods.find((m) => m.name === name);
  if (!m) throw new TypeError(`no method ${name}`);
  return m;
}

/**
 * Runs `fn` with a daemon context over a fresh home and workspace (removed afterwards).
 * `config` is written to the home's config.toml.
 */
export async function withTestDaemon(
  fn: (t: TestDaemon) => Promise<void>,
  opts: { config?: string } = {},
): Promise<void> {
  const home = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-daemon-home-" }));
  const workspace = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-daemon-ws-" }));
  await Deno.mkdir(join(workspace, ".astrid"));
  if (opts.config !== undefined) await Deno.writeTextFile(join(home, "config.toml"), opts.config);
  const stderr: string[] = [];
  const io: CliIo = {
    env: { ASTRID_HOME: home, HOME: home, ASTRID_SYSTEM_CONFIG: join(home, "no-system.toml") },
    cwd: workspace,
    isTty: false,
    stdout: () => {},
    stderr: (t) => stderr.push(t),
  };
  try {
    await withRuntime(new Command(), io, async (rt) => {
      const events: DaemonEvent[] = [];
      const subscribers = new Set<(seq: number, e: DaemonEvent) => void>();
      const bus: EventBus = {
        publish(event) {
          events.push(event);
          for (const s of subscribers) s(events.length, event);
          return events.length;
        },
        subscribe(fn) {
          subscribers.add(fn);
          return () => subscribers.delete(fn);
        },
      };
      const services = new Map<string, unknown>();
      const hub = new TestHub();
      const ctx: DaemonContext = {
        rt,
        events: bus,
        approvals: hub,
        links: {
          mint: (id, ttlMs = 600_000) =>
            Promise.resolve({ url: `http://127.0.0.1:1/a/${id}`, expiresAt: Date.now() + ttlMs }),
          login: () => Promise.resolve({ url: "http://127.0.0.1:1/login", expiresAt: 0 }),
        },
        url: "http://127.0.0.1:1",
        startedAt: Date.now(),
        clients: () => [],
        services: {
          get: <T>(name: string) => services.get(name) as T | undefined,
          set: (name, service) => void services.set(name, service),
        },
        shutdown: () => {},
      };
      const call = (kind: ClientInfo["kind"] = "cli"): RpcCall => ({
        daemon: ctx,
        client: { id: `${kind}:test`, kind, name: "test" },
        signal: new AbortController().signal,
        notify: () => {},
      });
      await fn({
        ctx,
        rt,
        hub,
        events,
        home,
        workspace,
        stderr,
        call,
        async invoke(group, name, params, kind) {
          const m = methodOf(group, name);
          checkSchema(m.params, params, `${name} params`);
          const result = await m.handler(params, call(kind));
          checkSchema(m.result, result, `${name} result`);
          return result;
        },
      });
    });
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(workspace, { recursive: true });
  }
}

/**
 * Calls `write_file` through the real gate with nobody to ask, so it is deferred; returns the
 * deferred id.
 */
export async function deferWrite(
  t: { readonly rt: Runtime; readonly workspace: string },
  file: string,
  content: string,
): Promise<string> {
  const sessionId = crypto.randomUUID();
  const gate = await openGate({
    store: t.rt.store,
    signer: t.rt.key,
    audit: t.rt.audit,
    config: t.rt.config,
    workspaceRoot: t.workspace,
    workspaceId: await workspaceId(t.workspace),
    sessionId,
    frontend: null,
    walls: t.rt.walls,
  });
  const session = await createToolSession({
    workspaceRoot: t.workspace,
    sessionId,
    sandbox: "off",
    outputLimitChars: 10_000,
    walls: t.rt.walls,
  });
  try {
    const outcome = await invokeTool(gate.interceptor, session, "write_file", {
      file_path: join(t.workspace, file),
      content,
    });
    if (outcome.status !== "deferred") {
      throw new Error(`expected a deferral, got ${JSON.stringify(outcome)}`);
    }
    return outcome.id;
  } finally {
    session.files.close();
  }
}
