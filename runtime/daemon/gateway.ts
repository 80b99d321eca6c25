/**
 * The daemon as OpenClaw's "gateway": when it starts, the installed capsules' `gateway_start`
 * handlers run (an OpenClaw plugin's `api.registerService` services start there), and when it
 * stops, their `gateway_stop` handlers (the services stop).
 *
 * Each capsule with services gets ONE long-lived instance ({@link ServiceInstance}) from
 * `gateway_start` to `gateway_stop`: both handlers run in it, so state a service keeps in a
 * closure or on `this` between start and stop survives, and its timers run in the background:
 * - timers still armed when a call into the instance settles stay armed (only in this instance:
 *   tool calls and other hooks keep their fresh instances, whose timers end with the call);
 * - the gateway learns the earliest due time after every call, arms a real timer, and when it
 *   fires calls the instance's `astrid:timers` entry, which runs the due callbacks (and their
 *   promise jobs) with the capsule's clock at the real time elapsed since the instance began;
 * - firings are at least {@link MIN_TIMER_MS} apart, and an interval re-arms at least that long
 *   after it fired, so `setInterval(fn, 0)` cannot busy-loop the daemon;
 * - each firing is a call like any other: the capsule's CPU deadline (`[capsules]
 *   timeout_seconds`, 30 s by default) and memory limit, its host calls gated as the capsule's
 *   actions in the daemon's own session `daemon:gateway:<startedAt>`, audited;
 * - a callback that throws is logged (the daemon log) and the service keeps running; a call that
 *   fails in the engine (CPU deadline, memory limit, trap) closes the instance and marks the
 *   service `failed` with the reason (`services.list`);
 * - calls into one instance are serialised: a firing waits for a running start, stop or firing.
 *
 * A capsule installed, upgraded or removed while the daemon runs is started or stopped on its
 * own ({@link Gateway.start} with `only`, {@link Gateway.stop}): stop runs `gateway_stop` in the
 * instance, then drops its timers and closes it.
 *
 * Without a daemon, services start and stop with each session (`session_start`/`session_end`
 * hooks on fresh instances), and a capsule's timers end with each call there.
 *
 * @module
 */
import type { CapsuleHost } from "../capsule/registry.ts";
import type { ServiceInstance } from "../capsule/hooks.ts";
import { CapsuleError } from "../capsule/errors.ts";
import type { SecurityInterceptor } from "../security/interceptor.ts";

/** The shortest time between two firings of one service instance's timers, in ms. */
export const MIN_TIMER_MS = 1_000;

/** One capsule's services as the daemon ran them. */
export interface GatewayService {
  readonly capsule: string;
  /**
   * `running` after `gateway_start` ran; `failed` when it threw, or when a call into the
   * instance hit the CPU deadline or memory limit (the instance is closed); `stopped` after
   * shutdown.
   */
  readonly state: "running" | "failed" | "stopped";
  readonly startedAt: number;
  /** Why it failed, when it did. */
  readonly detail?: string;
}

/** The capsules of `host` that handle `gateway_start` (OpenClaw plugins with services). */
export function gatewayCapsules(host: CapsuleHost): string[] {
  return host.capsules
    .filter((c) => (c.loaded.manifest.interceptor ?? []).some((i) => i.event === "gateway_start"))
    .map((c) => c.loaded.manifest.package.name);
}

/** One capsule's live service instance. */
interface Live {
  readonly capsule: string;
  readonly instance: ServiceInstance;
  /** `performance.now()` when the instance was opened: its clock's zero. */
  readonly born: number;
  readonly log: (line: string) => void;
  /** The last call into the instance (calls are chained). */
  queue: Promise<void>;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** When the last firing began (`performance.now()`). */
  lastFire: number;
  closed: boolean;
}

/** Runs the gateway hooks of a daemon's capsules, each capsule in its own long-lived instance. */
export class Gateway {
  #services = new Map<string, GatewayService>();
  #live = new Map<string, Live>();

