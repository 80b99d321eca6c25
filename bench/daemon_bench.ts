/**
 * The daemon on loopback: the `status` round trip over a real WebSocket to a real `astrid daemon
 * run` process (target: ≤ 1 ms), and that process's resident memory when idle (VmRSS, printed).
 *
 * Run: `deno bench -A bench/daemon_bench.ts`.
 */
import { join } from "node:path";
import { openClient } from "../runtime/daemon/client.ts";
import { findDaemon } from "../runtime/daemon/state.ts";

const LAUNCH = new URL("../runtime/cli/launch.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

const home = await Deno.makeTempDir({ prefix: "astrid-daemon-bench-" });
const child = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", "--quiet", "--config", CONFIG, LAUNCH, "daemon", "run"],
  env: { ASTRID_HOME: home, HOME: home, ASTRID_SYSTEM_CONFIG: join(home, "none.toml") },
  stdin: "null",
  stdout: "null",
  stderr: "null",
}).spawn();
let found = await findDaemon(home);
for (let i = 0; found === null && i < 300; i++) {
  await new Promise((r) => setTimeout(r, 100));
  found = await findDaemon(home);
}
if (found === null) throw new Error("the daemon did not start");
const daemonPid = found.info.pid;
globalThis.addEventListener("unload", () => {
  try {
    Deno.kill(daemonPid, "SIGTERM");
  } catch {
    // gone
  }
  try {
    Deno.removeSync(home, { recursive: true });
  } catch {
    // the daemon may still be removing its files
  }
});

function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1]);
  return kb / 1024;
}

const client = await openClient(found.info, found.token, "bench");
for (let i = 0; i < 200; i++) await client.call("status"); // warm up
await new Promise((r) => setTimeout(r, 1000));
console.log(`daemon idle RSS (pid ${daemonPid}): ${rssMiB(daemonPid).toFixed(1)} MiB`);

Deno.bench("daemon: status round trip over WebSocket (loopback)", async () => {
  await client.call("status");
});

Deno.bench("daemon: 100 pipelined status calls", async () => {
  await Promise.all(Array.from({ length: 100 }, () => client.call("status")));
});

void child.status;
child.unref();
