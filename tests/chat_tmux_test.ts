/**
 * `astrid chat` driven the way a person uses it: in a real terminal (a detached tmux session),
 * typing with `tmux send-keys` and reading the screen with `tmux capture-pane`. The model is a
 * loopback fake Anthropic server; everything else (the CLI, the SDK, the agent, the gate, the
 * REPL) is the real thing.
 */
import { equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { startFakeAnthropic } from "../runtime/llm/replay_anthropic.ts";
import { runCli, tempDirs } from "./cli.ts";

import { Pane } from "./_tmux.ts";

Deno.test({
  name:
    "astrid chat REPL under tmux: stream, approval prompt, /budget, Ctrl-C cancels a turn, Ctrl-D exits",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const { home, ws } = await tempDirs();
  equal((await runCli(["init", ws], { home, cwd: ws })).code, 0);
  await Deno.writeTextFile(join(ws, "notes.txt"), "remember the milk\n");
  const fake = startFakeAnthropic([
    {
      text: "# Greeting\nHello from the **replayed** model.\n- first point\n",
      usage: { inputTokens: 1000, outputTokens: 200 },
    },
    { toolCalls: [{ id: "t1", name: "read_file", args: { file_path: "notes.txt" } }] },
    { text: "The notes say to remember the milk.", usage: { inputTokens: 500, outputTokens: 20 } },
    { text: "Thinking very slowly", fault: { after: 4, kind: "hang" } },
    { text: "Back again." },
  ]);
  const pane = new Pane(join(home, "tmux.sock"));
  try {
    let screen = await pane.startChat(home, ws, fake.url);
    match(screen, /astrid chat · session [0-9a-f-]{36}/);

    // 1. A streamed answer, rendered as markdown (heading underlined, bold markers gone, bullet).
    await pane.type("say hello");
    screen = await pane.waitFor(/Hello from the replayed model\./);
    match(screen, /Greeting\n═+/);
    match(screen, / {2}• first point/);
    ok(!screen.includes("**replayed**"));
    screen = await pane.waitFor(/· \$0\.\d+ · 1 model call/);

    // 2. A tool call that needs approval in safe mode: the prompt, then `o`, then the result.
    let mark = screen.length;
    await pane.type("what do my notes say?");
    screen = await pane.waitFor(/\[o\] allow once.*\[d\] deny >/, mark);
    match(screen, /⚙ read_file file_path="notes.txt"/);
    match(screen, /Approval needed \[risk: \w+\]/);
    match(screen, /resource: file:\/\/.*notes\.txt/);
    await pane.type("o");
    screen = await pane.waitFor(/The notes say to remember the milk\./, mark);
    match(screen, /✓ read_file: ok/);
    await pane.waitFor(/· \$0\.\d+ · 2 model calls/, mark);

    // 3. /budget shows what the session spent.
    mark = (await pane.screen()).length;
    await pane.type("/budget");
    screen = await pane.waitFor(/spent\s+\$0\.\d+ of \$5\.00/, mark);

    // 4. Ctrl-C during a slow turn cancels the turn, not the session.
    mark = screen.length;
    await pane.type("think slowly");
    await pane.waitFor(/think slowly/, mark);
    for (let i = 0; i < 600 && fake.requests.length < 4; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    equal(fake.requests.length, 4);
    await pane.keys("C-c");
    screen = await pane.waitFor(/turn cancelled/, mark);
    await fake.waitForAbort();
    // The session goes on.
    mark = screen.length;
    await pane.type("are you there?");
    screen = await pane.waitFor(/Back again\./, mark);

    // 5. Ctrl-D at an empty prompt exits cleanly.
    await pane.waitFor(/· \$[\d.]+ · 1 model call[^\n]*\n› $/m, mark);
    await pane.keys("C-d");
    screen = await pane.waitFor(/EXITED:0/, mark);
    match(screen, /resume with: astrid chat -s [0-9a-f-]{36}/);

    // The history file kept what was typed, and the session shows all four turns.
    const history = await Deno.readTextFile(join(home, "history"));
    ok(history.includes("what do my notes say?\n") && history.includes("/budget\n"));
    const id = screen.match(/astrid chat -s ([0-9a-f-]{36})/)![1]!;
    const shown = await runCli(["sessions", "show", id, "--json"], { home, cwd: ws });
    equal(shown.code, 0, shown.stderr);
    const turns = JSON.parse(shown.stdout).turns.map((t: { status: string }) => t.status);
    equal(turns.join(","), "completed,completed,cancelled,completed");
  } finally {
    await pane.kill();
    await fake.close();
  }
});

Deno.test({
  name: "astrid chat REPL under tmux: a capsule's prompt command is a slash command in /help",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const { home, ws } = await tempDirs();
  equal((await runCli(["init", ws], { home, cwd: ws })).code, 0);
  const src = join(home, "notes-src");
  await Deno.mkdir(src);
  await Deno.writeTextFile(
    join(src, "Capsule.toml"),
    '[package]\nname = "notes"\nversion = "1.0.0"\n[[command]]\nname = "review"\n' +
      'description = "Review a file"\nprompt = "Review $ARGUMENTS for style."\n',
  );
  const install = await runCli(["capsule", "install", src, "--yes"], { home, cwd: ws });
  equal(install.code, 0, install.stderr);
  const fake = startFakeAnthropic([{ text: "The file reads well." }]);
  const pane = new Pane(join(home, "tmux.sock"));
  try {
    await pane.startChat(home, ws, fake.url);
    await pane.type("/help");
    let screen = await pane.waitFor(/\/review\s+Review a file\s+\[notes\]/);
    const mark = screen.length;
    await pane.type("/review src/app.ts");
    screen = await pane.waitFor(/The file reads well\./, mark);
    equal(fake.requests.length, 1);
    const sent = JSON.stringify((fake.requests[0] as { messages: unknown[] }).messages.at(-1));
    match(sent, /Review src\/app\.ts for style\./, "the expanded prompt was the user's turn");
    await pane.waitFor(/· \$[\d.]+ · 1 model call[^\n]*\n› $/m, mark);
    await pane.keys("C-d");
    await pane.waitFor(/EXITED:0/, mark);
  } finally {
    await pane.kill();
    await fake.close();
  }
});
