/**
 * The daemon section of `astrid demo`: `astrid daemon start` detaches a daemon for the demo's
 * home; an action deferred by a separate CLI process shows up in the daemon's inbox
 * (`approvals.list` over JSON-RPC, with the same bearer token a script would use) together
 * with a one-time approval link; the script approves it with `approvals.respond`, the action
 * runs through the gate, and `astrid daemon stop` ends it.
 *
 * @module
 */
import { join } from "node:path";
import type { AgentDemoContext, DemoRun } from "./_demo_agent.ts";

/** Runs the section; `expect` throws when a step exits with another code. */
export async function daemonDemo(
  ctx: AgentDemoContext,
  expect: (run: DemoRun, code: number, what: string) => void,
): Promise<void> {
  const { note } = ctx;
  expect(await ctx.astrid(["daemon", "start"]), 0, "daemon start");
  const { connectDaemon } = await import("../../daemon/client.ts");
  const client = await connectDaemon(ctx.home, "demo-script");
  if (client === null) throw new Error("demo: the daemon started but cannot be reached");
  try {
    // Outside the workspace: even autonomous mode asks, and nobody is at this terminal.
    const outside = join(ctx.ws, "..", "shared", "NOTES.md");
    await Deno.mkdir(join(outside, ".."), { recursive: true });
    note("Another process wants to write outside the workspace while the daemon runs; it is");
    note("deferred, with a one-time link (and, on a terminal, a QR code) for a phone:");
    const deferred = await ctx.astrid([
      "tools",
      "call",
      "write_file",
      "--args",
      JSON.stringify({ file_path: outside, content: "approved from the inbox\n" }),
    ]);
    expect(deferred, 4, "deferral with a daemon");
    const id = deferred.stdout.trim().split("\n").pop()!;
    note("A script (or the web inbox, or another frontend) asks the daemon over JSON-RPC:");
    const pending = await client.call<{ id: string; action: string; reason: string }[]>(
      "approvals.list",
    );
    const mine = pending.find((p) => p.id === id);
    note(`→ approvals.list: ${pending.length} pending; ${id.slice(0, 8)}… is a ${mine?.action}`);
    const outcome = await client.call<{ status: string; message: string }>(
      "approvals.respond",
      { id, answer: "once" },
    );
    note(`→ approvals.respond {answer: "once"}: ${outcome.status}: ${outcome.message}`);
    note(
      `../shared/NOTES.md now holds: ${JSON.stringify(await Deno.readTextFile(outside))}`,
    );
  } finally {
    client.close();
    expect(await ctx.astrid(["daemon", "stop"]), 0, "daemon stop");
  }
}
