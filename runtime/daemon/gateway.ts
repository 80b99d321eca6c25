/**
 * The daemon as OpenClaw's "gateway": when it starts, the installed capsules' `gateway_start`
 * handlers run (an OpenClaw plugin's `api.registerService` services start there), and when it
 * stops, their `gateway_stop` handlers (the services stop). Each handler runs through the
 * capsule's hook path like any other hook: a fresh instance, its host calls gated as the
 * capsule's actions in the daemon's own session `daemon:gateway:<startedAt>`, audited.
 *
 * A capsule's timers do not keep running between calls (capsule timers are ordering only), so a
 * service does its work in `start` and `stop` and through what they leave behind (capsule KV,
 * files), not in a background loop.
 *
 * @module
 */
import type { CapsuleHost } from "../capsule/registry.ts";
import type { SecurityInterceptor } from "../security/interceptor.ts";

/** One capsule's services as the daemon ran them. */
export interface GatewayService {
  readonly capsule: string;
  /** `running` after `gateway_start` ran, `failed` when it threw, `stopped` after shutdown. */
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

/** Runs the gateway hooks of a daemon's capsules. */
export class Gateway {
  #services = new Map<string, GatewayService>();
  #stop: (() => Promise<void>) | null = null;

  /** What ran, by capsule name. */
  list(): GatewayService[] {
    return [...this.#services.values()];
  }

  /**
   * Runs `gateway_start` of every capsule of `host` that handles it, with `interceptor` gating
   * their host calls; `event` is what OpenClaw passes (`{ port }`).
   */
  async start(
    host: CapsuleHost,
    interceptor: SecurityInterceptor,
    event: { readonly port: number; readonly url: string },
    log: (line: string) => void,
  ): Promise<void> {
    const names = gatewayCapsules(host);
    if (names.length === 0) return;
    const { capsuleHooks } = await import("../capsule/hooks.ts");
    const failed = new Map<string, string>();
    const onError = (line: string) => {
      log(line);
      const name = /^capsule (\S+):/.exec(line)?.[1];
      if (name) failed.set(name, line);
    };
    const hooks = capsuleHooks({ host, interceptor, onError });
    if (hooks === null) return;
    const startedAt = Date.now();
    await hooks.notify("gateway_start", { event, ctx: {} });
    for (const capsule of names) {
      const detail = failed.get(capsule);
      this.#services.set(
        capsule,
        detail === undefined
          ? { capsule, state: "running", startedAt }
          : { capsule, state: "failed", startedAt, detail },
      );
    }
    this.#stop = async () => {
      await hooks.notify("gateway_stop", { event: { reason: "the daemon is stopping" }, ctx: {} });
      for (const [name, s] of this.#services) {
        if (s.state === "running") this.#services.set(name, { ...s, state: "stopped" });
      }
    };
  }

  /** Runs `gateway_stop` (once). */
  async close(): Promise<void> {
    const stop = this.#stop;
    this.#stop = null;
    await stop?.();
  }
}
