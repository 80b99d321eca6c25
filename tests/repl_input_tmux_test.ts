/**
 * The REPL's input under a real terminal (a detached tmux session): a bracketed paste is one
 * turn, an approval's scope question takes only listed answers, a line typed during a turn is
 * kept for the chat instead of answering a prompt, Tab completes, Ctrl-R searches history. The
 * model is the loopback replay server; the CLI, agent, gate and REPL are the real thing.
 */
import { equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { type FakeTurn, startFakeAnthropic } from "../runtime/llm/replay_anthropic.ts";
import { runCli, tempDirs } from "./cli.ts";

import { Pane, tmux } from "./_tmux.ts";

/** `astrid chat` in a fresh home and workspace, in a tmux pane, against a replayed model. */
async function startChat(script: FakeTurn[]) {
  const { home, ws } = await tempDirs();
  equal((await runCli(["init", ws], { home, cwd: ws })).code, 0);
  await Deno.writeTextFile(join(ws, "notes.txt"), "remember the milk\n");
  const fake = startFakeAnthropic(script);
  const pane = new Pane(join(home, "tmux.sock"));
  await pane.startChat(home, ws, fake.url);
  return { home, ws, fake, pane };
}

/** The text of the last user message of a recorded model request. */
function lastUserText(request: unknown): string {
  return JSON.stringify((request as { messages: unknown[] }).messages.at(-1));
}

Deno.test({
  name:
    "REPL input under tmux: Tab completes /he, a two-line paste is one turn, Ctrl-R finds a line",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const { fake, pane } = await startChat([{ text: "Got both lines." }]);
  try {
    // 1. Tab completes a slash command; Enter runs it.
    await pane.keys("/he", true);
    await pane.keys("Tab");
    let screen = await pane.waitFor(/› \/help $/m);
    await pane.keys("Enter");
    screen = await pane.waitFor(/\/budget +spend/);
    await pane.type("/session");
    screen = await pane.waitFor(/^session +[0-9a-f-]{36}$/m);

    // 2. A two-line bracketed paste is one block, sent whole as one turn when Enter is pressed.
    // The prompt's own line is redrawn in place: look from its start.
    let mark = screen.lastIndexOf("\n") + 1;
    await tmux("-S", pane.socket, "set-buffer", "-b", "p", "first pasted line\nsecond pasted line");
    await tmux("-S", pane.socket, "paste-buffer", "-p", "-d", "-b", "p", "-t", pane.name);
    screen = await pane.waitFor(/› \[pasted 2 lines\]/, mark);
    equal(fake.requests.length, 0, "nothing was submitted mid-paste");
    await pane.keys("Enter");
    screen = await pane.waitFor(/Got both lines\./, mark);
    await pane.waitFor(/· \$[\d.]+ · 1 model call[^\n]*\n› $/m, mark);
    equal(fake.requests.length, 1);
    match(lastUserText(fake.requests[0]), /first pasted line\\nsecond pasted line/);

    // 3. Ctrl-R finds the earlier /session; Enter runs it again.
    screen = await pane.screen();
    mark = screen.lastIndexOf("\n") + 1;
    await pane.keys("C-r");
    await pane.keys("sess", true);
    await pane.waitFor(/\(reverse-i-search\)'sess': \/session/, mark);
    await pane.keys("Enter");
    screen = await pane.waitFor(/^session +[0-9a-f-]{36}$/m, mark);
    await pane.keys("C-d");
    await pane.waitFor(/EXITED:0/, mark);
    equal(fake.requests.length, 1);
  } finally {
    await pane.kill();
    await fake.close();
  }
});

Deno.test({
  name:
    "REPL input under tmux: a line typed during a turn is kept for the chat; the scope question rejects unlisted answers",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const { fake, pane } = await startChat([
    { toolCalls: [{ id: "t1", name: "read_file", args: { file_path: "notes.txt" } }] },
    { text: "The notes say to remember the milk." },
    { text: "It is a fine day." },
  ]);
  try {
    // Both lines in one burst: the second is typed long before the approval prompt shows.
    const r = await tmux(
      "-S",
      pane.socket,
      "send-keys",
      "-t",
      pane.name,
      "what do my notes say?",
      "Enter",
      "and the date?",
      "Enter",
    );
    equal(r.code, 0, r.out);
    let screen = await pane.waitFor(/\[o\] allow once.*\[d\] deny >/);
    match(screen, /what you typed for the chat is kept for after this turn/);
    match(screen, /resource: file:\/\/.*notes\.txt/);

    // Allow always, then an unlisted scope answer is refused and asked again.
    const mark = screen.length;
    await pane.keys("a", true);
    screen = await pane.waitFor(/press 1–2/, mark);
    match(screen, /\[2\] file:\/\/.*\/\*\*/);
    await pane.keys("x", true);
    screen = await pane.waitFor(/please press a number from 1 to 2/, mark);
    await pane.keys("9", true);
    screen = await pane.waitFor(/(?:please press a number from 1 to 2[^]*){2}/, mark);
    equal(fake.requests.length, 1, "no scope was taken from the refused answers");
    await pane.keys("1", true);
    screen = await pane.waitFor(/The notes say to remember the milk\./, mark);
    match(screen, /→ \[1\]/);
    match(screen, /✓ read_file: ok/);

    // The line typed during the turn became the next turn, whole.
    screen = await pane.waitFor(/It is a fine day\./, mark);
    equal(fake.requests.length, 3);
    match(lastUserText(fake.requests[2]), /and the date\?/);
    ok(!lastUserText(fake.requests[1]).includes("and the date"));
    await pane.waitFor(/· \$[\d.]+ · 1 model call[^\n]*\n› $/m, mark);
    await pane.keys("C-d");
    await pane.waitFor(/EXITED:0/, mark);
  } finally {
    await pane.kill();
    await fake.close();
  }
});