  /** What ran, by capsule name. */
  list(): GatewayService[] {
    return [...this.#services.values()];
  }

  /**
   * Runs `gateway_start` of every capsule of `host` that handles it (or only those named in
   * `only`: capsules installed or upgraded while the daemon runs), each in a new long-lived
   * instance, with `interceptor` gating their host calls; `event` is what OpenClaw passes
   * (`{ port }`). A capsule already started is left alone (stop it first).
   */
  async start(
    host: CapsuleHost,
    interceptor: SecurityInterceptor,
    event: { readonly port: number; readonly url: string },
    log: (line: string) => void,
    only?: readonly string[],
  ): Promise<void> {
    const names = gatewayCapsules(host).filter((n) =>
      (only === undefined || only.includes(n)) && !this.#live.has(n)
    );
    if (names.length === 0) return;
    const { ServiceInstance } = await import("../capsule/hooks.ts");
    for (const capsule of names) {
      const installed = host.capsules.find((c) => c.loaded.manifest.package.name === capsule)!;
      const startedAt = Date.now();
      let instance: ServiceInstance;
      try {
        instance = await ServiceInstance.open(host, installed, interceptor);
      } catch (err) {
        const line = `capsule ${capsule}: gateway_start hook failed: ${(err as Error).message}`;
        log(line);
        this.#services.set(capsule, { capsule, state: "failed", startedAt, detail: line });
        continue;
      }
      const live: Live = {
        capsule,
        instance,
        born: performance.now(),
        log,
        queue: Promise.resolve(),
        timer: undefined,
        lastFire: -Infinity,
        closed: false,
      };
      this.#live.set(capsule, live);
      this.#services.set(capsule, { capsule, state: "running", startedAt });
      await this.#serial(live, async () => {
        // Marks the instance a service instance before `start` arms anything.
        await live.instance.timers(0, false);
        await live.instance.hook("gateway_start", { event, ctx: {} });
      }, "gateway_start");
      await this.#schedule(live);
    }
  }

  /**
   * Runs `gateway_stop` of `capsule` (removed or upgraded while the daemon runs) in its
   * instance, closes it and forgets its row; false when it had not started.
   */
  async stop(capsule: string, reason: string): Promise<boolean> {
    const live = this.#live.get(capsule);
    const had = this.#services.delete(capsule);
    if (!live) return had;
    await this.#finish(live, reason);
    return true;
  }

  /** Runs `gateway_stop` of every started capsule (once); their rows stay, as `stopped`. */
  async close(): Promise<void> {
    for (const live of [...this.#live.values()]) {
      await this.#finish(live, "the daemon is stopping");
      const s = this.#services.get(live.capsule);
      if (s?.state === "running") this.#services.set(live.capsule, { ...s, state: "stopped" });
    }
  }

  /** Stops the timers, runs `gateway_stop` (after any running call) and closes the instance. */
  async #finish(live: Live, reason: string): Promise<void> {
    this.#live.delete(live.capsule);
    clearTimeout(live.timer);
    live.timer = undefined;
    if (!live.closed) {
      await this.#serial(live, async () => {
        await live.instance.hook("gateway_stop", { event: { reason }, ctx: {} });
      }, "gateway_stop");
    }
    await this.#close(live);
  }

  async #close(live: Live): Promise<void> {
    live.closed = true;
    clearTimeout(live.timer);
    live.timer = undefined;
    await live.instance.close().catch(() => {});
  }

  /**
   * Runs `work` after the instance's previous call. A capsule error is logged; an engine failure
   * (deadline, memory, trap) closes the instance and marks the service failed.
   */
  #serial(live: Live, work: () => Promise<void>, what: string): Promise<void> {
    const run = live.queue.then(async () => {
      if (live.closed) return;
      try {
        await work();
      } catch (err) {
        const line = `capsule ${live.capsule}: ${what} hook failed: ${(err as Error).message}`;
        live.log(line);
        const fatal = err instanceof CapsuleError && err.code === "ENGINE" &&
          err.engineCode !== "THROWN";
        if (fatal || what === "gateway_start") this.#fail(live, line);
        if (fatal) {
          live.log(`capsule ${live.capsule}: its services stopped (the instance is closed)`);
          await this.#close(live);
        }
      }
    });
    live.queue = run;
    return run;
  }

  #fail(live: Live, detail: string): void {
    const s = this.#services.get(live.capsule);
    if (s) this.#services.set(live.capsule, { ...s, state: "failed", detail });
  }

  /** Asks the instance what is armed next (logging callback errors) and arms a real timer. */
  async #schedule(live: Live): Promise<void> {
    let next: number | null = null;
    await this.#serial(live, async () => {
      const t = await live.instance.timers(performance.now() - live.born, false);
      this.#report(live, t.errors);
      next = t.next;
    }, "timers");
    if (live.closed || next === null || !this.#live.has(live.capsule)) return;
    const earliest = live.lastFire + MIN_TIMER_MS - performance.now();
    const wait = Math.max(next, earliest, 0);
    clearTimeout(live.timer);
    live.timer = setTimeout(() => {
      live.timer = undefined;
      this.#fire(live).catch((err) =>
        live.log(`capsule ${live.capsule}: timers failed: ${(err as Error).message}`)
      );
    }, Math.min(wait, 2 ** 31 - 1));
  }

  #report(live: Live, errors: readonly string[]): void {
    for (const e of errors) live.log(`capsule ${live.capsule}: a timer callback failed: ${e}`);
  }

  async #fire(live: Live): Promise<void> {
    if (live.closed || !this.#live.has(live.capsule)) return;
    live.lastFire = performance.now();
    await this.#serial(live, async () => {
      const t = await live.instance.timers(performance.now() - live.born, true);
      this.#report(live, t.errors);
    }, "timers");
    await this.#schedule(live);
  }
}
