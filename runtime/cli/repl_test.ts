import { deepEqual, equal, fail, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { type World, world } from "../agent/_testing.ts";
import type { FakeTurn } from "../llm/replay_anthropic.ts";
import type { CliIo } from "./context.ts";
import { Repl } from "./repl.ts";

// deno-lint-ignore no-control-regex
const ASKED = /\[d\] deny > (?:\x1b\[K)?$/;
const BASE_IO: CliIo = { env: {}, cwd: "/", isTty: true, stdout() {}, stderr() {} };

/** A REPL over a scripted keyboard and a captured screen, on a real agent and fake model. */
async function harness(
  script: readonly FakeTurn[],
  historyFile: string | null = null,
  patch: Parameters<typeof world>[1] = () => {},
) {
  const w: World = await world(script, patch);
  let screen = "";
  let keyboard!: ReadableStreamDefaultController<Uint8Array>;
  const input = new ReadableStream<Uint8Array>({
    start(c) {
      keyboard = c;
    },
  });
  const repl = new Repl({
    terminal: { input, write: (s) => (screen += s), colour: false, columns: 100 },
    historyFile,
  });
  const opened = await w.open({
    frontend: repl.frontend(BASE_IO),
    onEvent: (e) => repl.onEvent(e),
  });
  const running = repl.run({ opened, audit: w.audit, model: w.config.model });
  const enc = new TextEncoder();
  let mark = 0;
  return {
    w,
    opened,
    running,
    get screen() {
      return screen;
    },
    press(text: string) {
      keyboard.enqueue(enc.encode(text));
    },
    end() {
      keyboard.close();
    },
    /** Waits until `pattern` appears after the previous match (bounded). */
    async waitFor(pattern: RegExp): Promise<string> {
      for (let i = 0; i < 1000; i++) {
        const found = pattern.exec(screen.slice(mark));
        if (found) {
          mark += found.index + found[0].length;
          return found[0];
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      fail(`the screen never showed ${pattern}:\n${screen.slice(mark)}`);
    },
  };
}

Deno.test("Repl: Ctrl-C cancels the running turn, refunds its reservation, and the session goes on", async () => {
  const h = await harness([
    { text: "slow", fault: { after: 3, kind: "hang" } },
    { text: "still here" },
  ]);
  try {
    h.press("take your time\r");
    for (let i = 0; i < 500 && h.w.fake.requests.length < 1; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    equal(h.w.fake.requests.length, 1);
    h.press("typed ahead\x03");
    await h.waitFor(/turn cancelled/);
    await h.w.fake.waitForAbort();
    const budget = h.opened.gate.budget.state();
    equal(budget.reservedUsd, 0);
    equal(budget.spentUsd, 0);
    // Keys typed during the turn are kept for the chat's next prompt, not sent on their own.
    await h.waitFor(/› typed ahead/);
    h.press("\x15hello?\r");
    await h.waitFor(/still here/);
    h.press("\x04");
    await h.running;
    deepEqual(h.opened.session.turns.map((t) => t.status), ["cancelled", "completed"]);
    // The typed-ahead keys were cleared by Ctrl-U, never sent as a prompt.
    ok(!h.opened.session.messages.some((m) => JSON.stringify(m).includes("typed ahead")));
  } finally {
    await h.w.close();
  }
});

Deno.test("Repl: keys typed during a turn never answer the approval prompt; Ctrl-C there denies and cancels", async () => {
  const h = await harness([
    { toolCalls: [{ id: "t1", name: "write_file", args: { file_path: "a.txt", content: "x" } }] },
    { text: "never reached" },
  ]);
  try {
    h.press("write a file\r");
    // Typed before the prompt shows: kept for the chat, never taken as "allow once".
    h.press("o\r");
    await h.waitFor(ASKED);
    h.press("\x03");
    await h.waitFor(/turn cancelled/);
    h.press("\x04");
    await h.running;
    equal(h.w.fake.requests.length, 2, "the typed-ahead line became the next turn");
    await Deno.stat(join(h.w.ws, "a.txt")).then(
      () => fail("the write ran"),
      (err) => ok(err instanceof Deno.errors.NotFound),
    );
    match(h.screen, /✗ write_file: denied/);
    const entries = await h.w.audit.list({ sessionId: h.opened.session.id });
    ok(entries.some((e) => e.decision === "denied" && e.action.kind === "file_write"));
  } finally {
    await h.w.close();
  }
});

Deno.test("Repl: [s] at the prompt shows up in /allowances; /audit, /session, /model and unknown commands", async () => {
  const h = await harness([
    { toolCalls: [{ id: "t1", name: "read_file", args: { file_path: "notes.txt" } }] },
    { text: "read it" },
  ]);
  try {
    await Deno.writeTextFile(join(h.w.ws, "notes.txt"), "n\n");
    h.press("/allowances\r");
    await h.waitFor(/no session allowances yet/);
    h.press("look around\r");
    await h.waitFor(ASKED);
    h.press("s");
    // Session and always offer the exact file or its folder: take the folder.
    await h.waitFor(/\[2\] file:\/\/.*\/\*\*/);
    await h.waitFor(/press 1–2/);
    h.press("2");
    await h.waitFor(/read it/);
    await h.waitFor(/model calls/);
    h.press("/allowances\r");
    await h.waitFor(new RegExp(`read\\s+file://${h.w.ws}/\\*\\*`));
    h.press("/audit 5\r");
    await h.waitFor(/#\d+ allowed/);
    h.press("/session\r");
    await h.waitFor(new RegExp(`session\\s+${h.opened.session.id}`));
    h.press("/model\r");
    await h.waitFor(/model\s+claude-sonnet-4-6/);
    h.press("/nope\r");
    await h.waitFor(/unknown command \/nope/);
    h.press("/help\r");
    await h.waitFor(/\/exit/);
    h.press("/exit\r");
    await h.running;
    match(h.screen, /resume with: astrid chat -s /);
  } finally {
    await h.w.close();
  }
});

Deno.test("Repl: Ctrl-C clears a typed line, asks again at an empty prompt, and a second press leaves", async () => {
  const h = await harness([]);
  try {
    h.press("half a thought\x03");
    await h.waitFor(/\^C/);
    h.press("\x03");
    await h.waitFor(/press Ctrl-C again/);
    h.press("\x03");
    await h.running;
    equal(h.w.fake.requests.length, 0);
  } finally {
    await h.w.close();
  }
});

Deno.test("Repl: the end of input exits cleanly", async () => {
  const h = await harness([]);
  try {
    h.end();
    await h.running;
    match(h.screen, /session .* saved/);
  } finally {
    await h.w.close();
  }
});

Deno.test("Repl: history is appended to a 0600 file and recalled with the up arrow", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "history");
  await Deno.writeTextFile(file, "from last time\n");
  const h = await harness([{ text: "again" }], file);
  try {
    h.press("\x1b[A\r");
    await h.waitFor(/again/);
    h.press("/budget\r");
    await h.waitFor(/spent/);
    h.press("\x04");
    await h.running;
    equal(await Deno.readTextFile(file), "from last time\nfrom last time\n/budget\n");
    equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    match(JSON.stringify(h.w.fake.requests[0]), /from last time/);
  } finally {
    await h.w.close();
  }
});

Deno.test("Repl: escape sequences in model text and tool arguments never reach the terminal", async () => {
  const h = await harness([
    {
      text: "look\x1b[2J\x1b]0;pwned\x07",
      toolCalls: [{ id: "t1", name: "read_file", args: { file_path: "x\x1b[31m.txt" } }],
    },
    { text: "done" },
  ]);
  try {
    h.press("go\r");
    // The control character in the path is refused before anyone is asked.
    await h.waitFor(/read_file: denied \(MALFORMED\)/);
    await h.waitFor(/done/);
    h.press("\x04");
    await h.running;
    ok(!h.screen.includes("\x1b[2J"));
    ok(!h.screen.includes("\x1b]0;"));
    ok(!h.screen.includes("\x1b[31m"));
    ok(!h.screen.includes("\x07"));
  } finally {
    await h.w.close();
  }
});

Deno.test("Repl: an approval prompt nobody answers in time closes, and the keyboard goes back to the REPL", async () => {
  const h = await harness(
    [
      { toolCalls: [{ id: "t1", name: "write_file", args: { file_path: "a.txt", content: "x" } }] },
      { text: "moving on" },
      { text: "slow", fault: { after: 3, kind: "hang" } },
    ],
    null,
    (c) => {
      c.approval.timeout_seconds = 1;
    },
  );
  try {
    h.press("write it\r");
    await h.waitFor(ASKED);
    await h.waitFor(/no answer in time/);
    await h.waitFor(/queued for approval/);
    await h.waitFor(/model calls/);
    // Ctrl-C still cancels the next turn: the closed prompt no longer holds the keyboard.
    h.press("next\r");
    for (let i = 0; i < 500 && h.w.fake.requests.length < 3; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    h.press("\x03");
    await h.waitFor(/turn cancelled/);
    h.press("\x04");
    await h.running;
    deepEqual(h.opened.session.turns.map((t) => t.status), ["completed", "cancelled"]);
  } finally {
    await h.w.close();
  }
});
