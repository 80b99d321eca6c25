/**
 * A real CNCF distribution registry (Debian's `docker-registry`) for tests and the demo: started
 * on 127.0.0.1 on a free port with a temporary storage folder and a generated config, token-less,
 * no network needed. `scripts/setup.ts` installs it.
 *
 * @module
 */
import { join } from "node:path";

/** A running test registry. */
export interface TestRegistry {
  /** `oci://127.0.0.1:PORT`, as the CLI takes it. */
  readonly url: string;
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  /** `http://127.0.0.1:PORT`. */
  readonly httpUrl: string;
  /** The registry's storage folder (tests tamper with blobs there). */
  readonly storage: string;
  /** Stops the registry and removes its storage. */
  stop(): Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Starts `docker-registry serve CONFIG` on a free loopback port and waits until `/v2/` answers.
 *
 * @example
 * ```ts ignore
 * import { startRegistry } from "./loopback_registry.ts";
 * const registry = await startRegistry();
 * try {
 *   console.log(registry.url); // oci://127.0.0.1:PORT
 * } finally {
 *   await registry.stop();
 * }
 * ```
 */
export async function startRegistry(
  opts: { binary?: string } = {},
): Promise<TestRegistry> {
  const root = await Deno.makeTempDir({ prefix: "astrid-registry-" });
  const port = freePort();
  const host = `127.0.0.1:${port}`;
  const config = join(root, "config.yml");
  const storage = join(root, "data");
  await Deno.writeTextFile(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: error",
      "  accesslog:",
      "    disabled: true",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${JSON.stringify(storage)}`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: ${host}`,
      `  secret: ${crypto.randomUUID()}`,
      "health:",
      "  storagedriver:",
      "    enabled: false",
      "",
    ].join("\n"),
  );
  const child = new Deno.Command(opts.binary ?? "docker-registry", {
    args: ["serve", config],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    clearEnv: true,
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
  }).spawn();
  let log = "";
  const reading = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      if (log.length < 64_000) log += dec.decode(chunk, { stream: true });
    }
  })();
  const status = child.status;
  let exited = false;
  status.then(() => exited = true);
  const stop = async () => {
    if (!exited) {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
    }
    await status;
    await reading;
    await Deno.remove(root, { recursive: true }).catch(() => {});
  };
  for (let i = 0; i < 200; i++) {
    if (exited) break;
    const ok = await fetch(`http://${host}/v2/`).then(async (r) => {
      await r.body?.cancel();
      return r.ok;
    }, () => false);
    if (ok) {
      return { url: `oci://${host}`, host, httpUrl: `http://${host}`, storage, stop };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`Cannot start docker-registry on ${host}: ${log.trim() || "it did not answer"}`);
}
