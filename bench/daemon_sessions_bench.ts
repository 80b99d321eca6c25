/**
 * Daemon sessions (issue 14, "Measure"), against a real daemon (`astrid daemon run`, a
 * subprocess through the launcher) whose workspace model is a loopback Anthropic SSE server in
 * this process:
 *
 * - "model token → RPC subscriber": each iteration the fake server writes ONE `text_delta`
 *   frame into a turn's open stream, and the time until the `text` event reaches a WebSocket
 *   client subscribed with `events.subscribe` is measured (SDK parse, agent loop, event bus,
 *   JSON-RPC notification). Server and subscriber share this process's clock.
 * - daemon RSS (`/proc/<pid>/status` VmRSS), idle and with 20 live sessions (each created and
 *   having run one turn), printed once before the benches run.
 *
 * Run: `deno bench -A bench/daemon_sessions_bench.ts`.
 */
import { join } from "node:path";
import { connectDaemon, type DaemonClient } from "../runtime/daemon/client.ts";

const LAUNCH = new URL("../runtime/cli/launch.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

const enc = new TextEncoder();
const frame = (type: string, data: Record<string, unknown>) =>
  enc.encode(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);

/**
 * An Anthropic Messages server: the prompt "stream" opens a turn whose text tokens are written
 * one per {@link model.token} call until {@link model.finish}; any other prompt is answered at
 * once.
 */
function model() {
  let push: ((text: string) => void) | null = null;
  let end: (() => void) | null = null;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json() as { messages: { content: unknown }[] };
    const last = JSON.stringify(body.messages.at(-1)?.content ?? "");
    const streaming = last.includes("stream");
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(frame("message_start", {
          message: {
            id: "msg_bench",
            type: "message",
            role: "assistant",
            model: "claude-sonnet-4-6",
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: 10, output_tokens: 1 },
          },
        }));
        c.enqueue(
          frame("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
        );
        const close = () => {
          c.enqueue(frame("content_block_stop", { index: 0 }));
          c.enqueue(frame("message_delta", {
            delta: { stop_reason: "end_turn", stop_sequence: null },
            usage: { output_tokens: 5 },
          }));
          c.enqueue(frame("message_stop", {}));
          c.close();
        };
        const token = (text: string) =>
          c.enqueue(
            frame("content_block_delta", { index: 0, delta: { type: "text_delta", text } }),
          );
        if (!streaming) {
          token("ok");
          return close();
        }
        push = token;
        end = () => {
          push = null;
          close();
        };
      },
    });
    return new Response(stream, { headers: { "content-type": "text/event-stream" } });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    token: (text: string) => push?.(text),
    get streaming() {
      return push !== null;
    },
    finish: () => end?.(),
    close: () => server.shutdown(),
  };
}

function rssKb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

const home = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-bench-home-" }));
const ws = await Deno.realPath(await Deno.makeTempDir({ prefix: "astrid-bench-ws-" }));
await Deno.mkdir(join(ws, ".astrid"));
const fake = model();
const daemon = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", "--quiet", "--config", CONFIG, LAUNCH, "daemon", "run"],
  cwd: home,
  env: {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    DENO_DIR: Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache/deno"),
    HOME: home,
    ASTRID_HOME: home,
    ASTRID_SYSTEM_CONFIG: `${home}/no-system-config.toml`,
    ANTHROPIC_API_KEY: "sk-bench",
    ANTHROPIC_BASE_URL: fake.url,
    ASTRID_MODEL_MODEL: "claude-sonnet-4-6",
  },
  clearEnv: true,
  stdin: "null",
  stdout: "null",
  stderr: "null",
}).spawn();

let client: DaemonClient | null = null;
for (let i = 0; i < 600 && client === null; i++) {
  client = await connectDaemon(home, "bench").catch(() => null);
  if (client === null) await new Promise((r) => setTimeout(r, 50));
}
if (client === null) throw new Error("the daemon did not start");
const rpc = client;
const pid = rpc.info.pid;

// Memory: idle, then with 20 live sessions that each ran one turn.
await new Promise((r) => setTimeout(r, 500));
const idleKb = rssKb(pid);
const ids: string[] = [];
for (let i = 0; i < 20; i++) {
  const { sessionId } = await rpc.call<{ sessionId: string }>("sessions.create", { workspace: ws });
  await rpc.call("sessions.send", { sessionId, text: "hello", wait: true });
  ids.push(sessionId);
}
await new Promise((r) => setTimeout(r, 500));
const liveKb = rssKb(pid);
console.log(
  `daemon RSS: idle ${(idleKb / 1024).toFixed(1)} MiB; with 20 live sessions ` +
    `${(liveKb / 1024).toFixed(1)} MiB (${((liveKb - idleKb) / 1024 / 20).toFixed(2)} MiB each)`,
);

// Latency: one session's turn stays open; each iteration is one token.
const sessionId = ids[0]!;
let arrived: (() => void) | null = null;
rpc.onNotification((method, params) => {
  const event = (params as { event?: { type: string } }).event;
  if (method === "events.event" && event?.type === "text") arrived?.();
});
await rpc.call("events.subscribe", { sessionId, types: ["text"] });
rpc.call("sessions.send", { sessionId, text: "stream", wait: true }, { timeoutMs: 600_000 })
  .catch(() => {}); // the daemon is killed when the bench ends
while (!fake.streaming) await new Promise((r) => setTimeout(r, 5));

Deno.bench("model token → RPC subscriber (text event, real daemon)", async (b) => {
  const got = new Promise<void>((resolve) => (arrived = resolve));
  b.start();
  fake.token("x");
  await got;
  b.end();
});

globalThis.addEventListener("unload", () => {
  fake.finish();
  rpc.close();
  try {
    daemon.kill("SIGKILL");
  } catch { /* already gone */ }
  try {
    Deno.removeSync(home, { recursive: true });
    Deno.removeSync(ws, { recursive: true });
  } catch { /* best effort */ }
});
