/**
 * End to end: an OpenClaw capsule's commands (testdata/openclaw/notes: `/note`, `/notes`),
 * compiled and installed with the real CLI, run for a session of a real daemon (`astrid daemon
 * run`, a subprocess through the launcher) over the daemon client: `commands.list`, then
 * `commands.run` through the session's interceptor with the approval answered by an attached CLI
 * frontend, deferred with nobody attached, and the REPL attached to the daemon listing and
 * running them as it does without one.
 */
import { deepEqual, equal, fail, match, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { startFakeAnthropic } from "../runtime/llm/replay_anthropic.ts";
import { connectDaemon, type DaemonClient } from "../runtime/daemon/client.ts";
import { RpcError, RpcErrorCode } from "../runtime/daemon/types.ts";
import { daemonCapsuleCommands, DaemonFrontend } from "../runtime/cli/daemon_frontend.ts";
import { Repl } from "../runtime/cli/repl.ts";
import type { CliIo } from "../runtime/cli/context.ts";
import type { OpenedAgent } from "../runtime/agent/mod.ts";
import { PresetFrontend } from "../runtime/security/approval.ts";
import { runCli, tempDirs } from "./cli.ts";
import { connectWhenUp, fakeModelEnv, spawnDaemonRun } from "./daemon_helpers.ts";

const NOTES = decodeURIComponent(new URL("../testdata/openclaw/notes", import.meta.url).pathname);

/** Where the notes fixture is compiled, once for the file (removed when the file ends). */
const BUILDS = await Deno.makeTempDir({ prefix: "astrid-cmd-e2e-build-" });
globalThis.addEventListener("unload", () => Deno.removeSync(BUILDS, { recursive: true }));
let build: Promise<string> | undefined;

/** `astrid capsule compile testdata/openclaw/notes -o OUT`, once. */
function compiledNotes(): Promise<string> {
  build ??= (async () => {
    const dir = join(BUILDS, "notes");
    const r = await runCli(["capsule", "compile", NOTES, "-o", dir], { home: BUILDS });
    equal(r.code, 0, `compile notes: ${r.stderr}`);
    return dir;
  })();
  return build;
}

interface World extends AsyncDisposable {
  readonly home: string;
  readonly ws: string;
  /** A new client of the daemon (closed with the world). */
  client(name: string): Promise<DaemonClient>;
}

/** A home, an initialised workspace with notes installed, and a daemon running over them. */
async function notesWorld(): Promise<World> {
  const { home, ws } = await tempDirs();
  await Deno.mkdir(join(ws, ".astrid"));
  const installed = await runCli(["capsule", "install", await compiledNotes(), "--yes"], {
    home,
    cwd: ws,
  });
  equal(installed.code, 0, installed.stderr);
  const fake = startFakeAnthropic([]);
  const daemon = spawnDaemonRun(home, home, fakeModelEnv(fake.url));
  const clients: DaemonClient[] = [await connectWhenUp(home)];
  return {
    home,
    ws,
    async client(name) {
      const c = await connectDaemon(home, name);
      if (!c) throw new Error("no daemon");
      clients.push(c);
      return c;
    },
    async [Symbol.asyncDispose]() {
      for (const c of clients) c.close();
      try {
        daemon.kill("SIGTERM");
      } catch { /* already gone */ }
      await daemon.status;
      await fake.close();
      for (const d of [home, ws]) await Deno.remove(d, { recursive: true }).catch(() => {});
    },
  };
}

type Outcome = {
  kind: string;
  outcome?: { status: string; result?: { output: string }; id?: string };
};

Deno.test("a daemon session lists and runs an OpenClaw capsule's commands through its interceptor", async () => {
  await using w = await notesWorld();
  const client = await w.client("test");
  const { sessionId } = await client.call<{ sessionId: string }>("sessions.create", {
    workspace: w.ws,
  });
  // Attached as `astrid chat --approve once` is: the daemon offers the approval here.
  const frontend = new DaemonFrontend({
    client,
    sessionId,
    id: "cli:test",
    asker: new PresetFrontend({ choice: "once" }),
    say() {},
    render() {},
  });
  const stop = await frontend.attach();
  const cmds = await daemonCapsuleCommands(client, sessionId);
  deepEqual(cmds.list.map((c) => [c.slash, c.capsule, c.name, c.description, c.kind]), [
    ["note", "notes", "note", "Save a note: /note TEXT", "wasm"],
    ["notes", "notes", "notes", "List the saved notes", "wasm"],
  ]);
  const saved = await cmds.run(cmds.find("note")!, "buy milk", new AbortController().signal);
  if (saved.kind !== "outcome" || saved.outcome.status !== "ok") fail(JSON.stringify(saved));
  match(saved.outcome.result.output, /^saved note [0-9a-f]{8} \(8 bytes\)$/);
  const listed = await cmds.run(cmds.find("notes:notes")!, "", new AbortController().signal);
  if (listed.kind !== "outcome" || listed.outcome.status !== "ok") fail(JSON.stringify(listed));
  match(listed.outcome.result.output, /: buy milk$/);
  stop();

  // Audited in the session, as the session's own actions.
  const audit = await client.call<{ action: { resource: string }; decision: string }[]>(
    "audit.list",
    { session: sessionId },
  );
  ok(audit.some((e) => e.action.resource === "capsule://notes/command_note"));

  // Unknown command: a usage error, the daemon keeps serving.
  await rejects(
    client.call("commands.run", { sessionId, slash: "nope" }),
    (e: RpcError) => e.code === RpcErrorCode.InvalidParams && /\/nope/.test(e.message),
  );
  await rejects(
    client.call("commands.list", { sessionId: crypto.randomUUID() }),
    (e: RpcError) => e.code === RpcErrorCode.NotFound,
  );
  // Nobody attached who can answer: the run is deferred, as runCapsuleCommand reports it.
  client.close();
  const other = await w.client("script");
  const deferred = await other.call<Outcome>("commands.run", {
    sessionId,
    slash: "note",
    args: "later",
  });
  equal(deferred.outcome?.status, "deferred");
  ok((deferred.outcome?.id ?? "").length > 0);
});

// deno-lint-ignore no-control-regex
const ASKED = /\[d\] deny > (?:\x1b\[K)?$/;
const IO: CliIo = { env: {}, cwd: "/", isTty: true, stdout() {}, stderr() {} };

Deno.test("the REPL attached to a daemon session lists capsule commands in /help and runs /note", async () => {
  await using w = await notesWorld();
  const client = await w.client("repl");
  const { sessionId } = await client.call<{ sessionId: string }>("sessions.create", {
    workspace: w.ws,
  });
  let screen = "";
  let keyboard!: ReadableStreamDefaultController<Uint8Array>;
  const input = new ReadableStream<Uint8Array>({ start: (c) => void (keyboard = c) });
  const repl = new Repl({
    terminal: { input, write: (s) => void (screen += s), colour: false, columns: 100 },
    historyFile: null,
  });
  // As chat.ts `daemonRepl` wires it: the terminal prompt answers the daemon's approvals.
  const frontend = new DaemonFrontend({
    client,
    sessionId,
    id: "cli:repl",
    asker: repl.frontend(IO),
    say: (line) => void (screen += `${line}\n`),
    render: (e) => repl.onEvent(e),
  });
  const stop = await frontend.attach();
  const header = { title: "", provider: "anthropic", model: "m", workspaceRoot: w.ws };
  const opened = {
    session: { id: sessionId, header, turns: [], messages: [] },
    agent: { run: (prompt: string, o: { signal?: AbortSignal }) => frontend.run(prompt, o) },
    gate: {
      budget: { state: () => ({ spentUsd: 0, limitUsd: 1, remainingUsd: 1, reservedUsd: 0 }) },
      allowances: { list: () => [], rejected: [] },
    },
  };
  const running = repl.run({
    opened: opened as unknown as OpenedAgent,
    audit: { list: () => Promise.resolve([]) },
    model: { provider: "anthropic", model: "m", max_tokens: 1, temperature: 0 },
    capsuleCommands: await daemonCapsuleCommands(client, sessionId),
  });
  let mark = 0;
  const waitFor = async (pattern: RegExp) => {
    for (let i = 0; i < 3000; i++) {
      const found = pattern.exec(screen.slice(mark));
      if (found) return void (mark += found.index + found[0].length);
      await new Promise((r) => setTimeout(r, 10));
    }
    fail(`the screen never showed ${pattern}:\n${screen.slice(mark)}`);
  };
  const press = (text: string) => keyboard.enqueue(new TextEncoder().encode(text));
  try {
    press("/help\r");
    await waitFor(/Capsule commands:/);
    await waitFor(/\/note +Save a note: \/note TEXT +\[notes\]/);
    await waitFor(/\/notes +List the saved notes +\[notes\]/);
    press("/note hi there\r");
    await waitFor(ASKED);
    press("o");
    await waitFor(/saved note [0-9a-f]{8} \(8 bytes\)/);
    press("/notes\r");
    await waitFor(ASKED);
    press("o");
    await waitFor(/[0-9a-f]{8}: hi there/);
  } finally {
    press("\x04");
    await running;
    stop();
  }
});
